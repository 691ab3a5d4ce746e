"""What each metric of a run is: its key, label with unit, number format, direction and physical bounds.

The run summary (:func:`sim.metrics.summary.summarize`), ``citysim run``'s table, ``compare``,
sweeps and the figures read labels and formats from here, so a metric is declared once.
:data:`CORE_METRICS` are computed from every run's records; an optional scenario section
(emergency, parking, shuttles) declares its own as a tuple of :class:`Metric` keyed by its
summary's keys, and the model stores those declarations in the run's info
(:func:`section_declarations`), so that results folders and sweep records carry their own labels.
:data:`SERIES_METRICS` describe the columns of a run's reporting-interval series; :func:`metric_for`
finds any of them by key, so a figure's axis title is a label, never a raw column name.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

__all__ = [
    "CORE_METRICS",
    "SECTION_METRICS_INFO",
    "SERIES_METRICS",
    "UNFINISHED_MARGIN",
    "Metric",
    "catalog_of",
    "completion_text",
    "metric_for",
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
        low: The smallest value the quantity can take (``None``: no bound); counts, times and
            delays cannot be negative.
        high: The largest value it can take (``None``: no bound); a share is at most 1.
    """

    key: str
    label: str
    fmt: str = "{:,.1f}"
    better: str = "lower"
    low: float | None = 0.0
    high: float | None = None

    def __post_init__(self) -> None:
        if self.better not in _DIRECTIONS:
            raise ValueError(f"Metric {self.key!r}: better must be one of {_DIRECTIONS}, got {self.better!r}")

    @property
    def percent(self) -> bool:
        """Whether values are shown as percentages (a share, stored as a fraction)."""
        return "%" in self.fmt

    def format(self, value: Any) -> str:
        """The value in this metric's format; ``n/a`` for NaN or a missing value."""
        if value is None or (isinstance(value, float) and math.isnan(value)):
            return "n/a"
        return self.fmt.format(value) if isinstance(value, int | float) else str(value)

    def clip(self, values: Any) -> Any:
        """``values`` (a number or an array) held within the metric's physical bounds.

        A confidence interval is symmetric around the mean; its part outside what the quantity
        can take (fewer than zero vehicles, a share above 1) is cut off before it is drawn.
        """
        low = -math.inf if self.low is None else self.low
        high = math.inf if self.high is None else self.high
        return np.clip(values, low, high)

    def format_estimate(self, mean: float, half_width: float) -> str:
        """``mean ± half-width``, both to the precision that two significant digits of the half-width need.

        ``1,499 ± 100``, ``1.23 ± 0.30``, ``12.5% ± 1.3%``; without a half-width (NaN: one run)
        or with a zero one (identical runs) the mean is shown in the metric's own format.
        """
        if not math.isfinite(mean):
            return "n/a"
        if not math.isfinite(half_width) or half_width <= 0:
            shown = self.format(mean)
            return shown if not math.isfinite(half_width) else f"{shown} ± 0"
        scale = 100.0 if self.percent else 1.0
        decimals = min(max(1 - math.floor(math.log10(half_width * scale)), 0), _MAX_DECIMALS)
        unit = "%" if self.percent else ""
        return f"{mean * scale:,.{decimals}f}{unit} ± {half_width * scale:,.{decimals}f}{unit}"

    def format_difference(self, difference: float, low: float, high: float) -> str:
        """``+1.2 [-0.4, +2.8]``: a difference and its confidence interval, precision from the interval.

        A share's difference is in percentage points (``+1.2 pt``).
        """
        if not math.isfinite(difference):
            return "n/a"
        scale, unit = (100.0, " pt") if self.percent else (1.0, "")
        half = (high - low) / 2 * scale if math.isfinite(high - low) else 0.0
        if half <= 0:  # identical runs: the difference is exact
            return f"{difference * scale:+.{_MAX_DECIMALS}g}{unit}" if difference else f"0{unit}"
        decimals = min(max(1 - math.floor(math.log10(half)), 0), _MAX_DECIMALS)
        values = [f"{value * scale:+,.{decimals}f}" for value in (difference, low, high)]
        return f"{values[0]}{unit} [{values[1]}, {values[2]}]"

    def change_bounds_pct(self, change_pct: float, half_width_pct: float) -> tuple[float, float]:
        """The confidence interval of a relative change (%), never below -100% for a non-negative metric.

        A quantity that cannot be negative cannot fall by more than all of it, so the symmetric
        interval's part below -100% is cut off.
        """
        low, high = change_pct - half_width_pct, change_pct + half_width_pct
        if self.low is not None and self.low >= 0:
            low = max(low, -100.0)
        return low, high


CORE_METRICS: tuple[Metric, ...] = (
    Metric("trips", "trips in the demand", "{:,.0f}", "none"),
    Metric("completed", "completed trips", "{:,.0f}", "higher"),
    Metric("completion_rate", "completion rate", "{:.2%}", "higher", high=1.0),
    Metric("unfinished", "unfinished trips", "{:,.0f}"),
    Metric("unfinished_share", "unfinished share", "{:.2%}", high=1.0),
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
    # completed trips over the simulated time, which ends when the last trip arrives: a run that
    # empties the network sooner scores higher for the same trips, so it has no better direction
    Metric("throughput_vph", "completed trips per hour of simulated time (veh/h)", "{:,.0f}", "none"),
    Metric("max_entry_backlog", "max entry backlog (veh)", "{:,.0f}"),
    Metric("mean_queued_vehicles", "halted vehicles, run mean (veh)"),
    Metric("vehicle_steps", "vehicle-steps", "{:,.0f}", "none"),
)
"""The metrics of every run, in display order."""

SERIES_METRICS: tuple[Metric, ...] = (
    Metric("time_s", "time (s)", "{:,.0f}", "none"),
    Metric("vehicles_on_network", "vehicles on the network (veh)", "{:,.0f}", "none"),
    Metric("entry_backlog", "vehicles waiting to enter (veh)", "{:,.0f}"),
    Metric("departed", "departures per interval (veh)", "{:,.0f}", "none"),
    Metric("arrived", "arrivals per interval (veh)", "{:,.0f}", "none"),
    Metric("mean_speed_mps", "space-mean speed (m/s)", "{:.2f}", "higher"),
    Metric("queued_vehicles", "halted vehicles, interval mean (veh)"),
    Metric("vehicle_steps", "vehicle-steps per interval", "{:,.0f}", "none"),
    Metric("max_green_wait_s", "longest wait for green in the interval (s)"),
)
"""The columns of a run's reporting-interval series (``RunResults.series``)."""

_MAX_DECIMALS = 4


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
        bounds = {name: entry[name] for name in ("low", "high") if name in entry}
        catalog[entry["key"]] = Metric(entry["key"], entry["label"], entry["fmt"], entry["better"], **bounds)
    return catalog


def metric_for(key: str, catalog: Mapping[str, Metric] | None = None) -> Metric:
    """The metric named ``key``: from ``catalog`` (default: the core metrics), else the series columns.

    A key found in neither (a column the registry does not know) gets its own name as label, four
    significant digits and no bounds, so it is still drawn and printed.
    """
    known = {metric.key: metric for metric in SERIES_METRICS} | dict(catalog or catalog_of())
    return known.get(key) or Metric(key, key, "{:.4g}", "none", low=None)


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
