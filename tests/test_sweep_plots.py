"""Sweep and congestion figures: the Python API on hand-made data, and every `citysim plot` kind."""

import itertools
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from matplotlib.collections import LineCollection, PathCollection, PolyCollection
from matplotlib.colors import to_rgba
from test_results import make_results

from sim.cli import main
from sim.commands.plot import KINDS
from sim.metrics.catalog import UNFINISHED_MARGIN
from sim.metrics.frames import CorridorTrajectories
from sim.metrics.results import write_results
from sim.metrics.stats import group_summary
from sim.model import CityModel
from sim.plots import (
    PlotError,
    link_congestion,
    mfd_points,
    plot_comparison_bars,
    plot_congestion_map,
    plot_metric_curves,
    plot_mfd,
    plot_series_over_runs,
    plot_time_space,
)
from sim.plots.network_figures import _SIGNAL_COLOURS, DELAY_BINS_S, green_shares
from sim.plots.palette import FLAG_COLOUR
from sim.probes.trajectories import TrajectoryError, corridor_nodes, sample_corridor
from sim.scenario import load_scenario
from sim.sweep import load_runs, parse_grid, plan_sweep, run_sweep, sweep_spec_for

DEMO = Path(__file__).resolve().parents[1] / "scenarios" / "demo.toml"
JUNCTION_CONTROL = DEMO.with_name("junction_control.toml")
MAGIC = {".png": b"\x89PNG\r\n\x1a\n", ".pdf": b"%PDF", ".svg": b"<?xml"}


@pytest.fixture(scope="module")
def sweep_folder(tmp_path_factory, demo_scenario):
    """2 timings x 2 demand scales x 2 seeds of a 5-minute demo."""
    CityModel(demo_scenario, seed=0).run(until_s=1.0)  # forked workers inherit the loaded kernel
    folder = tmp_path_factory.mktemp("sweep")
    grid = [parse_grid("signals.timing=fixed,webster"), parse_grid("demand.scale=0.5,1.0")]
    spec = sweep_spec_for(DEMO, grid=grid, overrides=[("simulation.max_time_s", 300.0)], seeds=2)
    run_sweep(plan_sweep(spec), folder, jobs=2)
    return folder


@pytest.fixture(scope="module")
def run_folder(tmp_path_factory):
    """One 5-minute run of a scenario file, written as `citysim run` writes it."""
    folder = tmp_path_factory.mktemp("run")
    scenario_file = folder / "short.toml"
    scenario_file.write_text(DEMO.read_text().replace("max_time_s = 1800.0", "max_time_s = 300.0"))
    scenario = load_scenario(scenario_file)
    assert scenario.simulation.max_time_s == 300.0
    write_results(CityModel(scenario, seed=4).run().results(), folder / "out")
    return folder / "out"


# ----- every kind from the command line ---------------------------------------------------------
# The sweep fixture runs without [emissions], so it has nothing for the emissions map to draw;
# tests/test_emissions.py renders that kind from a run with emissions (and checks the error without).
@pytest.mark.parametrize("kind", [kind for kind in KINDS if kind != "emissions"])
def test_every_kind_renders_from_a_sweep_folder(sweep_folder, tmp_path, kind):
    out = tmp_path / f"{kind}.png"
    assert main(["plot", str(sweep_folder), "--kind", kind, "--out", str(out)]) == 0
    assert out.read_bytes().startswith(MAGIC[".png"])


@pytest.mark.parametrize("kind", ["series", "map", "timespace", "mfd"])
def test_run_folder_kinds_render(run_folder, tmp_path, kind):
    out = tmp_path / f"{kind}.png"
    assert main(["plot", str(run_folder), "--kind", kind, "--out", str(out)]) == 0
    assert out.read_bytes().startswith(MAGIC[".png"])


@pytest.mark.parametrize("suffix", [".svg", ".pdf"])
def test_figures_save_as_svg_and_pdf(sweep_folder, tmp_path, suffix):
    out = tmp_path / f"bars{suffix}"
    assert (
        main(["plot", str(sweep_folder), "--kind", "bars", "--metric", "throughput_vph", "--out", str(out)])
        == 0
    )
    assert out.read_bytes().startswith(MAGIC[suffix])


def test_default_output_names_and_clear_errors(sweep_folder, run_folder, tmp_path, capsys):
    assert main(["plot", str(sweep_folder), "--kind", "map", "--metric", "vc"]) == 0
    assert (sweep_folder / "plot-map-vc.png").is_file()
    assert main(["plot", str(run_folder), "--kind", "curves"]) == 2
    assert "this figure needs a sweep folder" in capsys.readouterr().err
    assert main(["plot", str(tmp_path), "--kind", "mfd"]) == 2
    assert "neither a sweep folder (sweep.json) nor a run's results folder" in capsys.readouterr().err
    assert main(["plot", str(sweep_folder), "--kind", "curves", "--x", "demand.rate_vph"]) == 2
    assert "--x 'demand.rate_vph' is not a parameter of the sweep" in capsys.readouterr().err
    assert main(["plot", str(sweep_folder), "--kind", "map", "--metric", "queue"]) == 2
    assert "'queue' is not a map metric; choose one of delay, speed, vc" in capsys.readouterr().err
    assert main(["plot", str(sweep_folder), "--kind", "timespace", "--corridor", "W0,E3"]) == 2
    assert "corridor W0->E3: no network edge W0->E3" in capsys.readouterr().err


# ----- sweep figures ----------------------------------------------------------------------------
def test_curves_show_the_group_means_and_intervals(sweep_folder):
    runs = load_runs(sweep_folder)
    figure = plot_metric_curves(runs, "mean_delay_all_s", "demand.scale", "signals.timing")
    (ax,) = figure.axes
    lines = {line.get_label(): line for line in ax.get_lines()}
    assert set(lines) == {"fixed", "webster"}
    summary = group_summary(runs, ["signals.timing", "demand.scale"], ["mean_delay_all_s"]).set_index(
        ["signals.timing", "demand.scale"]
    )
    np.testing.assert_allclose(lines["webster"].get_xdata(), [0.5, 1.0])
    np.testing.assert_allclose(lines["webster"].get_ydata(), summary.loc["webster", "mean"])
    bands = [c for c in ax.collections if isinstance(c, PolyCollection)]
    assert len(bands) == 2  # one CI band per line
    band_y = bands[1].get_paths()[0].vertices[:, 1]
    assert band_y.max() == pytest.approx(summary.loc["webster", "ci_high"].max())


def test_curves_place_text_values_in_order_and_skip_failed_runs():
    runs = pd.DataFrame(
        {
            "status": ["ok", "ok", "ok", "ok", "failed"],
            "signals.controller": ["fixed_time", "fixed_time", "sotl", "sotl", "sotl"],
            "seed": [1, 2, 1, 2, 3],
            "mean_delay_all_s": [10.0, 12.0, 8.0, 9.0, math.nan],
        }
    )
    (ax,) = plot_metric_curves(runs, "mean_delay_all_s", "signals.controller").axes
    (line,) = ax.get_lines()
    np.testing.assert_allclose(line.get_xdata(), [0.0, 1.0])
    np.testing.assert_allclose(line.get_ydata(), [11.0, 8.5])
    assert [tick.get_text() for tick in ax.get_xticklabels()] == ["fixed_time", "sotl"]
    with pytest.raises(PlotError, match=r"lacks column\(s\) \['mean_stops'\]"):
        plot_metric_curves(runs, "mean_stops", "signals.controller")
    with pytest.raises(PlotError, match="no finished"):
        plot_metric_curves(runs.assign(status="failed"), "mean_delay_all_s", "signals.controller")


def test_bars_one_per_combination_with_interval(sweep_folder):
    runs = load_runs(sweep_folder)
    (ax,) = plot_comparison_bars(runs, "throughput_vph", ["demand.scale", "signals.timing"]).axes
    assert len(ax.patches) == 4
    summary = group_summary(runs, ["signals.timing", "demand.scale"], ["throughput_vph"])
    expected = summary.set_index(["signals.timing", "demand.scale"])["mean"]
    heights = [patch.get_height() for patch in ax.patches]  # colour (timing) outer, group (scale) inner
    np.testing.assert_allclose(heights, [expected[t, s] for t in ("fixed", "webster") for s in (0.5, 1.0)])
    # no baseline in this sweep: a combination is flagged when over 1% of its trips did not finish
    # (5 minutes of a 15-minute demand leave many), and the legend then explains the hatching
    shares = group_summary(runs, ["signals.timing", "demand.scale"], ["unfinished_share"])
    flagged = shares.set_index(["signals.timing", "demand.scale"])["mean"] > UNFINISHED_MARGIN
    assert [patch.get_hatch() == "//" for patch in ax.patches] == [
        flagged[t, s] for t in ("fixed", "webster") for s in (0.5, 1.0)
    ]
    note = ["unfinished share > 1% (no baseline)"] if flagged.any() else []
    assert [text.get_text() for text in ax.get_legend().get_texts()] == ["fixed", "webster", *note]
    assert [tick.get_text() for tick in ax.get_xticklabels()] == ["0.5", "1.0"]


def flag_runs(baseline: tuple[str, object] | None) -> pd.DataFrame:
    """Two controllers at two demand scales, 2 seeds each, with ``attrs["baseline"]``.

    Unfinished shares: fixed_time 3% at scale 1 and 1% at scale 2; max_pressure 3.5% and 5%, so
    4 points above fixed_time at scale 2 but only half a point at scale 1.
    """
    rows = []
    for controller, scale, share in [
        ("fixed_time", 1.0, 0.03), ("max_pressure", 1.0, 0.035),
        ("fixed_time", 2.0, 0.01), ("max_pressure", 2.0, 0.05),
    ]:  # fmt: skip
        for seed in (1, 2):
            rows.append(
                {"status": "ok", "signals.controller": controller, "demand.scale": scale, "seed": seed,
                 "mean_delay_all_s": 10.0 * scale + seed, "unfinished_share": share}
            )  # fmt: skip
    runs = pd.DataFrame(rows)
    runs.attrs["baseline"] = baseline
    return runs


def ringed(ax) -> list[tuple[float, float]]:
    """The (x, y) points drawn with a red ring."""
    red = to_rgba(FLAG_COLOUR)
    return sorted(
        (float(x), float(y))
        for c in ax.collections
        if isinstance(c, PathCollection) and len(c.get_offsets()) and np.allclose(c.get_edgecolor()[0], red)
        for x, y in c.get_offsets()
    )


def test_a_combination_leaving_trips_unfinished_is_drawn_hatched_and_ringed():
    runs = flag_runs(("signals.controller", "fixed_time"))
    # bars: fixed_time at 1.0, 2.0, then max_pressure at 1.0, 2.0; only max_pressure at 2.0 is flagged
    (ax,) = plot_comparison_bars(runs, "mean_delay_all_s", ["demand.scale", "signals.controller"]).axes
    assert [patch.get_hatch() for patch in ax.patches] == [None, None, None, "//"]
    assert np.allclose(ax.patches[3].get_edgecolor(), to_rgba(FLAG_COLOUR))
    assert not np.allclose(ax.patches[2].get_edgecolor(), to_rgba(FLAG_COLOUR))
    legend = ax.get_legend()
    texts = [text.get_text() for text in legend.get_texts()]
    assert texts == [
        "fixed_time",
        "max_pressure",
        "unfinished share > signals.controller=fixed_time's + 1 pt",
    ]
    assert [handle.get_hatch() for handle in legend.legend_handles] == [None, None, "//"]
    # curves: the same combination gets a red ring at its mean
    (ax,) = plot_metric_curves(runs, "mean_delay_all_s", "demand.scale", "signals.controller").axes
    assert ringed(ax) == [(2.0, 21.5)]
    assert texts[-1] in [text.get_text() for text in ax.get_legend().get_texts()]
    # the baseline compared within the other plotted parameters: with the scale as the baseline,
    # max_pressure at 2.0 is 1.5 points above max_pressure at 1.0, fixed_time at 2.0 below it
    by_scale = flag_runs(("demand.scale", 1.0))
    (ax,) = plot_metric_curves(by_scale, "mean_delay_all_s", "signals.controller", "demand.scale").axes
    assert ringed(ax) == [(1.0, 21.5)]
    # without a baseline: every combination above 1% unfinished, i.e. all but fixed_time at 2.0
    (ax,) = plot_comparison_bars(
        flag_runs(None), "mean_delay_all_s", ["demand.scale", "signals.controller"]
    ).axes
    assert [patch.get_hatch() for patch in ax.patches] == ["//", None, "//", "//"]
    assert "unfinished share > 1% (no baseline)" in [text.get_text() for text in ax.get_legend().get_texts()]
    # nothing above the margin, or no unfinished_share column: nothing marked, no note
    for calm in (
        flag_runs(None).assign(unfinished_share=0.0),
        flag_runs(None).drop(columns="unfinished_share"),
    ):
        (ax,) = plot_comparison_bars(calm, "mean_delay_all_s", ["demand.scale", "signals.controller"]).axes
        assert [patch.get_hatch() for patch in ax.patches] == [None] * 4
        assert [text.get_text() for text in ax.get_legend().get_texts()] == ["fixed_time", "max_pressure"]
        (ax,) = plot_metric_curves(calm, "mean_delay_all_s", "demand.scale", "signals.controller").axes
        assert ringed(ax) == []


# ----- several hue parameters; runs a parameter did not change counted once ---------------------
JUNCTION, CONTROLLER, DEMAND = "network.junction", "signals.controller", "demand.rate_vph"


def junction_runs() -> pd.DataFrame:
    """Priority roads and signals (two controllers) at 2 demands, 3 seeds, as a sweep's full product.

    The controller does nothing at priority roads: those runs come twice with identical metrics.
    Priority roads leave 5% of the trips unfinished at 1,200 veh/h, the signals none.
    """
    offset = {
        ("priority", ""): 0.0,
        ("traffic_light", "fixed_time"): 30.0,
        ("traffic_light", "max_pressure"): 10.0,
    }
    rows = []
    for junction, controller, demand, seed in itertools.product(
        ("priority", "traffic_light"), ("fixed_time", "max_pressure"), (600.0, 1200.0), (1, 2, 3)
    ):
        key = (junction, controller if junction == "traffic_light" else "")
        delay = offset[key] + demand / 100.0 + seed**2
        share = 0.05 if junction == "priority" and demand == 1200.0 else 0.0
        rows.append({"status": "ok", JUNCTION: junction, CONTROLLER: controller, DEMAND: demand,
                     "seed": seed, "mean_delay_all_s": delay, "vehicle_steps": int(delay * 100),
                     "unfinished_share": share})  # fmt: skip
    runs = pd.DataFrame(rows)
    runs.attrs.update(parameters=[JUNCTION, CONTROLLER, DEMAND], baseline=(JUNCTION, "traffic_light"))
    return runs


def curves(runs: pd.DataFrame, hue) -> tuple[dict, list, object]:
    """The lines by label, their CI bands in the same order, and the axes."""
    (ax,) = plot_metric_curves(runs, "mean_delay_all_s", DEMAND, hue).axes
    bands = [c for c in ax.collections if isinstance(c, PolyCollection)]
    return {line.get_label(): line for line in ax.get_lines()}, bands, ax


def test_curves_of_several_parameters_count_identical_runs_once():
    runs = junction_runs()
    lines, bands, ax = curves(runs, [JUNCTION, CONTROLLER])
    assert list(lines) == ["priority", "traffic_light, fixed_time", "traffic_light, max_pressure"]
    assert ax.get_legend().get_title().get_text() == f"{JUNCTION}, {CONTROLLER}"
    np.testing.assert_allclose(lines["priority"].get_ydata(), [6.0 + 14 / 3, 12.0 + 14 / 3])
    np.testing.assert_allclose(
        lines["traffic_light, max_pressure"].get_ydata(), [16.0 + 14 / 3, 22.0 + 14 / 3]
    )
    # the priority band is the interval over its 3 seeds, not over the 6 copies (which is narrower)
    priority = runs[runs[JUNCTION] == "priority"]
    once = group_summary(priority[priority[CONTROLLER] == "fixed_time"], [DEMAND], ["mean_delay_all_s"])
    twice = group_summary(priority, [DEMAND], ["mean_delay_all_s"])
    top = bands[0].get_paths()[0].vertices[:, 1].max()
    assert top == pytest.approx(once["ci_high"].max())
    assert top > twice["ci_high"].max() + 1.0
    # the merged curve is compared with the signals of either controller: ringed at 1,200 veh/h
    assert ringed(ax) == [(1200.0, pytest.approx(12.0 + 14 / 3))]
    assert "unfinished share > network.junction=traffic_light's + 1 pt" in [
        text.get_text() for text in ax.get_legend().get_texts()
    ]


def test_a_parameter_not_plotted_is_merged_where_it_changed_nothing():
    lines, bands, _ = curves(junction_runs(), JUNCTION)
    assert list(lines) == ["priority", "traffic_light"]
    # priority: 3 distinct runs per demand; signals: both controllers' 6 runs, pooled
    priority = group_summary(junction_runs().query("`signals.controller` == 'fixed_time'"),
                             [JUNCTION, DEMAND], ["mean_delay_all_s"]).set_index(JUNCTION)  # fmt: skip
    assert bands[0].get_paths()[0].vertices[:, 1].max() == pytest.approx(
        priority.loc["priority", "ci_high"].max()
    )
    np.testing.assert_allclose(lines["traffic_light"].get_ydata(), [26.0 + 14 / 3, 32.0 + 14 / 3])


def test_runs_are_merged_only_when_every_one_has_an_identical_twin():
    split = ["priority, fixed_time", "priority, max_pressure", "traffic_light, fixed_time",
             "traffic_light, max_pressure"]  # fmt: skip
    runs = junction_runs()
    one = (runs[JUNCTION] == "priority") & (runs[CONTROLLER] == "max_pressure") & (runs["seed"] == 2)
    # one metric of one run differs (not the plotted one): the controller did change something
    differs = runs.copy()
    differs.loc[one & (differs[DEMAND] == 600.0), "vehicle_steps"] += 1
    assert list(curves(differs, [JUNCTION, CONTROLLER])[0]) == split
    # a twin is missing (its run failed): nothing shows the controller changed nothing there
    failed = runs.copy()
    failed.loc[one & (failed[DEMAND] == 600.0), "status"] = "failed"
    assert list(curves(failed, [JUNCTION, CONTROLLER])[0]) == split
    # without seeds, no run can be matched with its twin
    assert list(curves(runs.drop(columns="seed"), [JUNCTION, CONTROLLER])[0]) == split


def test_curves_with_several_hue_parameters_from_the_command_line(tmp_path, monkeypatch, capsys):
    axes = (
        f"{JUNCTION}=priority,traffic_light",
        f"{CONTROLLER}=fixed_time,max_pressure",
        f"{DEMAND}=600,1200",
    )
    grid = [parse_grid(axis) for axis in axes]
    spec = sweep_spec_for(JUNCTION_CONTROL, grid=grid, overrides=[("simulation.max_time_s", 300.0)], seeds=2)
    run_sweep(plan_sweep(spec), tmp_path / "sweep", jobs=1)
    drawn = []
    monkeypatch.setattr("sim.plots.save_figure", lambda figure, out: drawn.append(figure))
    command = ["plot", str(tmp_path / "sweep"), "--kind", "curves", "--hue", f"{JUNCTION},{CONTROLLER}"]
    assert main([*command, "--log-y"]) == 0
    (ax,) = drawn[0].axes
    # the simulated priority runs are the same for both controllers: one line, from 2 runs per demand
    assert [line.get_label() for line in ax.get_lines()] == [
        "priority", "traffic_light, fixed_time", "traffic_light, max_pressure"
    ]  # fmt: skip
    assert ax.get_xlabel() == DEMAND and ax.get_yscale() == "log"
    runs = load_runs(tmp_path / "sweep")
    priority = runs[(runs[JUNCTION] == "priority")].sort_values(["seed", DEMAND])
    by_controller = [rows["mean_delay_all_s"].to_numpy() for _, rows in priority.groupby(CONTROLLER)]
    np.testing.assert_array_equal(*by_controller)
    assert main([*command[:-1], f"{JUNCTION}, {JUNCTION}"]) == 2
    assert "name each parameter once" in capsys.readouterr().err
    assert main([*command[:-1], f"{JUNCTION},signals.timing"]) == 2
    assert "--hue 'signals.timing' is not a parameter of the sweep" in capsys.readouterr().err
    assert main([*command, "--x", JUNCTION]) == 2
    assert "and not the --x one ('network.junction')" in capsys.readouterr().err


def test_series_over_runs_average_each_time():
    series = pd.DataFrame(
        {
            "time_s": [60.0, 120.0, 60.0, 120.0, 60.0, 120.0],
            "scale": [1.0, 1.0, 1.0, 1.0, 2.0, 2.0],
            "vehicles_on_network": [2, 4, 4, 8, 10, 10],
        }
    )
    (ax,) = plot_series_over_runs(series, "vehicles_on_network", ["scale"]).axes
    lines = {line.get_label(): line for line in ax.get_lines()}
    np.testing.assert_allclose(lines["1.0"].get_xdata(), [1.0, 2.0])  # minutes
    np.testing.assert_allclose(lines["1.0"].get_ydata(), [3.0, 6.0])
    np.testing.assert_allclose(lines["2.0"].get_ydata(), [10.0, 10.0])


# ----- congestion metrics, MFD, time-space --------------------------------------------------------
def test_link_congestion_by_hand():
    results = make_results()
    edges = list(results.graph.edges())
    ab, bc, ca = edges.index(("a", "b")), edges.index(("b", "c")), edges.index(("c", "a"))
    speed = link_congestion(results, "speed")
    # a -> b: equal densities, speeds 4 and 5; b -> c: only the second interval had vehicles; as
    # shares of the 13.9 m/s limit
    assert speed[ab] == pytest.approx(4.5 / 13.9) and speed[bc] == pytest.approx(11.0 / 13.9)
    assert math.isnan(speed[ca])
    delay = link_congestion(results, "delay")
    assert delay[ab] == pytest.approx(200.0 / 4.5 - 200.0 / 13.9)
    vc = link_congestion(results, "vc")
    # b is signalized, without a plan: its two approaches share two phases, green half the time
    assert vc[ab] == pytest.approx(120.0 / (2 * 1900.0 * 0.5))
    assert vc[bc] == pytest.approx((0.0 + 360.0) / 2 / 1900.0)  # the empty interval counts as zero flow
    with pytest.raises(PlotError, match="choose one of delay, speed, vc"):
        link_congestion(results, "queue")


def test_green_share_comes_from_the_signal_plan_or_the_approaches():
    graph = make_results().graph
    edges = list(graph.edges())
    assert green_shares(graph)[edges.index(("a", "b"))] == pytest.approx(0.5)
    assert green_shares(graph)[edges.index(("b", "c"))] == 1.0  # c has no signal
    # a plan: a's movements green 20 of a 60 s cycle (greens 20 + 30, yellows 3 + 3, all-red 2 + 2)
    graph.nodes["b"]["signal_plan"] = {
        "phases": [[["a", "c"]], [["c", "a"]]], "greens_s": [20.0, 30.0], "yellow_s": 3.0, "all_red_s": 2.0,
    }  # fmt: skip
    shares = green_shares(graph)
    assert shares[edges.index(("a", "b"))] == pytest.approx(20.0 / 60.0)
    assert shares[edges.index(("c", "b"))] == pytest.approx(30.0 / 60.0)


def test_congestion_maps_have_fixed_scales_whatever_the_run():
    results = make_results()
    for metric, limits in (("speed", (0.0, 1.0)), ("vc", (0.0, 1.0)), ("delay", (0.0, 80.0))):
        (lines,) = [c for c in plot_congestion_map(results, metric).axes[0].collections
                    if isinstance(c, LineCollection)]  # fmt: skip
        assert (lines.norm.vmin, lines.norm.vmax) == limits
    # the delay map's bins are the same in every run
    (lines,) = [
        c for c in plot_congestion_map(results, "delay").axes[0].collections if isinstance(c, LineCollection)
    ]
    np.testing.assert_array_equal(lines.norm.boundaries, DELAY_BINS_S)


def test_congestion_map_colours_each_link(tmp_path):
    figure = plot_congestion_map(make_results(), "delay")
    (lines,) = [c for c in figure.axes[0].collections if isinstance(c, LineCollection)]
    assert len(lines.get_segments()) == 5
    np.testing.assert_allclose(lines.get_array().filled(np.nan), link_congestion(make_results(), "delay"))
    assert any(ax.get_ylabel() == "mean delay per vehicle (s/veh)" for ax in figure.axes)


def test_mfd_points_are_lane_length_weighted():
    points = mfd_points(make_results()).set_index("time_s")
    # at 300 s: a<->b (200 m, 2 lanes) k = 2.5, 5 and q = 120, 240; b->c empty; c->b (1 lane) k = 10, q = 480
    assert points.loc[300.0, "density_vpkmpl"] == pytest.approx((2.5 * 400 + 5 * 400 + 10 * 200) / 1200)
    assert points.loc[300.0, "flow_vphpl"] == pytest.approx((120 + 240 + 480) * 200 / 1200)
    (ax,) = plot_mfd(points.reset_index().assign(run="r1"), hue="run").axes
    assert len(ax.collections) == 1 and ax.get_xlabel() == "network density (veh/km/lane)"
    with pytest.raises(PlotError, match="no MFD points"):
        plot_mfd(points.iloc[:0])


def test_time_space_draws_trajectories_and_signal_phases():
    trajectories = CorridorTrajectories(
        nodes=("a", "b", "c"),
        edge_start_m=np.array([0.0, 200.0]),
        length_m=400.0,
        dt_s=1.0,
        vehicles=pd.DataFrame(
            {
                "time_s": [1.0, 2.0, 3.0, 4.0, 5.0, 3.0, 4.0],
                "vehicle": [0, 0, 0, 0, 0, 1, 1],
                "distance_m": [0.0, 10.0, 20.0, 30.0, 40.0, 5.0, 9.0],
                "speed_mps": [10.0] * 7,
            }
        ),
        signals=pd.DataFrame(
            {
                "time_s": [1.0, 2.0, 3.0, 4.0, 5.0, 6.0],
                "node": ["b"] * 6,
                "distance_m": [200.0] * 6,
                "state": ["red", "red", "green", "green", "yellow", "red"],
            }
        ),
    )
    (ax, _colorbar) = plot_time_space(trajectories).axes
    (lines,) = [c for c in ax.collections if isinstance(c, LineCollection)]
    assert len(lines.get_segments()) == 5  # 4 steps of vehicle 0, 1 of vehicle 1
    # red 0-2 s and 5-6 s, green 2-4 s, yellow 4-5 s: a state sampled at t held during (t - 1, t]
    assert bar_spans(ax, _SIGNAL_COLOURS["red"]) == [(0.0, 2.0), (5.0, 6.0)]
    assert bar_spans(ax, _SIGNAL_COLOURS["green"]) == [(2.0, 4.0)]
    assert bar_spans(ax, _SIGNAL_COLOURS["yellow"]) == [(4.0, 5.0)]


def bar_spans(ax, colour: str) -> list[tuple[float, float]]:
    """(start, end) times of the signal bars drawn in ``colour``."""
    found = [c for c in ax.collections if isinstance(c, PolyCollection) and c.get_paths()]
    found = [c for c in found if np.allclose(c.get_facecolor()[0], to_rgba(colour))]
    return sorted(
        (float(path.vertices[:, 0].min()), float(path.vertices[:, 0].max()))
        for c in found
        for path in c.get_paths()
    )


def test_sample_corridor_follows_vehicles_along_the_main_straight(demo_scenario):
    model = CityModel(demo_scenario, seed=2)
    nodes = corridor_nodes(model.net)
    assert len(nodes) == 6 and nodes[0].startswith(("W", "E", "N", "S"))  # fringe to fringe through 4 signals
    trajectories = sample_corridor(model, end_s=240.0)
    assert model.time_s == 240.0
    vehicles = trajectories.vehicles
    assert len(vehicles) > 0 and vehicles["distance_m"].between(0.0, trajectories.length_m).all()
    assert (vehicles.sort_values("time_s").groupby("vehicle")["distance_m"].diff().dropna() >= -1e-9).all()
    signals = trajectories.signals
    assert len(signals) == 240 * 4 and set(signals["state"]) <= {"red", "yellow", "green"}
    assert len(set(signals["state"])) >= 2  # the signals cycle within 4 minutes
    with pytest.raises(TrajectoryError, match="no network edge"):
        corridor_nodes(model.net, ["W0", "E0"])
    with pytest.raises(TrajectoryError, match="must start at or after the model's time"):
        sample_corridor(model, start_s=10.0, end_s=300.0)


def test_sweep_tables_fit_100_columns_with_labels_and_sensible_digits():
    from sim.sweep.summaries import format_differences, format_summary_table, summarize_runs

    rng = np.random.default_rng(0)
    rows = [
        {"signals.controller": c, "demand.rate_vph": r, "seed": s, "status": "ok",
         "mean_delay_all_s": 1400.0 + 100 * rng.random() + (50 if c == "b" else 0), "unfinished_share": 0.0,
         "never_entered": 1.0, "mean_travel_time_all_s": 90.0 + rng.random(), "max_green_wait_s": 30.0}
        for c in ("a", "b") for r in (600, 1200, 1800, 2400) for s in range(3)
    ]  # fmt: skip
    runs = pd.DataFrame(rows)
    parameters = ["signals.controller", "demand.rate_vph"]
    summary, differences = summarize_runs(runs, parameters, ("signals.controller", "a"), list(rows[0])[4:])
    texts = (format_summary_table(summary, parameters), format_differences(differences, "signals.controller"))
    for text in texts:
        assert max(len(line) for line in text.splitlines()) <= 100
        assert "mean delay, all trips (s)" in text and "mean_delay_all_s" not in text
        assert "e+0" not in text
    table = format_summary_table(summary, parameters)
    assert "1 ± 0" in table  # identical runs: exact
    assert "0.00% ± 0" in table
