"""What each headline metric of a run is: its key, label with unit, number format and direction.

The run summary (:func:`sim.metrics.summary.summarize`), ``citysim run``'s table, ``compare``,
sweeps and the figures read labels and formats from here, so a metric is declared once.
:data:`CORE_METRICS` are computed from every run's records; an optional scenario section
(emergency, parking, shuttles) declares its own as a tuple of :class:`Metric` keyed by its
summary's keys, and the model stores those declarations in the run's info
(:func:`section_declarations`), so that results folders and sweep records carry their own labels.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass
from typing import Any

__all__ = [
    "CORE_METRICS",
    "SECTION_METRICS_INFO",
    "UNFINISHED_MARGIN",
    "Metric",
    "catalog_of",
    "completion_text",
    "section_declarations",
    "section_values",
]

SECTION_METRICS_INFO = "section_metrics"
"""Key of a run's info that lists its sections' metric declarations (see :func:`section_declarations`)."""

_DIRECTIONS = ("lower", "higher", "none")

UNFINISHED_MARGIN = 0.01
"""Comparisons flag a controller or combination whose unfinished share exceeds the baseline's by
more than this (1 point): its delay could look better only because the trips it starved are missing."""


@dataclass(frozen=True)
class Metric:
    """One headline metric.

    Attributes:
        key: Its name in the run summary (a sweep runs-table column, a compare metric).
        label: What it is, with its unit, e.g. ``"mean delay, all trips (s)"``.
        fmt: Format of one value, e.g. ``"{:,.1f}"``.
        better: ``"lower"``, ``"higher"`` or ``"none"`` (no better direction).
    """

    key: str
    label: str
    fmt: str = "{:,.1f}"
    better: str = "lower"

    def __post_init__(self) -> None:
        if self.better not in _DIRECTIONS:
            raise ValueError(f"Metric {self.key!r}: better must be one of {_DIRECTIONS}, got {self.better!r}")

    def format(self, value: Any) -> str:
        """The value in this metric's format; ``n/a`` for NaN or a missing value."""
        if value is None or (isinstance(value, float) and math.isnan(value)):
            return "n/a"
        return self.fmt.format(value) if isinstance(value, int | float) else str(value)


CORE_METRICS: tuple[Metric, ...] = (
    Metric("trips", "trips in the demand", "{:,.0f}", "none"),
    Metric("completed", "completed trips", "{:,.0f}", "higher"),
    Metric("completion_rate", "completion rate", "{:.2%}", "higher"),
    Metric("unfinished", "unfinished trips", "{:,.0f}"),
    Metric("unfinished_share", "unfinished share", "{:.2%}"),
    Metric("on_network_at_end", "on the network at the end", "{:,.0f}"),
    Metric("never_entered", "due but never entered the network", "{:,.0f}"),
    Metric("not_due", "scheduled after the run's end", "{:,.0f}", "none"),
    Metric("mean_travel_time_all_s", "mean travel time, all trips (s)"),
    Metric("mean_delay_all_s", "mean delay, all trips (s)"),
    Metric("p95_delay_all_s", "95th pct delay, all trips (s)"),
    Metric("max_green_wait_s", "longest wait for green, any approach (s)"),
    Metric("max_stop_wait_s", "longest halt on one link, any vehicle (s)"),
    Metric("mean_travel_time_completed_s", "mean travel time, completed trips only (s)"),
    Metric("median_travel_time_completed_s", "median travel time, completed trips only (s)"),
    Metric("p95_travel_time_completed_s", "95th pct travel time, completed trips only (s)"),
    Metric("mean_delay_completed_s", "mean delay, completed trips only (s)"),
    Metric("mean_stops", "stops per vehicle that entered", "{:.2f}"),
    Metric("mean_speed_completed_mps", "mean trip speed, completed trips only (m/s)", "{:.2f}", "higher"),
    Metric("throughput_vph", "throughput (veh/h)", "{:,.0f}", "higher"),
    Metric("max_entry_backlog", "max entry backlog (veh)", "{:,.0f}"),
    Metric("mean_queued_vehicles", "mean queued vehicles (veh)"),
    Metric("vehicle_steps", "vehicle-steps", "{:,.0f}", "none"),
)
"""The metrics of every run, in display order."""


def section_declarations(section: str, metrics: Iterable[Metric]) -> list[dict[str, str]]:
    """A section's metric declarations as stored in a run's info (JSON-compatible).

    Each becomes a metric of the run summary named ``<section>_<key>``, whose value is
    ``info[section][key]``.
    """
    return [asdict(metric) | {"key": f"{section}_{metric.key}", "section": section, "source": metric.key}
            for metric in metrics]  # fmt: skip


def _declared(info: Mapping[str, Any]) -> list[dict[str, str]]:
    return list(info.get(SECTION_METRICS_INFO) or [])


def catalog_of(info: Mapping[str, Any] | None = None) -> dict[str, Metric]:
    """Key -> :class:`Metric`: the core metrics and those the run's sections declared in ``info``."""
    catalog = {metric.key: metric for metric in CORE_METRICS}
    for entry in _declared(info or {}):
        catalog[entry["key"]] = Metric(entry["key"], entry["label"], entry["fmt"], entry["better"])
    return catalog


def section_values(info: Mapping[str, Any]) -> dict[str, float]:
    """The values of the metrics the run's sections declared, by their summary key (NaN if absent)."""
    values = {}
    for entry in _declared(info):
        value = (info.get(entry["section"]) or {}).get(entry["source"])
        values[entry["key"]] = float(value) if isinstance(value, int | float) else math.nan
    return values


def completion_text(completed: float, trips: float) -> str:
    """``"11,054 of 11,055 (99.99%)"``: the share is rounded down, so 100% means every trip."""
    if not trips:
        return f"{completed:,.0f} of 0"
    share = math.floor(completed / trips * 10_000) / 100
    return f"{completed:,.0f} of {trips:,.0f} ({share:.2f}%)"
