"""Statistics over many runs: means with confidence intervals, and paired differences.

A "runs" table has one row per run: parameter columns (controller, demand scale, ...),
a ``seed`` column and one column per summary metric. Paired differences use common
random numbers: runs that differ only in the treatment but share the seed (and every
other parameter) saw identical demand, so their difference has far less noise than the
difference of two independent means.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from sim.metrics.summary import MetricsError, mean_ci

__all__ = ["group_summary", "paired_differences"]


def _finite(values: pd.Series) -> np.ndarray:
    arr = values.to_numpy(dtype=float)
    return arr[np.isfinite(arr)]


def _ci_row(values: np.ndarray, confidence: float) -> dict[str, float]:
    if values.size == 0:
        return {"n": 0, "mean": np.nan, "ci_low": np.nan, "ci_high": np.nan, "half_width": np.nan}
    mean, half = mean_ci(values, confidence)
    return {
        "n": int(values.size),
        "mean": mean,
        "ci_low": mean - half,
        "ci_high": mean + half,
        "half_width": half,
    }


def group_summary(
    runs: pd.DataFrame, by: Sequence[str], metrics: Sequence[str], confidence: float = 0.95
) -> pd.DataFrame:
    """Mean and Student-t confidence interval of each metric per parameter combination.

    Args:
        runs: One row per run.
        by: Parameter columns that define a combination (may be empty: one group).
        metrics: Metric columns to summarize; NaN values (undefined runs) are left out.
        confidence: Two-sided confidence level.

    Returns:
        Tidy frame: ``by`` columns, ``metric``, ``n``, ``mean``, ``ci_low``, ``ci_high``,
        ``half_width``.
    """
    _require(runs, [*by, *metrics])
    rows = []
    groups = runs.groupby(list(by), sort=True, dropna=False) if by else [((), runs)]
    for key, group in groups:
        key = key if isinstance(key, tuple) else (key,)
        for metric in metrics:
            rows.append(
                {
                    **dict(zip(by, key, strict=True)),
                    "metric": metric,
                    **_ci_row(_finite(group[metric]), confidence),
                }
            )
    return pd.DataFrame(rows, columns=[*by, "metric", "n", "mean", "ci_low", "ci_high", "half_width"])


def paired_differences(
    runs: pd.DataFrame,
    treatment: str,
    baseline: object,
    metrics: Sequence[str],
    pair_on: Sequence[str] = ("seed",),
    by: Sequence[str] = (),
    confidence: float = 0.95,
) -> pd.DataFrame:
    """Per treatment level, the mean paired difference to the baseline level, with its CI.

    Runs are paired when they agree on ``pair_on`` and ``by``; unpaired runs are left out.

    Args:
        runs: One row per run.
        treatment: The column that varies (e.g. ``"controller"``).
        baseline: The level the others are compared with (e.g. ``"fixed_time"``).
        metrics: Metric columns.
        pair_on: Columns that identify common random numbers (the seed).
        by: Further parameter columns to keep apart (e.g. the demand scale).
        confidence: Two-sided confidence level.

    Returns:
        Tidy frame: ``by`` columns, ``treatment`` (the level), ``metric``, ``n`` pairs,
        ``baseline_mean``, ``mean_diff``, ``ci_low``, ``ci_high``, ``change_pct`` (mean
        difference relative to the baseline mean, %), ``change_ci_pct`` (CI half-width, %).

    Raises:
        MetricsError: If the baseline level does not occur.
    """
    _require(runs, [treatment, *pair_on, *by, *metrics])
    if not (runs[treatment] == baseline).any():
        levels = sorted(map(str, runs[treatment].unique()))
        raise MetricsError(f"baseline {baseline!r} not among the {treatment!r} levels {levels}")
    keys = [*by, *pair_on]
    base = runs[runs[treatment] == baseline].set_index(keys)[list(metrics)]
    rows = []
    for level, group in runs[runs[treatment] != baseline].groupby(treatment, sort=True):
        joined = group.set_index(keys)[list(metrics)].merge(
            base, left_index=True, right_index=True, how="inner", suffixes=("", "__base")
        )
        blocks = joined.groupby(level=list(by), sort=True, dropna=False) if by else [((), joined)]
        for key, block in blocks:
            key = key if isinstance(key, tuple) else (key,)
            for metric in metrics:
                pairs = block[[metric, f"{metric}__base"]].to_numpy(dtype=float)
                pairs = pairs[np.isfinite(pairs).all(axis=1)]
                diff = _ci_row(pairs[:, 0] - pairs[:, 1], confidence)
                base_mean = float(pairs[:, 1].mean()) if len(pairs) else np.nan
                scale = 100.0 / base_mean if base_mean else np.nan
                rows.append(
                    {
                        **dict(zip(by, key, strict=True)),
                        treatment: level,
                        "metric": metric,
                        "n": diff["n"],
                        "baseline_mean": base_mean,
                        "mean_diff": diff["mean"],
                        "ci_low": diff["ci_low"],
                        "ci_high": diff["ci_high"],
                        "change_pct": diff["mean"] * scale,
                        "change_ci_pct": diff["half_width"] * abs(scale),
                    }
                )
    columns = [*by, treatment, "metric", "n", "baseline_mean", "mean_diff", "ci_low", "ci_high", "change_pct",
               "change_ci_pct"]  # fmt: skip
    return pd.DataFrame(rows, columns=columns)


def _require(frame: pd.DataFrame, columns: Sequence[str]) -> None:
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise MetricsError(f"runs table lacks column(s) {missing}; it has {list(frame.columns)}")
