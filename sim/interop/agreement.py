"""Whether citysim agrees with SUMO: the metrics judged, their tolerances and the verdict.

Three metrics are judged, each by the rule ``|citysim - SUMO| <= max(relative x |SUMO|, floor)``
(a NaN on either side never agrees): completed vehicles, mean travel time and mean delay
(completed trips, see :mod:`sim.interop.validate`). The validation agrees only when all three do.

Default tolerances, and why:

- ``completed``: 2%, no floor. Both simulators get the same trips and routes; a larger gap
  means one of them lost or blocked vehicles.
- ``travel_time``: 15%, no floor. Two models of the same drivers (Krauss car following) on
  the same plans; junction geometry and lane changing differ.
- ``delay``: 25%, floor 5 s. Delay is travel time minus the route's free-flow time, which is
  the same in both simulators, so a gap in travel time shows whole in delay, a smaller number:
  relative gaps are larger (with delay at 40% of travel time, 15% of travel time is 37% of
  delay). 25% is tighter than that on purpose: delay is what signal studies report, so a delay
  gap that travel time hides must fail. The floor keeps an uncongested network, where mean
  delay is a few seconds, from failing on gaps of a few 1 s steps at stop lines; it governs
  only while SUMO's mean delay is below 5 s / 25% = 20 s.

Importing this module loads only the standard library, so that the command line can show and
parse tolerances without loading the simulator.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

__all__ = [
    "DEFAULT_TOLERANCES",
    "JUDGED",
    "JudgedMetric",
    "MetricVerdict",
    "Tolerance",
    "ToleranceError",
    "Verdict",
    "describe_tolerances",
    "parse_tolerance",
    "resolve_tolerances",
]


class ToleranceError(ValueError):
    """A tolerance that is not a valid number, or names a metric that is not judged."""


@dataclass(frozen=True)
class Tolerance:
    """How far citysim's value of a metric may be from SUMO's and still agree.

    Attributes:
        relative: Largest difference as a share of SUMO's value, from 0 to 1 (0.25 = 25%).
        floor: Difference that always agrees, in the metric's unit (default 0).

    Raises:
        ToleranceError: If ``relative`` is not within [0, 1] or ``floor`` is negative or not finite.
    """

    relative: float
    floor: float = 0.0

    def __post_init__(self) -> None:
        if not 0.0 <= self.relative <= 1.0:
            raise ToleranceError(
                f"a relative tolerance is a share of SUMO's value, from 0 to 1 (0.25 = 25%), "
                f"got {self.relative}"
            )
        if not (math.isfinite(self.floor) and self.floor >= 0.0):
            raise ToleranceError(f"a tolerance floor is a finite number >= 0, got {self.floor}")

    def allowed(self, reference: float) -> float:
        """The largest difference that agrees when SUMO's value is ``reference``."""
        return max(self.relative * abs(reference), self.floor)

    def describe(self, unit: str) -> str:
        """``15%``, or ``max(25%, 5 s)`` with a floor."""
        share = f"{self.relative * 100:g}%"
        return f"max({share}, {self.floor:g} {unit})" if self.floor else share


@dataclass(frozen=True)
class JudgedMetric:
    """One metric the validation judges.

    Attributes:
        name: Its name on the command line (``--tolerance NAME=...``) and in the verdicts.
        key: The :class:`~sim.interop.validate.SimulatorSummary` field it reads.
        unit: Its unit, as printed (``veh``, ``s``).
        decimals: Decimals its values are printed with.
        default: Its default tolerance.
    """

    name: str
    key: str
    unit: str
    decimals: int
    default: Tolerance

    def format(self, value: float, sign: bool = False) -> str:
        """``value`` with thousands separators and :attr:`decimals` (a leading sign if ``sign``)."""
        if math.isnan(value):
            return "n/a"
        return f"{value:+,.{self.decimals}f}" if sign else f"{value:,.{self.decimals}f}"


JUDGED = (
    JudgedMetric("completed", "completed", "veh", 0, Tolerance(0.02)),
    JudgedMetric("travel_time", "mean_travel_time_s", "s", 1, Tolerance(0.15)),
    JudgedMetric("delay", "mean_delay_s", "s", 1, Tolerance(0.25, floor=5.0)),
)
"""The judged metrics, in the order they are printed."""
DEFAULT_TOLERANCES: Mapping[str, Tolerance] = MappingProxyType({m.name: m.default for m in JUDGED})
"""Each judged metric's default tolerance, by name."""


def resolve_tolerances(overrides: Mapping[str, Tolerance] | None = None) -> Mapping[str, Tolerance]:
    """Every judged metric's tolerance: the defaults with ``overrides`` (by metric name) applied.

    Raises:
        ToleranceError: If an override names a metric that is not judged or is not a :class:`Tolerance`.
    """
    overrides = {} if overrides is None else overrides
    for name, tolerance in overrides.items():
        _check_judged(name)
        if not isinstance(tolerance, Tolerance):
            raise ToleranceError(f"the tolerance of {name!r} must be a Tolerance, got {tolerance!r}")
    return MappingProxyType({**DEFAULT_TOLERANCES, **overrides})


def parse_tolerance(text: str) -> tuple[str, Tolerance]:
    """Parse ``NAME=RELATIVE[,FLOOR]``, e.g. ``delay=0.3`` or ``delay=0.3,10``.

    Without ``FLOOR`` the metric's default floor stays (5 s for delay); ``delay=0.3,0``
    removes it.

    Returns:
        The metric name and its tolerance.

    Raises:
        ToleranceError: If the text is malformed, the metric is not judged or a number is out of range.
    """
    name, sep, value = text.partition("=")
    name = name.strip()
    if not sep or not name:
        raise ToleranceError(f"expected NAME=RELATIVE[,FLOOR], e.g. delay=0.3, got {text!r}")
    _check_judged(name)
    relative, sep, floor = value.partition(",")
    try:
        return name, Tolerance(float(relative), float(floor) if sep else DEFAULT_TOLERANCES[name].floor)
    except ValueError as error:
        detail = error if isinstance(error, ToleranceError) else "not a number"
        raise ToleranceError(f"{text!r}: {detail}") from None


def describe_tolerances(tolerances: Mapping[str, Tolerance] = DEFAULT_TOLERANCES) -> str:
    """``completed 2%, travel_time 15%, delay max(25%, 5 s)``: each judged metric and its tolerance."""
    return ", ".join(f"{m.name} {tolerances[m.name].describe(m.unit)}" for m in JUDGED)


@dataclass(frozen=True)
class MetricVerdict:
    """One judged metric: both values, their difference and whether it is within tolerance.

    Attributes:
        metric: The metric.
        citysim, sumo: Each simulator's value (NaN if undefined, e.g. no trip completed).
        tolerance: The tolerance it is judged by.
    """

    metric: JudgedMetric
    citysim: float
    sumo: float
    tolerance: Tolerance

    @property
    def difference(self) -> float:
        """The difference citysim - SUMO, in the metric's unit."""
        return float(self.citysim) - float(self.sumo)

    @property
    def relative_difference(self) -> float:
        """(citysim - SUMO) / |SUMO| (NaN if SUMO's value is 0 or NaN)."""
        return self.difference / abs(self.sumo) if self.sumo else math.nan

    @property
    def allowed(self) -> float:
        """The largest difference that agrees, in the metric's unit."""
        return self.tolerance.allowed(self.sumo)

    @property
    def agrees(self) -> bool:
        """Whether ``|difference| <= allowed`` (never when a value is NaN)."""
        return bool(abs(self.difference) <= self.allowed)

    def to_dict(self) -> dict[str, Any]:
        """JSON-able (NaN stays NaN): the metric's name, key, values, difference, tolerance, verdict."""
        return {
            "metric": self.metric.name,
            "key": self.metric.key,
            "citysim": self.citysim,
            "sumo": self.sumo,
            "difference": self.difference,
            "relative_difference": self.relative_difference,
            "tolerance_relative": self.tolerance.relative,
            "tolerance_floor": self.tolerance.floor,
            "allowed_difference": self.allowed,
            "agrees": self.agrees,
        }

    def line(self, width: int) -> str:
        """One text line: name, both values, difference (absolute and relative), tolerance, verdict."""
        m, relative = self.metric, self.relative_difference
        difference = m.format(self.difference, sign=True) + (
            "" if math.isnan(relative) else f" ({relative:+.1%})"
        )
        tolerance = f"{self.tolerance.describe(m.unit)} = {self.allowed:,.1f}"
        return (
            f"{m.name + f' ({m.unit})':<{width}}  {m.format(self.citysim):>9}  {m.format(self.sumo):>9}  "
            f"{difference:>18}  {tolerance:>20}  {'holds' if self.agrees else 'FAILS'}"
        )


@dataclass(frozen=True)
class Verdict:
    """The judged metrics of one validation.

    Attributes:
        metrics: One verdict per judged metric, in the order of :data:`JUDGED`.
    """

    metrics: tuple[MetricVerdict, ...]

    @property
    def agrees(self) -> bool:
        """Whether every judged metric is within its tolerance."""
        return all(m.agrees for m in self.metrics)

    @property
    def failing(self) -> tuple[str, ...]:
        """Names of the metrics outside their tolerance."""
        return tuple(m.metric.name for m in self.metrics if not m.agrees)

    def summary(self) -> str:
        """``agreement: ...`` when every metric holds, else ``no agreement: ...`` naming the failures."""
        if self.agrees:
            return f"agreement: {_names([m.metric.name for m in self.metrics])} within tolerance"
        return f"no agreement: {_names(list(self.failing))} outside tolerance"

    def lines(self) -> list[str]:
        """The verdict as text: a header, one line per metric, and :meth:`summary`."""
        width = max(len(f"{m.metric.name} ({m.metric.unit})") for m in self.metrics)
        header = (
            f"{'judged':<{width}}  {'citysim':>9}  {'SUMO':>9}  {'difference':>18}  "
            f"{'tolerance = allowed':>20}  verdict"
        )
        return [header, *(m.line(width) for m in self.metrics), self.summary()]

    def to_dict(self) -> dict[str, Any]:
        """JSON-able: ``agreement`` (bool), ``failing`` (names) and ``judged`` (by name)."""
        return {
            "agreement": self.agrees,
            "failing": list(self.failing),
            "judged": {m.metric.name: m.to_dict() for m in self.metrics},
        }


def _check_judged(name: str) -> None:
    if name not in DEFAULT_TOLERANCES:
        raise ToleranceError(f"unknown metric {name!r}; judged metrics: {', '.join(DEFAULT_TOLERANCES)}")


def _names(names: list[str]) -> str:
    return names[0] if len(names) == 1 else f"{', '.join(names[:-1])} and {names[-1]}"
