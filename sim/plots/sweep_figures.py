"""Figures of a sweep: metrics against parameters with confidence intervals, and series over runs.

Every function takes a tidy table (the runs table of :func:`sim.sweep.store.load_runs`, or run
series stacked with their parameter columns), draws on ``matplotlib.figure.Figure`` objects (no
pyplot) and returns the figure. Means and Student-t intervals come from
:func:`sim.metrics.stats.group_summary`; only runs with ``status == "ok"`` are used when the
table has a ``status`` column.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from sim.metrics.stats import group_summary
from sim.plots.figures import PlotError

__all__ = ["plot_comparison_bars", "plot_metric_curves", "plot_series_over_runs"]

_BAND_ALPHA = 0.2
_SECONDS_PER_MINUTE = 60.0


def _axes(ax: Axes | None, size: tuple[float, float] = (8, 5)) -> tuple[Figure, Axes]:
    if ax is None:
        figure = Figure(figsize=size, layout="constrained")
        return figure, figure.add_subplot()
    return ax.get_figure(root=True), ax


def _ok_runs(table: pd.DataFrame, columns: Sequence[str], what: str) -> pd.DataFrame:
    missing = [column for column in columns if column not in table.columns]
    if missing:
        raise PlotError(f"the {what} lacks column(s) {missing}; it has {list(table.columns)}")
    ok = table[table["status"] == "ok"] if "status" in table.columns else table
    if ok.empty:
        raise PlotError(f"the {what} has no finished (status 'ok') rows to plot")
    return ok


def _levels(summary: pd.DataFrame, hue: Sequence[str]) -> list[tuple[str, pd.DataFrame]]:
    """``(legend label, rows)`` per combination of the hue columns, in sorted order."""
    if not hue:
        return [("", summary)]
    groups = summary.groupby(list(hue), sort=True, dropna=False)
    return [
        (", ".join(f"{value}" for value in (key if isinstance(key, tuple) else (key,))), rows)
        for key, rows in groups
    ]


def _is_numeric(values: pd.Series) -> bool:
    return pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values)


def plot_metric_curves(
    runs: pd.DataFrame,
    metric: str,
    x: str,
    hue: str | None = None,
    *,
    confidence: float = 0.95,
    ax: Axes | None = None,
) -> Figure:
    """Plot the mean of a metric against a parameter, one line per ``hue`` level, with CI bands.

    Args:
        runs: One row per run: the parameter columns, ``metric`` and optionally ``status``.
        metric: The metric column, e.g. ``"mean_delay_s"``.
        x: The parameter on the x axis; numeric values are placed by value, others in order.
        hue: A parameter with one line each (e.g. ``"signals.controller"``), or ``None``.
        confidence: Level of the shaded Student-t interval of the mean over seeds.
        ax: Axes to draw on; ``None`` makes a new figure.

    Returns:
        The figure; each line is labelled with its ``hue`` level.

    Raises:
        PlotError: If a column is missing or no run finished.
    """
    hue_columns = [hue] if hue else []
    ok = _ok_runs(runs, [x, *hue_columns, metric], "runs table")
    summary = group_summary(ok, [x, *hue_columns], [metric], confidence)
    figure, ax = _axes(ax)
    numeric = _is_numeric(ok[x])
    categories = sorted(ok[x].unique(), key=str) if not numeric else []
    for label, rows in _levels(summary, hue_columns):
        rows = (
            rows.sort_values(x)
            if numeric
            else rows.assign(_pos=rows[x].map(categories.index)).sort_values("_pos")
        )
        positions = rows[x].to_numpy(dtype=float) if numeric else rows["_pos"].to_numpy(dtype=float)
        (line,) = ax.plot(positions, rows["mean"], marker="o", label=label or metric)
        ax.fill_between(positions, rows["ci_low"], rows["ci_high"], color=line.get_color(), alpha=_BAND_ALPHA)
    if not numeric:
        ax.set_xticks(range(len(categories)), [str(value) for value in categories])
    ax.set(xlabel=x, ylabel=metric, title=f"{metric}: mean and {confidence:.0%} CI over seeds")
    ax.grid(alpha=0.3)
    if hue:
        ax.legend(title=hue)
    return figure


def plot_comparison_bars(
    runs: pd.DataFrame,
    metric: str,
    by: Sequence[str],
    *,
    confidence: float = 0.95,
    ax: Axes | None = None,
) -> Figure:
    """Plot one bar per parameter combination with its confidence interval as an error bar.

    Bars are grouped by the values of ``by[:-1]`` and coloured by ``by[-1]`` (put the
    controller last to compare controllers side by side within each group).

    Args:
        runs: One row per run: the ``by`` columns, ``metric`` and optionally ``status``.
        metric: The metric column.
        by: The parameters that define a combination; empty draws one bar over all runs.
        confidence: Level of the Student-t interval of the mean over seeds.
        ax: Axes to draw on; ``None`` makes a new figure.

    Returns:
        The figure.

    Raises:
        PlotError: If a column is missing or no run finished.
    """
    by = list(by)
    ok = _ok_runs(runs, [*by, metric], "runs table")
    summary = group_summary(ok, by, [metric], confidence)
    figure, ax = _axes(ax)
    groups = _levels(summary, by[:-1])
    colours = sorted(summary[by[-1]].unique(), key=str) if by else [None]
    width = 0.8 / len(colours)
    for index, colour in enumerate(colours):
        heights, errors = [], []
        for _, rows in groups:
            match = rows if colour is None else rows[rows[by[-1]] == colour]
            heights.append(float(match["mean"].iloc[0]) if len(match) else np.nan)
            errors.append(float(match["half_width"].iloc[0]) if len(match) else np.nan)
        positions = np.arange(len(groups)) + (index - (len(colours) - 1) / 2) * width
        label = None if colour is None else str(colour)
        ax.bar(positions, heights, width, yerr=np.nan_to_num(errors), capsize=3, label=label)
    ax.set_xticks(range(len(groups)), [label or "all runs" for label, _ in groups])
    ax.set(ylabel=metric, title=f"{metric}: mean and {confidence:.0%} CI over seeds")
    if by[:-1]:
        ax.set_xlabel(", ".join(by[:-1]))
    if by:
        ax.legend(title=by[-1])
    ax.grid(alpha=0.3, axis="y")
    return figure


def plot_series_over_runs(
    series: pd.DataFrame,
    metric: str,
    hue: Sequence[str] = (),
    *,
    confidence: float = 0.95,
    ax: Axes | None = None,
) -> Figure:
    """Plot a network series over time: the mean over runs per ``hue`` combination, with CI bands.

    Args:
        series: Reporting-interval rows of many runs stacked (as ``RunResults.series`` with the
            runs' parameter columns added): ``time_s``, ``metric`` and the ``hue`` columns.
        metric: A series column, e.g. ``"vehicles_on_network"`` or ``"mean_speed_mps"``.
        hue: Parameters with one line per combination; empty pools every run.
        confidence: Level of the shaded interval of the mean over runs at each time.
        ax: Axes to draw on; ``None`` makes a new figure.

    Returns:
        The figure, time in minutes.

    Raises:
        PlotError: If a column is missing or the table is empty.
    """
    hue = list(hue)
    rows = _ok_runs(series, ["time_s", metric, *hue], "series table")
    summary = group_summary(rows, [*hue, "time_s"], [metric], confidence)
    figure, ax = _axes(ax, (9, 5))
    for label, level in _levels(summary, hue):
        level = level.sort_values("time_s")
        minutes = level["time_s"].to_numpy(dtype=float) / _SECONDS_PER_MINUTE
        (line,) = ax.plot(minutes, level["mean"], label=label or metric)
        ax.fill_between(minutes, level["ci_low"], level["ci_high"], color=line.get_color(), alpha=_BAND_ALPHA)
    ax.set(xlabel="time (min)", ylabel=metric, title=f"{metric}: mean and {confidence:.0%} CI over runs")
    ax.grid(alpha=0.3)
    if hue:
        ax.legend(title=", ".join(hue))
    return figure
