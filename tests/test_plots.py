import numpy as np
import pandas as pd
import pytest
from matplotlib.collections import LineCollection, PolyCollection
from matplotlib.colors import to_hex
from matplotlib.figure import Figure
from test_results import make_results

from sim.metrics.catalog import CORE_METRICS, metric_for
from sim.plots import MAP_METRICS, PlotError, plot_network_map, plot_series, save_figure
from sim.plots.palette import CATEGORY_COLOURS, controller_colour
from sim.plots.sweep_figures import plot_metric_curves, plot_series_over_runs

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def link_lines(figure: Figure) -> LineCollection:
    map_axes = figure.axes[0]  # figure.axes[1] is the colorbar
    (lines,) = [c for c in map_axes.collections if isinstance(c, LineCollection)]
    return lines


def test_plot_series_renders_four_panels_to_png(tmp_path):
    figure = plot_series(make_results())
    assert isinstance(figure, Figure)
    assert len(figure.axes) == 4
    assert figure.get_suptitle() == "tiny, seed 7"
    count_axes = figure.axes[0]
    assert [line.get_label() for line in count_axes.get_lines()] == ["on the network", "waiting to enter"]
    np.testing.assert_allclose(count_axes.get_lines()[0].get_xdata(), np.arange(1.0, 11.0))  # minutes
    path = save_figure(figure, tmp_path / "series.png")
    assert path.read_bytes().startswith(PNG_MAGIC)


def test_plot_series_draws_on_given_axes():
    figure = Figure()
    axes = figure.subplots(2, 2)
    assert plot_series(make_results(), axes=axes, title="") is figure
    assert all(ax.has_data() for ax in axes.ravel())
    assert figure.get_suptitle() == ""
    with pytest.raises(PlotError, match="four matplotlib Axes"):
        plot_series(make_results(), axes=axes[0])


def test_plot_series_names_a_missing_column():
    results = make_results()
    results.series = results.series.drop(columns="queued_vehicles")
    with pytest.raises(PlotError, match=r"results.series lacks column\(s\) \['queued_vehicles'\]"):
        plot_series(results)


def test_network_map_draws_one_line_per_edge(tmp_path):
    results = make_results()
    figure = plot_network_map(results)
    lines = link_lines(figure)
    segments = lines.get_segments()
    assert len(segments) == results.graph.number_of_edges() == 5
    edges = list(results.graph.edges())
    by_edge = dict(zip(edges, segments, strict=True))
    # a -> b runs east along y = 0 and has a reverse link: shifted to its right (south).
    np.testing.assert_allclose(by_edge["a", "b"][:, 0], [0.0, 200.0])
    assert (by_edge["a", "b"][:, 1] < 0).all()
    assert (by_edge["b", "a"][:, 1] > 0).all()
    # c -> a is one-way: drawn on the straight line between its nodes.
    np.testing.assert_allclose(by_edge["c", "a"], [[200.0, 200.0], [0.0, 0.0]])
    # Colour values are time means as shares of the 13.9 m/s limit; c -> a has no records and
    # is masked (drawn grey).
    values = lines.get_array()
    assert values.mask[edges.index(("c", "a"))]
    assert values[edges.index(("a", "b"))] == pytest.approx(4.5 / 13.9)  # mean of 4.0 and 5.0
    assert values[edges.index(("b", "c"))] == pytest.approx(11.0 / 13.9)  # the empty interval is skipped
    assert (lines.norm.vmin, lines.norm.vmax) == (0.0, 1.0)  # fixed, whatever the run's speeds
    assert any(ax.get_ylabel() == "mean speed / speed limit" for ax in figure.axes)  # the colorbar
    assert save_figure(figure, tmp_path / "map.png").read_bytes().startswith(PNG_MAGIC)


@pytest.mark.parametrize("metric", list(MAP_METRICS))
def test_network_map_shows_each_metric_with_its_unit(metric):
    figure = plot_network_map(make_results(), metric=metric)
    assert any(ax.get_ylabel() == MAP_METRICS[metric].label for ax in figure.axes)
    # cropped to the network (0-200 m both ways, two-way links drawn a little beside it)
    left, right = figure.axes[0].get_xlim()
    assert -30.0 < left < 0.0 and 200.0 < right < 230.0


def test_network_map_draws_on_a_given_axes_and_rejects_unknown_metrics():
    figure = Figure()
    ax = figure.add_subplot()
    assert plot_network_map(make_results(), ax=ax) is figure
    with pytest.raises(PlotError, match="'speed' cannot be mapped; choose one of mean_speed_mps"):
        plot_network_map(make_results(), metric="speed")


def test_save_figure_formats(tmp_path):
    figure = plot_series(make_results())
    assert save_figure(figure, tmp_path / "deep" / "series.svg").read_text().lstrip().startswith("<?xml")
    assert save_figure(figure, tmp_path / "series.pdf").read_bytes().startswith(b"%PDF")
    with pytest.raises(PlotError, match=r"series.jpg: cannot save a figure as '.jpg'"):
        save_figure(figure, tmp_path / "series.jpg")


def test_estimates_show_the_precision_of_their_interval():
    delay, stops, share = (metric_for(key) for key in ("mean_delay_all_s", "mean_stops", "unfinished_share"))
    assert delay.format_estimate(1499.3, 103.0) == "1,499 ± 103"
    assert delay.format_estimate(41.26, 1.2) == "41.3 ± 1.2"
    assert stops.format_estimate(1.234, 0.3) == "1.23 ± 0.30"
    assert share.format_estimate(0.125, 0.0131) == "12.5% ± 1.3%"
    assert metric_for("never_entered").format_estimate(1.0, 0.0) == "1 ± 0"
    assert delay.format_estimate(41.26, float("nan")) == "41.3"
    assert delay.format_difference(-21.93, -23.2, -20.6) == "-21.9 [-23.2, -20.6]"
    assert share.format_difference(0.012, 0.002, 0.022) == "+1.20 pt [+0.20, +2.20]"


def test_every_core_metric_is_bounded_and_a_share_at_most_one():
    assert all(metric.low == 0.0 for metric in CORE_METRICS)
    assert metric_for("unfinished_share").high == metric_for("completion_rate").high == 1.0
    np.testing.assert_array_equal(metric_for("unfinished_share").clip([-0.1, 0.5, 1.2]), [0.0, 0.5, 1.0])
    # a non-negative quantity cannot fall by more than all of it
    assert metric_for("a_key_the_registry_does_not_know").change_bounds_pct(-80.0, 40.0) == (-120.0, -40.0)
    assert metric_for("mean_delay_all_s").change_bounds_pct(-80.0, 40.0) == (-100.0, -40.0)
    assert metric_for("vehicles_on_network").label == "vehicles on the network (veh)"


def test_a_controller_has_one_colour_in_every_figure():
    assert controller_colour("fixed_time") == CATEGORY_COLOURS[0]
    assert controller_colour("max_pressure") == CATEGORY_COLOURS[2]
    assert controller_colour("pkg.mod:Mine") == controller_colour("pkg.mod:Mine") not in CATEGORY_COLOURS[:5]
    runs = pd.DataFrame(
        {"signals.controller": ["max_pressure"] * 3 + ["fixed_time"] * 3, "demand.scale": [1.0, 2.0, 3.0] * 2,
         "seed": [0] * 6, "mean_delay_all_s": [1.0, 2.0, 3.0, 2.0, 3.0, 4.0]}
    )  # fmt: skip
    (ax,) = plot_metric_curves(runs, "mean_delay_all_s", "demand.scale", "signals.controller").axes
    colours = {line.get_label(): to_hex(line.get_color()) for line in ax.get_lines()}
    assert colours == {"fixed_time": CATEGORY_COLOURS[0].lower(), "max_pressure": CATEGORY_COLOURS[2].lower()}
    assert ax.get_ylabel() == "mean delay, all trips (s)"  # a label, never the raw key


def test_confidence_bands_stop_at_zero_vehicles():
    series = pd.DataFrame(
        {"time_s": [60.0] * 3 + [120.0] * 3, "vehicles_on_network": [0.0, 0.0, 9.0, 1.0, 2.0, 3.0],
         "seed": [0, 1, 2] * 2}
    )  # fmt: skip
    (ax,) = plot_series_over_runs(series, "vehicles_on_network").axes
    (band,) = [c for c in ax.collections if isinstance(c, PolyCollection)]
    assert (
        band.get_paths()[0].vertices[:, 1].min() == 0.0
    )  # the t interval of (0, 0, 9) reaches far below zero
    assert ax.get_ylabel() == "vehicles on the network (veh)"
