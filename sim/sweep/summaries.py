"""Summaries of a sweep's runs table: per combination, and against the baseline.

Both come from :mod:`sim.metrics.stats`: the mean and Student-t confidence interval of every
metric per parameter combination, and the paired differences to the baseline level of one
parameter, pairing runs on the seed (common random numbers) within each combination of the
other parameters.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd

from sim.metrics.catalog import UNFINISHED_MARGIN, Metric, catalog_of, metric_for
from sim.metrics.stats import group_summary, paired_differences
from sim.metrics.summary import SUMMARY_KEYS

__all__ = [
    "HEADLINE_METRICS",
    "TEXT_WIDTH",
    "format_differences",
    "format_summary_table",
    "printed_metrics",
    "summarize_runs",
]

HEADLINE_METRICS = (
    "mean_delay_all_s",
    "mean_travel_time_all_s",
    "unfinished_share",
    "never_entered",
    "max_green_wait_s",
)
"""The core metrics the command line prints, before the sections' own; the CSV files hold every metric.

``throughput_vph`` is not among them: it counts completed trips per hour of simulated time, which
ends when the last trip arrives, so it rises for a run that merely empties the network sooner."""

TEXT_WIDTH = 100
"""Columns the printed tables fit in."""

_DIFFERENCE_VALUES = (
    "n", "baseline_mean", "mean_diff", "ci_low", "ci_high", "change_pct", "change_ci_pct", "flagged",
)  # fmt: skip


def summarize_runs(
    runs: pd.DataFrame,
    parameters: Sequence[str] | None = None,
    baseline: tuple[str, Any] | None = None,
    metrics: Sequence[str] | None = None,
    confidence: float = 0.95,
) -> tuple[pd.DataFrame, pd.DataFrame | None]:
    """Summarize the ``ok`` runs of a runs table (see :func:`sim.sweep.store.load_runs`).

    Args:
        runs: The runs table.
        parameters: Parameter columns; ``None`` reads ``runs.attrs["parameters"]``.
        baseline: ``(parameter, value)``; ``None`` reads ``runs.attrs.get("baseline")``.
        metrics: Metric columns; ``None`` reads ``runs.attrs["metrics"]`` (the core metrics and
            the sections'), or takes the core ones.
        confidence: Two-sided confidence level.

    Returns:
        ``(summary, differences)``: the :func:`~sim.metrics.stats.group_summary` frame over the
        parameters, and the :func:`~sim.metrics.stats.paired_differences` frame against the
        baseline (``None`` without a baseline, or when no baseline run succeeded), whose
        ``flagged`` column marks the combinations whose unfinished share exceeds their
        baseline's by more than :data:`~sim.metrics.catalog.UNFINISHED_MARGIN`.
    """
    metrics = list(runs.attrs.get("metrics", SUMMARY_KEYS) if metrics is None else metrics)
    parameters = list(runs.attrs.get("parameters", []) if parameters is None else parameters)
    baseline = runs.attrs.get("baseline") if baseline is None else baseline
    ok = runs[runs["status"] == "ok"] if "status" in runs.columns else runs
    summary = group_summary(ok, parameters, metrics, confidence)
    if baseline is None or not (ok[baseline[0]] == baseline[1]).any():
        return summary, None
    key, value = baseline
    others = [name for name in parameters if name != key]
    differences = paired_differences(
        ok, key, value, metrics, pair_on=("seed",), by=others, confidence=confidence
    )
    groups = [key, *others]
    unfinished = differences[differences["metric"] == "unfinished_share"].set_index(groups)["mean_diff"]
    flagged = (unfinished > UNFINISHED_MARGIN).rename("flagged")
    return summary, differences.join(flagged, on=groups).fillna({"flagged": False})


def printed_metrics(runs: pd.DataFrame) -> list[str]:
    """The metrics the command line prints for a runs table: :data:`HEADLINE_METRICS`, then its sections'."""
    return [*HEADLINE_METRICS, *(name for name in runs.attrs.get("metrics", ()) if name not in SUMMARY_KEYS)]


def _fit(table: pd.DataFrame) -> str:
    """The table as text within :data:`TEXT_WIDTH` columns: combinations that do not fit go below."""
    return table.to_string(line_width=TEXT_WIDTH)


def format_summary_table(
    summary: pd.DataFrame,
    parameters: Sequence[str],
    metrics: Sequence[str] = HEADLINE_METRICS,
    catalog: Mapping[str, Metric] | None = None,
) -> str:
    """A text table: one column per combination, one line per metric (``mean ± CI half-width``) and the runs.

    Each metric is named by its label (with its unit); means and half-widths are shown to the
    precision two significant digits of the half-width need
    (:meth:`~sim.metrics.catalog.Metric.format_estimate`); combinations that do not fit in
    :data:`TEXT_WIDTH` columns continue in a block below.

    Args:
        summary: A :func:`summarize_runs` summary.
        parameters: Its parameter columns.
        metrics: The metric columns to show.
        catalog: Metrics by key (labels, formats); ``None`` takes the core metrics.
    """
    shown = summary[summary["metric"].isin(metrics)]
    if shown.empty:
        return "no finished runs to summarize"
    catalog = dict(catalog or catalog_of())
    cells = shown.assign(
        cell=[
            metric_for(key, catalog).format_estimate(m, h)
            for key, m, h in zip(shown["metric"], shown["mean"], shown["half_width"], strict=True)
        ]
    )
    index = list(parameters) or None
    table = cells.pivot_table(index=index, columns="metric", values="cell", aggfunc="first", sort=False)
    table = table[[metric for metric in metrics if metric in table.columns]]
    runs = shown.groupby(index, sort=False)["n"].max() if index else shown["n"].max()
    table.insert(0, "runs", runs)
    # one metric per line: the sections add many metrics, combinations are few
    return _fit(_labelled(table.T, catalog))


def _labelled(table: pd.DataFrame, catalog: Mapping[str, Metric]) -> pd.DataFrame:
    """``table`` with its metric rows named by label instead of key."""
    return table.rename(index=lambda key: metric_for(key, catalog).label if key in catalog else key)


def _difference(metric: Metric, diff: float, low: float, high: float, change_pct: float) -> str:
    """``-21.9 [-23.2, -20.6] (-53%)``: the paired difference, its CI and the relative change."""
    text = metric.format_difference(diff, low, high)
    return f"{text} ({change_pct:+.0f}%)" if math.isfinite(change_pct) and not metric.percent else text


def format_differences(
    differences: pd.DataFrame,
    treatment: str,
    metrics: Sequence[str] = HEADLINE_METRICS,
    catalog: Mapping[str, Metric] | None = None,
) -> str:
    """A text table of paired differences, one column per combination, one line per metric.

    Each cell is ``mean difference [CI] (relative change)`` (a share's difference in percentage
    points, without a relative change), to the precision of the interval; the ``flag`` line
    marks an unfinished share more than 1 point above the baseline's. Combinations that do not
    fit in :data:`TEXT_WIDTH` columns continue in a block below.

    Args:
        differences: A :func:`summarize_runs` differences frame.
        treatment: The baseline's parameter column.
        metrics: The metric columns to show.
        catalog: Metrics by key (labels, formats); ``None`` takes the core metrics.
    """
    shown = differences[differences["metric"].isin(metrics)]
    if shown.empty:
        return "no paired runs"
    index = [column for column in shown.columns if column not in _DIFFERENCE_VALUES and column != "metric"]
    index = [treatment, *[column for column in index if column != treatment]]
    catalog = dict(catalog or catalog_of())
    cells = [
        _difference(metric_for(key, catalog), diff, low, high, pct)
        for key, diff, low, high, pct in zip(
            shown["metric"],
            shown["mean_diff"],
            shown["ci_low"],
            shown["ci_high"],
            shown["change_pct"],
            strict=True,
        )
    ]
    table = shown.assign(cell=cells).pivot_table(
        index=index, columns="metric", values="cell", aggfunc="first", sort=False
    )
    table = table[[metric for metric in metrics if metric in table.columns]]
    flags = shown.groupby(index, sort=False)["flagged"].any()
    table.insert(0, "flag", flags.map({True: "!", False: ""}))
    text = _fit(_labelled(table.T, catalog))
    if flags.any():
        text += (
            f"\n! unfinished share more than {UNFINISHED_MARGIN:.0%} point above the baseline's: its "
            "all-trips delay counts those trips' waits; completed-only means would flatter it"
        )
    return text
