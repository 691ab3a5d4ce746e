"""Summary statistics of one run, and confidence intervals across runs.

Everything here reads the tidy record frames of a run (see :mod:`sim.metrics.results`
for the data contract); nothing reaches into the simulation.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from typing import Any, Protocol

import numpy as np
import pandas as pd

from sim.metrics.catalog import CORE_METRICS, catalog_of, completion_text, section_values

__all__ = [
    "SUMMARY_KEYS",
    "MetricsError",
    "all_trip_metrics",
    "format_summary",
    "mean_ci",
    "summarize",
    "summarize_by_type",
    "trip_metrics",
]

_TRIP_INPUT_COLUMNS = ("depart_s", "enter_s", "arrive_s", "free_flow_s", "route_length_m", "distance_m",
                       "stops", "max_link_wait_s")  # fmt: skip
_SERIES_INPUT_COLUMNS = ("time_s", "entry_backlog", "queued_vehicles", "vehicle_steps", "max_green_wait_s")
HORIZON_INFO = "horizon_s"
"""Key of a run's info: the time (s) until which unfinished trips count (see :func:`all_trip_metrics`)."""

_SECONDS_PER_HOUR = 3600.0

# shown inside the completion row of the text table
_FOLDED = frozenset({"completion_rate", "unfinished_share"})

SUMMARY_KEYS: tuple[str, ...] = tuple(metric.key for metric in CORE_METRICS)
"""The keys of :func:`summarize`'s result for every run, in display order (sections add their own)."""


class MetricsError(ValueError):
    """Record frames or values that a metric cannot be computed from."""


class _RunParts(Protocol):
    """Anything carrying a run's record frames, such as ``RunResults``."""

    trips: pd.DataFrame
    series: pd.DataFrame
    info: dict[str, Any]


def _require_columns(frame: pd.DataFrame, columns: Iterable[str], name: str) -> None:
    missing = [column for column in columns if column not in frame.columns]
    if missing:
        raise MetricsError(f"{name} frame lacks column(s) {missing}; it has {list(frame.columns)}")


def trip_metrics(trips: pd.DataFrame) -> pd.DataFrame:
    """Return a copy of the trips frame with the completed-trip columns.

    Args:
        trips: Trip records (columns of the trips data contract).

    Returns:
        The trips with ``travel_time_s = arrive_s - depart_s`` (seconds, including the wait
        to enter the network) and ``delay_s = travel_time_s - free_flow_s`` (seconds).
        Both are NaN for trips that have not arrived; :func:`all_trip_metrics` counts those too.

    Raises:
        MetricsError: If a needed column is missing.
    """
    _require_columns(trips, ("depart_s", "arrive_s", "free_flow_s"), "trips")
    out = trips.copy()
    out["travel_time_s"] = out["arrive_s"] - out["depart_s"]
    out["delay_s"] = out["travel_time_s"] - out["free_flow_s"]
    return out


def all_trip_metrics(trips: pd.DataFrame, horizon_s: float) -> pd.DataFrame:
    """Travel time and delay of every trip due by ``horizon_s``, finished or not.

    A finished trip counts as in :func:`trip_metrics`. An unfinished one counts its time
    so far: ``travel_time_s = horizon_s - depart_s``, and its delay is that time less the
    free-flow time of the part of its route it has driven (``free_flow_s * distance_m /
    route_length_m``), so a trip that never entered the network counts all its waiting as
    delay. This is what SUMO's ``--tripinfo-output.write-unfinished`` and the RESCO
    benchmark report. Trips scheduled after ``horizon_s`` were not due and are left out.

    Args:
        trips: Trip records (columns of the trips data contract).
        horizon_s: The end of the run (s); for a run that stalled in gridlock, the time
            limit it would have reached (its vehicles could never have moved on).

    Returns:
        The due trips with ``travel_time_s``, ``delay_s`` (s) and ``finished`` (bool).

    Raises:
        MetricsError: If a needed column is missing.
    """
    _require_columns(trips, ("depart_s", "arrive_s", "free_flow_s", "route_length_m", "distance_m"), "trips")
    due = trip_metrics(trips[trips["depart_s"] <= horizon_s + 1e-9])
    finished = due["arrive_s"].notna()
    with np.errstate(invalid="ignore", divide="ignore"):
        driven = np.where(due["route_length_m"] > 0, due["distance_m"] / due["route_length_m"], 0.0)
    elapsed = horizon_s - due["depart_s"]
    due["finished"] = finished
    due["travel_time_s"] = due["travel_time_s"].where(finished, elapsed)
    due["delay_s"] = due["delay_s"].where(finished, elapsed - due["free_flow_s"] * np.clip(driven, 0.0, 1.0))
    return due


def _float(value: Any) -> float:
    return float(value) if pd.notna(value) else math.nan


def _ratio(numerator: float, denominator: float) -> float:
    return numerator / denominator if denominator > 0 else math.nan


def _parts(
    results_or_parts: _RunParts | Mapping[str, Any],
) -> tuple[pd.DataFrame, pd.DataFrame, Mapping[str, Any]]:
    if isinstance(results_or_parts, Mapping):
        missing = [key for key in ("trips", "series") if key not in results_or_parts]
        if missing:
            raise MetricsError(f"summarize needs the key(s) {missing}; got {sorted(results_or_parts)}")
        return results_or_parts["trips"], results_or_parts["series"], results_or_parts.get("info") or {}
    if not (hasattr(results_or_parts, "trips") and hasattr(results_or_parts, "series")):
        raise MetricsError(
            "summarize needs a RunResults or a mapping with 'trips' and 'series' frames; "
            f"got {type(results_or_parts).__name__}"
        )
    return results_or_parts.trips, results_or_parts.series, getattr(results_or_parts, "info", {}) or {}


def _percentile(values: np.ndarray, q: float) -> float:
    return float(np.percentile(values, q)) if values.size else math.nan


def summarize(results_or_parts: _RunParts | Mapping[str, Any]) -> dict[str, float | int]:
    """Compute the headline metrics of one run.

    Every trip counts: the ``*_all_*`` metrics cover every trip due by the run's horizon
    (see :func:`all_trip_metrics`); the ``*_completed_*`` ones only the trips that arrived
    and are labelled so. The horizon is ``info["horizon_s"]`` when the run recorded it, else
    the last reporting time, ``series.time_s.max()`` (the clock starts at 0 s).

    Args:
        results_or_parts: A ``RunResults``, or a mapping with ``"trips"`` and ``"series"``
            frames and optionally the run's ``"info"`` (extra keys are ignored).

    Returns:
        A dict with the keys of :data:`SUMMARY_KEYS` (see :data:`sim.metrics.catalog.CORE_METRICS`
        for labels), then the metrics the run's sections declared in its info; plain Python
        numbers, NaN where a metric is undefined (e.g. completed travel times when no trip
        completed):

        - ``trips``; ``completed``; ``completion_rate`` = completed / trips; ``unfinished`` =
          trips - completed: ``on_network_at_end``, ``never_entered`` (due by the horizon) and
          ``not_due`` (scheduled after it); ``unfinished_share`` = unfinished / trips.
        - ``mean_travel_time_all_s``, ``mean_delay_all_s``, ``p95_delay_all_s``: every due trip.
        - ``max_green_wait_s``: the longest any approach's first vehicle stood at a stop line
          without green; ``max_stop_wait_s``: the longest halted time of any vehicle on one link.
        - ``mean_travel_time_completed_s``, ``median_...``, ``p95_...`` (linear interpolation),
          ``mean_delay_completed_s``, ``mean_speed_completed_mps`` (distance over travel time).
        - ``mean_stops``: halts per vehicle that entered the network, so far.
        - ``throughput_vph``: completed trips per hour of simulated time.
        - ``max_entry_backlog``: most vehicles waiting to enter at a reporting time.
        - ``mean_queued_vehicles``: mean over intervals of the halted vehicles, veh.
        - ``vehicle_steps``: total vehicle-steps.

    Raises:
        MetricsError: If a frame is missing or lacks a needed column.
    """
    trips, series, info = _parts(results_or_parts)
    _require_columns(trips, _TRIP_INPUT_COLUMNS, "trips")
    _require_columns(series, _SERIES_INPUT_COLUMNS, "series")
    duration_s = _float(series["time_s"].max())
    every = all_trip_metrics(trips, _horizon_s(series, info))
    done = every[every["finished"]]
    travel_time_s = done["travel_time_s"].to_numpy(dtype=float)
    completed = int(trips["arrive_s"].notna().sum())
    entered = trips["enter_s"].notna()
    never_entered = int((~entered).sum()) - (len(trips) - len(every))
    return {
        "trips": len(trips),
        "completed": completed,
        "completion_rate": _ratio(completed, len(trips)),
        "unfinished": len(trips) - completed,
        "unfinished_share": _ratio(len(trips) - completed, len(trips)),
        "on_network_at_end": int(entered.sum()) - completed,
        "never_entered": never_entered,
        "not_due": len(trips) - len(every),
        "mean_travel_time_all_s": _float(every["travel_time_s"].mean()),
        "mean_delay_all_s": _float(every["delay_s"].mean()),
        "p95_delay_all_s": _percentile(every["delay_s"].to_numpy(dtype=float), 95),
        "max_green_wait_s": float(series["max_green_wait_s"].max()) if len(series) else math.nan,
        "max_stop_wait_s": _float(trips["max_link_wait_s"].max()),
        "mean_travel_time_completed_s": float(travel_time_s.mean()) if completed else math.nan,
        "median_travel_time_completed_s": float(np.median(travel_time_s)) if completed else math.nan,
        "p95_travel_time_completed_s": _percentile(travel_time_s, 95),
        "mean_delay_completed_s": _float(done["delay_s"].mean()),
        "mean_stops": _float(trips.loc[entered, "stops"].mean()),
        "mean_speed_completed_mps": _ratio(float(done["distance_m"].sum()), float(travel_time_s.sum())),
        "throughput_vph": _ratio(completed * _SECONDS_PER_HOUR, duration_s),
        "max_entry_backlog": int(series["entry_backlog"].max()) if len(series) else 0,
        "mean_queued_vehicles": _float(series["queued_vehicles"].mean()),
        "vehicle_steps": int(series["vehicle_steps"].sum()),
        **section_values(info),
    }


def _horizon_s(series: pd.DataFrame, info: Mapping[str, Any]) -> float:
    """Until when unfinished trips count (s): the run's recorded horizon, else its last report."""
    horizon_s = _float(info.get(HORIZON_INFO, _float(series["time_s"].max())))
    return horizon_s if math.isfinite(horizon_s) else 0.0


def summarize_by_type(results_or_parts: _RunParts | Mapping[str, Any]) -> dict[str, dict[str, float | int]]:
    """The headline trip metrics of each vehicle type, for runs whose trips have a ``type`` column.

    Trips have the column when the scenario declares vehicle types (``[vehicle_types]``).
    Unfinished trips count as in :func:`summarize`, up to the same horizon.

    Args:
        results_or_parts: As for :func:`summarize`.

    Returns:
        Type name to ``trips``, ``completed``, ``completion_rate``,
        ``mean_travel_time_all_s``, ``mean_delay_all_s`` (every due trip of the type),
        ``mean_travel_time_completed_s`` and ``mean_delay_completed_s`` (s; NaN where no trip
        of the type is due or completed), in order of the types' first trips; empty
        without a ``type`` column.

    Raises:
        MetricsError: If a frame is missing or lacks a needed column.
    """
    trips, series, info = _parts(results_or_parts)
    if "type" not in trips.columns:
        return {}
    _require_columns(trips, _TRIP_INPUT_COLUMNS, "trips")
    _require_columns(series, ("time_s",), "series")
    every = all_trip_metrics(trips, _horizon_s(series, info))
    by_type = {}
    for name, of_type in trips.groupby("type", sort=False):
        due = every[every["type"] == name]
        done = due[due["finished"]]
        completed = int(of_type["arrive_s"].notna().sum())
        by_type[str(name)] = {
            "trips": len(of_type),
            "completed": completed,
            "completion_rate": _ratio(completed, len(of_type)),
            "mean_travel_time_all_s": _float(due["travel_time_s"].mean()),
            "mean_delay_all_s": _float(due["delay_s"].mean()),
            "mean_travel_time_completed_s": _float(done["travel_time_s"].mean()),
            "mean_delay_completed_s": _float(done["delay_s"].mean()),
        }
    return by_type


def format_summary(summary: Mapping[str, Any], info: Mapping[str, Any] | None = None) -> str:
    """Render a summary dict as a two-column text table for the command line.

    Completion shows as ``"11,054 of 11,055 (99.99%)"`` (see
    :func:`sim.metrics.catalog.completion_text`); the other known metrics (the core ones and
    those the run's sections declared in ``info``) get their label with unit and number
    format; other keys are shown as they are. NaN shows as ``n/a``.

    Args:
        summary: Metric name to value, e.g. the result of :func:`summarize`.
        info: The run's info, for the labels of its sections' metrics.

    Returns:
        The table, one metric per line, without a trailing newline.
    """
    catalog = catalog_of(info)
    rows = []
    for key, value in summary.items():
        if key in _FOLDED:
            continue
        if key == "completed" and "trips" in summary:
            rows.append(("completed", completion_text(value, summary["trips"])))
        elif key in catalog:
            rows.append((catalog[key].label, catalog[key].format(value)))
        else:
            rows.append((key, str(value)))
    if not rows:
        return ""
    label_width = max(len(label) for label, _ in rows)
    value_width = max(len(value) for _, value in rows)
    return "\n".join(f"{label:<{label_width}}  {value:>{value_width}}" for label, value in rows)


def _t_two_sided(confidence: float, df: int) -> float:
    """The t with P(|T| <= t) = confidence for Student's t with ``df`` degrees of freedom."""
    # Imported here, not at the top: scipy.stats takes ~0.4 s to import, and a single run (which
    # imports this module) never needs a quantile.
    from scipy import stats

    return float(stats.t.ppf((1 + confidence) / 2, df))


def mean_ci(values: Iterable[float], confidence: float = 0.95) -> tuple[float, float]:
    """Sample mean and the half-width of its Student t confidence interval.

    The half-width is ``t * s / sqrt(n)`` with ``s`` the sample standard deviation
    (``ddof=1``) and ``t`` the two-sided quantile of Student's t with ``n - 1`` degrees of
    freedom (``scipy.stats.t.ppf``). Every confidence interval in citysim (sweep summaries,
    paired differences, ``compare``, the benchmarks) is computed here.

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
