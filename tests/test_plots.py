import numpy as np
import pytest
from matplotlib.collections import LineCollection
from matplotlib.figure import Figure
from test_results import make_results

from sim.plots import MAP_METRICS, PlotError, plot_network_map, plot_series, save_figure

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
    assert [line.get_label() for line in count_axes.get_lines()] == ["on network", "waiting to enter"]
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
    # Colour values are time means; c -> a has no records and is masked (drawn grey).
    values = lines.get_array()
    assert values.mask[edges.index(("c", "a"))]
    assert values[edges.index(("a", "b"))] == pytest.approx(4.5)  # mean of 4.0 and 5.0
    assert values[edges.index(("b", "c"))] == pytest.approx(11.0)  # the empty interval is skipped
    assert any(ax.get_ylabel() == "mean speed (m/s)" for ax in figure.axes)  # the colorbar
    assert save_figure(figure, tmp_path / "map.png").read_bytes().startswith(PNG_MAGIC)


@pytest.mark.parametrize("metric", list(MAP_METRICS))
def test_network_map_shows_each_metric_with_its_unit(metric):
    figure = plot_network_map(make_results(), metric=metric)
    label, unit, _ = MAP_METRICS[metric]
    assert any(ax.get_ylabel() == f"{label} ({unit})" for ax in figure.axes)


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
