"""Lazy package attributes: a name is imported from its module on first use (PEP 562).

Packages whose public names pull in heavy or optional dependencies (numba, SUMO, Solara) list
them as ``{name: module}`` and set ``__getattr__, __dir__ = lazy_attributes(__name__, names)``.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable, Mapping
from typing import Any

__all__ = ["lazy_attributes"]


def lazy_attributes(
    package: str, names: Mapping[str, str]
) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """The module ``__getattr__`` and ``__dir__`` of ``package`` for the lazily imported ``names``.

    Args:
        package: The package's ``__name__``.
        names: Attribute name -> module that defines it.
    """

    def module_getattr(name: str) -> Any:
        if name in names:
            return getattr(importlib.import_module(names[name]), name)
        raise AttributeError(f"module {package!r} has no attribute {name!r}")

    def module_dir() -> list[str]:
        module = sys.modules[package]
        return sorted({*vars(module), *getattr(module, "__all__", ()), *names})

    return module_getattr, module_dir
