"""Sweeps: definition and validation, the crash-safe store, local and Dask runners, the CLI."""

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from sim import __version__
from sim.cli import main
from sim.metrics.catalog import UNFINISHED_MARGIN
from sim.metrics.results import RUN_STATUSES, load_summary
from sim.metrics.summary import SUMMARY_KEYS, summarize
from sim.model import CityModel
from sim.scenario import ScenarioError
from sim.sweep import (
    ResultStore,
    SweepError,
    load_runs,
    load_sweep,
    parse_assignment,
    parse_grid,
    parse_seeds,
    plan_sweep,
    run_key,
    run_sweep,
    sweep_spec_for,
)
from sim.sweep.store import RUN_COLUMNS

SCENARIOS = Path(__file__).resolve().parents[1] / "scenarios"
DEMO = SCENARIOS / "demo.toml"
SHORT = ("simulation.max_time_s", 300.0)
RESULT_COLUMNS = ["key", "status", "seed", "run_status", *SUMMARY_KEYS, "sim_time_s", "gridlocks"]


@pytest.fixture(scope="module", autouse=True)
def warm_kernel(demo_scenario):
    """Load the compiled kernel once here: forked pool workers inherit it instead of each loading it."""
    CityModel(demo_scenario, seed=0).run(until_s=1.0)


def demo_plan(scales=(0.5, 1.0), seeds=2, overrides=(SHORT,), **kwargs):
    grid = [parse_grid("demand.scale=" + ",".join(map(str, scales)))]
    return plan_sweep(sweep_spec_for(DEMO, grid=grid, overrides=overrides, seeds=seeds, **kwargs))


def record_files(folder: Path) -> list[Path]:
    return sorted((folder / "runs").glob("*.json"))


# ----- definition ------------------------------------------------------------------------
def test_grid_values_are_toml_and_split_outside_brackets_and_quotes():
    axis = parse_grid("demand.profile=[[0, 1.0], [600, 2.0]],[[0, 0.5]]")
    assert axis.key == "demand.profile"
    assert axis.values == ([[0, 1.0], [600, 2.0]], [[0, 0.5]])
    assert parse_grid('name="a,b",c').values == ("a,b", "c")
    assert parse_grid("signals.controller=fixed_time,max_pressure").values == ("fixed_time", "max_pressure")
    assert parse_grid("demand.scale=0.5, 1, true").values == (0.5, 1, True)
    assert parse_seeds("20") == 20
    assert parse_seeds("3,7, 11") == (3, 7, 11)
    assert parse_seeds("7,") == (7,)
    assert parse_assignment("signals.controller=fixed_time", "--baseline") == (
        "signals.controller",
        "fixed_time",
    )


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: parse_grid("demand.scale"), r"--grid: expected KEY=V1,V2"),
        (lambda: parse_grid("demand.scale=1,,2"), r"--grid: empty value"),
        (lambda: parse_grid("demand.scale=1,2,1"), r"value 1 is listed twice"),
        (lambda: parse_grid("seed=1,2"), r"the seed is not a grid key"),
        (lambda: parse_seeds("0"), r"--seeds: expected a count >= 1"),
        (lambda: parse_seeds("1,x"), r"--seeds: expected a count >= 1 or a non-empty list"),
        (lambda: parse_seeds("4,4"), r"expected distinct seeds"),
        (lambda: parse_assignment("demand.scale", "--baseline"), r"--baseline: expected KEY=VALUE"),
    ],
)
def test_command_line_items_fail_with_the_option_named(call, message):
    with pytest.raises(SweepError, match=message):
        call()


def test_sweep_file_with_nested_and_dotted_keys(tmp_path):
    (tmp_path / "sweep.toml").write_text(
        f'scenario = "{DEMO}"\nseeds = [4, 9]\nbaseline = {{ "signals.timing" = "fixed" }}\n'
        "[set]\nsimulation.max_time_s = 300\n"
        '[grid]\n"signals.timing" = ["fixed", "webster"]\ndemand.scale = [0.5, 1]\n'
    )
    spec = load_sweep(tmp_path / "sweep.toml")
    assert [axis.key for axis in spec.grid] == ["signals.timing", "demand.scale"]
    assert spec.seeds == (4, 9) and spec.overrides == (("simulation.max_time_s", 300),)
    plan = plan_sweep(spec)
    assert plan.parameters == ("signals.timing", "demand.scale") and plan.baseline == (
        "signals.timing",
        "fixed",
    )
    assert len(plan.runs) == 8 and [run.seed for run in plan.runs] == [4] * 4 + [9] * 4  # seed-major
    # canonical values: the scenario's float key turns 1 into 1.0
    assert {dict(run.params)["demand.scale"] for run in plan.runs} == {0.5, 1.0}
    assert all(run.scenario.simulation.max_time_s == 300.0 for run in plan.runs)
    # the command line replaces a file axis of the same key and the seeds
    spec = sweep_spec_for(tmp_path / "sweep.toml", grid=[parse_grid("demand.scale=2.0")], seeds=3)
    assert [(axis.key, axis.values) for axis in spec.grid] == [("signals.timing", ("fixed", "webster")),
                                                               ("demand.scale", (2.0,))]  # fmt: skip
    assert plan_sweep(spec).seeds == (1, 2, 3)  # counted from the scenario's seed


def test_command_line_takes_a_sweep_file_and_validates_without_running(tmp_path, capsys):
    (tmp_path / "sweep.toml").write_text(
        f'scenario = "{DEMO}"\nseeds = 3\n[grid]\n"signals.timing" = ["fixed", "webster"]\n'
    )
    out = tmp_path / "out"
    args = [
        "sweep",
        str(tmp_path / "sweep.toml"),
        "--grid",
        "demand.scale=0.5,1",
        "--dry-run",
        "--out",
        str(out),
    ]
    assert main(args) == 0
    assert (
        "sweep of demo: 12 runs (4 combination(s) x 3 seed(s)), 0 already finished" in capsys.readouterr().out
    )
    assert not out.exists()


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('scenario = "x.toml"\nsweeps = 3\n', r"sweep.toml: sweeps: unknown key; allowed keys"),
        ("seeds = 3\n", r"sweep.toml: scenario: expected the base scenario's file path"),
        (
            'scenario = "x.toml"\n[grid]\n"demand.scale" = []\n',
            r"grid.demand.scale: expected a non-empty list",
        ),
        (
            'scenario = "x.toml"\n[grid]\n"demand.scale" = 0.5\n',
            r"grid.demand.scale: expected a non-empty list",
        ),
        ('scenario = "x.toml"\nseeds = -2\n', r"sweep.toml: seeds: expected a count >= 1"),
        ('scenario = "x.toml"\n[set]\na.b = 1\n[grid]\na.b = [1, 2]\n', r"set.a.b: also a grid key"),
        ('scenario = "x.toml"\n[grid]\na.b = [1]\n"a.b" = [2]\n', r"grid.a.b: given twice"),
        ('scenario = "x.toml"\nbaseline = { a = 1, b = 2 }\n', r"baseline: expected one key = value"),
        ('scenario = "x.toml"\nseeds = [\n', r"sweep.toml: invalid TOML"),
    ],
)
def test_sweep_file_errors_name_the_file_and_key(tmp_path, text, message):
    (tmp_path / "sweep.toml").write_text(text)
    with pytest.raises(SweepError, match=message):
        load_sweep(tmp_path / "sweep.toml")


def test_every_combination_is_validated_before_anything_runs(tmp_path):
    grid = [parse_grid("signals.timing=fixed,webster"), parse_grid("demand.scale=0.5,-1,0")]
    with pytest.raises(SweepError) as caught:
        plan_sweep(sweep_spec_for(DEMO, grid=grid))
    message = str(caught.value)
    assert "4 of 6 combination(s) are invalid" in message
    assert "combination signals.timing='webster', demand.scale=-1:" in message
    assert f"{DEMO}: demand.scale: expected a number > 0, got -1 (set by override)" in message
    with pytest.raises(ScenarioError, match=r"simulation.dt_s: expected a number > 0"):
        plan_sweep(sweep_spec_for(DEMO, grid=grid[:1], overrides=[("simulation.dt_s", -1)]))
    with pytest.raises(SweepError, match=r"combinations demand.scale=1 and demand.scale=1.0 give the same"):
        plan_sweep(sweep_spec_for(DEMO, grid=[parse_grid("demand.scale=1,1.0")]))
    with pytest.raises(SweepError, match=r"baseline: 2 is not among the 'demand.scale' values \[0.5, 1.0\]"):
        demo_plan(baseline=("demand.scale", 2))
    with pytest.raises(
        SweepError, match=r"baseline: 'signals.timing' is not a grid key; grid keys: demand.scale"
    ):
        demo_plan(baseline=("signals.timing", "fixed"))
    # the command line reports it on one line, exit code 2, and creates no folder
    code = main(["sweep", str(DEMO), "--grid", "demand.scale=0.5,-1", "--out", str(tmp_path / "out")])
    assert code == 2 and not (tmp_path / "out").exists()


def test_run_keys_hash_scenario_content_seed_and_version():
    plan = demo_plan(seeds=(5, 6))
    keys = [run.key for run in plan.runs]
    assert len(set(keys)) == 4
    first = plan.runs[0]
    assert first.key == run_key(first.scenario.key(), 5, __version__)
    assert run_key(first.scenario.key(), 5, "9.9.9") != first.key
    assert [run.key for run in demo_plan(seeds=(5, 6)).runs] == keys  # stable across plannings


# ----- running locally, the store and summaries ----------------------------------------------
def test_local_sweep_stores_each_run_and_resumes_without_rerunning(tmp_path, capsys):
    plan = demo_plan(seeds=2)
    report = run_sweep(plan, tmp_path, jobs=2, progress=True)
    assert (report.counts.done, report.counts.failed, report.counts.skipped) == (4, 0, 0)
    bar = capsys.readouterr().err
    assert "4/4" in bar and "done 4, failed 0, skipped 0" in bar
    runs = load_runs(tmp_path)
    assert list(runs["key"]) == [run.key for run in plan.runs]
    assert set(runs["status"]) == {"ok"} and runs.attrs["parameters"] == ["demand.scale"]
    assert runs.attrs["metrics"] == list(SUMMARY_KEYS)  # the demo has no optional section
    # 5 minutes of a 15-minute demand: finished, but ended by the time limit with trips unfinished
    assert set(runs["run_status"]) == {"time_limit"} and set(runs["run_status"]) <= set(RUN_STATUSES)
    assert (runs["unfinished_share"] > 0).all()
    # the stored metrics are those of the same run made directly (same scenario and seed)
    run = plan.runs[3]
    direct = summarize(CityModel(run.scenario, seed=run.seed).run().results())
    stored = runs.set_index("key").loc[run.key]
    assert {name: stored[name] for name in SUMMARY_KEYS} == pytest.approx(direct, nan_ok=True)
    assert load_summary(ResultStore(tmp_path).results_path(run.key))["info"]["seed"] == run.seed
    assert len(ResultStore(tmp_path).load_run(run.key).trips) == direct["trips"]
    with pytest.raises(SweepError, match="run 0123 has no results folder"):
        ResultStore(tmp_path).load_run("0123")
    # tidy tables on disk
    assert len(pd.read_csv(tmp_path / "runs.csv")) == 4
    summary = pd.read_csv(tmp_path / "summary.csv")
    assert set(summary["metric"]) == set(SUMMARY_KEYS) and set(summary["n"]) == {2}
    assert not (tmp_path / "differences.csv").exists()
    # again: nothing runs, the records are untouched
    before = {path: path.stat().st_mtime_ns for path in record_files(tmp_path)}
    again = run_sweep(plan, tmp_path, jobs=2)
    assert (again.counts.skipped, again.counts.done) == (4, 0)
    assert {path: path.stat().st_mtime_ns for path in record_files(tmp_path)} == before
    # more seeds: only the new runs run
    bigger = run_sweep(demo_plan(seeds=3), tmp_path, jobs=2)
    assert (bigger.counts.skipped, bigger.counts.done) == (4, 2)


def test_paired_differences_against_the_baseline(tmp_path):
    grid = [parse_grid("signals.timing=fixed,webster"), parse_grid("demand.scale=0.5,1.0")]
    spec = sweep_spec_for(DEMO, grid=grid, overrides=[SHORT], seeds=2, baseline=("signals.timing", "fixed"))
    report = run_sweep(plan_sweep(spec), tmp_path, jobs=2)
    diffs = report.differences.set_index(["signals.timing", "demand.scale", "metric"])
    table = report.runs.set_index(["signals.timing", "demand.scale", "seed"]).sort_index()
    runs = table["mean_delay_all_s"]
    expected = (runs.loc["webster", 1.0] - runs.loc["fixed", 1.0]).mean()
    assert diffs.loc[("webster", 1.0, "mean_delay_all_s"), "mean_diff"] == pytest.approx(expected)
    assert diffs.loc[("webster", 1.0, "mean_delay_all_s"), "n"] == 2
    # flagged per combination: the paired unfinished share more than 1 point above the baseline's
    shares = table["unfinished_share"]
    for scale in (0.5, 1.0):
        above = (shares.loc["webster", scale] - shares.loc["fixed", scale]).mean() > UNFINISHED_MARGIN
        assert (diffs.loc[("webster", scale), "flagged"] == above).all()
    written = pd.read_csv(tmp_path / "differences.csv")
    assert len(written) == 2 * len(SUMMARY_KEYS) and written["flagged"].dtype == bool


def test_runs_table_round_trips_through_parquet_and_is_rebuilt_when_records_change(tmp_path, monkeypatch):
    def plan(seeds, baseline=("signals.timing", "fixed")):
        grid = [parse_grid("signals.timing=fixed,webster")]
        return plan_sweep(sweep_spec_for(DEMO, grid=grid, overrides=[SHORT], seeds=seeds, baseline=baseline))

    report = run_sweep(plan(1), tmp_path, jobs=2)
    for name in ("runs", "summary", "differences"):
        assert (tmp_path / f"{name}.parquet").is_file() and (tmp_path / f"{name}.csv").is_file()
    # the stored table is the built one: same values, column types and attrs
    stored = pd.read_parquet(tmp_path / "runs.parquet")
    pd.testing.assert_frame_equal(stored, report.runs)
    assert stored.attrs["parameters"] == ["signals.timing"] and stored.attrs["metrics"] == list(SUMMARY_KEYS)
    assert stored["seed"].dtype == np.int64 and stored["mean_delay_all_s"].dtype == np.float64
    # while current, load_runs reads it (the records are not read again)
    built = ResultStore(tmp_path).runs_table()
    with monkeypatch.context() as patch:
        patch.setattr(ResultStore, "runs_table", lambda self: pytest.fail("rebuilt a current table"))
        loaded = load_runs(tmp_path)
    pd.testing.assert_frame_equal(loaded, built)
    assert loaded.attrs == built.attrs and loaded.attrs["baseline"] == ("signals.timing", "fixed")
    # a bigger plan saved but not run yet (a sweep killed before its first run ended): the stored
    # table is stale, so load_runs builds the current one from the records
    bigger = plan(2)
    ResultStore(tmp_path).save_plan(bigger)
    assert sorted(load_runs(tmp_path)["status"]) == ["ok", "ok", "pending", "pending"]
    # resuming skips the finished runs, runs the rest, and stores the whole table again
    before = {path: path.stat().st_mtime_ns for path in record_files(tmp_path)}
    resumed = run_sweep(bigger, tmp_path, jobs=2)
    assert (resumed.counts.skipped, resumed.counts.done) == (2, 2)
    assert all(path.stat().st_mtime_ns == mtime for path, mtime in before.items())
    stored = pd.read_parquet(tmp_path / "runs.parquet")
    assert len(stored) == 4 and set(stored["status"]) == {"ok"}
    assert stored.attrs["records_stamp"] == ResultStore(tmp_path).runs_table().attrs["records_stamp"]
    # the same runs without a baseline: nothing runs, and the differences tables go
    assert run_sweep(plan(2, baseline=None), tmp_path, jobs=2).counts.skipped == 4
    assert not (tmp_path / "differences.parquet").exists() and not (tmp_path / "differences.csv").exists()


def test_tables_keep_columns_of_mixed_kinds_as_text_and_need_pyarrow(tmp_path, monkeypatch):
    store = ResultStore(tmp_path)
    store.write_table(pd.DataFrame({"value": [1, "auto", None], "n": [1, 2, 3]}), "mixed")
    stored = pd.read_parquet(tmp_path / "mixed.parquet")
    assert list(stored["value"][:2]) == ["1", "auto"] and pd.isna(stored["value"][2])
    assert list(stored["n"]) == [1, 2, 3]
    monkeypatch.setitem(sys.modules, "pyarrow", None)  # as if it were not installed
    with pytest.raises(SweepError, match=r"runs.parquet: .*pyarrow.* pip install pyarrow"):
        store.save_plan(demo_plan())
    assert not (tmp_path / "sweep.json").exists()


def test_runs_table_lists_unfinished_runs_as_pending(tmp_path):
    plan = demo_plan()
    store = ResultStore(tmp_path)
    store.save_plan(plan)
    runs = load_runs(tmp_path)
    assert list(runs["status"]) == ["pending"] * 4 and runs[list(SUMMARY_KEYS)].isna().all().all()
    assert runs["run_status"].isna().all() and list(runs.columns[4:]) == list(RUN_COLUMNS)
    (tmp_path / "runs" / f"{plan.runs[0].key}.json").write_text('{"format": "other"}')
    with pytest.raises(SweepError, match=rf"{plan.runs[0].key}.json: expected a run record"):
        load_runs(tmp_path)
    with pytest.raises(SweepError, match="not a sweep folder: sweep.json is missing"):
        load_runs(tmp_path / "runs")


def test_section_metrics_are_runs_table_columns_with_intervals_and_paired_differences(tmp_path, capsys):
    # the downtown emergency scenario shrunk to a few seconds: 10 minutes, a tenth of its demand
    # for 5 minutes, and a call a minute so that each run dispatches vehicles
    out = tmp_path / "out"
    shrink = ["simulation.max_time_s=600", "demand.scale=0.1", "demand.duration_s=300",
              "emergency.rate_per_h=60", "emergency.end_s=300"]  # fmt: skip
    args = ["sweep", str(SCENARIOS / "downtown_emergency.toml"), "--out", str(out), "--quiet",
            "--grid", "emergency.preemption=off,green_wave", "--baseline", "emergency.preemption=off",
            "--seeds", "2", "--jobs", "2", "--no-records"]  # fmt: skip
    for item in shrink:
        args += ["--set", item]
    assert main(args) == 0
    printed = capsys.readouterr().out
    assert "emergency_mean_response_s" in printed
    runs = load_runs(out)
    sections = [name for name in runs.attrs["metrics"] if name not in SUMMARY_KEYS]
    assert "emergency_mean_response_s" in sections and "emergency_preemptions" in sections
    # the section columns come after the core metrics, before the run's own columns
    position = {name: index for index, name in enumerate(runs.columns)}
    assert position["vehicle_steps"] < position["emergency_mean_response_s"] < position["sim_time_s"]
    assert set(runs["status"]) == {"ok"} and runs["emergency_mean_response_s"].notna().all()
    on = runs.set_index(["emergency.preemption", "seed"]).sort_index()
    assert (on.loc["off", "emergency_preemptions"] == 0).all()
    assert (on.loc["green_wave", "emergency_preemptions"] > 0).all()
    # means with confidence intervals over the two seeds, in summary.csv
    summary = pd.read_csv(out / "summary.csv").set_index(["emergency.preemption", "metric"])
    for level in ("off", "green_wave"):
        row = summary.loc[(level, "emergency_mean_response_s")]
        assert row["n"] == 2
        assert row["mean"] == pytest.approx(on.loc[level, "emergency_mean_response_s"].mean())
        assert row["ci_low"] <= row["mean"] <= row["ci_high"] and np.isfinite(row["half_width"])
    # paired differences against preemption off, seed by seed
    diffs = pd.read_csv(out / "differences.csv").set_index(["emergency.preemption", "metric"])
    row = diffs.loc[("green_wave", "emergency_mean_response_s")]
    response = on["emergency_mean_response_s"]
    expected = (response.loc["green_wave"] - response.loc["off"]).mean()
    assert row["n"] == 2 and row["mean_diff"] == pytest.approx(expected)
    assert row["ci_low"] <= row["mean_diff"] <= row["ci_high"]


def _trips_scenario(folder: Path) -> Path:
    """A 2x2 grid replaying a trip table whose W1 -> E1 trip needs a second row of the grid."""
    (folder / "trips.csv").write_text("id,depart_s,origin,destination\nt0,0,W0,E0\nt1,5,W1,E1\nt2,9,S0,N1\n")
    scenario = folder / "tiny.toml"
    scenario.write_text(
        'name = "tiny"\nseed = 3\n[network]\ntype = "grid"\nrows = 2\ncols = 2\n'
        '[demand]\ntype = "trips"\ntrips = "trips.csv"\n[simulation]\nmax_time_s = 300\n'
    )
    return scenario


def test_a_failing_run_is_recorded_and_the_others_finish(tmp_path, capsys):
    # network.rows = 1 is a valid grid, but the trip table names node W1, which only a
    # two-row grid has: the scenario validates, the run raises a DemandError.
    scenario = _trips_scenario(tmp_path)
    out = tmp_path / "out"
    args = [
        "sweep",
        str(scenario),
        "--grid",
        "network.rows=1,2",
        "--seeds",
        "2",
        "--jobs",
        "2",
        "--out",
        str(out),
    ]
    assert main([*args, "--quiet"]) == 1
    captured = capsys.readouterr()
    assert "4 runs: 2 done, 2 failed, 0 skipped" in captured.out
    assert "2 failed run(s)" in captured.err and "DemandError" in captured.err
    runs = load_runs(out).set_index("network.rows")
    assert list(runs.loc[1, "status"]) == ["failed", "failed"] and list(runs.loc[2, "status"]) == ["ok", "ok"]
    assert (
        runs.loc[1, "error"]
        .str.contains("DemandError: .*trips.csv: line 3: origin: expected a node of the network, got 'W1'")
        .all()
    )
    assert (runs.loc[2, "completed"] == 3).all()
    record = json.loads(ResultStore(out).record_path(runs.loc[1, "key"].iloc[0]).read_text())
    assert record["status"] == "failed" and "Traceback" in record["traceback"] and record["metrics"] == {}
    # failed runs count as finished, unless retried
    assert main([*args, "--quiet"]) == 1
    assert "4 runs: 0 done, 0 failed, 4 skipped" in capsys.readouterr().out
    assert main([*args, "--quiet", "--retry-failed"]) == 1
    assert "4 runs: 0 done, 2 failed, 2 skipped" in capsys.readouterr().out


def _live_processes_in_group(pgid: int) -> list[int]:
    """Processes of a process group that are not zombies (Linux /proc)."""
    live = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rpartition(")")[2].split()
        except OSError:
            continue
        if int(fields[2]) == pgid and fields[0] != "Z":
            live.append(int(stat.parent.name))
    return live


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc to find leftover workers")
def test_a_sweep_killed_mid_way_resumes_with_every_run_exactly_once(tmp_path):
    out = tmp_path / "out"
    plan = demo_plan(scales=(0.5, 1.0, 1.5), seeds=8, overrides=[("simulation.max_time_s", 600.0)])
    args = ["sweep", str(DEMO), "--grid", "demand.scale=0.5,1.0,1.5", "--set", "simulation.max_time_s=600"]
    command = [
        sys.executable,
        "-m",
        "sim",
        *args,
        "--seeds",
        "8",
        "--jobs",
        "2",
        "--out",
        str(out),
        "--quiet",
    ]
    # A session of its own, so that whatever the sweep leaves behind can be killed at the end.
    with (tmp_path / "stderr.txt").open("w") as stderr:
        sweep = subprocess.Popen(command, start_new_session=True, stdout=subprocess.DEVNULL, stderr=stderr)
    try:
        deadline = time.monotonic() + 120
        while len(record_files(out)) < 3 and sweep.poll() is None and time.monotonic() < deadline:
            time.sleep(0.02)
        os.kill(sweep.pid, signal.SIGKILL)
        sweep.wait()
        before = {path.name: path.stat().st_mtime_ns for path in record_files(out)}
        assert 3 <= len(before) < len(plan.runs), (tmp_path / "stderr.txt").read_text()
        # the workers notice that their sweep died and exit on their own
        deadline = time.monotonic() + 10
        while _live_processes_in_group(sweep.pid) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert _live_processes_in_group(sweep.pid) == []
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(sweep.pid, signal.SIGKILL)
    report = run_sweep(plan, out, jobs=2)
    assert report.counts.skipped >= len(before) and report.counts.failed == 0
    assert report.counts.skipped + report.counts.done == len(plan.runs) == 24
    records = record_files(out)
    assert sorted(path.stem for path in records) == sorted(run.key for run in plan.runs)
    assert all(json.loads(path.read_text())["status"] == "ok" for path in records)
    runs = load_runs(out)
    assert runs["key"].is_unique and len(runs) == 24 and set(runs["status"]) == {"ok"}
    # the runs finished before the kill were not run again
    assert {name: (out / "runs" / name).stat().st_mtime_ns for name in before} == before


def _forked_children() -> list[int]:
    """Live children of this process forked from it (same command line): the local pool's workers."""
    me, own = os.getpid(), Path("/proc/self/cmdline").read_bytes()
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rpartition(")")[2].split()
            same = (stat.parent / "cmdline").read_bytes() == own
        except OSError:
            continue
        if int(fields[1]) == me and fields[0] != "Z" and same:
            found.append(int(stat.parent.name))
    return found


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc to find the pool's workers")
def test_a_killed_pool_worker_is_replaced_and_every_run_finishes_once(tmp_path):
    plan = demo_plan(scales=(0.5, 1.0, 1.5), seeds=2)
    killed = []

    def kill_a_worker(outcome):
        workers = _forked_children()
        if not killed and workers:
            os.kill(workers[0], signal.SIGKILL)
            killed.append(workers[0])

    report = run_sweep(plan, tmp_path, jobs=2, on_outcome=kill_a_worker)
    assert killed and (report.counts.done, report.counts.failed) == (6, 0)
    assert sorted(path.stem for path in record_files(tmp_path)) == sorted(run.key for run in plan.runs)
    assert set(load_runs(tmp_path)["status"]) == {"ok"}


# ----- Dask ------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def dask_client():
    distributed = pytest.importorskip("distributed")
    import logging

    with (
        distributed.LocalCluster(
            n_workers=2,
            threads_per_worker=1,
            processes=True,
            dashboard_address=None,
            silence_logs=logging.ERROR,
        ) as cluster,
        distributed.Client(cluster) as client,
    ):
        yield client


def _comparable(runs: pd.DataFrame) -> pd.DataFrame:
    return runs[RESULT_COLUMNS + ["demand.scale"]].sort_values("key").reset_index(drop=True)


def test_dask_gives_the_same_results_as_the_process_pool(tmp_path, dask_client):
    plan = demo_plan(seeds=3)
    pool = run_sweep(plan, tmp_path / "pool", jobs=2)
    dask = run_sweep(plan, tmp_path / "dask", dask=dask_client)
    assert dask.counts.done == 6
    pd.testing.assert_frame_equal(_comparable(pool.runs), _comparable(dask.runs))
    key = plan.runs[-1].key
    for name in ("trips.csv", "links.csv"):
        assert (tmp_path / "pool" / "runs" / key / name).read_bytes() == (
            tmp_path / "dask" / "runs" / key / name
        ).read_bytes()


def test_a_dask_worker_killed_mid_sweep_still_ends_with_every_run_once(tmp_path, dask_client):
    plan = demo_plan(scales=(0.5, 1.0), seeds=6, overrides=[("simulation.max_time_s", 600.0)])
    killed = []

    def kill_a_busy_worker(outcome):
        if killed:
            return
        busy = [address for address, keys in dask_client.processing().items() if keys]
        if busy:
            pid = dask_client.run(os.getpid, workers=busy[:1])[busy[0]]
            os.kill(pid, signal.SIGKILL)
            killed.append(pid)

    report = run_sweep(plan, tmp_path, dask=dask_client, on_outcome=kill_a_busy_worker)
    assert killed, "a worker should have been killed while it ran a task"
    assert (report.counts.done, report.counts.failed) == (12, 0)
    assert sorted(path.stem for path in record_files(tmp_path)) == sorted(run.key for run in plan.runs)
    runs = load_runs(tmp_path)
    assert runs["key"].is_unique and set(runs["status"]) == {"ok"}
    dask_client.wait_for_workers(2, timeout=60)  # the nanny restarted it
