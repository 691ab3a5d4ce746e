"""Summaries of a sweep's runs table: per combination, and against the baseline.

Both come from :mod:`sim.metrics.stats`: the mean and Student-t confidence interval of every
metric per parameter combination, and the paired differences to the baseline level of one
parameter, pairing runs on the seed (common random numbers) within each combination of the
other parameters.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import pandas as pd

from sim.metrics.catalog import UNFINISHED_MARGIN, Metric, catalog_of
from sim.metrics.stats import group_summary, paired_differences
from sim.metrics.summary import SUMMARY_KEYS

__all__ = [
    "HEADLINE_METRICS",
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
    "throughput_vph",
)
"""The core metrics the command line prints, before the sections' own; the CSV files hold every metric."""

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


def _estimate(metric: Metric | None, mean: float, half_width: float) -> str:
    """``mean ± half-width`` in the metric's own format (4 significant digits if not a core metric)."""
    if math.isnan(mean):
        return "n/a"
    shown = metric.format if metric is not None else "{:.4g}".format
    return shown(mean) if math.isnan(half_width) else f"{shown(mean)} ± {shown(half_width)}"


def format_summary_table(
    summary: pd.DataFrame, parameters: Sequence[str], metrics: Sequence[str] = HEADLINE_METRICS
) -> str:
    """A text table: one column per combination, one line per metric (``mean ± CI half-width``) and the runs.

    Args:
        summary: A :func:`summarize_runs` summary.
        parameters: Its parameter columns.
        metrics: The metric columns to show.
    """
    shown = summary[summary["metric"].isin(metrics)]
    if shown.empty:
        return "no finished runs to summarize"
    catalog = catalog_of()
    cells = shown.assign(
        cell=[
            _estimate(catalog.get(key), m, h)
            for key, m, h in zip(shown["metric"], shown["mean"], shown["half_width"], strict=True)
        ]
    )
    index = list(parameters) or None
    table = cells.pivot_table(index=index, columns="metric", values="cell", aggfunc="first", sort=False)
    table = table[[metric for metric in metrics if metric in table.columns]]
    runs = shown.groupby(index, sort=False)["n"].max() if index else shown["n"].max()
    table.insert(0, "runs", runs)
    # one metric per line: the sections add many metrics, combinations are few
    return table.T.to_string()


def format_differences(
    differences: pd.DataFrame, treatment: str, metrics: Sequence[str] = HEADLINE_METRICS
) -> str:
    """A text table of paired differences, one column per combination, one line per metric.

    Each cell is ``mean difference [CI] (relative change)``; the ``flag`` line marks an
    unfinished share more than 1 point above the baseline's.

    Args:
        differences: A :func:`summarize_runs` differences frame.
        treatment: The baseline's parameter column.
        metrics: The metric columns to show.
    """
    shown = differences[differences["metric"].isin(metrics)]
    if shown.empty:
        return "no paired runs"
    index = [column for column in shown.columns if column not in _DIFFERENCE_VALUES and column != "metric"]
    index = [treatment, *[column for column in index if column != treatment]]
    cells = [
        "n/a" if math.isnan(diff) else f"{diff:+.4g} [{low:+.3g}, {high:+.3g}] ({pct:+.1f}%)"
        for diff, low, high, pct in zip(
            shown["mean_diff"], shown["ci_low"], shown["ci_high"], shown["change_pct"], strict=True
        )
    ]
    table = shown.assign(cell=cells).pivot_table(
        index=index, columns="metric", values="cell", aggfunc="first", sort=False
    )
    table = table[[metric for metric in metrics if metric in table.columns]]
    flags = shown.groupby(index, sort=False)["flagged"].any()
    table.insert(0, "flag", flags.map({True: "!", False: ""}))
    text = table.T.to_string()
    if flags.any():
        text += (
            f"\n! unfinished share more than {UNFINISHED_MARGIN:.0%} point above the baseline's: its "
            "all-trips delay counts those trips' waits; completed-only means would flatter it"
        )
    return text
