"""The ``[safety]`` table of a scenario: the safety envelope around every signal controller."""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial
from typing import Any

from sim.schema import DURATION, MAX_TIME_S, TIME, Context, choice, flag, number, spec_field, tables, text

__all__ = ["ON_ERROR", "DetectorFailure", "Spec"]

ON_ERROR = ("fallback", "raise")
"""What an erring controller gets: the fixed-time plan at its intersection, or the run stops."""


@dataclass(frozen=True)
class DetectorFailure:
    """A window in which one intersection's detectors fail (its controller sees nothing).

    Attributes:
        node: Node id of a signalized intersection (checked against the network when the model is built).
        from_s: Start of the failure (s).
        to_s: End of the failure (s), after ``from_s``; default: the end of any run.
    """

    node: str
    from_s: float = 0.0
    to_s: float = MAX_TIME_S


def _failures(ctx: Context, key: str, value: Any) -> tuple[DetectorFailure, ...]:
    fields = {
        "node": (True, partial(text, nonempty=True)),
        "from_s": (False, TIME),
        "to_s": (False, DURATION),
    }
    items = tables(ctx, key, value, fields, what="detector failure tables ({node, from_s, to_s})")
    failures = tuple(DetectorFailure(**{k: v for k, v in item.items() if v is not None}) for item in items)
    for index, failure in enumerate(failures):
        if failure.to_s <= failure.from_s:
            raise ctx.fail(f"{key}[{index}].to_s", f"a time after from_s ({failure.from_s:g})", failure.to_s)
    return failures


@dataclass(frozen=True)
class Spec:
    """The safety envelope around every signal controller: maximum red, fixed-time fallback, decision log.

    Present in every scenario with these defaults when the file has no ``[safety]`` table; the
    default bound lies above any red of a sensible fixed-time plan, so the scenario's plan is
    never overridden. A ``max_red_s`` should exceed the longest minimum green plus two
    intergreens of the plans: the envelope acts that long before the bound.

    Attributes:
        enabled: Run the envelope; ``false`` asks every controller directly, as before it existed.
        max_red_s: Longest a vehicle halted at a red may wait for green (s), in [10, 3 days]: the
            envelope forces a phase that serves it in time.
        on_error: ``"fallback"`` (a controller that raises or returns an invalid decision is
            replaced by the fixed-time plan at its intersection) or ``"raise"`` (the run stops
            with an error naming the node, the time and the problem; for debugging a controller).
        fallback_s: How long the fixed-time plan runs after a controller error before the
            controller is restarted (s); default: longer than any run.
        log: Keep the decision log (``decisions.csv``): one row per decision or override.
        detector_failures: Windows in which one intersection's detectors fail: the fixed-time
            plan runs there meanwhile.
    """

    enabled: bool = spec_field(True, flag)
    max_red_s: float = spec_field(120.0, partial(number, ge=10.0, le=MAX_TIME_S))
    on_error: str = spec_field(ON_ERROR[0], partial(choice, choices=ON_ERROR))
    fallback_s: float = spec_field(MAX_TIME_S, DURATION)
    log: bool = spec_field(False, flag)
    detector_failures: tuple[DetectorFailure, ...] = spec_field((), _failures)
