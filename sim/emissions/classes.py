"""The emission classes: their names, the vehicle types' defaults and the class table the kernel takes.

The numbers are data files under ``sim/data/emissions/`` (each says where its numbers come
from): ``classes.csv`` (each class's model and the vehicle its coasting test assumes),
``hbefa4.csv`` (SUMO 1.28's HBEFA 4.2-based polynomials) and ``energy.csv`` (SUMO's electric
Energy model's parameters). :data:`EMISSION_CLASSES` names the classes a scenario may give
(``emission_class`` of ``[vehicles]`` and ``[vehicle_types.<name>]``); the first is every
vehicle's default, SUMO 1.28's own default class. Nothing is read until :func:`class_table`
is first called.
"""

from __future__ import annotations

import csv
import functools
from collections.abc import Mapping
from pathlib import Path
from typing import NamedTuple

import numpy as np

from sim.traffic.emission_codes import CLASS_COLUMNS, MODEL_CODES, OUTPUTS, coasting_terms

__all__ = [
    "DATA_DIR",
    "DEFAULT_EMISSION_CLASS",
    "EMISSION_CLASSES",
    "VCLASS_EMISSION_CLASSES",
    "ClassTable",
    "class_index",
    "class_table",
]

DATA_DIR = Path(__file__).resolve().parent.parent / "data" / "emissions"
"""The folder of the class tables."""
EMISSION_CLASSES: tuple[str, ...] = (
    "HBEFA4/PC_petrol_Euro-4",
    "HBEFA4/PC_petrol_Euro-6d",
    "HBEFA4/PC_diesel_Euro-4",
    "HBEFA4/PC_diesel_Euro-6d",
    "HBEFA4/PC_BEV",
    "HBEFA4/LCV_diesel_N1-III_Euro-6d",
    "HBEFA4/RT_gt12-14t_Euro-VI_A-C",
    "HBEFA4/TT_AT_gt34-40t_Euro-VI_A-C",
    "HBEFA4/UBus_Std_gt15-18t_Euro-VI_A-C",
    "HBEFA4/UBus_Electric_Std_gt15-18t",
    "Energy/default",
)
"""The emission classes, by SUMO's names (``emissionClass``), in the order of ``classes.csv``."""
DEFAULT_EMISSION_CLASS = EMISSION_CLASSES[0]
"""Every vehicle's class unless its type gives another: a petrol Euro-4 car, SUMO 1.28's default."""
VCLASS_EMISSION_CLASSES: Mapping[str, str] = {
    "evehicle": "Energy/default",
    "delivery": "HBEFA4/LCV_diesel_N1-III_Euro-6d",
    "truck": "HBEFA4/RT_gt12-14t_Euro-VI_A-C",
    "trailer": "HBEFA4/TT_AT_gt34-40t_Euro-VI_A-C",
    "bus": "HBEFA4/UBus_Std_gt15-18t_Euro-VI_A-C",
    "coach": "HBEFA4/UBus_Std_gt15-18t_Euro-VI_A-C",
}
"""The class of a ``[vehicle_types.<name>]`` of these vehicle classes that names none (the other
vehicle classes take ``[vehicles].emission_class``)."""
_POLLUTANTS = ("CO2", "CO", "HC", "fuel", "NOx", "PMx", "electricity")  # hbefa4.csv's names, OUTPUTS order
_TERMS = ("c0", "c_v", "c_a", "c_v2", "c_v3", "c_av", "c_av2")
_AIR_DENSITY = 1.2041  # kg/m^3 at 20 C, SUMO's Energy model


class ClassTable(NamedTuple):
    """The class table as the kernel takes it, one row per class of :data:`EMISSION_CLASSES`.

    Attributes:
        names: The classes' names.
        coef: ``(n, 7, 7)`` per class and output (:data:`~sim.traffic.emission_codes.OUTPUTS`
            order), the HBEFA polynomial's coefficients (mg/s, Wh/s; zero for Energy classes).
        cls: ``(n, 10)`` per class, :data:`~sim.traffic.emission_codes.CLASS_COLUMNS`.
        fuel: Each class's fuel: ``petrol``, ``diesel`` or ``electricity``.
    """

    names: tuple[str, ...]
    coef: np.ndarray
    cls: np.ndarray
    fuel: tuple[str, ...]


def class_index(name: str) -> int:
    """The row of class ``name`` in the class table.

    Raises:
        ValueError: If ``name`` is not one of :data:`EMISSION_CLASSES`.
    """
    try:
        return EMISSION_CLASSES.index(name)
    except ValueError:
        raise ValueError(f"unknown emission class {name!r}; one of {', '.join(EMISSION_CLASSES)}") from None


def _rows(name: str) -> list[dict[str, str]]:
    path = DATA_DIR / name
    with path.open(encoding="utf-8", newline="") as stream:
        return list(csv.DictReader(line for line in stream if not line.startswith("#")))


@functools.cache
def class_table() -> ClassTable:
    """The class table of :data:`EMISSION_CLASSES`, read once from ``sim/data/emissions/``.

    Raises:
        RuntimeError: If a data file lacks a class or a number (a broken installation).
    """
    meta = {row["name"]: row for row in _rows("classes.csv")}
    energy = {row["name"]: row for row in _rows("energy.csv")}
    if tuple(meta) != EMISSION_CLASSES:
        raise RuntimeError(f"{DATA_DIR / 'classes.csv'} lists {tuple(meta)}, expected {EMISSION_CLASSES}")
    n = len(EMISSION_CLASSES)
    coef = np.zeros((n, len(OUTPUTS), len(_TERMS)))
    for row in _rows("hbefa4.csv"):
        coef[class_index(row["class"]), _POLLUTANTS.index(row["pollutant"])] = [float(row[t]) for t in _TERMS]
    cls = np.zeros((n, len(CLASS_COLUMNS)))
    for c, name in enumerate(EMISSION_CLASSES):
        row = meta[name]
        model = (
            "energy"
            if row["model"] == "energy"
            else f"hbefa4_{'electric' if row['fuel'] == 'electricity' else 'fuel'}"
        )
        incl, base = coasting_terms(float(row["mass_kg"]), float(row["width_m"]), float(row["height_m"]))
        values = {"model": MODEL_CODES[model], "coast_incl": incl, "coast_base": base}
        if model == "energy":
            if name not in energy:
                raise RuntimeError(f"{DATA_DIR / 'energy.csv'} lacks class {name!r}")
            e = {key: float(value) for key, value in energy[name].items() if key != "name"}
            values |= {
                "energy_mass_kg": e["mass_kg"],
                "rotating_mass_kg": e["rotating_mass_kg"],
                "drag_kg_per_m": _AIR_DENSITY / 2.0 * e["front_area_m2"] * e["air_drag"],
                "roll_drag": e["roll_drag"],
                "aux_power_w": e["aux_power_w"],
                "propulsion_eff": e["propulsion_eff"],
                "recuperation_eff": e["recuperation_eff"],
            }
        elif not coef[c].any():
            raise RuntimeError(f"{DATA_DIR / 'hbefa4.csv'} lacks class {name!r}")
        cls[c] = [values.get(column, 0.0) for column in CLASS_COLUMNS]
    fuel = tuple(meta[name]["fuel"] for name in EMISSION_CLASSES)
    return ClassTable(EMISSION_CLASSES, coef, cls, fuel)
