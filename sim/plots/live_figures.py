"""Figures of a running model for the explorer: the city now, and its delay and queues so far.

They draw frames a probe read (:class:`~sim.metrics.frames.CityFrame`, a history DataFrame), never the
model, on ``Figure`` objects, never pyplot, so they are safe in a server thread.
"""

from __future__ import annotations

import networkx as nx
import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.cm import ScalarMappable
from matplotlib.collections import LineCollection
from matplotlib.colors import Normalize
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from sim.metrics.frames import CAR, EMERGENCY, SHUTTLE, CityFrame
from sim.plots.figures import _link_segments, _node_coordinates, _right_normals
from sim.plots.parking_figures import draw_facilities

__all__ = ["LIGHT_ZORDER", "VEHICLE_ZORDER", "clock_text", "plot_city", "plot_live_charts"]

LIGHT_ZORDER = 4
"""Drawing order of the signal lights (a LineCollection) in :func:`plot_city`."""
VEHICLE_ZORDER = 5
"""Drawing order of the cars; shuttles and emergency vehicles are drawn above them."""

_ROAD_COLOR = "0.8"
_SPEED_CMAP = "plasma"
_PARKING_CMAP = "Blues"
_KERB_WIDTH_PT = 2.0
_LIGHT_COLORS = {"green": "#1a9641", "yellow": "#fdae61", "red": "#d7191c"}
# Where along an approach its signal light is drawn (share of the link from its start).
_LIGHT_AT = 0.93
# A light is a bar across its approach, this share of the two-way offset to each side.
_LIGHT_HALF_WIDTH = 0.45
# Lanes are drawn this share of the two-way offset apart.
_LANE_SPACING = 0.45
_SECONDS_PER_MINUTE = 60.0


def _edge_segments(graph: nx.DiGraph, edge_keys: tuple[tuple[str, str], ...]) -> tuple[np.ndarray, float]:
    """Drawn segment of each edge in ``edge_keys`` order, and the two-way offset (m)."""
    segments, offset_m = _link_segments(graph, _node_coordinates(graph))
    position = {(str(u), str(v)): i for i, (u, v) in enumerate(graph.edges())}
    return segments[[position[(str(u), str(v))] for u, v in edge_keys]], offset_m


def _along(segments: np.ndarray, fraction: np.ndarray, right_m: np.ndarray) -> np.ndarray:
    """Points at ``fraction`` along each segment, shifted ``right_m`` to the right of travel."""
    start = segments[:, 0]
    normal, _ = _right_normals(segments)
    return start + fraction[:, None] * (segments[:, 1] - start) + right_m[:, None] * normal


def plot_city(
    frame: CityFrame, graph: nx.DiGraph, edge_keys: tuple[tuple[str, str], ...], ax: Axes | None = None
) -> Figure:
    """Draw the network now: vehicles coloured by speed, signal lights, shuttles, emergency vehicles, parking.

    Cars are dots coloured by speed, from dark (standing) to yellow (the fastest link's speed
    limit); shuttles are blue-edged squares and emergency vehicles red-edged stars, in the same
    speed colours. Each approach to a signal shows its light as a bar across it near the stop
    line. With parking, each street's kerb and each garage is coloured by its occupancy now, from
    white (empty) to dark blue (full).

    Args:
        frame: The state to draw (:func:`sim.probes.snapshot.city_frame`).
        graph: The road graph, with node ``x``, ``y`` (m).
        edge_keys: ``(u, v)`` per compiled edge index (``CompiledNetwork.edge_keys``).
        ax: Axes to draw on; ``None`` makes a new figure.

    Returns:
        The figure, with a speed colorbar and a legend of the vehicle kinds.
    """
    if ax is None:
        figure = Figure(figsize=(7, 6.5), layout="constrained")
        ax = figure.add_subplot()
    else:
        figure = ax.get_figure(root=True)
    segments, offset_m = _edge_segments(graph, edge_keys)
    ax.add_collection(LineCollection(segments, colors=_ROAD_COLOR, linewidths=1.5, zorder=1))
    if not frame.parking.empty:
        parking = frame.parking
        occupancy = (parking["occupied"] / parking["capacity"].clip(lower=1)).to_numpy(dtype=float)
        parking_norm = Normalize(0.0, 1.0)
        draw_facilities(ax, graph, parking, occupancy, _PARKING_CMAP, parking_norm, _KERB_WIDTH_PT)
        parking_scale = ScalarMappable(norm=parking_norm, cmap=_PARKING_CMAP)
        figure.colorbar(parking_scale, ax=ax, label="parking occupancy", shrink=0.5, location="left")

    approach = segments[frame.approach_edge]
    at = np.full(len(approach), _LIGHT_AT)
    half_m = np.full(len(approach), _LIGHT_HALF_WIDTH * offset_m)
    bars = np.stack((_along(approach, at, -half_m), _along(approach, at, half_m)), axis=1)
    colors = [_LIGHT_COLORS[light] for light in frame.approach_light]
    ax.add_collection(
        LineCollection(bars, colors=colors, linewidths=3.0, capstyle="butt", zorder=LIGHT_ZORDER)
    )

    speeds = np.array([speed for _, _, speed in graph.edges(data="speed_mps", default=0.0)], dtype=float)
    norm = Normalize(0.0, max(float(speeds.max(initial=0.0)), 1.0))
    xy = _along(
        segments[frame.vehicle_edge], frame.vehicle_fraction, frame.vehicle_lane * _LANE_SPACING * offset_m
    )
    styles = {
        CAR: {"marker": "o", "s": 16, "edgecolors": "none"},
        SHUTTLE: {"marker": "s", "s": 55, "edgecolors": "#2c7bb6", "linewidths": 1.5},
        EMERGENCY: {"marker": "*", "s": 140, "edgecolors": "#d7191c", "linewidths": 1.0},
    }
    scale = None
    for kind, style in styles.items():
        mask = frame.vehicle_kind == kind
        points = ax.scatter(
            xy[mask, 0],
            xy[mask, 1],
            c=frame.vehicle_speed_mps[mask],
            cmap=_SPEED_CMAP,
            norm=norm,
            zorder=VEHICLE_ZORDER + kind,
            **style,
        )
        scale = scale or points
    figure.colorbar(scale, ax=ax, label="speed (m/s)", shrink=0.7)
    names = {CAR: "car", SHUTTLE: "shuttle", EMERGENCY: "emergency vehicle"}
    legend = [
        Line2D([], [], marker=style["marker"], linestyle="", color="0.5", label=names[kind])
        for kind, style in styles.items()
        if kind == CAR or (frame.vehicle_kind == kind).any()
    ]
    legend += [
        Line2D([], [], color=color, linewidth=3.0, label=f"{light} light")
        for light, color in _LIGHT_COLORS.items()
    ]
    ax.legend(handles=legend, loc="upper center", bbox_to_anchor=(0.5, 0.0), ncol=3, fontsize="small")
    ax.set_aspect("equal")
    ax.autoscale_view()
    ax.set_axis_off()
    clock = clock_text(frame.time_s)
    ax.set_title(
        f"t = {clock}   {frame.n_vehicles} vehicles on the network, "
        f"{frame.waiting_to_enter} waiting to enter",
        fontsize="medium",
    )
    return figure


def clock_text(time_s: float) -> str:
    """Simulated time as ``H:MM:SS``, to the nearest second."""
    minutes, seconds = divmod(round(time_s), 60)
    return f"{minutes // 60:d}:{minutes % 60:02d}:{seconds:02d}"


def plot_live_charts(history: pd.DataFrame) -> Figure:
    """Mean delay of the trips finished so far, and vehicles queued (standing), over time.

    Args:
        history: :attr:`sim.viz.model.ExplorerModel.history`: ``time_s``, ``mean_delay_s``,
            ``queued_veh``, ``on_network`` per step.

    Returns:
        A figure with two stacked axes sharing the time axis (minutes).
    """
    figure = Figure(figsize=(6, 4.5), layout="constrained")
    delay_ax, queue_ax = figure.subplots(2, 1, sharex=True)
    minutes = history["time_s"] / _SECONDS_PER_MINUTE
    delay_ax.plot(minutes, history["mean_delay_s"], color="#d7191c")
    delay_ax.set(ylabel="mean delay (s)", title="Mean delay so far, all trips due (unfinished ones too)")
    queue_ax.plot(minutes, history["queued_veh"], color="#2c7bb6", label="standing")
    queue_ax.plot(minutes, history["on_network"], color="0.6", linewidth=1.0, label="on the network")
    queue_ax.set(xlabel="simulated time (min)", ylabel="vehicles", title="Queues")
    queue_ax.legend(loc="upper left", fontsize="small")
    for ax in (delay_ax, queue_ax):
        ax.grid(alpha=0.3)
        ax.set_ylim(bottom=0)
    return figure
