"""The Python front door: ``sim.run``, ``CityModel.from_file``, ``RunResults.summary/save``,
``gym.make``, controllers named ``"package.module:Class"``, and the names exported from ``sim``."""

import json
import math
import subprocess
import sys
import uuid
from pathlib import Path

import pandas as pd
import pytest

import sim
from sim.cli import main
from sim.commands.common import EXIT_OK, EXIT_STALLED, EXIT_UNFINISHED, EXIT_USAGE
from sim.control import registry
from sim.metrics.results import MAP_FIGURE, SERIES_FIGURE, load_results
from sim.metrics.summary import format_summary, summarize
from sim.scenario import ScenarioError

REPO = Path(__file__).resolve().parents[1]
DEMO = str(REPO / "scenarios" / "demo.toml")
TRAIN_GRID = str(REPO / "scenarios" / "train_grid.toml")
SHORT_S = 300
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def short_run():
    """The demo cut at 300 s, seed 3, demand scaled by 1.5: the one-liner."""
    return sim.run(DEMO, demand__scale=1.5, seed=3, simulation__max_time_s=SHORT_S)


# ----- sim.run and CityModel.from_file --------------------------------------------------------
def test_the_one_liner_applies_keyword_overrides_and_the_seed(short_run):
    assert isinstance(short_run, sim.RunResults)
    assert short_run.info["seed"] == 3
    assert short_run.info["sim_time_s"] == SHORT_S
    model = sim.CityModel.from_file(DEMO, overrides={"simulation.max_time_s": SHORT_S}, seed=3)
    unscaled = model.run().results()
    # the demand is drawn whole up front, so 1.5x the rate gives about 1.5x the trips
    assert 1.3 < len(short_run.trips) / len(unscaled.trips) < 1.7
    same = sim.CityModel.from_file(
        DEMO, overrides=["demand.scale=1.5", f"simulation.max_time_s={SHORT_S}"], seed=3
    )
    pd.testing.assert_frame_equal(same.run().results().trips, short_run.trips)


def test_keyword_overrides_come_after_the_overrides_argument():
    scenario = sim.load_scenario(DEMO)
    results = sim.run(
        scenario,
        seed=2,
        overrides={"simulation.max_time_s": 60, "demand.rate_vph": 300},
        simulation__max_time_s=120,
    )
    assert results.info["sim_time_s"] == 120
    assert results.info["seed"] == 2


def test_a_mistyped_keyword_names_the_dotted_key():
    with pytest.raises(ScenarioError, match=r"demand\.scal\b"):
        sim.run(DEMO, demand__scal=1.5)


def test_city_model_of_a_path_names_from_file():
    with pytest.raises(TypeError, match=r"CityModel\.from_file") as raised:
        sim.CityModel(DEMO)
    assert "str" in str(raised.value) and "demo.toml" in str(raised.value)


def test_from_file_reports_a_bad_file_as_a_scenario_error(tmp_path):
    with pytest.raises(ScenarioError, match="cannot read scenario file"):
        sim.CityModel.from_file(tmp_path / "missing.toml")


# ----- summary() and save() -------------------------------------------------------------------
def test_summary_is_the_dict_of_headline_metrics(short_run):
    summary = short_run.summary()
    assert isinstance(summary, dict)
    assert dict(summary) == summarize(short_run)
    assert summary["trips"] == len(short_run.trips)
    assert summary["completed"] == int(short_run.trips["arrive_s"].notna().sum())
    assert str(summary) == format_summary(summarize(short_run), short_run.info)


def _rows(text: str) -> set[str]:
    """Table rows with their padding collapsed (the CLI's table is wider: it adds wall times)."""
    return {" ".join(line.split()) for line in text.splitlines()}


RUN_ARGS = [
    "run",
    DEMO,
    "--seed",
    "3",
    "--set",
    "demand.scale=1.5",
    "--set",
    f"simulation.max_time_s={SHORT_S}",
]
"""``citysim run`` as the short runs of these tests: the demo at 1.5 times its demand, seed 3."""


def test_summary_prints_the_numbers_citysim_run_prints(tmp_path, capsys):
    args = RUN_ARGS
    assert main([*args, "--out", str(tmp_path), "--quiet", "--no-plots"]) == EXIT_UNFINISHED
    printed = _rows(capsys.readouterr().out)
    results = sim.run(DEMO, seed=3, demand__scale=1.5, simulation__max_time_s=SHORT_S)
    table = _rows(str(results.summary()))
    assert len(table) > 10
    assert table <= printed


def _same_metrics(stored: dict, summary: dict) -> None:
    assert stored.keys() == summary.keys()
    for key, value in summary.items():
        if isinstance(value, float) and math.isnan(value):
            assert stored[key] is None, key
        else:
            assert stored[key] == pytest.approx(value), key


def test_save_writes_the_folder_citysim_run_writes(short_run, tmp_path):
    cli = tmp_path / "cli"
    args = RUN_ARGS
    assert main([*args, "--out", str(cli), "--quiet"]) == EXIT_UNFINISHED
    folder = short_run.save(tmp_path / "saved" / "run")
    assert folder == tmp_path / "saved" / "run"
    assert sorted(p.name for p in folder.iterdir()) == sorted(p.name for p in cli.iterdir())
    for name in (SERIES_FIGURE, MAP_FIGURE):
        assert (folder / name).read_bytes().startswith(PNG_MAGIC)
    pd.testing.assert_frame_equal(
        pd.read_csv(folder / "trips.csv"), pd.read_csv(cli / "trips.csv"), check_exact=False
    )
    _same_metrics(json.loads((folder / "summary.json").read_text())["metrics"], short_run.summary())
    pd.testing.assert_frame_equal(load_results(folder).trips, load_results(cli).trips)


def test_save_without_figures_removes_stale_ones(short_run, tmp_path):
    stale = tmp_path / SERIES_FIGURE
    stale.write_bytes(PNG_MAGIC)
    short_run.save(tmp_path, figures=False)
    assert not stale.exists()
    assert not (tmp_path / MAP_FIGURE).exists()
    assert len(load_results(tmp_path).trips) == len(short_run.trips)


# ----- controllers named by their path --------------------------------------------------------
CONTROLLER_MODULE = '''
from sim.control.base import Decision, SignalController


class HoldFirstPhase(SignalController):
    """Keeps the first phase green for ever, deciding once a minute."""

    decisions = 0

    def decide(self, view):
        HoldFirstPhase.decisions += 1
        return Decision(None, view.now_s + 60.0)


class NotAController:
    pass


NOT_A_CLASS = 3
'''


@pytest.fixture
def controller_module(tmp_path, monkeypatch):
    """A module on sys.path holding a controller class; the registry is restored afterwards."""
    name = f"citysim_test_ctrl_{uuid.uuid4().hex[:8]}"
    (tmp_path / f"{name}.py").write_text(CONTROLLER_MODULE)
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setattr(registry, "CONTROLLERS", dict(registry.CONTROLLERS))
    yield name
    sys.modules.pop(name, None)


def test_run_accepts_a_controller_named_module_colon_class(controller_module, tmp_path):
    path = f"{controller_module}:HoldFirstPhase"
    out = tmp_path / "out"
    rc = main(
        ["run", DEMO, "--set", f"signals.controller={path}", "--set", "simulation.max_time_s=600"]
        + ["--out", str(out), "--quiet", "--no-plots"]
    )
    assert rc in (EXIT_UNFINISHED, EXIT_STALLED)  # the held cross streets never get green
    held = sys.modules[controller_module].HoldFirstPhase
    assert held.decisions > 0
    assert registry.controller_class(path) is held
    metrics = json.loads((out / "summary.json").read_text())["metrics"]
    fixed = sim.run(DEMO, simulation__max_time_s=600).summary()
    assert metrics["completed"] < fixed["completed"]


def test_compare_accepts_a_controller_named_module_colon_class(controller_module, tmp_path, capsys):
    path = f"{controller_module}:HoldFirstPhase"
    rc = main(
        ["compare", DEMO, "--controllers", f"fixed_time,{path}", "--seeds", "1", "--jobs", "1"]
        + ["--set", "simulation.max_time_s=300", "--out", str(tmp_path), "--quiet", "--no-plots"]
    )
    assert rc == EXIT_OK
    runs = pd.read_csv(tmp_path / "runs.csv")
    assert list(runs["controller"]) == ["fixed_time", path]
    assert path in capsys.readouterr().out


def test_a_scenario_file_may_name_a_controller_by_its_path(controller_module, tmp_path):
    text = (
        Path(DEMO)
        .read_text()
        .replace('controller = "fixed_time"', f'controller = "{controller_module}:HoldFirstPhase"')
    )
    (tmp_path / "held.toml").write_text(text)
    scenario = sim.load_scenario(tmp_path / "held.toml")
    assert scenario.signals.controller == f"{controller_module}:HoldFirstPhase"
    model = sim.CityModel(scenario)
    assert all(type(c).__name__ == "HoldFirstPhase" for c in model.controllers)


@pytest.mark.parametrize(
    ("target", "fragments"),
    [
        ("citysim_no_such_module_xyz:Ctrl", ["does not import", "No module named", "sys.path"]),
        ("{module}:Missing", ["has no attribute 'Missing'"]),
        ("{module}:NotAController", ["expected a subclass of sim.control.base.SignalController"]),
        ("{module}:NOT_A_CLASS", ["expected a subclass", "got 3"]),
        ("{module}:", ["expected 'package.module:Class'"]),
    ],
)
def test_a_bad_controller_path_is_a_clear_scenario_error(controller_module, target, fragments):
    target = target.format(module=controller_module)
    with pytest.raises(ScenarioError) as raised:
        sim.load_scenario(DEMO, {"signals.controller": target})
    message = str(raised.value)
    assert "signals.controller" in message and repr(target) in message
    for fragment in fragments:
        assert fragment in message
    assert target not in registry.controller_names()


def test_the_cli_reports_a_bad_controller_path_on_one_line(tmp_path, capsys):
    rc = main(
        ["run", DEMO, "--set", "signals.controller=citysim_no_such_module_xyz:Ctrl", "--out", str(tmp_path)]
    )
    assert rc == EXIT_USAGE
    out, err = capsys.readouterr()
    assert "Traceback" not in err
    assert len(err.strip().splitlines()) == 1
    assert "does not import" in err and "signals.controller" in err


# ----- gym.make and PettingZoo ----------------------------------------------------------------
@pytest.fixture(scope="module")
def gym():
    gymnasium = pytest.importorskip("gymnasium")
    pytest.importorskip("pettingzoo")
    import sim.rl.envs  # noqa: F401 (registers the environments)

    return gymnasium


def test_gym_make_builds_the_signal_environment(gym):
    from sim.rl.env import SignalEnv
    from sim.rl.simulation import EnvConfig

    env = gym.make(
        "citysim/Signals-v0", scenario=TRAIN_GRID, config=EnvConfig(decision_interval_s=5.0, episode_s=10.0)
    )
    assert isinstance(env.unwrapped, SignalEnv)
    obs, info = env.reset(seed=4)
    assert env.observation_space.contains(obs)
    assert info["seed"] == 4
    _, _, terminated, truncated, info = env.step(env.action_space.sample())
    assert (terminated, truncated, info["time_s"]) == (False, False, 5.0)
    _, _, terminated, truncated, _ = env.step(0)
    assert truncated and not terminated


def test_gym_make_imports_the_registering_module_itself():
    code = (
        "import gymnasium as gym\n"
        f"env = gym.make('sim.rl.envs:citysim/Signals-v0', scenario={TRAIN_GRID!r},"
        " overrides={'demand.scale': 0.5})\n"
        "assert env.unwrapped.scenario.demand.scale == 0.5\n"
    )
    pytest.importorskip("gymnasium")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, timeout=300)
    assert done.returncode == 0, done.stderr


def test_parallel_env_has_an_agent_per_signal(gym):
    from sim.rl.envs import parallel_env

    env = parallel_env(TRAIN_GRID, overrides={"simulation.max_time_s": 600})
    scenario = sim.load_scenario(TRAIN_GRID)
    assert len(env.possible_agents) == len(sim.CityModel(scenario).controllers) > 1
    obs, infos = env.reset(seed=1)
    assert set(obs) == set(infos) == set(env.possible_agents)


# ----- the names exported from sim ------------------------------------------------------------
def test_every_exported_name_resolves_to_its_module():
    from sim.control.base import SignalController
    from sim.metrics.stats import paired_differences

    assert sim.SignalController is SignalController
    assert sim.paired_differences is paired_differences
    assert set(sim.__all__) <= set(dir(sim))
    for name in sim.__all__:
        assert getattr(sim, name) is not None, name


def test_the_notebooks_import_nothing_from_internal_modules_that_sim_exports():
    exported = set(sim.__all__)
    offenders = []
    for notebook in sorted((REPO / "notebooks").glob("*.ipynb")):
        for cell in json.loads(notebook.read_text())["cells"]:
            for line in "".join(cell["source"]).splitlines():
                words = line.replace(",", " ").split()
                if line.startswith("from sim.") and words[1].count(".") >= 1:
                    names = set(words[3:]) - {"(", ")"}
                    if names & exported:
                        offenders.append(f"{notebook.name}: {line}")
    assert offenders == []


def test_import_sim_loads_none_of_the_heavy_modules():
    code = (
        "import sys, sim\n"
        "heavy = {'mesa', 'numba', 'matplotlib', 'pandas', 'networkx', 'sim.model'} & set(sys.modules)\n"
        "assert not heavy, heavy\n"
        "assert sim.paired_differences.__module__ == 'sim.metrics.stats'\n"
        "assert 'sim.model' not in sys.modules and 'matplotlib' not in sys.modules\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO)
    assert done.returncode == 0, done.stderr
