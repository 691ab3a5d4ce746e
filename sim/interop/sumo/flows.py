"""Departure times of SUMO flows (``<flow>``) by SUMO's own spacing rules, and SUMO time values.

SUMO counts time in whole milliseconds, and so does this module. The rules, as SUMO 1.28
applies them (its ``SUMOVehicleParserHelper::parseFlowAttributes``, checked against its
``--vehroute-output.intended-depart``):

* ``begin`` defaults to the run's begin; ``end`` to the run's end (SUMO's ``--end``) or else
  24 h after ``begin``, except that a flow with ``number`` and a rate has no end.
* ``period`` P, ``vehsPerHour``/``perHour`` R (P = 3600 / R): the offset P rounded to ms; the
  i-th vehicle departs at ``begin + i * offset``: ``number`` of them, or else every one before
  ``end`` (``ceil((end - begin) / offset)``).
* ``number`` N alone: the offset is ``(end - begin) // N`` ms, N vehicles from ``begin``.
* ``probability`` p: one draw per simulation second (whole seconds, from the first at or after
  ``begin``), a vehicle with probability p, before ``end`` and up to ``number``.
* ``period="exp(r)"``: a Poisson process of rate r per second: exponential gaps (each rounded
  to ms), the first one after ``begin``; before ``end`` and up to ``number``.

At most one rate may be given; with a rate, at most one of ``end`` and ``number``; without
one, ``number`` is required (SUMO refuses the others too). Random draws come from the
caller's seeded generator, so they are not SUMO's draws, but follow the same law.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping

import numpy as np

from sim.tables import MAX_TRIPS

__all__ = ["DAY_MS", "flow_departures_ms", "time_ms", "to_ms"]

DAY_MS = 86_400_000
"""A flow without an end (and no run end) lasts 24 h, as in SUMO."""
_STEP_MS = 1000
_RATES = ("period", "vehsPerHour", "perHour", "probability")
_POISSON = re.compile(r"^\s*exp\(\s*([^()]+)\s*\)\s*$")


def time_ms(text: str, name: str) -> int:
    """A SUMO time value in ms: seconds (``"12.5"``), ``"h:m:s"`` or ``"d:h:m:s"``.

    Raises:
        ValueError: Naming the attribute, if the value is not a finite time.
    """
    parts = text.strip().split(":")
    try:
        if len(parts) not in (1, 3, 4):
            raise ValueError
        seconds = sum(
            float(part) * scale for part, scale in zip(parts[::-1], (1, 60, 3600, 86400), strict=False)
        )
    except ValueError:
        seconds = math.nan
    if not math.isfinite(seconds):
        raise ValueError(f"{name}: expected a time in seconds or h:m:s, got {text!r}")
    return to_ms(seconds)


def flow_departures_ms(
    attrs: Mapping[str, str], rng: np.random.Generator, begin_ms: int, end_ms: int | None
) -> np.ndarray:
    """Departure times (ms, ascending) of one flow's vehicles, before ``end_ms`` if given.

    Args:
        attrs: The ``<flow>``'s attributes.
        rng: Draws of ``probability`` and ``exp(...)`` flows.
        begin_ms: The run's begin, the default ``begin``.
        end_ms: The run's end (SUMO's ``--end``), the default ``end``; no departure at or
            after it is made. ``None``: no run end.

    Raises:
        ValueError: With the problem, for attributes SUMO refuses.
    """
    rates = [name for name in _RATES if name in attrs]
    has_number, has_end = "number" in attrs, "end" in attrs
    if len(rates) > 1:
        raise ValueError(f"expected at most one of {', '.join(_RATES)}, got {', '.join(rates)}")
    if rates and has_end and has_number:
        raise ValueError(f"with {rates[0]}, expected at most one of 'end' and 'number', got both")
    if not rates and not has_number:
        raise ValueError(f"expected one of {', '.join(_RATES)} or 'number'")
    begin = time_ms(attrs["begin"], "begin") if "begin" in attrs else begin_ms
    if has_end:
        end = time_ms(attrs["end"], "end")
    elif has_number and rates:
        end = None
    else:
        end = end_ms if end_ms is not None else begin + DAY_MS
    if end is not None and end < begin:
        raise ValueError(f"end: expected a time at or after begin ({begin / 1000:g} s), got {attrs['end']!r}")
    number = _count(attrs["number"]) if has_number else None
    stop = min(x for x in (end, end_ms, math.inf) if x is not None)
    if number == 0:
        return np.zeros(0, dtype=np.int64)
    rate = rates[0] if rates else None
    poisson = _POISSON.match(attrs["period"]) if rate == "period" else None
    # one more than a run can hold is enough to refuse the flow, without drawing the rest
    cap = MAX_TRIPS + 1 if number is None else min(number, MAX_TRIPS + 1)
    if rate == "probability":
        times = _bernoulli(_positive(rate, attrs[rate], upper=1.0), rng, begin, stop, cap)
    elif poisson is not None:
        times = _poisson(_positive("period", poisson.group(1)), rng, begin, stop, cap)
    else:
        if rate is None:
            offset = (end - begin) // number
        elif rate == "period":
            offset = to_ms(_positive(rate, attrs[rate]))
        else:
            offset = to_ms(3600.0 / _positive(rate, attrs[rate]))
        if number is None and offset <= 0:
            raise ValueError(f"{rate}: expected a period of at least 1 ms")
        count = number if number is not None else math.ceil((end - begin) / offset)
        if offset > 0 and math.isfinite(stop):
            count = min(count, max(0, math.ceil((stop - begin) / offset)))
        times = begin + offset * np.arange(min(count, cap), dtype=np.int64)
        times = times[times < stop]
    if times.size > MAX_TRIPS:
        raise ValueError(f"more than {MAX_TRIPS:,} vehicles, more than a run can hold")
    return times


def _bernoulli(p: float, rng: np.random.Generator, begin: int, stop: float, number: int) -> np.ndarray:
    """Departures of a ``probability`` flow: whole seconds with a success, the gaps geometric."""
    first = -(-begin // _STEP_MS) * _STEP_MS
    return _renewal(lambda n: rng.geometric(p, n) * _STEP_MS, first - _STEP_MS, stop, number, p / _STEP_MS)


def _poisson(per_s: float, rng: np.random.Generator, begin: int, stop: float, number: int) -> np.ndarray:
    """Departures of an ``exp(rate)`` flow: exponential gaps, each rounded to ms as SUMO does."""
    return _renewal(lambda n: _ms_array(rng.exponential(1.0 / per_s, n)), begin, stop, number, per_s / 1000)


def _renewal(
    gaps: Callable[[int], np.ndarray], start: int, stop: float, number: int, per_ms: float
) -> np.ndarray:
    """Times ``start + gap1, start + gap1 + gap2, ...`` before ``stop``, at most ``number`` of them."""
    chunks = [np.zeros(0, dtype=np.int64)]
    clock, made = start, 0
    while clock < stop and made < number:
        expected = min(per_ms * (stop - clock), number - made)
        batch = max(16, min(int(expected + 5 * math.sqrt(expected)) + 16, 1_000_000))
        times = clock + np.cumsum(gaps(batch))
        kept = times[times < stop][: number - made]
        chunks.append(kept)
        made += kept.size
        clock = int(times[-1])
    return np.concatenate(chunks)


def _positive(name: str, text: str, upper: float = math.inf) -> float:
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not 0.0 < value <= upper:
        bound = f" and <= {upper:g}" if math.isfinite(upper) else ""
        raise ValueError(f"{name}: expected a number > 0{bound}, got {text!r}")
    return value


def _count(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = -1
    if value < 0:
        raise ValueError(f"number: expected a whole number >= 0, got {text!r}")
    return value


def to_ms(seconds: float) -> int:
    """SUMO's ``TIME2STEPS``: seconds to ms, rounded half up."""
    return math.floor(seconds * 1000.0 + 0.5)


def _ms_array(seconds: np.ndarray) -> np.ndarray:
    return np.floor(seconds * 1000.0 + 0.5).astype(np.int64)
