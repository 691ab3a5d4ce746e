"""The error raised for a file that cannot be imported or exported, and optional-extra imports."""

from __future__ import annotations

import importlib
import os
from types import ModuleType

__all__ = ["InteropError", "require_extra"]


class InteropError(ValueError):
    """A foreign file (OSM, SUMO) or tool run that cannot be turned into, or made from, a citysim network.

    Attributes:
        source: The file or tool the problem is about, or ``None``.
    """

    def __init__(self, message: str, source: str | os.PathLike[str] | None = None) -> None:
        self.source = None if source is None else os.fspath(source)
        super().__init__(message if self.source is None else f"{self.source}: {message}")


def require_extra(module: str, extra: str, purpose: str) -> ModuleType:
    """Import an optional dependency, or explain which extra installs it.

    Args:
        module: The module to import, e.g. ``"osmium"``.
        extra: The citysim extra that provides it, e.g. ``"osm"``.
        purpose: What needs it, for the message, e.g. ``"reading OpenStreetMap files"``.

    Returns:
        The imported module.

    Raises:
        InteropError: If the module is not installed.
    """
    try:
        return importlib.import_module(module)
    except ImportError:
        raise InteropError(
            f"{purpose} needs the Python package {module!r}: pip install 'citysim[{extra}]'"
        ) from None
