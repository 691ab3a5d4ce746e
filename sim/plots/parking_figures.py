"""The occupancy map: every parking facility coloured by its time-mean occupancy.

Kept apart from the rest of :mod:`sim.parking` so that importing the feature does not
import matplotlib; like :mod:`sim.plots`, it draws on ``Figure`` objects, never pyplot.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import networkx as nx
import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.cm import ScalarMappable
from matplotlib.collections import LineCollection
from matplotlib.colors import Normalize
from matplotlib.figure import Figure

from sim.plots.figures import PlotError, _right_normals

if TYPE_CHECKING:
    from sim.metrics.results import RunResults

__all__ = ["draw_facilities", "plot_occupancy_map"]

_FRAMES = ("parking_facilities", "parking_occupancy")
_ROAD_COLOR = "0.85"
_STREET_WIDTH_PT = 4.0
_GARAGE_AREA_PT2_PER_SPACE = 1.5
# Streets are drawn this share of a block to the right of their direction of travel, so
# both kerbs of a two-way street show.
_KERB_OFFSET = 0.08


def plot_occupancy_map(
    results: RunResults, ax: Axes | None = None, cmap: str = "RdYlGn_r", vmin: float = 0.0
) -> Figure:
    """Draw the network with each facility coloured by its mean occupancy over the run.

    Streets are drawn along their link, shifted to the right-hand kerb; garages are
    squares at their node with an area growing with capacity. Roads without parking are
    light grey.

    Args:
        results: A run's results with the parking frames (``parking_facilities``,
            ``parking_occupancy``) among its extras.
        ax: Axes to draw on; None makes a new figure.
        cmap: Colormap name, from free to full.
        vmin: Occupancy at the free end of the colour scale (the full end is 1), to
            tell apart facilities that are all nearly full.

    Returns:
        The figure, with a colorbar of occupancy.

    Raises:
        PlotError: If the results have no parking frames.
    """
    missing = [name for name in _FRAMES if name not in results.extras]
    if missing:
        raise PlotError(
            f"results lack the parking frames {missing}: was the run made with a [parking] table?"
        )
    facilities = results.extras["parking_facilities"]
    occupancy = results.extras["parking_occupancy"]
    mean = occupancy.groupby("facility")["occupancy"].mean()
    values = facilities["facility"].map(mean).to_numpy(dtype=float)
    if ax is None:
        figure = Figure(figsize=(8, 7), layout="constrained")
        ax = figure.add_subplot()
    else:
        figure = ax.get_figure(root=True)
    graph = results.graph
    xy = {n: (float(d["x"]), float(d["y"])) for n, d in graph.nodes(data=True)}
    roads = np.array([[xy[u], xy[v]] for u, v in graph.edges()], dtype=float).reshape(-1, 2, 2)
    ax.add_collection(LineCollection(roads, colors=_ROAD_COLOR, linewidths=1.0, zorder=1))
    norm = Normalize(vmin, 1.0)
    draw_facilities(ax, graph, facilities, values, cmap, norm)
    ax.set_aspect("equal")
    ax.autoscale_view()
    ax.set(
        title="Parking occupancy (time mean): streets by kerb, garages as squares",
        xlabel="x (m)",
        ylabel="y (m)",
    )
    scale = ScalarMappable(norm=norm, cmap=cmap)
    figure.colorbar(scale, ax=ax, label="occupancy (taken / spaces)", shrink=0.8)
    return figure


def draw_facilities(
    ax: Axes,
    graph: nx.DiGraph,
    facilities: pd.DataFrame,
    values: np.ndarray,
    cmap: str,
    norm: Normalize,
    street_width_pt: float = _STREET_WIDTH_PT,
) -> None:
    """Draw each parking facility coloured by ``values`` (occupancy, 0 to 1).

    Streets are drawn along their link, shifted to the right-hand kerb; garages are squares at
    their node with an area growing with capacity.

    Args:
        ax: Axes to draw on.
        graph: The road graph, with node ``x``, ``y`` (m).
        facilities: The ``parking_facilities`` frame (``sim.parking.metrics.facility_frame``).
        values: One value per facility row, NaN for none.
        cmap: Colormap name.
        norm: Colour scale of ``values``.
        street_width_pt: Line width of a street's kerb (points).
    """
    xy = {n: (float(d["x"]), float(d["y"])) for n, d in graph.nodes(data=True)}
    street = (facilities["kind"] == "street").to_numpy()
    if street.any():
        rows = facilities[street]
        segments = np.array(
            [[xy[u], xy[v]] for u, v in zip(rows["from_node"], rows["to_node"], strict=True)], dtype=float
        )
        normal, length = _right_normals(segments)
        segments += (_KERB_OFFSET * float(np.median(length)) * normal)[:, None, :]
        lines = LineCollection(segments, cmap=cmap, norm=norm, linewidths=street_width_pt, zorder=2)
        lines.set_array(np.ma.masked_invalid(values[street]))
        ax.add_collection(lines)
    if (~street).any():
        rows = facilities[~street]
        ax.scatter(
            rows["x_m"],
            rows["y_m"],
            c=values[~street],
            cmap=cmap,
            norm=norm,
            s=_GARAGE_AREA_PT2_PER_SPACE * rows["capacity"].to_numpy(dtype=float),
            marker="s",
            edgecolors="0.2",
            zorder=3,
        )
