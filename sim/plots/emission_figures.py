"""The emissions map: each link coloured by what its vehicles emitted per km of road over the run."""

from __future__ import annotations

import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from sim.metrics.results import RunResults
from sim.plots.figures import LinkScale, PlotError, draw_link_values
from sim.plots.palette import CONGESTION_CMAP

__all__ = ["EMISSION_MAP_METRICS", "link_emissions", "plot_emissions_map"]

EMISSION_MAP_METRICS: dict[str, tuple[str, str]] = {
    "co2": ("co2_g", "CO2 per km of link over the run (kg/km)"),
    "fuel": ("fuel_g", "fuel per km of link over the run (kg/km)"),
    "nox": ("nox_g", "NOx per km of link over the run (g/km)"),
    "pm10": ("pm10_g", "PM10 per km of link over the run (g/km)"),
    "co": ("co_g", "CO per km of link over the run (g/km)"),
    "hc": ("hc_g", "HC per km of link over the run (g/km)"),
    "electricity": ("electricity_wh", "battery energy per km of link over the run (kWh/km)"),
}
"""Map metric -> (links column, label): a run with ``[emissions] enabled`` has the columns."""
_PER_KILO = {"co2", "fuel", "electricity"}


def link_emissions(results: RunResults, metric: str = "co2") -> np.ndarray:
    """Per edge (``graph.edges()`` order), the run's total of ``metric`` per km of the link (kg/km or g/km).

    Raises:
        PlotError: If the metric is unknown or the run has no emission columns.
    """
    if metric not in EMISSION_MAP_METRICS:
        raise PlotError(
            f"metric {metric!r} cannot be mapped; choose one of {', '.join(EMISSION_MAP_METRICS)}"
        )
    column = EMISSION_MAP_METRICS[metric][0]
    links = results.links
    if column not in links.columns:
        raise PlotError(
            f"the run's links have no {column!r} column: run the scenario with [emissions] enabled = true"
        )
    totals = (
        links.assign(u=links["u"].astype(str), v=links["v"].astype(str)).groupby(["u", "v"])[column].sum()
    )
    edges = list(results.graph.edges(data=True))
    total = np.array([totals.get((str(u), str(v)), np.nan) for u, v, _ in edges], dtype=float)
    length_km = np.array([float(attrs["length_m"]) for _, _, attrs in edges]) / 1000.0
    return total / length_km / (1000.0 if metric in _PER_KILO else 1.0)


def plot_emissions_map(results: RunResults, metric: str = "co2", ax: Axes | None = None) -> Figure:
    """Draw the network with each link coloured by :func:`link_emissions` (dark = most emitted).

    The scale runs from 0 to the run's largest link value, so hot spots stand out; links
    without records are grey.

    Args:
        results: The run's results (``graph``, ``links`` with emission columns).
        metric: A key of :data:`EMISSION_MAP_METRICS` (default ``"co2"``).
        ax: Axes to draw on; ``None`` makes a new figure shaped like the network.

    Returns:
        The figure, with a colorbar labelled with the metric and its unit.

    Raises:
        PlotError: If the metric is unknown or the run has no emission columns.
    """
    values = link_emissions(results, metric)
    high = float(np.nanmax(values)) if np.isfinite(values).any() and np.nanmax(values) > 0 else 1.0
    label = EMISSION_MAP_METRICS[metric][1]
    scale = LinkScale(label, CONGESTION_CMAP.reversed(), (0.0, high))
    return draw_link_values(results.graph, values, scale, f"{label[:1].upper()}{label[1:]}", ax)
