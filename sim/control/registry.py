"""The one registry of signal controllers that scenarios name in ``signals.controller``."""

from __future__ import annotations

from dataclasses import dataclass

from sim.control.actuated import ActuatedController
from sim.control.base import SignalController
from sim.control.fixed_time import FixedTimeController
from sim.control.learned import LearnedController
from sim.control.max_pressure import MaxPressureController
from sim.control.sotl import SotlController

__all__ = ["CONTROLLERS", "ControllerRegistryError", "SignalPlan", "controller_names", "register_controller"]


class ControllerRegistryError(ValueError):
    """A controller cannot be registered under that name."""


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


def register_controller(
    name: str, controller: type[SignalController], *, replace: bool = False
) -> type[SignalController]:
    """Make a controller class available to scenarios as ``signals.controller = name``.

    Scenarios validated after the call accept the name, in this process and in sweep workers
    forked from it (a worker started afresh, e.g. by Dask, must import the module that
    registers it).

    Args:
        name: The name scenarios use; a Python identifier.
        controller: A :class:`~sim.control.base.SignalController` subclass; it builds itself
            with ``from_plan(model, signal, node, phases, plan, spec)``.
        replace: Allow replacing a controller already registered under ``name``.

    Returns:
        ``controller``, so the call can decorate the class.

    Raises:
        ControllerRegistryError: If the name is not an identifier, the class is not a
            SignalController, or the name is taken and ``replace`` is false.
    """
    if not isinstance(name, str) or not name.isidentifier():
        raise ControllerRegistryError(f"controller name {name!r}: expected a Python identifier")
    if not (isinstance(controller, type) and issubclass(controller, SignalController)):
        raise ControllerRegistryError(
            f"controller {name!r}: expected a subclass of sim.control.base.SignalController, "
            f"got {controller!r}"
        )
    taken = CONTROLLERS.get(name)
    if taken is not None and taken is not controller and not replace:
        raise ControllerRegistryError(
            f"controller name {name!r} is taken by {taken.__name__}; pass replace=True to replace it"
        )
    CONTROLLERS[name] = controller
    return controller
