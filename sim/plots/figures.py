"""Figures of one run's results: time series panels and a network map.

Every function builds on ``matplotlib.figure.Figure`` objects, never on pyplot, so it works
headless without touching the global backend, and returns the figure instead of showing it.
"""

from __future__ import annotations

import logging
import math
import os
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import matplotlib as mpl
import networkx as nx
import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.collections import LineCollection
from matplotlib.colors import Colormap, LinearSegmentedColormap, Normalize
from matplotlib.figure import Figure

if TYPE_CHECKING:
    from sim.metrics.results import RunResults

__all__ = [
    "FIGURE_FORMATS",
    "MAP_METRICS",
    "PlotError",
    "draw_link_values",
    "plot_network_map",
    "plot_series",
    "save_figure",
]

logger = logging.getLogger(__name__)

# Red (congested) through amber to green (free-flowing), with no pale middle: every link
# stays visible on a white background, which RdYlGn's near-white yellow does not.
_CONGESTION = LinearSegmentedColormap.from_list(
    "citysim_congestion", ["#b2182b", "#ef6a32", "#f0b429", "#8fbc3b", "#1a7f37"]
)

MAP_METRICS: dict[str, tuple[str, str, Colormap]] = {
    "mean_speed_mps": ("mean speed", "m/s", _CONGESTION),
    "queue_veh": ("mean queue", "veh", _CONGESTION.reversed()),
    "density_vpkm": ("mean density", "veh/km/lane", _CONGESTION.reversed()),
    "flow_vph": ("mean flow", "veh/h", mpl.colormaps["viridis"]),
}
"""Link metrics a network map can show: column -> (label, unit, colormap); congestion shows red."""

FIGURE_FORMATS = (".png", ".svg", ".pdf")
"""File suffixes :func:`save_figure` writes."""

_SERIES_COLUMNS = (
    "time_s",
    "vehicles_on_network",
    "entry_backlog",
    "departed",
    "arrived",
    "mean_speed_mps",
    "queued_vehicles",
)
_SECONDS_PER_MINUTE = 60.0
# Two-way links are drawn this fraction of the median link length to the right of their
# direction of travel, so both directions show side by side.
_TWO_WAY_OFFSET = 0.1
# Line width: 1 pt plus 1 pt per lane, narrowed on large maps so that a line of the most
# lanes is at most this many offsets wide and the two directions of a link stay apart.
_WIDTH_PER_OFFSET = 1.4
_MIN_WIDTH_PT = 0.5
_POINTS_PER_INCH = 72.0
_NO_DATA_COLOR = "0.75"
_PNG_DPI = 150


class PlotError(ValueError):
    """Results or arguments a figure cannot be drawn from."""


def _require_columns(frame: pd.DataFrame, columns: Sequence[str], name: str) -> None:
    missing = [column for column in columns if column not in frame.columns]
    if missing:
        raise PlotError(f"results.{name} lacks column(s) {missing} needed for this figure")


def _default_title(info: dict[str, Any]) -> str:
    """``"<scenario>, seed <seed>"`` from the provenance keys that are present."""
    parts = []
    if info.get("scenario") is not None:
        parts.append(str(info["scenario"]))
    if info.get("seed") is not None:
        parts.append(f"seed {info['seed']}")
    return ", ".join(parts)


def _series_axes(axes: Sequence[Axes] | np.ndarray | None) -> tuple[Figure, list[Axes]]:
    if axes is None:
        figure = Figure(figsize=(11, 7), layout="constrained")
        return figure, list(figure.subplots(2, 2).ravel())
    flat = list(np.asarray(axes, dtype=object).ravel())
    if len(flat) != 4 or not all(isinstance(ax, Axes) for ax in flat):
        raise PlotError(f"axes must be four matplotlib Axes (e.g. a 2x2 grid), got {len(flat)} item(s)")
    return flat[0].get_figure(root=True), flat


def plot_series(
    results: RunResults,
    axes: Sequence[Axes] | np.ndarray | None = None,
    title: str | None = None,
) -> Figure:
    """Plot a run's reporting-interval series as four panels over time in minutes.

    Panels: vehicles on the network and waiting to enter; space-mean speed (m/s);
    departures and arrivals per interval; mean number of halted vehicles.

    Args:
        results: The run's results; only ``series`` and ``info`` are read.
        axes: Four Axes to draw on, in panel order (e.g. a 2x2 grid); ``None`` makes a new
            2x2 figure.
        title: Figure title; ``None`` uses ``info["scenario"]`` and ``info["seed"]`` when
            present, ``""`` gives none.

    Returns:
        The figure holding the axes.

    Raises:
        PlotError: If a series column is missing or ``axes`` is not four Axes.
    """
    series = results.series
    _require_columns(series, _SERIES_COLUMNS, "series")
    figure, (ax_count, ax_speed, ax_flow, ax_queue) = _series_axes(axes)
    minutes = series["time_s"].to_numpy(dtype=float) / _SECONDS_PER_MINUTE

    ax_count.plot(minutes, series["vehicles_on_network"], label="on network")
    ax_count.plot(minutes, series["entry_backlog"], label="waiting to enter")
    ax_count.set(title="Vehicles", ylabel="vehicles")
    ax_speed.plot(minutes, series["mean_speed_mps"])
    ax_speed.set(title="Space-mean speed", ylabel="speed (m/s)")
    # Counts are per interval ending at time_s, so each step spans the interval before it.
    ax_flow.plot(minutes, series["departed"], drawstyle="steps-pre", label="departed")
    ax_flow.plot(minutes, series["arrived"], drawstyle="steps-pre", label="arrived")
    ax_flow.set(title="Departures and arrivals", ylabel="vehicles per interval")
    ax_queue.plot(minutes, series["queued_vehicles"])
    ax_queue.set(title="Halted vehicles (speed < 0.1 m/s)", ylabel="vehicles (interval mean)")
    for ax in (ax_count, ax_speed, ax_flow, ax_queue):
        ax.set_xlabel("time (min)")
        ax.set_ylim(bottom=0)
        ax.grid(alpha=0.3)
    ax_count.legend()
    ax_flow.legend()

    figure_title = _default_title(results.info) if title is None else title
    if figure_title:
        figure.suptitle(figure_title)
    return figure


def _node_coordinates(graph: nx.DiGraph) -> dict[Any, tuple[float, float]]:
    """Node -> (x, y) in metres."""
    coordinates = {}
    for node, attrs in graph.nodes(data=True):
        if "x" not in attrs or "y" not in attrs:
            raise PlotError(f"graph node {node!r} lacks coordinate attribute 'x' or 'y'")
        coordinates[node] = (float(attrs["x"]), float(attrs["y"]))
    return coordinates


def _link_segments(
    graph: nx.DiGraph, coordinates: dict[Any, tuple[float, float]]
) -> tuple[np.ndarray, float]:
    """Drawn segments of the edges in ``graph.edges()`` order, shape (edges, 2, 2), and the offset.

    Returns:
        The segments in metres, two-way links shifted to the right of travel, and the
        offset in metres (0 if every link has zero length).
    """
    edges = list(graph.edges())
    segments = np.array([[coordinates[u], coordinates[v]] for u, v in edges], dtype=float).reshape(-1, 2, 2)
    normal, length = _right_normals(segments)
    if not (length > 0).any():
        return segments, 0.0
    offset_m = _TWO_WAY_OFFSET * float(np.median(length[length > 0]))
    shifted = np.array([graph.has_edge(v, u) for u, v in edges], dtype=bool) & (length > 0)
    segments[shifted] += offset_m * normal[shifted, None, :]
    return segments, offset_m


def _right_normals(segments: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Unit right-hand normal of each segment's direction, (dy, -dx) / length, and its length (m).

    A zero-length segment gets a zero normal.
    """
    direction = segments[:, 1] - segments[:, 0]
    length = np.hypot(direction[:, 0], direction[:, 1])
    normal = np.column_stack((direction[:, 1], -direction[:, 0])) / np.maximum(length, 1e-9)[:, None]
    return normal, length


def _line_widths_pt(graph: nx.DiGraph, segments: np.ndarray, offset_m: float, ax: Axes) -> np.ndarray:
    """Line width per edge in points: wider with more lanes, narrow enough to keep directions apart."""
    lanes = np.array([float(count) for _, _, count in graph.edges(data="lanes", default=1)])
    widths_pt = 1.0 + lanes
    if offset_m == 0 or lanes.size == 0:
        return widths_pt
    # Points per metre with an equal aspect ratio, from the axes' size before layout.
    spans_m = np.ptp(segments.reshape(-1, 2), axis=0)
    box_in = ax.get_position().size * ax.get_figure(root=True).get_size_inches()
    points_per_m = _POINTS_PER_INCH * float(np.min(box_in / np.maximum(spans_m, offset_m)))
    fit_pt = _WIDTH_PER_OFFSET * offset_m * points_per_m * lanes / lanes.max()
    return np.maximum(np.minimum(widths_pt, fit_pt), _MIN_WIDTH_PT)


def _time_means(links: pd.DataFrame, metric: str, edges: list[tuple[Any, Any]]) -> np.ndarray:
    """Per edge, in ``edges`` order, the mean of ``metric`` over intervals (NaN if none)."""
    means = links.groupby([links["u"].astype(str), links["v"].astype(str)])[metric].mean().to_dict()
    keys = [(str(u), str(v)) for u, v in edges]
    unmatched = len(set(means) - set(keys))
    if unmatched:
        logger.warning("%d link(s) in results.links are not edges of results.graph; not drawn", unmatched)
    return np.array([means.get(key, math.nan) for key in keys], dtype=float)


def plot_network_map(results: RunResults, metric: str = "mean_speed_mps", ax: Axes | None = None) -> Figure:
    """Draw the road network with each link coloured by the time mean of a link metric.

    Links are straight segments between their nodes' ``x``, ``y`` (metres); a link whose
    reverse link exists is drawn offset to the right of its direction of travel, so both
    directions show. Line width grows with the number of lanes. The time mean is over the
    run's reporting intervals, skipping intervals where the metric is NaN (e.g. speed on an
    empty link); links without any value are drawn grey.

    Args:
        results: The run's results; ``graph`` and ``links`` are read.
        metric: A column of ``links`` listed in :data:`MAP_METRICS`: ``"mean_speed_mps"``
            (default), ``"queue_veh"``, ``"density_vpkm"`` or ``"flow_vph"``.
        ax: Axes to draw on; ``None`` makes a new figure.

    Returns:
        The figure holding the axes, with a colorbar labelled with the metric's unit.

    Raises:
        PlotError: If the metric is not a map metric, a links column is missing, or a node
            lacks coordinates.
    """
    if metric not in MAP_METRICS:
        raise PlotError(f"metric {metric!r} cannot be mapped; choose one of {', '.join(MAP_METRICS)}")
    _require_columns(results.links, ("u", "v", metric), "links")
    label, unit, colormap = MAP_METRICS[metric]
    values = _time_means(results.links, metric, list(results.graph.edges()))
    return draw_link_values(
        results.graph,
        values,
        Normalize(),
        colormap,
        f"{label} ({unit})",
        f"{label.capitalize()} per link (time mean)",
        ax,
    )


def draw_link_values(
    graph: nx.DiGraph,
    values: np.ndarray,
    norm: Normalize,
    colormap: Colormap,
    colorbar_label: str,
    title: str,
    ax: Axes | None = None,
) -> Figure:
    """Draw the network with each link coloured by its value (the map of every link metric).

    Links are straight segments between their nodes, two-way links side by side, line width
    growing with the lanes; links whose value is NaN are grey.

    Args:
        graph: The road graph, with node ``x``, ``y`` (m).
        values: One value per edge, in ``graph.edges()`` order.
        norm: Colour scale; limits it leaves open are set from the finite values
            (0 to 1 if there are none).
        colormap: Colours of the scale.
        colorbar_label: Label of the colorbar, with the unit.
        title: Title of the axes.
        ax: Axes to draw on; ``None`` makes a new figure.

    Returns:
        The figure holding the axes, with the colorbar.

    Raises:
        PlotError: If a node lacks coordinates.
    """
    coordinates = _node_coordinates(graph)
    segments, offset_m = _link_segments(graph, coordinates)
    finite = values[np.isfinite(values)]
    if finite.size:
        norm.autoscale_None(finite)
    else:
        norm = Normalize(0.0, 1.0)
    if ax is None:
        figure = Figure(figsize=(8, 7), layout="constrained")
        ax = figure.add_subplot()
    else:
        figure = ax.get_figure(root=True)
    lines = LineCollection(
        segments,
        cmap=colormap.with_extremes(bad=_NO_DATA_COLOR),
        norm=norm,
        linewidths=_line_widths_pt(graph, segments, offset_m, ax),
        capstyle="butt",
    )
    lines.set_array(np.ma.masked_invalid(values))
    ax.add_collection(lines)
    node_x, node_y = np.array(list(coordinates.values()), dtype=float).reshape(-1, 2).T
    ax.scatter(node_x, node_y, s=6, color="0.2", zorder=3)
    ax.set_aspect("equal")
    ax.autoscale_view()
    ax.set(title=title, xlabel="x (m)", ylabel="y (m)")
    ax.get_figure(root=False).colorbar(lines, ax=ax, label=colorbar_label, shrink=0.8)
    return figure


def save_figure(figure: Figure, path: str | os.PathLike[str]) -> Path:
    """Write a figure to a file whose suffix picks the format: ``.png``, ``.svg`` or ``.pdf``.

    Args:
        figure: The figure.
        path: The file; missing parent folders are created. PNG is written at 150 dpi.

    Returns:
        The written file.

    Raises:
        PlotError: If the suffix is not a supported format.
    """
    target = Path(path)
    suffix = target.suffix.lower()
    if suffix not in FIGURE_FORMATS:
        raise PlotError(
            f"{target}: cannot save a figure as {suffix or 'no suffix'!r}; use {', '.join(FIGURE_FORMATS)}"
        )
    target.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(target, format=suffix[1:], dpi=_PNG_DPI)
    return target
