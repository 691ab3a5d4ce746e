"""Figures of a controller comparison: metric bars with confidence intervals, and delay over time.

Both read the frames of :class:`sim.compare.Comparison` (the tidy comparison table and
the per-run delay series) and never run a simulation.
"""

from __future__ import annotations

import math
import textwrap
from collections.abc import Sequence

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from sim.metrics.catalog import metric_for
from sim.plots.figures import PlotError
from sim.plots.palette import FLAG_COLOUR, controller_colour

__all__ = ["plot_comparison_bars", "plot_delay_over_time"]

_TABLE_COLUMNS = ("metric", "label", "controller", "mean", "half_width", "change_pct")
_DELAY_COLUMNS = ("controller", "time_s", "arrived", "mean_delay_s")
_PANEL_COLUMNS = 3
_TITLE_CHARS = 36  # a panel title longer than this wraps, so neighbours' titles never overlap
_SECONDS_PER_MINUTE = 60.0


def _require(frame: pd.DataFrame, columns: Sequence[str], name: str) -> None:
    missing = [column for column in columns if column not in frame.columns]
    if missing:
        raise PlotError(f"{name} lacks column(s) {missing} needed for this figure")


def plot_comparison_bars(table: pd.DataFrame, metrics: Sequence[str] | None = None) -> Figure:
    """One panel per metric: a bar per controller at its mean, with its 95% CI as an error bar.

    Each bar other than the baseline's is annotated with its paired change against the
    baseline (%). A controller the table flags (its unfinished share more than 1 point above
    the baseline's) is drawn hatched with a red edge and marked ``!`` under its bar.

    Args:
        table: The comparison table (``metric``, ``label``, ``controller``, ``mean``,
            ``half_width``, ``change_pct`` and optionally ``flagged``), as
            :func:`sim.compare.comparison_table` returns it.
        metrics: Metrics to draw, in panel order; ``None`` draws every metric of the table.

    Returns:
        A new figure, panels in rows of three.

    Raises:
        PlotError: If a column is missing, the table is empty or a metric is not in it.
    """
    _require(table, _TABLE_COLUMNS, "the comparison table")
    names = list(dict.fromkeys(table["metric"])) if metrics is None else list(metrics)
    unknown = [m for m in names if m not in set(table["metric"])]
    if not names or unknown:
        raise PlotError(f"no rows for metric(s) {unknown or names} in the comparison table")
    n_rows = math.ceil(len(names) / _PANEL_COLUMNS)
    n_cols = min(len(names), _PANEL_COLUMNS)
    figure = Figure(figsize=(4.2 * n_cols, 3.6 * n_rows), layout="constrained")
    axes = np.atleast_1d(figure.subplots(n_rows, n_cols, squeeze=False).ravel())
    for ax, metric in zip(axes, names, strict=False):
        rows = table[table["metric"] == metric]
        x = np.arange(len(rows))
        mean = rows["mean"].to_numpy(dtype=float)
        half = rows["half_width"].fillna(0.0).to_numpy(dtype=float)
        # the interval's part past the metric's physical bounds (below zero vehicles) is cut off
        bounds = metric_for(metric)
        errors = np.stack([mean - bounds.clip(mean - half), bounds.clip(mean + half) - mean])
        flagged = rows["flagged"].to_numpy(dtype=bool) if "flagged" in rows else np.zeros(len(rows), bool)
        bars = ax.bar(
            x,
            mean,
            yerr=errors,
            capsize=4,
            color=[controller_colour(str(c)) for c in rows["controller"]],
            hatch=["//" if flag else "" for flag in flagged],
            edgecolor=[FLAG_COLOUR if flag else "none" for flag in flagged],
        )
        for bar, error, change in zip(bars, errors[1], rows["change_pct"], strict=True):
            if math.isfinite(change):
                ax.annotate(
                    f"{change:+.0f}%",
                    (bar.get_x() + bar.get_width() / 2, bar.get_height() + error),
                    xytext=(0, 3),
                    textcoords="offset points",
                    ha="center",
                    va="bottom",
                    fontsize=8,
                )
        names_shown = [f"{c} !" if flag else c for c, flag in zip(rows["controller"], flagged, strict=True)]
        ax.set_xticks(x, names_shown, rotation=30, ha="right")
        ax.set_title(textwrap.fill(str(rows["label"].iloc[0]), _TITLE_CHARS), fontsize="medium")
        ax.set_ylim(bottom=0)
        ax.grid(axis="y", alpha=0.3)
    for ax in axes[len(names) :]:
        ax.set_visible(False)
    title = "Controllers compared (mean, 95% CI; change vs baseline)"
    if "flagged" in table and table["flagged"].any():
        title += "\n! hatched: unfinished share more than 1 point above the baseline's"
    figure.suptitle(title)
    return figure


def plot_delay_over_time(delay: pd.DataFrame, ax: Axes | None = None) -> Figure:
    """Mean delay of the trips arriving in each interval, one line per controller.

    Seeds are pooled per interval, weighting each run's interval mean by its arrivals.

    Args:
        delay: The per-run delay series (``controller``, ``time_s``, ``arrived``,
            ``mean_delay_s``), as :attr:`sim.compare.Comparison.delay`.
        ax: Axes to draw on; ``None`` makes a new figure.

    Returns:
        The figure holding the axes.

    Raises:
        PlotError: If a column is missing.
    """
    _require(delay, _DELAY_COLUMNS, "the delay series")
    if ax is None:
        figure = Figure(figsize=(9, 5), layout="constrained")
        ax = figure.add_subplot()
    else:
        figure = ax.get_figure(root=True)
    weighted = delay.assign(total_s=delay["mean_delay_s"].fillna(0.0) * delay["arrived"])
    for controller, runs in weighted.groupby("controller", sort=False):
        per_time = runs.groupby("time_s")[["total_s", "arrived"]].sum()
        mean = per_time["total_s"] / per_time["arrived"].where(per_time["arrived"] > 0)
        minutes = per_time.index.to_numpy() / _SECONDS_PER_MINUTE
        ax.plot(minutes, mean, marker=".", markersize=3, color=controller_colour(str(controller)),
                label=str(controller))  # fmt: skip
    ax.set(
        title="Delay over time (trips arriving in each interval)",
        xlabel="time (min)",
        ylabel="mean delay of the trips arriving (s)",
    )
    ax.set_ylim(bottom=0)
    ax.grid(alpha=0.3)
    ax.legend()
    return figure
