import json
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

import sim
from sim.cli import main
from sim.commands.common import EXIT_STALLED, EXIT_UNFINISHED, EXIT_USAGE
from sim.commands.run import gridlock_report

REPO = Path(__file__).resolve().parents[1]
DEMO = str(REPO / "scenarios" / "demo.toml")
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
SHORT = ["--set", "simulation.max_time_s=120", "--quiet", "--no-plots"]
"""A run cut at 120 s: it ends at its time limit with trips unfinished (exit code 3)."""


def assert_one_line_error(capsys, *fragments: str) -> str:
    out, err = capsys.readouterr()
    assert out == ""
    assert "Traceback" not in err
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("citysim: error: ")
    for fragment in fragments:
        assert fragment in lines[0]
    return lines[0]


@pytest.fixture(scope="module")
def demo_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("demo")
    return main(["run", DEMO, "--out", str(out), "--quiet"]), out


def test_run_writes_the_results_folder_and_figures(demo_run):
    rc, out = demo_run
    assert rc == 0
    for name in ("trips.csv", "series.csv", "links.csv", "network.json", "summary.json"):
        assert (out / name).is_file(), name
    for name in ("series.png", "map_speed.png"):
        data = (out / name).read_bytes()
        assert data.startswith(PNG_MAGIC), name
        assert len(data) > 10_000, name
    summary = json.loads((out / "summary.json").read_text())
    info = summary["info"]
    assert info["scenario"] == "demo"
    assert info["seed"] == 1
    assert info["sim_wall_s"] > 0
    assert info["setup_wall_s"] > 0
    assert info["vehicle_steps"] > 0
    assert info["vehicle_steps"] == summary["metrics"]["vehicle_steps"]
    trips = pd.read_csv(out / "trips.csv")
    assert summary["metrics"]["trips"] == len(trips) > 0


def test_run_prints_summary_timings_and_folder(tmp_path, capsys):
    assert main(["run", DEMO, "--out", str(tmp_path), *SHORT]) == EXIT_UNFINISHED
    out, err = capsys.readouterr()
    assert out.startswith("demo, seed 1: simulated 120 s\n")
    labels = (
        "mean delay, all trips (s)",
        "mean travel time, completed trips only (s)",
        "vehicle-steps",
        "set-up wall time (s)",
        "vehicle-steps per second",
    )
    for label in labels:
        assert label in out
    summary = json.loads((tmp_path / "summary.json").read_text())
    metrics = summary["metrics"]
    # completion as counts with a share that never rounds up to 100%
    share = f"{int(metrics['completed'] / metrics['trips'] * 10_000) / 100:.2f}%"
    assert f"{metrics['completed']:,} of {metrics['trips']:,} ({share})" in out
    unfinished = metrics["trips"] - metrics["completed"]
    assert f"warning: run reached the time limit (simulation.max_time_s = 120 s); {unfinished:,} of" in out
    assert summary["info"]["status"] == "time_limit"
    assert out.rstrip().endswith(f"results written to {tmp_path}")
    assert "Traceback" not in err
    assert not (tmp_path / "series.png").exists()  # --no-plots


def test_set_override_changes_the_demand(demo_run, tmp_path):
    _, demo_out = demo_run
    assert (
        main(["run", DEMO, "--out", str(tmp_path), *SHORT, "--set", "demand.rate_vph=600"]) == EXIT_UNFINISHED
    )
    demo_trips = len(pd.read_csv(demo_out / "trips.csv"))
    low_trips = len(pd.read_csv(tmp_path / "trips.csv"))
    # 600 instead of 1200 veh/h over the same 900 s: about half the trips.
    assert 0.3 * demo_trips < low_trips < 0.7 * demo_trips


def test_default_folder_is_named_after_scenario_and_seed(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main(["run", DEMO, "--seed", "7", *SHORT]) == EXIT_UNFINISHED
    summary = json.loads((tmp_path / "results" / "demo-seed7" / "summary.json").read_text())
    assert summary["info"]["seed"] == 7


def test_no_plots_removes_stale_figures(tmp_path):
    stale = tmp_path / "series.png"
    stale.write_bytes(PNG_MAGIC)
    assert main(["run", DEMO, "--out", str(tmp_path), *SHORT]) == EXIT_UNFINISHED
    assert not stale.exists()


def test_a_complete_run_says_so_and_exits_0(demo_run):
    rc, out = demo_run
    summary = json.loads((out / "summary.json").read_text())
    assert rc == 0
    assert summary["info"]["status"] == "completed"
    assert summary["metrics"]["unfinished"] == 0


def test_a_stalled_run_says_so_with_counts_and_exits_with_its_code(tmp_path, capsys):
    # a small one-way ring fed far beyond capacity locks up (see test_model's gridlock test)
    ring = [
        "network.n_nodes=3",
        "network.radius_m=50.0",
        "demand.rate_vph=20000.0",
        "demand.duration_s=600.0",
        "simulation.gridlock_s=120.0",
        "simulation.max_time_s=1800.0",
    ]
    args = ["run", str(REPO / "scenarios" / "ring.toml"), "--out", str(tmp_path), "--quiet", "--no-plots"]
    rc = main([*args, *(f"--set={item}" for item in ring)])
    out, _ = capsys.readouterr()
    summary = json.loads((tmp_path / "summary.json").read_text())
    info, metrics = summary["info"], summary["metrics"]
    assert rc == EXIT_STALLED, out
    assert info["status"] == "stalled"
    assert f"warning: run stalled in gridlock at t = {info['stalled_at_s']:,.0f} s" in out
    assert f"{metrics['on_network_at_end']:,} on the network" in out
    # a gridlock never clears: its trips count until the time limit, not until the stall
    assert info["stalled_at_s"] < info["horizon_s"] == 1800.0
    assert metrics["mean_travel_time_all_s"] > metrics["mean_travel_time_completed_s"]


def test_a_failed_run_leaves_no_empty_output_folder(tmp_path, capsys):
    out = tmp_path / "new" / "results"
    assert main(["run", DEMO, "--out", str(out), "--set", "demand.rate_vph=-1"]) == EXIT_USAGE
    assert not (tmp_path / "new").exists()


@pytest.mark.parametrize(
    ("override", "fragments"),
    [
        ("demand.rate=5", ["demand.rate", "unknown key"]),
        ("demand.rate_vph=-5", ["demand.rate_vph", "expected a number > 0", "-5"]),
        ("simulation.dt_s=fast", ["simulation.dt_s", "'fast'"]),
        ("no_equals_sign", ["expected an override like"]),
    ],
)
def test_bad_override_is_one_line_error(override, fragments, tmp_path, capsys):
    assert main(["run", DEMO, "--out", str(tmp_path / "out"), "--quiet", "--set", override]) == 2
    assert_one_line_error(capsys, "demo.toml", *fragments)
    assert not (tmp_path / "out").exists()


def test_missing_scenario_file_is_one_line_error(tmp_path, capsys):
    missing = tmp_path / "nope.toml"
    assert main(["run", str(missing), "--quiet"]) == 2
    assert_one_line_error(capsys, str(missing), "cannot read scenario file")


def test_broken_toml_is_one_line_error(tmp_path, capsys):
    broken = tmp_path / "broken.toml"
    broken.write_text('name = "broken"\n[network\ntype = "grid"\n')
    assert main(["run", str(broken), "--quiet"]) == 2
    assert_one_line_error(capsys, str(broken), "invalid TOML")


def test_unusable_output_folder_fails_before_the_run(tmp_path, capsys):
    a_file = tmp_path / "taken"
    a_file.write_text("")
    assert main(["run", DEMO, "--out", str(a_file), "--quiet"]) == 2
    line = assert_one_line_error(capsys, str(a_file))
    assert "Errno" not in line


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["run", DEMO, "--seed", "-1"], "--seed: expected an integer >= 0"),
        (["run"], "required: SCENARIO"),
        ([], "required: COMMAND"),
        (["frobnicate"], "invalid choice"),
    ],
)
def test_usage_errors_exit_2(argv, message, capsys):
    assert main(argv) == 2
    assert message in capsys.readouterr().err


def test_bugs_are_not_hidden_as_input_errors(tmp_path, monkeypatch):
    def broken_model(*args, **kwargs):
        raise ValueError("a bug, not bad input")

    monkeypatch.setattr("sim.model.CityModel", broken_model)
    with pytest.raises(ValueError, match="a bug"):
        main(["run", DEMO, "--out", str(tmp_path), "--quiet"])


def test_gridlock_report_lists_each_cycle():
    assert gridlock_report({"gridlock": [], "stalled_at_s": None}) == ""
    info = {
        "gridlock": [
            {"edges": ["a->b", "b->c", "c->a"], "lanes": [1, 2, 3], "since_s": 400.0, "detected_s": 720.0},
            {"edges": ["d->e", "e->d"], "lanes": [7, 9], "since_s": 1200.0, "detected_s": 1560.0},
        ],
        "stalled_at_s": 1800.0,
    }
    assert gridlock_report(info).splitlines() == [
        "gridlock: 2 circular spillback(s)",
        "  since t = 400 s (reported at t = 720 s): a->b | b->c | c->a",
        "  since t = 1,200 s (reported at t = 1,560 s): d->e | e->d",
        "network stalled: the run stopped at t = 1,800 s",
    ]


def test_version(capsys):
    assert main(["--version"]) == 0
    assert capsys.readouterr().out.strip() == f"citysim {sim.__version__}"


def test_python_dash_m_sim_version():
    done = subprocess.run(
        [sys.executable, "-m", "sim", "--version"], capture_output=True, text=True, check=True, cwd=REPO
    )
    assert done.stdout.strip() == "citysim 0.1.0"


def test_import_sim_is_lazy():
    code = (
        "import sys, sim\n"
        "assert 'sim.model' not in sys.modules and 'mesa' not in sys.modules\n"
        "assert sim.Scenario.__module__ == 'sim.scenario'\n"
        "assert 'sim.model' not in sys.modules\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, cwd=REPO)


def test_sim_exposes_its_public_api():
    assert {name: getattr(sim, name).__module__ for name in ("CityModel", "load_scenario", "run")} == {
        "CityModel": "sim.model",
        "load_scenario": "sim.scenario",
        "run": "sim",
    }
    assert all(hasattr(sim, name) for name in sim.__all__)
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        sim.nope  # noqa: B018


def test_sim_run_returns_results():
    scenario = sim.load_scenario(DEMO)
    results = sim.run(scenario, seed=3, overrides=["simulation.max_time_s=120"])
    assert isinstance(results, sim.RunResults)
    assert results.info["seed"] == 3
    assert results.info["sim_time_s"] == 120
    assert len(results.trips) > 0


def test_metrics_package_exports():
    import sim.metrics as metrics

    for name in metrics.__all__:
        assert getattr(metrics, name) is not None
    assert "vehicle_steps" in metrics.SUMMARY_KEYS
