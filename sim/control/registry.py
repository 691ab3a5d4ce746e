"""The one registry of signal controllers that scenarios name in ``signals.controller``.

Built-in controllers are named by ``"module:Class"`` strings and imported on first use, so
naming a controller (e.g. validating a scenario) loads no built-in controller module.

A scenario may also name any :class:`~sim.control.base.SignalController` subclass by its
path, ``signals.controller = "package.module:Class"`` (and so may ``--set`` and
``citysim compare --controllers``): :func:`controller_class` imports it and registers it under
that path, so no ``register_controller`` call is needed.
"""

from __future__ import annotations

import importlib

from sim.control.base import SignalController

__all__ = [
    "CONTROLLERS",
    "ControllerRegistryError",
    "controller_class",
    "controller_names",
    "is_controller_path",
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


def is_controller_path(name: object) -> bool:
    """Whether ``name`` names a controller class by its path, ``"package.module:Class"``."""
    return isinstance(name, str) and ":" in name


def controller_class(name: str) -> type[SignalController]:
    """The class registered as ``name``, imported if it is named by its path.

    A ``"package.module:Class"`` name that is not registered yet is imported, checked and
    registered under that name.

    Raises:
        KeyError: If ``name`` is not a path and no controller is registered under it.
        ControllerRegistryError: If ``name`` is a path whose module does not import, lacks the
            class, or holds something other than a SignalController subclass there.
    """
    if name not in CONTROLLERS and is_controller_path(name):
        CONTROLLERS[name] = _import_controller(name)
    entry = CONTROLLERS[name]
    if isinstance(entry, str):
        module, _, cls = entry.partition(":")
        entry = CONTROLLERS[name] = getattr(importlib.import_module(module), cls)
    return entry


def _import_controller(path: str) -> type[SignalController]:
    """The SignalController subclass at ``"package.module:Class"``, with errors that name the path."""
    module_name, _, class_name = path.partition(":")
    if not module_name or not class_name.isidentifier():
        raise ControllerRegistryError(
            f"controller {path!r}: expected 'package.module:Class', a module path and a class name"
        )
    try:
        module = importlib.import_module(module_name)
    except (ImportError, SyntaxError) as error:
        raise ControllerRegistryError(
            f"controller {path!r}: module {module_name!r} does not import "
            f"({type(error).__name__}: {error}); is its folder on sys.path (PYTHONPATH)?"
        ) from None
    if not hasattr(module, class_name):
        raise ControllerRegistryError(
            f"controller {path!r}: module {module_name!r} ({module.__file__}) has no attribute {class_name!r}"
        )
    controller = getattr(module, class_name)
    if not (isinstance(controller, type) and issubclass(controller, SignalController)):
        raise ControllerRegistryError(
            f"controller {path!r}: expected a subclass of sim.control.base.SignalController, "
            f"got {controller!r}"
        )
    return controller


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
