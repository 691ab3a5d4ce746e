"""Congestion figures of a run: links coloured by delay, speed or v/c; MFD; time-space diagram.

Functions draw on ``matplotlib.figure.Figure`` objects (no pyplot) and return the figure. They
read a run's records (``RunResults.links`` and ``graph``) or sampled corridor trajectories
(:class:`sim.metrics.frames.CorridorTrajectories`); none runs a simulation.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.collections import LineCollection
from matplotlib.colors import Normalize
from matplotlib.figure import Figure

from sim.plots.figures import (
    SPEED_SHARE_SCALE,
    LinkScale,
    PlotError,
    _require_columns,
    _speed_limits,
    draw_link_values,
)
from sim.plots.incident_figures import mark_incidents
from sim.plots.palette import CONGESTION_CMAP, category_colours

if TYPE_CHECKING:
    import networkx as nx

    from sim.metrics.frames import CorridorTrajectories
    from sim.metrics.results import RunResults

__all__ = [
    "CONGESTION_METRICS",
    "DELAY_BINS_S",
    "SATURATION_FLOW_VPHPL",
    "green_shares",
    "link_congestion",
    "mfd_points",
    "plot_congestion_map",
    "plot_mfd",
    "plot_time_space",
]

DELAY_BINS_S = (0.0, 5.0, 10.0, 20.0, 35.0, 55.0, 80.0)
"""Bin edges of the delay map (s/veh): above 10, the HCM's level-of-service limits for signals."""

CONGESTION_METRICS: dict[str, LinkScale] = {
    "delay": LinkScale(
        "mean delay per vehicle (s/veh)", CONGESTION_CMAP.reversed(), DELAY_BINS_S, stepped=True
    ),
    "speed": SPEED_SHARE_SCALE,
    "vc": LinkScale("volume / (capacity x green share)", CONGESTION_CMAP.reversed(), (0.0, 1.0)),
}
"""Map metrics: name -> fixed colour scale, dark = congested. See :func:`link_congestion`."""

SATURATION_FLOW_VPHPL = 1900.0
"""Capacity per lane of a link without a ``capacity_vph`` attribute (veh/h/lane)."""

# the lights' own colours, in Okabe-Ito shades that stay apart under colour-vision deficiencies
_SIGNAL_COLOURS = {"red": "#D55E00", "yellow": "#F0E442", "green": "#009E73"}
_SIGNAL_BAR_M = 12.0
_TRAJECTORY_CMAP = "cividis"
_SECONDS_PER_HOUR = 3600.0
_M_PER_KM = 1000.0


def _interval_spans_s(links: pd.DataFrame) -> pd.Series:
    """Per row, the length of its reporting interval (s): from the previous report time (or 0)."""
    times = np.sort(links["time_s"].unique())
    spans = dict(zip(times, np.diff(times, prepend=0.0), strict=True))
    return links["time_s"].map(spans)


def _per_phase(value: float | list[float], phases: int) -> list[float]:
    return [float(v) for v in value] if isinstance(value, list) else [float(value)] * phases


def green_shares(graph: nx.DiGraph) -> np.ndarray:
    """Per edge (``graph.edges()`` order), the share of the time its vehicles can have green.

    1 into a node without signals. Into a signalized node with a ``signal_plan``: the greens of
    the phases that serve a movement from the edge over the plan's cycle (greens, yellows and
    all-reds). Without a plan the phases come from geometry at run time; the estimate is then
    ``1 / phases`` with one phase per pair of opposing approaches (at least two), an upper bound
    that leaves out the intergreen.
    """
    shares = []
    for u, v in graph.edges():
        attrs = graph.nodes[v]
        plan = attrs.get("signal_plan")
        if not attrs.get("signalized"):
            shares.append(1.0)
        elif plan:
            phases = plan["phases"]
            greens = [float(g) for g in plan["greens_s"]]
            cycle_s = sum(greens)
            cycle_s += sum(_per_phase(plan.get("yellow_s", 0.0), len(phases)))
            cycle_s += sum(_per_phase(plan.get("all_red_s", 0.0), len(phases)))
            served = sum(
                g for g, moves in zip(greens, phases, strict=True) if any(str(m[0]) == str(u) for m in moves)
            )
            shares.append(served / cycle_s if cycle_s > 0 else 1.0)
        else:
            shares.append(1.0 / max(2, math.ceil(graph.in_degree(v) / 2)))
    return np.array(shares, dtype=float)


def link_congestion(results: RunResults, metric: str = "delay") -> np.ndarray:
    """Per edge of ``results.graph`` (in ``graph.edges()`` order), a run-mean congestion metric.

    - ``"speed"``: space-mean speed over the run as a share of the link's speed limit (0-1):
      interval speeds weighted by the vehicles present (density x interval length).
    - ``"delay"``: mean delay of a vehicle crossing the link, s/veh: ``length / speed - length /
      speed limit`` with that speed, at least 0.
    - ``"vc"``: volume / capacity: the time-mean flow over the link's ``capacity_vph`` (or
      ``lanes x`` :data:`SATURATION_FLOW_VPHPL`) times its green share (:func:`green_shares`),
      so that a link into a signal is measured against what the signal lets through.

    NaN where the link never held a vehicle (speed, delay) or has no records.

    Raises:
        PlotError: If the metric is unknown or a links column is missing.
    """
    if metric not in CONGESTION_METRICS:
        raise PlotError(f"metric {metric!r} cannot be mapped; choose one of {', '.join(CONGESTION_METRICS)}")
    links = results.links
    _require_columns(links, ("time_s", "u", "v", "flow_vph", "density_vpkm", "mean_speed_mps"), "links")
    span_s = _interval_spans_s(links)
    weight = (links["density_vpkm"] * span_s).where(links["mean_speed_mps"].notna(), 0.0)
    frame = pd.DataFrame(
        {
            "u": links["u"].astype(str),
            "v": links["v"].astype(str),
            "speed_weighted": links["mean_speed_mps"].fillna(0.0) * weight,
            "weight": weight,
            "flow_span": links["flow_vph"] * span_s,
            "span": span_s,
        }
    )
    sums = frame.groupby(["u", "v"]).sum()
    edges = list(results.graph.edges(data=True))
    keys = pd.MultiIndex.from_tuples([(str(u), str(v)) for u, v, _ in edges], names=["u", "v"])
    sums = sums.reindex(keys)
    limit = _speed_limits(results.graph)
    with np.errstate(invalid="ignore", divide="ignore"):
        speed = np.where(sums["weight"] > 0, sums["speed_weighted"] / sums["weight"], np.nan)
        if metric == "speed":
            return speed / limit
        if metric == "delay":
            length = np.array([float(attrs["length_m"]) for _, _, attrs in edges])
            return np.maximum(length / speed - length / limit, 0.0)
        capacity = np.array(
            [
                float(attrs.get("capacity_vph", attrs["lanes"] * SATURATION_FLOW_VPHPL))
                for _, _, attrs in edges
            ]
        )
        flow = (sums["flow_span"] / sums["span"]).to_numpy(dtype=float)
        return flow / (capacity * green_shares(results.graph))


def plot_congestion_map(results: RunResults, metric: str = "delay", ax: Axes | None = None) -> Figure:
    """Draw the network with each link coloured by :func:`link_congestion` (dark = congested).

    The colour scales are fixed, so maps of different runs compare: delay in bins of s/veh
    (:data:`DELAY_BINS_S`), speed as 0-1 of the limit, v/c from 0 to 1 (above 1 darkest).
    Two-way links are drawn side by side, line width grows with the lanes, links without a
    value are grey, as in :func:`sim.plots.figures.plot_network_map`; traffic incidents are
    marked (:func:`sim.plots.incident_figures.mark_incidents`).

    Args:
        results: The run's results; ``graph`` and ``links`` are read.
        metric: ``"delay"`` (default), ``"speed"`` or ``"vc"``.
        ax: Axes to draw on; ``None`` makes a new figure shaped like the network.

    Returns:
        The figure, with a colorbar labelled with the metric and its unit.

    Raises:
        PlotError: If the metric is unknown, a links column is missing or a node lacks coordinates.
    """
    values = link_congestion(results, metric)
    scale = CONGESTION_METRICS[metric]
    title = f"{scale.label[:1].upper()}{scale.label[1:]} per link (run mean)"
    figure = draw_link_values(results.graph, values, scale, title, ax)
    mark_incidents(results, figure.axes[0] if ax is None else ax)
    return figure


def mfd_points(results: RunResults) -> pd.DataFrame:
    """Network flow and density per reporting interval: the macroscopic fundamental diagram.

    Both are lane-length weighted means over the links (Geroliminis and Daganzo 2008):
    density ``sum(k_i L_i n_i) / sum(L_i n_i)`` (veh/km/lane) and flow
    ``sum(q_i L_i) / sum(L_i n_i)`` (veh/h/lane), with ``k_i`` the link's density per lane,
    ``q_i`` its flow, ``L_i`` its length and ``n_i`` its lanes.

    Returns:
        Columns ``time_s``, ``density_vpkmpl``, ``flow_vphpl``, one row per interval.

    Raises:
        PlotError: If a links column is missing.
    """
    links = results.links
    _require_columns(links, ("time_s", "u", "v", "flow_vph", "density_vpkm"), "links")
    edges = {(str(u), str(v)): attrs for u, v, attrs in results.graph.edges(data=True)}
    keys = list(zip(links["u"].astype(str), links["v"].astype(str), strict=True))
    length_m = np.array([float(edges[key]["length_m"]) if key in edges else math.nan for key in keys])
    lanes = np.array([float(edges[key]["lanes"]) if key in edges else math.nan for key in keys])
    frame = pd.DataFrame(
        {
            "time_s": links["time_s"],
            "lane_m": length_m * lanes,
            "density_lane_m": links["density_vpkm"] * length_m * lanes,
            "flow_m": links["flow_vph"] * length_m,
        }
    ).dropna()
    sums = frame.groupby("time_s", sort=True).sum()
    return pd.DataFrame(
        {
            "time_s": sums.index.to_numpy(dtype=float),
            "density_vpkmpl": (sums["density_lane_m"] / sums["lane_m"]).to_numpy(dtype=float),
            "flow_vphpl": (sums["flow_m"] / sums["lane_m"]).to_numpy(dtype=float),
        }
    )


def plot_mfd(points: pd.DataFrame, hue: str | None = None, ax: Axes | None = None) -> Figure:
    """Scatter network flow against network density, one colour per ``hue`` level.

    Args:
        points: :func:`mfd_points` rows, of one or many runs (with a ``hue`` column for many).
        hue: Column naming each point's group (e.g. the parameter combination), or ``None``.
        ax: Axes to draw on; ``None`` makes a new figure.

    Returns:
        The figure.

    Raises:
        PlotError: If a column is missing or there are no points.
    """
    needed = ["density_vpkmpl", "flow_vphpl", *([hue] if hue else [])]
    missing = [column for column in needed if column not in points.columns]
    if missing:
        raise PlotError(f"MFD points lack column(s) {missing}; make them with mfd_points()")
    if points.empty:
        raise PlotError("no MFD points to plot: the run(s) have no link records")
    size = (11.5, 5.5) if hue else (7, 5.5)  # the legend goes beside the axes
    figure = Figure(figsize=size, layout="constrained") if ax is None else ax.get_figure(root=True)
    ax = figure.add_subplot() if ax is None else ax
    groups = list(points.groupby(hue, sort=True)) if hue else [("", points)]
    colours = category_colours(level for level, _ in groups)
    for level, rows in groups:
        ax.scatter(
            rows["density_vpkmpl"],
            rows["flow_vphpl"],
            s=12,
            alpha=0.7,
            color=colours[level],
            label=str(level) or None,
        )
    ax.set(
        xlabel="network density (veh/km/lane)",
        ylabel="network flow (veh/h/lane)",
        title="Macroscopic fundamental diagram\n(one point per reporting interval)",
    )
    ax.set_xlim(left=0)
    ax.set_ylim(bottom=0)
    ax.grid(alpha=0.3)
    if hue:
        # beside the axes, never over the points
        ax.legend(title=hue, loc="upper left", bbox_to_anchor=(1.02, 1.0), fontsize="small")
    return figure


def _trajectory_segments(vehicles: pd.DataFrame, dt_s: float) -> tuple[np.ndarray, np.ndarray]:
    """Line segments (time, distance) between consecutive samples of each vehicle, and their speeds."""
    ordered = vehicles.sort_values(["vehicle", "time_s"], kind="stable")
    time_s = ordered["time_s"].to_numpy(dtype=float)
    distance_m = ordered["distance_m"].to_numpy(dtype=float)
    vehicle = ordered["vehicle"].to_numpy()
    # Consecutive samples of the same vehicle one step apart, still moving forward.
    joined = (vehicle[1:] == vehicle[:-1]) & (np.abs(np.diff(time_s) - dt_s) < 1e-6 * max(dt_s, 1.0))
    joined &= np.diff(distance_m) >= 0
    first = np.flatnonzero(joined)
    segments = np.stack(
        [
            np.column_stack([time_s[first], distance_m[first]]),
            np.column_stack([time_s[first + 1], distance_m[first + 1]]),
        ],
        axis=1,
    )
    return segments, ordered["speed_mps"].to_numpy(dtype=float)[first + 1]


def _state_spans(rows: pd.DataFrame, dt_s: float) -> dict[str, list[tuple[float, float]]]:
    """Per state, ``(start_s, duration_s)`` of each run of consecutive samples in that state.

    A state sampled at the end of a step held during that step.
    """
    rows = rows.sort_values("time_s")
    time_s = rows["time_s"].to_numpy(dtype=float)
    states = rows["state"].to_numpy()
    change = np.flatnonzero(np.r_[True, states[1:] != states[:-1]])
    ends = np.r_[change[1:], len(states)] - 1
    spans: dict[str, list[tuple[float, float]]] = {}
    for first, last in zip(change.tolist(), ends.tolist(), strict=True):
        start_s = time_s[first] - dt_s
        spans.setdefault(str(states[first]), []).append((start_s, time_s[last] - start_s))
    return spans


def plot_time_space(trajectories: CorridorTrajectories, ax: Axes | None = None) -> Figure:
    """Draw vehicle trajectories along a corridor over time, coloured by speed, with signal states.

    Each signalized intersection on the corridor is a horizontal band at its stop line, red,
    yellow or green over time for the movement that continues along the corridor.

    Args:
        trajectories: Samples from :func:`sim.probes.trajectories.sample_corridor`.
        ax: Axes to draw on; ``None`` makes a new figure.

    Returns:
        The figure: time (s) across, distance along the corridor (m) up, a speed colorbar.

    Raises:
        PlotError: If there are no samples.
    """
    vehicles, signals = trajectories.vehicles, trajectories.signals
    if vehicles.empty and signals.empty:
        raise PlotError("no trajectory samples: no vehicle was on the corridor in the sampled window")
    if ax is None:
        figure = Figure(figsize=(11, 6), layout="constrained")
        ax = figure.add_subplot()
    else:
        figure = ax.get_figure(root=True)
    segments, speeds = _trajectory_segments(vehicles, trajectories.dt_s)
    limit = max(float(vehicles["speed_mps"].max()) if len(vehicles) else 1.0, 1.0)
    # cividis: no green or red, so trajectories never read as the signal bands
    lines = LineCollection(segments, cmap=_TRAJECTORY_CMAP, norm=Normalize(0.0, limit), linewidths=0.8)
    lines.set_array(speeds)
    ax.add_collection(lines)
    for (node, distance_m), rows in signals.groupby(["node", "distance_m"], sort=False):
        for state, spans in _state_spans(rows, trajectories.dt_s).items():
            bar = (distance_m - _SIGNAL_BAR_M / 2, _SIGNAL_BAR_M)
            ax.broken_barh(spans, bar, color=_SIGNAL_COLOURS[state], linewidth=0)
        ax.annotate(
            str(node),
            (0, distance_m),
            xycoords=("axes fraction", "data"),
            xytext=(2, 2),
            textcoords="offset points",
            fontsize=7,
        )
    all_times = pd.concat([vehicles["time_s"], signals["time_s"]])
    ax.set_xlim(float(all_times.min()) - trajectories.dt_s, float(all_times.max()))
    ax.set_ylim(0.0, trajectories.length_m)
    ax.set(
        xlabel="time (s)", ylabel="distance along the corridor (m)", title=trajectories.title or "Time-space"
    )
    figure.colorbar(lines, ax=ax, label="speed (m/s)", shrink=0.8)
    return figure
