"""Traffic incidents on maps, and the difference map: per-link volume changes between two runs."""

from __future__ import annotations

import matplotlib
import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from sim.metrics.results import RunResults
from sim.plots.figures import LinkScale, PlotError, draw_link_values
from sim.plots.palette import FLAG_COLOUR

__all__ = ["INCIDENTS_FRAME", "link_volumes", "mark_incidents", "plot_flow_difference"]

INCIDENTS_FRAME = "traffic_incidents"
"""The run's record frame of its ``[[incidents]]`` (columns ``id``, ``u``, ``v``, ``start_s``, ``end_s``)."""
_DIVERGING = matplotlib.colormaps["RdBu_r"]


def link_volumes(results: RunResults) -> np.ndarray:
    """Per edge (``graph.edges()`` order), the vehicles that drove it over the whole run.

    Totals, not mean flows, so that two runs that last differently compare.

    Raises:
        PlotError: If the run has no link records.
    """
    links = results.links
    if links.empty:
        raise PlotError("the run has no link records to compare")
    times = np.sort(links["time_s"].unique())
    spans = dict(zip(times, np.diff(times, prepend=0.0), strict=True))
    count = links["flow_vph"] * links["time_s"].map(spans) / 3600.0
    keys = links.assign(u=links["u"].astype(str), v=links["v"].astype(str), count=count)
    totals = keys.groupby(["u", "v"])["count"].sum()
    return np.array([totals.get((str(u), str(v)), np.nan) for u, v in results.graph.edges()], dtype=float)


def mark_incidents(results: RunResults, ax: Axes) -> None:
    """Mark each traffic incident of a run at the middle of its link, with its id and time window."""
    frame = results.extras.get(INCIDENTS_FRAME)
    if frame is None or frame.empty:
        return
    nodes = results.graph.nodes
    for row in frame.itertuples(index=False):
        u, v = nodes[str(row.u)], nodes[str(row.v)]
        x, y = (float(u["x"]) + float(v["x"])) / 2.0, (float(u["y"]) + float(v["y"])) / 2.0
        ax.scatter([x], [y], marker="X", s=90, color=FLAG_COLOUR, edgecolors="white", zorder=5)
        window = f"{row.start_s / 60.0:.0f}-{row.end_s / 60.0:.0f} min"
        ax.annotate(f"{row.id} ({window})", (x, y), xytext=(6, 6), textcoords="offset points", fontsize=8)


def plot_flow_difference(base: RunResults, other: RunResults, ax: Axes | None = None) -> Figure:
    """Draw the network with each link coloured by its volume in ``other`` minus that in ``base``.

    Red links carry more vehicles over the run in ``other``, blue ones fewer (a scale symmetric
    about 0); the incidents of either run are marked.

    Args:
        base: The reference run (e.g. without an incident, or without informed drivers).
        other: The run compared with it, on the same network.
        ax: Axes to draw on; ``None`` makes a new figure shaped like the network.

    Returns:
        The figure, with a colorbar in vehicles.

    Raises:
        PlotError: If the runs' networks differ or a run has no link records.
    """
    if list(base.graph.edges()) != list(other.graph.edges()):
        raise PlotError("the two runs are on different networks: a flow difference needs the same links")
    change = link_volumes(other) - link_volumes(base)
    bound = max(float(np.nanmax(np.abs(change), initial=0.0)), 1.0)
    scale = LinkScale("change in vehicles over the run", _DIVERGING, (-bound, bound))
    title = "Vehicles per link: compared run minus base run"
    figure = draw_link_values(other.graph, change, scale, title, ax)
    axes = figure.axes[0] if ax is None else ax
    for results in (base, other):
        mark_incidents(results, axes)
    return figure
