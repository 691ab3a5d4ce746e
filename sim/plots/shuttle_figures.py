"""Figures of shuttle sweeps: passenger wait against fleet size, per service.

Functions take a runs table (one row per run: ``service``, ``fleet_size``, ``seed`` and the
metrics of :func:`sim.shuttles.metrics.shuttle_summary`), draw on
``matplotlib.figure.Figure`` objects (no pyplot) and return the figure.
"""

from __future__ import annotations

import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from sim.metrics.stats import group_summary
from sim.plots.figures import PlotError

__all__ = ["plot_wait_vs_fleet"]

_SECONDS_PER_MINUTE = 60.0
_BAND_ALPHA = 0.2
_WAITS = (("wait_mean_s", "mean", "-", "o"), ("wait_p95_s", "95th percentile", "--", "s"))


def plot_wait_vs_fleet(runs: pd.DataFrame, ax: Axes | None = None, confidence: float = 0.95) -> Figure:
    """Mean and 95th-percentile passenger wait against fleet size, one colour per service.

    Lines are means over the runs (seeds) of each fleet size; bands are Student-t
    confidence intervals of those means.

    Args:
        runs: One row per run with ``service``, ``fleet_size``, ``wait_mean_s`` and
            ``wait_p95_s`` (s); runs without a wait (NaN: nobody boarded) are left out.
        ax: Axes to draw on; a new figure when None.
        confidence: Two-sided confidence level of the bands.

    Returns:
        The figure.

    Raises:
        PlotError: If a column is missing or no run has a wait.
    """
    needed = ["service", "fleet_size", *(column for column, *_ in _WAITS)]
    missing = [column for column in needed if column not in runs.columns]
    if missing:
        raise PlotError(f"the runs table lacks column(s) {missing}; it has {list(runs.columns)}")
    if runs["wait_mean_s"].notna().sum() == 0:
        raise PlotError("no run has a passenger wait to plot (no passenger boarded)")
    if ax is None:
        figure = Figure(figsize=(8, 5), layout="constrained")
        ax = figure.add_subplot()
    else:
        figure = ax.get_figure(root=True)
    summary = group_summary(runs, ["service", "fleet_size"], [c for c, *_ in _WAITS], confidence)
    colors = {}
    for (service, metric), rows in summary.groupby(["service", "metric"], sort=True):
        rows = rows.dropna(subset=["mean"]).sort_values("fleet_size")
        _, label, style, marker = next(w for w in _WAITS if w[0] == metric)
        color = colors.setdefault(service, f"C{len(colors)}")
        minutes = rows[["mean", "ci_low", "ci_high"]] / _SECONDS_PER_MINUTE
        ax.plot(
            rows["fleet_size"],
            minutes["mean"],
            style,
            marker=marker,
            color=color,
            label=f"{service}: {label}",
        )
        ax.fill_between(
            rows["fleet_size"],
            minutes["ci_low"],
            minutes["ci_high"],
            color=color,
            alpha=_BAND_ALPHA,
            linewidth=0,
        )
    ax.set_xticks(sorted(runs["fleet_size"].unique()))
    ax.set_xlabel("fleet size (shuttles)")
    ax.set_ylabel("passenger wait (min)")
    ax.set_title(f"Wait vs fleet size ({confidence:.0%} confidence bands over seeds)")
    ax.set_ylim(bottom=0.0)
    ax.grid(alpha=0.3)
    ax.legend()
    return figure
