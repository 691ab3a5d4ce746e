"""The validation figure: per-link mean speeds, citysim against SUMO.

It draws a :class:`~sim.interop.validate.Validation` (both simulators' per-link records); like
the rest of :mod:`sim.plots` it builds on ``matplotlib.figure.Figure``, never on pyplot, and
returns the figure (save it with :func:`sim.plots.save_figure`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure

if TYPE_CHECKING:
    from sim.interop.validate import Validation

__all__ = ["plot_link_speeds"]


def plot_link_speeds(validation: Validation, ax: Axes | None = None) -> Figure:
    """Scatter each link's mean speed in citysim (y) against SUMO (x), with the 1:1 line.

    Links are drawn with an area that grows with their SUMO flow; links that only one
    simulator used are left out.

    Args:
        validation: The comparison.
        ax: Axes to draw on; default a new 5.5 x 5 inch figure.

    Returns:
        The figure.
    """
    if ax is None:
        figure = Figure(figsize=(5.5, 5.0), layout="constrained")
        ax = figure.add_subplot()
    else:
        figure = ax.get_figure()
    links = validation.links.dropna(subset=["speed_citysim_mps", "speed_sumo_mps"])
    x = links["speed_sumo_mps"].to_numpy(dtype=float)
    y = links["speed_citysim_mps"].to_numpy(dtype=float)
    flow = links["flow_sumo"].to_numpy(dtype=float)
    size = 8.0 + 60.0 * np.sqrt(flow / flow.max()) if len(flow) and flow.max() > 0 else 12.0
    ax.scatter(x, y, s=size, alpha=0.55, color="#2166ac", edgecolors="none")
    top = float(np.nanmax(np.concatenate([x, y, [1.0]]))) * 1.05
    ax.plot([0.0, top], [0.0, top], color="0.35", linewidth=1.0, linestyle="--", label="same speed")
    ax.set_xlim(0.0, top)
    ax.set_ylim(0.0, top)
    ax.set_aspect("equal")
    ax.set_xlabel(f"{validation.sumo.name}: link mean speed (m/s)")
    ax.set_ylabel("citysim: link mean speed (m/s)")
    ax.set_title(
        f"{validation.scenario}: {len(links)} links, r = {validation.speed_correlation:.3f}",
        fontsize="medium",
    )
    ax.legend(loc="upper left", frameon=False)
    return figure
