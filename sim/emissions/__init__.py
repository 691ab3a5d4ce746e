"""Emissions and energy: the emission classes and the ``[emissions]`` scenario table.

:mod:`sim.emissions.classes` holds the classes and their data, the kernel stage
(:mod:`sim.traffic.emissions`) computes them per vehicle-step, and
:mod:`sim.emissions.feature` reports them (``[emissions] enabled = true``). See docs/emissions.md.
:func:`drive_cycle` runs the compiled stage, so it is imported on first use (PEP 562): the
scenario layer reads the class names without loading numba.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from sim.emissions.classes import (
    DEFAULT_EMISSION_CLASS,
    EMISSION_CLASSES,
    VCLASS_EMISSION_CLASSES,
    ClassTable,
    class_index,
    class_table,
)
from sim.lazy import lazy_attributes

if TYPE_CHECKING:
    from sim.emissions.cycle import drive_cycle

__all__ = [
    "DEFAULT_EMISSION_CLASS",
    "EMISSION_CLASSES",
    "VCLASS_EMISSION_CLASSES",
    "ClassTable",
    "class_index",
    "class_table",
    "drive_cycle",
]

__getattr__, __dir__ = lazy_attributes(__name__, {"drive_cycle": "sim.emissions.cycle"})
