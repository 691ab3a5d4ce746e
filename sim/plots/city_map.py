"""The explorer's map of the city now: vehicles by speed, signal lights, agents, incidents, parking.

It draws a :class:`~sim.metrics.frames.CityFrame` (what a probe read from a running model), never
the model, on a ``Figure``, never pyplot, so it is safe in a server thread. Markers are sized in
points, not metres, so a vehicle stays visible on a city-wide map; the figure keeps the network's
aspect ratio, is cropped to its extent, and keeps its legend in a column to the right.
"""

from __future__ import annotations

from collections.abc import Sequence

import networkx as nx
import numpy as np
from matplotlib import colormaps
from matplotlib.cm import ScalarMappable
from matplotlib.collections import LineCollection
from matplotlib.colors import ListedColormap, Normalize
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.ticker import PercentFormatter

from sim.metrics.frames import CAR, EMERGENCY, SHUTTLE, CityFrame
from sim.plots.figures import _link_segments, _node_coordinates, _right_normals
from sim.plots.palette import CONGESTION_CMAP, FLAG_COLOUR
from sim.plots.parking_figures import draw_facilities

__all__ = ["LIGHT_ZORDER", "MAP_DPI", "MAP_HEIGHT_IN", "VEHICLE_ZORDER", "plot_city"]

MAP_DPI = 100
"""Pixels per inch of the explorer's map image."""
MAP_HEIGHT_IN = 7.0
"""Height of the map (in): the explorer shows it about this tall, so markers keep their size in pixels."""
LIGHT_ZORDER = 4
"""Drawing order of the signal lights (one scatter of markers) in :func:`plot_city`."""
VEHICLE_ZORDER = 5
"""Drawing order of the moving cars; stopped cars, shuttles and emergency vehicles lie above."""

_LEGEND_WIDTH_IN = 2.3
# The map's width (in) stays within these bounds: a very long network is letterboxed.
_MAP_WIDTH_BOUNDS_IN = (3.5, 14.0)
_ROAD_COLOUR = "0.78"
_ROAD_WIDTH_PT = 1.5
_KERB_WIDTH_PT = 3.0
# Parking occupancy: pale blue (empty, still visible) to dark blue (full).
_PARKING_CMAP = ListedColormap(colormaps["Blues"](np.linspace(0.2, 1.0, 256)), name="citysim_parking")
# Okabe-Ito colours (see sim.plots.palette); lights in their conventional colours.
_STOPPED_COLOUR = "#D55E00"
_SHUTTLE_COLOUR = "#56B4E9"
_EMERGENCY_COLOUR = "#CC79A7"
_LIGHT_COLOURS = {"green": "#009E73", "yellow": "#F0E442", "red": "#D55E00"}
# Marker areas (pt²) and shapes.
_STYLES: dict[str, dict[str, object]] = {
    "moving": {"marker": "o", "s": 24.0, "edgecolors": "none"},
    "stopped": {"marker": "s", "s": 22.0, "color": _STOPPED_COLOUR, "edgecolors": "0.15", "linewidths": 0.4},
    "shuttle": {"marker": "^", "s": 110.0, "color": _SHUTTLE_COLOUR, "edgecolors": "k", "linewidths": 0.9},
    "emergency": {"marker": "*", "s": 260.0, "color": _EMERGENCY_COLOUR, "edgecolors": "k",
                  "linewidths": 0.8},
    "incident": {"marker": "o", "s": 420.0, "facecolors": "none", "edgecolors": _EMERGENCY_COLOUR,
                 "linewidths": 2.5},
    "light": {"marker": "o", "s": 22.0, "facecolors": "none", "linewidths": 1.3},
}  # fmt: skip
_LABELS = {
    "moving": "moving car (colour: speed)",
    "stopped": "stopped car (< 0.1 m/s)",
    "shuttle": "shuttle",
    "emergency": "emergency vehicle",
    "incident": "open emergency call",
}
# Where along an approach its signal light is drawn (share of the link from its start).
_LIGHT_AT = 0.93
# Lanes are drawn this share of the two-way offset apart.
_LANE_SPACING = 0.45
# Blank margin around the network, as a share of its larger side.
_MARGIN = 0.03


def _edge_geometry(
    graph: nx.DiGraph, edge_keys: tuple[tuple[str, str], ...]
) -> tuple[np.ndarray, np.ndarray, float]:
    """Drawn segment and speed limit (m/s) of each edge in ``edge_keys`` order, and the two-way offset (m)."""
    segments, offset_m = _link_segments(graph, _node_coordinates(graph))
    edges = list(graph.edges(data="speed_mps", default=np.nan))
    position = {(str(u), str(v)): i for i, (u, v, _) in enumerate(edges)}
    order = [position[(str(u), str(v))] for u, v in edge_keys]
    limits = np.array([speed for _, _, speed in edges], dtype=float)
    return segments[order], limits[order], offset_m


def _along(segments: np.ndarray, fraction: np.ndarray, right_m: np.ndarray) -> np.ndarray:
    """Points at ``fraction`` along each segment, shifted ``right_m`` to the right of travel."""
    start = segments[:, 0]
    normal, _ = _right_normals(segments)
    return start + fraction[:, None] * (segments[:, 1] - start) + right_m[:, None] * normal


def _map_figure(segments: np.ndarray) -> tuple[Figure, object, float]:
    """A figure with map axes cropped to ``segments`` at equal aspect, and its legend column's left edge."""
    low, high = segments.reshape(-1, 2).min(axis=0), segments.reshape(-1, 2).max(axis=0)
    span = np.maximum(high - low, 1.0)
    margin = _MARGIN * float(span.max())
    low, high, span = low - margin, high + margin, span + 2 * margin
    map_width_in = float(np.clip(MAP_HEIGHT_IN * span[0] / span[1], *_MAP_WIDTH_BOUNDS_IN))
    width_in = map_width_in + _LEGEND_WIDTH_IN
    figure = Figure(figsize=(width_in, MAP_HEIGHT_IN), dpi=MAP_DPI)
    ax = figure.add_axes((0.0, 0.0, map_width_in / width_in, 1.0))
    ax.set_xlim(low[0], high[0])
    ax.set_ylim(low[1], high[1])
    ax.set_aspect("equal", adjustable="datalim")
    ax.set_axis_off()
    return figure, ax, map_width_in / width_in


def _colour_bar(figure: Figure, left: float, bottom_in: float, scale: ScalarMappable, label: str) -> None:
    """A horizontal colour bar in the legend column, ``bottom_in`` inches above the figure's foot."""
    width_in, height_in = figure.get_size_inches()
    cax = figure.add_axes((left + 0.15 / width_in, bottom_in / height_in, 1.8 / width_in, 0.14 / height_in))
    bar = figure.colorbar(scale, cax=cax, orientation="horizontal")
    bar.set_label(label, fontsize="small")
    bar.ax.xaxis.set_major_formatter(PercentFormatter(1.0))
    bar.ax.tick_params(labelsize="x-small")


def plot_city(
    frame: CityFrame,
    graph: nx.DiGraph,
    edge_keys: tuple[tuple[str, str], ...],
    incident_nodes: Sequence[str] = (),
    closed_edges: Sequence[int] = (),
) -> Figure:
    """Draw the network now, cropped to its extent, with a legend column to the right.

    Moving cars are dots coloured by their speed as a share of their link's limit (the
    colour-blind-safe scale of the network maps, :data:`sim.plots.palette.CONGESTION_CMAP`);
    stopped cars are vermilion squares; shuttles sky-blue triangles; emergency vehicles
    reddish-purple stars; an emergency call not yet cleared is a ring around its scene. Each
    approach to a signal shows its light as a ring near the stop line. With parking, each
    street's kerb and each garage is coloured by its occupancy now (blue scale). Marker sizes are
    in points, so they do not shrink with the city.

    Args:
        frame: The state to draw (:func:`sim.probes.snapshot.city_frame`).
        graph: The road graph, with node ``x``, ``y`` (m) and edge ``speed_mps``.
        edge_keys: ``(u, v)`` per compiled edge index (``CompiledNetwork.edge_keys``).
        incident_nodes: Scene node of each open emergency call.
        closed_edges: Compiled edge index of each link with a traffic incident in force (lanes or
            the road closed, a speed limit): drawn as a dashed red band.

    Returns:
        The figure (:data:`MAP_HEIGHT_IN` tall at :data:`MAP_DPI`).
    """
    segments, limits_mps, offset_m = _edge_geometry(graph, edge_keys)
    figure, ax, legend_left = _map_figure(segments)
    ax.add_collection(LineCollection(segments, colors=_ROAD_COLOUR, linewidths=_ROAD_WIDTH_PT, zorder=1))
    closed = segments[np.asarray(closed_edges, dtype=np.int64)]
    ax.add_collection(
        LineCollection(closed, colors=FLAG_COLOUR, linewidths=3 * _ROAD_WIDTH_PT, linestyles="--", zorder=2)
    )
    parking_scale = None
    if not frame.parking.empty:
        parking = frame.parking
        occupancy = (parking["occupied"] / parking["capacity"].clip(lower=1)).to_numpy(dtype=float)
        parking_scale = ScalarMappable(norm=Normalize(0.0, 1.0), cmap=_PARKING_CMAP)
        draw_facilities(ax, graph, parking, occupancy, _PARKING_CMAP, parking_scale.norm, _KERB_WIDTH_PT)

    approach = segments[frame.approach_edge]
    lights = _along(approach, np.full(len(approach), _LIGHT_AT), np.full(len(approach), 0.5 * offset_m))
    ax.scatter(
        lights[:, 0],
        lights[:, 1],
        edgecolors=[_LIGHT_COLOURS[light] for light in frame.approach_light],
        zorder=LIGHT_ZORDER,
        **_STYLES["light"],
    )

    xy = _along(
        segments[frame.vehicle_edge], frame.vehicle_fraction, frame.vehicle_lane * _LANE_SPACING * offset_m
    )
    share = frame.vehicle_speed_mps / np.maximum(limits_mps[frame.vehicle_edge], 1e-9)
    speed_scale = ScalarMappable(norm=Normalize(0.0, 1.0, clip=True), cmap=CONGESTION_CMAP)
    car = frame.vehicle_kind == CAR
    groups = {
        "moving": car & ~frame.vehicle_halted,
        "stopped": car & frame.vehicle_halted,
        "shuttle": frame.vehicle_kind == SHUTTLE,
        "emergency": frame.vehicle_kind == EMERGENCY,
    }
    for order, (name, mask) in enumerate(groups.items()):
        colour = (
            {"c": share[mask], "cmap": speed_scale.cmap, "norm": speed_scale.norm} if name == "moving" else {}
        )
        ax.scatter(xy[mask, 0], xy[mask, 1], zorder=VEHICLE_ZORDER + order, **colour, **_STYLES[name])
    nodes = _node_coordinates(graph)
    scenes = np.array([nodes[node] for node in incident_nodes], dtype=float).reshape(-1, 2)
    ax.scatter(scenes[:, 0], scenes[:, 1], zorder=VEHICLE_ZORDER + len(groups), **_STYLES["incident"])

    present = {name: bool(mask.any()) for name, mask in groups.items()}
    present.update(moving=True, stopped=True, incident=len(scenes) > 0)
    handles = [_legend_handle(name, _STYLES[name]) for name in _LABELS if present[name]]
    if len(closed):
        handles.append(Line2D([], [], color=FLAG_COLOUR, linestyle="--", label="traffic incident"))
    handles += [
        Line2D([], [], marker="o", linestyle="", markerfacecolor="none", color=colour, label=f"{light} light")
        for light, colour in _LIGHT_COLOURS.items()
        if len(approach)
    ]
    figure.legend(
        handles=handles, loc="upper left", bbox_to_anchor=(legend_left, 0.99), frameon=False, fontsize="small"
    )
    _colour_bar(figure, legend_left, 2.2, speed_scale, "moving car: speed / speed limit")
    if parking_scale is not None:
        _colour_bar(figure, legend_left, 1.2, parking_scale, "parking occupancy")
    return figure


def _legend_handle(name: str, style: dict[str, object]) -> Line2D:
    """A legend entry drawn like the markers of ``name`` (a moving car in the scale's middle colour)."""
    face = style.get("color", CONGESTION_CMAP(0.6)) if style.get("facecolors") != "none" else "none"
    return Line2D(
        [],
        [],
        marker=style["marker"],
        linestyle="",
        markersize=float(np.sqrt(style["s"])) * 0.8,
        markerfacecolor=face,
        markeredgecolor=style.get("edgecolors", "none"),
        markeredgewidth=style.get("linewidths", 0.0),
        label=_LABELS[name],
    )
