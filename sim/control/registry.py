"""The one registry of signal controllers that scenarios name in ``signals.controller``.

Built-in controllers are named by ``"module:Class"`` strings and imported on first use, so
naming a controller (e.g. validating a scenario) loads no controller module.
"""

from __future__ import annotations

import importlib

from sim.control.base import SignalController

__all__ = [
    "CONTROLLERS",
    "ControllerRegistryError",
    "controller_class",
    "controller_names",
    "register_controller",
]


class ControllerRegistryError(ValueError):
    """A controller cannot be registered under that name."""


CONTROLLERS: dict[str, str | type[SignalController]] = {
    "fixed_time": "sim.control.fixed_time:FixedTimeController",
    "actuated": "sim.control.actuated:ActuatedController",
    "max_pressure": "sim.control.max_pressure:MaxPressureController",
    "sotl": "sim.control.sotl:SotlController",
    "learned": "sim.control.learned:LearnedController",
}
"""Name -> controller class, or the ``"module:Class"`` path it is imported from on first use."""


def controller_names() -> tuple[str, ...]:
    """The names a scenario may use, in registration order."""
    return tuple(CONTROLLERS)


def controller_class(name: str) -> type[SignalController]:
    """The class registered as ``name``, imported if it is named by its path.

    Raises:
        KeyError: If no controller is registered under ``name``.
    """
    entry = CONTROLLERS[name]
    if isinstance(entry, str):
        module, _, cls = entry.partition(":")
        entry = CONTROLLERS[name] = getattr(importlib.import_module(module), cls)
    return entry


def register_controller(
    name: str, controller: type[SignalController], *, replace: bool = False
) -> type[SignalController]:
    """Make a controller class available to scenarios as ``signals.controller = name``.

    Scenarios validated after the call accept the name (and a ``[signals.<name>]`` table of
    the class's ``settings_class``), in this process and in sweep workers forked from it (a
    worker started afresh, e.g. by Dask, must import the module that registers it).

    Args:
        name: The name scenarios use; a Python identifier.
        controller: A :class:`~sim.control.base.SignalController` subclass; it is built as
            ``controller(intersection, settings)``.
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
    if name in CONTROLLERS and not replace:
        taken = controller_class(name)
        if taken is not controller:
            raise ControllerRegistryError(
                f"controller name {name!r} is taken by {taken.__name__}; pass replace=True to replace it"
            )
    CONTROLLERS[name] = controller
    return controller
