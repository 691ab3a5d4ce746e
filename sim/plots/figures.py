"""Figures of one run's results: time series panels and a network map.

Every function builds on ``matplotlib.figure.Figure`` objects, never on pyplot, so it works
headless without touching the global backend, and returns the figure instead of showing it.
"""

from __future__ import annotations

import logging
import math
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import networkx as nx
import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.collections import LineCollection
from matplotlib.colors import BoundaryNorm, Colormap, Normalize
from matplotlib.figure import Figure

from sim.metrics.catalog import SERIES_METRICS
from sim.plots.palette import CATEGORY_COLOURS, CONGESTION_CMAP, NO_DATA_COLOUR

if TYPE_CHECKING:
    from sim.metrics.results import RunResults

__all__ = [
    "FIGURE_FORMATS",
    "MAP_METRICS",
    "SPEED_SHARE_SCALE",
    "LinkScale",
    "PlotError",
    "draw_link_values",
    "plot_network_map",
    "plot_series",
    "save_figure",
]

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class LinkScale:
    """The colour scale of a link map, anchored in absolute values so that maps of runs compare.

    Attributes:
        label: Colorbar label, with the unit.
        colormap: Colours; dark is congested.
        bounds: Bin edges of a stepped scale, or ``(low, high)`` of a continuous one; values
            past the last edge take the end colour and the colorbar shows an arrow.
        stepped: Whether the scale has one colour per bin (``bounds`` are the bin edges).
    """

    label: str
    colormap: Colormap
    bounds: tuple[float, ...]
    stepped: bool = False

    def norm(self) -> Normalize:
        """The matplotlib normalization of the scale."""
        if self.stepped:
            return BoundaryNorm(self.bounds, self.colormap.N, extend="max")
        return Normalize(self.bounds[0], self.bounds[-1])


SPEED_SHARE_SCALE = LinkScale("mean speed / speed limit", CONGESTION_CMAP, (0.0, 1.0))
"""Speed as a share of each link's limit, 0 (standing) to 1 (free flow), whatever the run."""

MAP_METRICS: dict[str, LinkScale] = {
    "mean_speed_mps": SPEED_SHARE_SCALE,
    "queue_veh": LinkScale(
        "mean halted vehicles (veh)", CONGESTION_CMAP.reversed(), (0, 1, 2, 5, 10, 20, 50), stepped=True
    ),
    "density_vpkm": LinkScale("mean density (veh/km/lane)", CONGESTION_CMAP.reversed(), (0.0, 120.0)),
    "flow_vph": LinkScale(
        "mean flow (veh/h)", CONGESTION_CMAP, (0, 100, 200, 400, 800, 1600, 3200), stepped=True
    ),
}
"""Link metrics a network map can show: column -> fixed colour scale. Speed is mapped as a share
of the link's speed limit; the others in their own units, on fixed bins or ranges."""

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
_PNG_DPI = 150
# A map figure: the longer side of the network this many inches, its aspect held within these
# limits, plus room for the colorbar and title; the axes leave this margin around the network.
_MAP_SIZE_IN = 8.0
_MAP_ASPECT = (0.4, 2.5)
_COLORBAR_IN = 1.6
_TITLE_IN = 0.8
_MAP_MARGIN = 0.02


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
    first, second = CATEGORY_COLOURS[:2]
    label = {metric.key: metric.label for metric in SERIES_METRICS}

    ax_count.plot(minutes, series["vehicles_on_network"], color=first, label="on the network")
    ax_count.plot(minutes, series["entry_backlog"], color=second, label="waiting to enter")
    ax_count.set(title="Vehicles", ylabel="vehicles (veh)")
    ax_speed.plot(minutes, series["mean_speed_mps"], color=first)
    ax_speed.set(title="Space-mean speed of the vehicles on the network", ylabel=label["mean_speed_mps"])
    # Counts are per interval ending at time_s, so each step spans the interval before it.
    ax_flow.plot(minutes, series["departed"], drawstyle="steps-pre", color=first, label="departed")
    ax_flow.plot(minutes, series["arrived"], drawstyle="steps-pre", color=second, label="arrived")
    ax_flow.set(title="Departures and arrivals", ylabel="vehicles per interval (veh)")
    ax_queue.plot(minutes, series["queued_vehicles"], color=first)
    ax_queue.set(title="Halted vehicles (speed < 0.1 m/s) on the links", ylabel=label["queued_vehicles"])
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


def _speed_limits(graph: nx.DiGraph) -> np.ndarray:
    """Speed limit of each edge in ``graph.edges()`` order (m/s)."""
    return np.array([float(limit) for _, _, limit in graph.edges(data="speed_mps")], dtype=float)


def plot_network_map(results: RunResults, metric: str = "mean_speed_mps", ax: Axes | None = None) -> Figure:
    """Draw the road network with each link coloured by the time mean of a link metric.

    Links are straight segments between their nodes' ``x``, ``y`` (metres); a link whose
    reverse link exists is drawn offset to the right of its direction of travel, so both
    directions show. Line width grows with the number of lanes. The time mean is over the
    run's reporting intervals, skipping intervals where the metric is NaN (e.g. speed on an
    empty link); links without any value are drawn grey. Speed is mapped as a share of the
    link's speed limit; every scale is fixed (:data:`MAP_METRICS`), so maps of runs compare.

    Args:
        results: The run's results; ``graph`` and ``links`` are read.
        metric: A column of ``links`` listed in :data:`MAP_METRICS`: ``"mean_speed_mps"``
            (default), ``"queue_veh"``, ``"density_vpkm"`` or ``"flow_vph"``.
        ax: Axes to draw on; ``None`` makes a new figure shaped like the network.

    Returns:
        The figure holding the axes, with a colorbar labelled with the metric and its unit.

    Raises:
        PlotError: If the metric is not a map metric, a links column is missing, or a node
            lacks coordinates.
    """
    if metric not in MAP_METRICS:
        raise PlotError(f"metric {metric!r} cannot be mapped; choose one of {', '.join(MAP_METRICS)}")
    _require_columns(results.links, ("u", "v", metric), "links")
    scale = MAP_METRICS[metric]
    values = _time_means(results.links, metric, list(results.graph.edges()))
    if metric == "mean_speed_mps":
        values = values / _speed_limits(results.graph)
    title = f"{scale.label[:1].upper()}{scale.label[1:]} per link (time mean)"
    return draw_link_values(results.graph, values, scale, title, ax)


def _map_figure(coordinates: dict[Any, tuple[float, float]]) -> Figure:
    """A figure shaped like the network's extent, room for a colorbar at the side."""
    spans = np.ptp(np.array(list(coordinates.values()), dtype=float).reshape(-1, 2), axis=0)
    aspect = float(np.clip(spans[1] / spans[0], *_MAP_ASPECT)) if spans[0] > 0 else 1.0
    width_in = _MAP_SIZE_IN if aspect <= 1 else _MAP_SIZE_IN / aspect
    return Figure(figsize=(width_in + _COLORBAR_IN, width_in * aspect + _TITLE_IN), layout="constrained")


def draw_link_values(
    graph: nx.DiGraph,
    values: np.ndarray,
    scale: LinkScale,
    title: str,
    ax: Axes | None = None,
) -> Figure:
    """Draw the network with each link coloured by its value (the map of every link metric).

    Links are straight segments between their nodes, two-way links side by side, line width
    growing with the lanes; links whose value is NaN are grey. The axes are cropped to the
    network's extent.

    Args:
        graph: The road graph, with node ``x``, ``y`` (m).
        values: One value per edge, in ``graph.edges()`` order.
        scale: The fixed colour scale and its label.
        title: Title of the axes.
        ax: Axes to draw on; ``None`` makes a new figure shaped like the network.

    Returns:
        The figure holding the axes, with the colorbar.

    Raises:
        PlotError: If a node lacks coordinates.
    """
    coordinates = _node_coordinates(graph)
    segments, offset_m = _link_segments(graph, coordinates)
    if ax is None:
        figure = _map_figure(coordinates)
        ax = figure.add_subplot()
    else:
        figure = ax.get_figure(root=True)
    lines = LineCollection(
        segments,
        cmap=scale.colormap.with_extremes(bad=NO_DATA_COLOUR),
        norm=scale.norm(),
        linewidths=_line_widths_pt(graph, segments, offset_m, ax),
        capstyle="butt",
    )
    lines.set_array(np.ma.masked_invalid(values))
    ax.add_collection(lines)
    node_x, node_y = np.array(list(coordinates.values()), dtype=float).reshape(-1, 2).T
    ax.scatter(node_x, node_y, s=4, color="0.35", zorder=3)
    ax.set_aspect("equal")
    ax.autoscale_view()
    ax.margins(_MAP_MARGIN)
    ax.set(title=title, xlabel="x (m)", ylabel="y (m)")
    above = np.nanmax(values, initial=-np.inf) > scale.bounds[-1]
    ax.get_figure(root=False).colorbar(
        lines, ax=ax, label=scale.label, shrink=0.8, extend="max" if above or scale.stepped else "neither"
    )
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
