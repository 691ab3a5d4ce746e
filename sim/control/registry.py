"""The one registry of signal controllers that scenarios name in ``signals.controller``."""

from __future__ import annotations

from dataclasses import dataclass

from sim.control.actuated import ActuatedController
from sim.control.base import SignalController
from sim.control.fixed_time import FixedTimeController
from sim.control.learned import LearnedController
from sim.control.max_pressure import MaxPressureController
from sim.control.sotl import SotlController

__all__ = ["CONTROLLERS", "SignalPlan", "controller_names"]


@dataclass(frozen=True)
class SignalPlan:
    """The timing a scenario gives one intersection (fixed or Webster greens, offset).

    Attributes:
        greens_s: Green per phase, in phase order (s).
        intergreen_s: Yellow plus all-red (s).
        offset_s: Start of the first phase's green in the common cycle (s).
    """

    greens_s: tuple[float, ...]
    intergreen_s: float
    offset_s: float


CONTROLLERS: dict[str, type[SignalController]] = {
    "fixed_time": FixedTimeController,
    "actuated": ActuatedController,
    "max_pressure": MaxPressureController,
    "sotl": SotlController,
    "learned": LearnedController,
}
"""Name -> controller class; each builds itself: ``from_plan(model, signal, node, phases, plan, spec)``."""


def controller_names() -> tuple[str, ...]:
    """The names a scenario may use, in registration order."""
    return tuple(CONTROLLERS)
