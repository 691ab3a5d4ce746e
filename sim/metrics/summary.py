"""Summary statistics of one run, and confidence intervals across runs.

Everything here reads the tidy record frames of a run (see :mod:`sim.metrics.results`
for the data contract); nothing reaches into the simulation.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from statistics import NormalDist
from typing import Any, Protocol

import numpy as np
import pandas as pd

__all__ = [
    "SUMMARY_KEYS",
    "MetricsError",
    "format_summary",
    "mean_ci",
    "summarize",
    "trip_metrics",
]

_TRIP_INPUT_COLUMNS = ("depart_s", "enter_s", "arrive_s", "free_flow_s", "distance_m", "stops")
_SERIES_INPUT_COLUMNS = ("time_s", "entry_backlog", "queued_vehicles", "vehicle_steps")

# Above this many degrees of freedom the t quantile comes from the Cornish-Fisher
# expansion (error < 1e-7), because the exact series below costs O(df) per evaluation.
_EXACT_T_MAX_DF = 100
_BISECTION_STEPS = 80
_SECONDS_PER_HOUR = 3600.0

# key: (label with unit for the text table, format of the number)
_DISPLAY: dict[str, tuple[str, str]] = {
    "trips": ("trips", "{:,.0f}"),
    "departed": ("departed (entered network)", "{:,.0f}"),
    "completed": ("completed", "{:,.0f}"),
    "completion_rate": ("completion rate", "{:.1%}"),
    "mean_travel_time_s": ("mean travel time (s)", "{:,.1f}"),
    "median_travel_time_s": ("median travel time (s)", "{:,.1f}"),
    "p95_travel_time_s": ("95th pct travel time (s)", "{:,.1f}"),
    "mean_delay_s": ("mean delay (s)", "{:,.1f}"),
    "mean_stops": ("mean stops per trip", "{:.2f}"),
    "mean_speed_mps": ("mean trip speed (m/s)", "{:.2f}"),
    "throughput_vph": ("throughput (veh/h)", "{:,.0f}"),
    "max_entry_backlog": ("max entry backlog (veh)", "{:,.0f}"),
    "mean_queued_vehicles": ("mean queued vehicles (veh)", "{:,.1f}"),
    "vehicle_steps": ("vehicle-steps", "{:,.0f}"),
}

SUMMARY_KEYS: tuple[str, ...] = tuple(_DISPLAY)
"""The keys of :func:`summarize`'s result, in display order."""


class MetricsError(ValueError):
    """Record frames or values that a metric cannot be computed from."""


class _RunParts(Protocol):
    """Anything carrying a run's record frames, such as ``RunResults``."""

    trips: pd.DataFrame
    series: pd.DataFrame


def _require_columns(frame: pd.DataFrame, columns: Iterable[str], name: str) -> None:
    missing = [column for column in columns if column not in frame.columns]
    if missing:
        raise MetricsError(f"{name} frame lacks column(s) {missing}; it has {list(frame.columns)}")


def trip_metrics(trips: pd.DataFrame) -> pd.DataFrame:
    """Return a copy of the trips frame with the derived per-trip columns.

    Args:
        trips: Trip records (columns of the trips data contract).

    Returns:
        The trips with ``travel_time_s = arrive_s - depart_s`` (seconds, including the wait
        to enter the network) and ``delay_s = travel_time_s - free_flow_s`` (seconds).
        Both are NaN for trips that have not arrived.

    Raises:
        MetricsError: If a needed column is missing.
    """
    _require_columns(trips, ("depart_s", "arrive_s", "free_flow_s"), "trips")
    out = trips.copy()
    out["travel_time_s"] = out["arrive_s"] - out["depart_s"]
    out["delay_s"] = out["travel_time_s"] - out["free_flow_s"]
    return out


def _float(value: Any) -> float:
    return float(value) if pd.notna(value) else math.nan


def _ratio(numerator: float, denominator: float) -> float:
    return numerator / denominator if denominator > 0 else math.nan


def _parts(results_or_parts: _RunParts | Mapping[str, pd.DataFrame]) -> tuple[pd.DataFrame, pd.DataFrame]:
    if isinstance(results_or_parts, Mapping):
        missing = [key for key in ("trips", "series") if key not in results_or_parts]
        if missing:
            raise MetricsError(f"summarize needs the key(s) {missing}; got {sorted(results_or_parts)}")
        return results_or_parts["trips"], results_or_parts["series"]
    if not (hasattr(results_or_parts, "trips") and hasattr(results_or_parts, "series")):
        raise MetricsError(
            "summarize needs a RunResults or a mapping with 'trips' and 'series' frames; "
            f"got {type(results_or_parts).__name__}"
        )
    return results_or_parts.trips, results_or_parts.series


def summarize(results_or_parts: _RunParts | Mapping[str, pd.DataFrame]) -> dict[str, float | int]:
    """Compute the headline metrics of one run.

    Trip statistics (travel time, delay, stops, speed) are over completed trips only,
    because an unfinished trip has no travel time. The simulated duration is the last
    reporting time, ``series.time_s.max()``: the simulation clock starts at 0 s.

    Args:
        results_or_parts: A ``RunResults``, or a mapping with ``"trips"`` and ``"series"``
            frames (extra keys are ignored).

    Returns:
        A dict with the keys of :data:`SUMMARY_KEYS`, plain Python numbers (NaN where a
        metric is undefined, e.g. travel times when no trip completed):

        - ``trips``: trip records; ``departed``: trips that entered the network;
          ``completed``: trips that arrived; ``completion_rate``: completed / trips.
        - ``mean_travel_time_s``, ``median_travel_time_s``, ``p95_travel_time_s`` (linear
          interpolation), ``mean_delay_s``: seconds, see :func:`trip_metrics`.
        - ``mean_stops``: halts per completed trip.
        - ``mean_speed_mps``: total distance over total travel time of completed trips, m/s.
        - ``throughput_vph``: completed trips per hour of simulated time.
        - ``max_entry_backlog``: most vehicles waiting to enter at a reporting time.
        - ``mean_queued_vehicles``: mean over intervals of the halted vehicles, veh.
        - ``vehicle_steps``: total vehicle-steps.

    Raises:
        MetricsError: If a frame is missing or lacks a needed column.
    """
    trips, series = _parts(results_or_parts)
    _require_columns(trips, _TRIP_INPUT_COLUMNS, "trips")
    _require_columns(series, _SERIES_INPUT_COLUMNS, "series")
    trips = trip_metrics(trips)
    done = trips[trips["arrive_s"].notna()]
    travel_time_s = done["travel_time_s"].to_numpy(dtype=float)
    completed = len(done)
    duration_s = _float(series["time_s"].max())
    has_trips = completed > 0
    return {
        "trips": len(trips),
        "departed": int(trips["enter_s"].notna().sum()),
        "completed": completed,
        "completion_rate": _ratio(completed, len(trips)),
        "mean_travel_time_s": float(travel_time_s.mean()) if has_trips else math.nan,
        "median_travel_time_s": float(np.median(travel_time_s)) if has_trips else math.nan,
        "p95_travel_time_s": float(np.percentile(travel_time_s, 95)) if has_trips else math.nan,
        "mean_delay_s": _float(done["delay_s"].mean()),
        "mean_stops": _float(done["stops"].mean()),
        "mean_speed_mps": _ratio(float(done["distance_m"].sum()), float(travel_time_s.sum())),
        "throughput_vph": _ratio(completed * _SECONDS_PER_HOUR, duration_s),
        "max_entry_backlog": int(series["entry_backlog"].max()) if len(series) else 0,
        "mean_queued_vehicles": _float(series["queued_vehicles"].mean()),
        "vehicle_steps": int(series["vehicle_steps"].sum()),
    }


def _format_value(key: str, value: Any) -> str:
    if isinstance(value, float) and math.isnan(value):
        return "n/a"
    if key not in _DISPLAY or not isinstance(value, int | float):
        return str(value)
    return _DISPLAY[key][1].format(value)


def _label(key: str) -> str:
    return _DISPLAY[key][0] if key in _DISPLAY else key


def format_summary(summary: Mapping[str, Any]) -> str:
    """Render a summary dict as a two-column text table for the command line.

    Known keys (those of :func:`summarize`) get a readable label with their unit and a
    number format; other keys are shown as they are. NaN shows as ``n/a``.

    Args:
        summary: Metric name to value, e.g. the result of :func:`summarize`.

    Returns:
        The table, one metric per line, without a trailing newline.
    """
    rows = [
        (_DISPLAY.get(key, (key, "", ""))[0], _format_value(key, value)) for key, value in summary.items()
    ]
    if not rows:
        return ""
    label_width = max(len(label) for label, _ in rows)
    value_width = max(len(value) for _, value in rows)
    return "\n".join(f"{label:<{label_width}}  {value:>{value_width}}" for label, value in rows)


def _t_central_probability(t: float, df: int) -> float:
    """P(|T| <= t) for Student's t with integer ``df``: Abramowitz & Stegun 26.7.3-4."""
    theta = math.atan(t / math.sqrt(df))
    cos2 = math.cos(theta) ** 2
    if df % 2 == 1:
        series, term = 0.0, math.cos(theta)
        for k in range(1, (df - 1) // 2 + 1):
            series += term
            term *= cos2 * (2 * k) / (2 * k + 1)
        return 2.0 / math.pi * (theta + math.sin(theta) * series)
    series, term = 0.0, 1.0
    for k in range(1, df // 2 + 1):
        series += term
        term *= cos2 * (2 * k - 1) / (2 * k)
    return math.sin(theta) * series


def _t_cornish_fisher(z: float, df: int) -> float:
    """Student t quantile from the normal quantile ``z``: Abramowitz & Stegun 26.7.5."""
    g1 = (z**3 + z) / 4
    g2 = (5 * z**5 + 16 * z**3 + 3 * z) / 96
    g3 = (3 * z**7 + 19 * z**5 + 17 * z**3 - 15 * z) / 384
    g4 = (79 * z**9 + 776 * z**7 + 1482 * z**5 - 1920 * z**3 - 945 * z) / 92160
    return z + g1 / df + g2 / df**2 + g3 / df**3 + g4 / df**4


def _t_two_sided(confidence: float, df: int) -> float:
    """The t with P(|T| <= t) = confidence for Student's t with ``df`` degrees of freedom."""
    if df > _EXACT_T_MAX_DF:
        return _t_cornish_fisher(NormalDist().inv_cdf((1 + confidence) / 2), df)
    # The central probability rises monotonically in theta = atan(t / sqrt(df)) over
    # (0, pi/2), so bisection on theta converges for any confidence level.
    low, high = 0.0, math.pi / 2
    for _ in range(_BISECTION_STEPS):
        mid = (low + high) / 2
        if _t_central_probability(math.sqrt(df) * math.tan(mid), df) < confidence:
            low = mid
        else:
            high = mid
    return math.sqrt(df) * math.tan((low + high) / 2)


def mean_ci(values: Iterable[float], confidence: float = 0.95) -> tuple[float, float]:
    """Sample mean and the half-width of its Student t confidence interval.

    The half-width is ``t * s / sqrt(n)`` with ``s`` the sample standard deviation
    (``ddof=1``) and ``t`` the two-sided quantile of Student's t with ``n - 1`` degrees of
    freedom. The quantile is computed with numpy and the standard library only: for up to
    100 degrees of freedom by inverting the exact closed-form t distribution for integer
    degrees of freedom (Abramowitz & Stegun 26.7.3-4), above that from the Cornish-Fisher
    expansion around the normal quantile (A&S 26.7.5, error below 1e-7).

    Args:
        values: The sample, e.g. one metric over replications with different seeds.
        confidence: Two-sided confidence level, strictly between 0 and 1. Defaults to 0.95.

    Returns:
        ``(mean, half_width)``, in the unit of the values. The half-width is NaN for a
        single value.

    Raises:
        MetricsError: If there are no values, a value is NaN or infinite, or the
            confidence is not strictly between 0 and 1.
    """
    if not 0.0 < confidence < 1.0:
        raise MetricsError(f"confidence must be strictly between 0 and 1, got {confidence!r}")
    sample = np.asarray(list(values), dtype=float)
    if sample.size == 0:
        raise MetricsError("mean_ci needs at least one value, got none")
    if not np.isfinite(sample).all():
        raise MetricsError(
            f"mean_ci needs finite values; got {sample[~np.isfinite(sample)].tolist()} among "
            f"{sample.size} (drop undefined runs first)"
        )
    mean = float(sample.mean())
    if sample.size == 1:
        return mean, math.nan
    standard_error = float(sample.std(ddof=1)) / math.sqrt(sample.size)
    return mean, _t_two_sided(confidence, sample.size - 1) * standard_error
