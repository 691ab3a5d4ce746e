"""Controller comparison: common random numbers, the paired table, the CLI and its figures."""

import numpy as np
import pandas as pd
import pytest

from sim.cli import main
from sim.compare import (
    COMPARE_METRICS,
    HALTED_METRICS,
    CompareError,
    compare_controllers,
    comparison_table,
    delay_over_time,
    format_comparison,
)
from sim.control.base import Decision, SignalController
from sim.control.registry import CONTROLLERS as REGISTRY
from sim.control.registry import register_controller
from sim.metrics.catalog import catalog_of
from sim.plots.compare_figures import plot_comparison_bars, plot_delay_over_time
from sim.plots.figures import PlotError
from sim.scenario import ScenarioError, scenario_from_dict

SCENARIO = {
    "name": "tiny",
    "seed": 4,
    "network": {"type": "grid", "rows": 2, "cols": 2},
    "demand": {"type": "uniform", "rate_vph": 1200.0, "duration_s": 300.0},
    "signals": {"timing": "webster", "yellow_s": 3.0, "all_red_s": 1.0},
    "simulation": {"max_time_s": 900.0},
}
CONTROLLERS = ["fixed_time", "max_pressure"]


@pytest.fixture(scope="module")
def comparison():
    return compare_controllers(scenario_from_dict(SCENARIO), CONTROLLERS, [4, 5, 6])


def test_every_controller_runs_on_the_same_seeds_and_demand(comparison):
    runs = comparison.runs
    assert list(runs["controller"]) == ["fixed_time"] * 3 + ["max_pressure"] * 3
    assert list(runs["seed"]) == [4, 5, 6] * 2
    by_seed = runs.pivot(index="seed", columns="controller", values="trips")
    assert (by_seed["fixed_time"] == by_seed["max_pressure"]).all(), (
        "demand must not depend on the controller"
    )
    assert by_seed["fixed_time"].nunique() > 1, "seeds must give different demand"
    assert set(COMPARE_METRICS) <= set(runs.columns)
    assert (runs["max_queue_veh"] >= runs["mean_queue_veh"]).all()


def test_table_holds_means_and_paired_changes(comparison):
    table, runs = comparison.table, comparison.runs
    assert comparison.baseline == "fixed_time"
    assert list(table["metric"].unique()) == list(COMPARE_METRICS)
    row = table[(table["metric"] == "mean_delay_all_s") & (table["controller"] == "max_pressure")].iloc[0]
    delays = runs.pivot(index="seed", columns="controller", values="mean_delay_all_s")
    assert row["mean"] == pytest.approx(delays["max_pressure"].mean())
    diff = delays["max_pressure"] - delays["fixed_time"]
    assert row["mean_diff"] == pytest.approx(diff.mean())
    assert row["change_pct"] == pytest.approx(100.0 * diff.mean() / delays["fixed_time"].mean())
    # the paired interval is the t interval of the per-seed differences (t = 4.303 for 2 df)
    assert row["diff_ci_high"] - row["mean_diff"] == pytest.approx(4.3027 * diff.std() / np.sqrt(3), rel=1e-3)
    base = table[table["controller"] == "fixed_time"]
    assert base["change_pct"].isna().all()
    assert set(runs["status"]) == {"completed"}
    assert not table["flagged"].any()


def test_delay_over_time_covers_every_run(comparison):
    delay = comparison.delay
    assert set(delay["controller"]) == set(CONTROLLERS)
    arrived = delay.groupby(["controller", "seed"])["arrived"].sum()
    completed = comparison.runs.set_index(["controller", "seed"])["completed"]
    pd.testing.assert_series_equal(arrived.astype(float), completed.loc[arrived.index], check_names=False)


def test_process_pool_gives_the_same_runs(comparison):
    pooled = compare_controllers(scenario_from_dict(SCENARIO), CONTROLLERS, [4, 5, 6], jobs=2)
    pd.testing.assert_frame_equal(pooled.runs, comparison.runs)


def test_delay_over_time_bins_trips_by_arrival():
    trips = pd.DataFrame(
        {
            "depart_s": [0.0, 0.0, 10.0, 5.0],
            "arrive_s": [30.0, 60.0, 100.0, np.nan],
            "free_flow_s": [20.0, 20.0, 20.0, 20.0],
        }
    )
    out = delay_over_time(trips, 60.0, 130.0)
    assert list(out["time_s"]) == [60.0, 120.0, 180.0]
    assert list(out["arrived"]) == [2, 1, 0]
    assert out["mean_delay_s"].iloc[0] == pytest.approx((10.0 + 40.0) / 2)
    assert out["mean_delay_s"].iloc[1] == pytest.approx(70.0)
    assert np.isnan(out["mean_delay_s"].iloc[2])


def test_without_fixed_time_the_first_controller_is_the_baseline():
    levels = (("a", 10.0), ("b", 5.0))
    rows = [
        {"controller": c, "seed": s, **dict.fromkeys(COMPARE_METRICS, v + s), "unfinished_share": 0.0}
        for c, v in levels
        for s in range(3)
    ]
    runs = pd.DataFrame(rows)
    metrics = catalog_of() | {m.key: m for m in HALTED_METRICS}
    table = comparison_table(runs, ["b", "a"], "b", {key: metrics[key] for key in COMPARE_METRICS})
    assert list(table["controller"].unique()) == ["b", "a"]
    assert table[table["controller"] == "a"]["change_pct"].iloc[0] == pytest.approx(100.0 * 5.0 / 6.0)
    text = format_comparison(table, "b")
    assert "change vs b" in text and "baseline" in text and "+83.3%" in text


def test_printed_table_fits_100_columns_and_no_change_passes_minus_100_percent():
    # b's delay drops 80% on average with a wide spread over seeds: the symmetric CI passes -100%
    rows = [
        {"controller": c, "seed": s, **dict.fromkeys(COMPARE_METRICS, 1.0), "mean_delay_all_s": v,
         "unfinished_share": 0.0}
        for c, values in (("a", (100.0, 100.0, 100.0)), ("b", (0.0, 10.0, 50.0)))
        for s, v in enumerate(values)
    ]  # fmt: skip
    metrics = catalog_of() | {m.key: m for m in HALTED_METRICS}
    table = comparison_table(pd.DataFrame(rows), ["a", "b"], "a", {k: metrics[k] for k in COMPARE_METRICS})
    b = table[(table["metric"] == "mean_delay_all_s") & (table["controller"] == "b")].iloc[0]
    assert b["change_pct"] - b["change_ci_pct"] < -100.0
    text = format_comparison(table, "a")
    line = next(line for line in text.splitlines() if line.startswith("  b ") and "-80" in line)
    assert "-80% [-100, -14]" in line  # not [-146, -14]
    assert " 20 ± 66 " in line  # precision from the half-width, not "20.00 ± 66.10"
    assert max(len(line) for line in text.splitlines()) <= 100
    assert "halted vehicles on the network, worst interval's mean (veh)" in text
    assert "max queue" not in text and "throughput" not in text


def test_settings_apply_to_their_controller_only(comparison):
    tuned = compare_controllers(
        scenario_from_dict(SCENARIO),
        CONTROLLERS,
        [4],
        settings={"max_pressure": ["signals.max_pressure.decision_interval_s=20"]},
    )
    before = comparison.runs[comparison.runs["seed"] == 4].set_index("controller")["mean_delay_all_s"]
    after = tuned.runs.set_index("controller")["mean_delay_all_s"]
    assert after["fixed_time"] == before["fixed_time"]
    assert after["max_pressure"] != before["max_pressure"]


def test_bad_requests_are_named():
    scenario = scenario_from_dict(SCENARIO)
    with pytest.raises(ScenarioError, match="signals.controller"):
        compare_controllers(scenario, ["fixed_time", "telepathic"], [1])
    with pytest.raises(CompareError, match="fixed_time more than once"):
        compare_controllers(scenario, ["fixed_time", "fixed_time"], [1])
    with pytest.raises(CompareError, match="at least one controller and one seed"):
        compare_controllers(scenario, ["fixed_time"], [])
    with pytest.raises(CompareError, match="settings for sotl, which is not among the controllers"):
        compare_controllers(scenario, ["fixed_time"], [1], settings={"sotl": {}})
    with pytest.raises(ScenarioError, match="signals.max_pressure.decision_interval_s"):
        compare_controllers(
            scenario,
            ["max_pressure"],
            [1],
            settings={"max_pressure": ["signals.max_pressure.decision_interval_s=-1"]},
        )
    with pytest.raises(CompareError, match="jobs >= 1"):
        compare_controllers(scenario, ["fixed_time"], [1], jobs=0)


def test_figures(comparison):
    bars = plot_comparison_bars(comparison.table)
    assert len([ax for ax in bars.axes if ax.get_visible()]) == len(COMPARE_METRICS)
    one = plot_comparison_bars(comparison.table, ["mean_delay_all_s"])
    assert one.axes[0].get_title() == "mean delay, all trips (s)"
    lines = plot_delay_over_time(comparison.delay)
    assert [t.get_text() for t in lines.axes[0].get_legend().get_texts()] == CONTROLLERS
    with pytest.raises(PlotError, match="no rows for metric"):
        plot_comparison_bars(comparison.table, ["speed"])
    with pytest.raises(PlotError, match="lacks column"):
        plot_delay_over_time(comparison.delay.drop(columns="arrived"))


def write_scenario(folder):
    path = folder / "tiny.toml"
    path.write_text(
        'name = "tiny"\nseed = 4\n[network]\ntype = "grid"\nrows = 2\ncols = 2\n'
        "[demand]\nrate_vph = 900.0\nduration_s = 200.0\n[simulation]\nmax_time_s = 600.0\n"
    )
    return path


def test_cli_compare_prints_the_table_and_writes_its_files(tmp_path, capsys):
    out = tmp_path / "cmp"
    code = main(
        ["compare", str(write_scenario(tmp_path)), "--controllers", "fixed_time,actuated", "--seeds", "2",
         "--jobs", "1", "--out", str(out), "--quiet", "--set-for", "actuated:signals.actuated.max_green_s=30"]
    )  # fmt: skip
    printed = capsys.readouterr().out
    assert code == 0
    assert (
        "mean delay, all trips (s)" in printed
        and "change vs fixed_time" in printed
        and "seeds 4..5" in printed
    )
    assert "unfinished" in printed
    for name in (
        "runs.csv",
        "comparison.csv",
        "delay_over_time.csv",
        "compare_bars.png",
        "delay_over_time.png",
    ):
        assert (out / name).stat().st_size > 0
    assert len(pd.read_csv(out / "runs.csv")) == 4


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--controllers", "fixed_time,telepathic"], "signals.controller"),
        (["--seeds", "0"], "expected an integer >= 1"),
        (["--controllers", "fixed_time,,sotl"], "comma-separated controller names"),
        (["--set-for", "max_pressure=3"], "expected CONTROLLER:KEY=VALUE"),
        (
            ["--controllers", "fixed_time", "--set-for", "sotl:signals.sotl.platoon_veh=2"],
            "settings for sotl",
        ),
    ],
)
def test_cli_compare_rejects_bad_input_in_one_line(tmp_path, capsys, args, message):
    code = main(["compare", str(write_scenario(tmp_path)), "--out", str(tmp_path / "o"), "--quiet", *args])
    assert code == 2
    assert message in capsys.readouterr().err


class _NeverServesTheSecondPhase(SignalController):
    """Holds the first phase for ever: the other phase's approaches starve."""

    def decide(self, view):
        return Decision(0, view.now_s + 5.0)


@pytest.fixture
def starving_controller():
    register_controller("starving", _NeverServesTheSecondPhase)
    yield "starving"
    REGISTRY.pop("starving")


def test_a_controller_that_starves_an_approach_is_worse_and_flagged(starving_controller):
    # a 1x1 grid: one signal; the starving controller never gives the east-west approaches green
    scenario = scenario_from_dict(
        {
            "name": "starve",
            "seed": 1,
            "network": {"type": "grid", "rows": 1, "cols": 1},
            "demand": {"type": "uniform", "rate_vph": 600.0, "duration_s": 600.0},
            "simulation": {"max_time_s": 900.0},
            "safety": {"enabled": False},  # the envelope would serve the starved approach (test_envelope.py)
        }
    )
    comparison = compare_controllers(scenario, ["fixed_time", starving_controller], [1, 2])
    table, runs = comparison.table, comparison.runs
    starved = runs[runs["controller"] == starving_controller]
    assert (starved["status"] == "time_limit").all()
    assert (starved["unfinished_share"] > 0.2).all()
    # the trips it served went straight through: completed-only delay flatters it ...
    by = table.set_index(["metric", "controller"])
    completed_only = by.loc[("mean_delay_completed_s", starving_controller), "mean"]
    assert completed_only < by.loc[("mean_delay_completed_s", "fixed_time"), "mean"]
    # ... while every trip counted, it is far worse, and it is flagged
    assert by.loc[("mean_delay_all_s", starving_controller), "change_pct"] > 100.0
    assert by.loc[("max_green_wait_s", starving_controller), "mean"] > 600.0
    assert comparison.flagged == [starving_controller]
    text = format_comparison(table, comparison.baseline)
    assert f"  {starving_controller} !" in text
    assert "unfinished share more than 1% point above fixed_time's" in text
    figure = plot_comparison_bars(table, ["mean_delay_all_s"])
    assert [label.get_text() for label in figure.axes[0].get_xticklabels()] == ["fixed_time", "starving !"]
