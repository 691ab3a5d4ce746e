"""The emission model's column layouts, model codes and coasting fit, shared without numba.

The kernel's emission stage (:mod:`sim.traffic.emissions`), the class table
(:mod:`sim.emissions.classes`, which the scenario layer reads for the class names) and the
recorders use these; importing this module loads numpy only, so validating a scenario never
loads the compiled kernel.
"""

from __future__ import annotations

import math

import numpy as np

__all__ = [
    "CLASS_COLUMNS",
    "COAST_MIN_MPS",
    "COAST_RAMP_MPS",
    "E_ELEC",
    "G_COAST_MPS2",
    "MODEL_CODES",
    "OUTPUTS",
    "RECORD_COLUMNS",
    "RECORD_SCALE",
    "coasting_terms",
]

OUTPUTS = ("co2_mg", "co_mg", "hc_mg", "fuel_mg", "nox_mg", "pmx_mg", "electricity_wh")
"""The outputs in their column order (SUMO's): mass (mg) and battery energy (Wh)."""
E_ELEC = OUTPUTS.index("electricity_wh")
"""The column of battery energy, the one output that may be negative (recuperation)."""
RECORD_COLUMNS = ("co2_g", "co_g", "hc_g", "fuel_g", "nox_g", "pm10_g", "electricity_wh")
"""The outputs as trips, links and summaries record them: masses in g, battery energy in Wh."""
RECORD_SCALE = np.array([1e-3] * 6 + [1.0])
"""Multiply :data:`OUTPUTS` by this to get :data:`RECORD_COLUMNS`."""
MODEL_CODES = {"hbefa4_fuel": 0, "hbefa4_electric": 1, "energy": 2}
"""The models by code: HBEFA 4.2 for a fuel-burning or an electric class, SUMO's Energy model."""
CLASS_COLUMNS = (
    "model",
    "coast_incl",
    "coast_base",
    "energy_mass_kg",
    "rotating_mass_kg",
    "drag_kg_per_m",
    "roll_drag",
    "aux_power_w",
    "propulsion_eff",
    "recuperation_eff",
)
"""The columns of ``Emissions.cls``, one row per class: its model (a :data:`MODEL_CODES` code),
the coasting threshold's slope over speed and its value at 0 on level road (:func:`coasting_terms`),
and the Energy model's mass, rotating mass, air drag ``rho / 2 * A * cd``, rolling resistance
coefficient, auxiliary power and efficiencies."""

COAST_MIN_MPS = 0.5
"""At or below this speed (m/s) an engine never coasts (SUMO 1.28, measured with emissionsDrivingCycle)."""
COAST_RAMP_MPS = 10.0 / 3.6
"""Below this speed (m/s) the coasting threshold shrinks linearly to 0 (SUMO's SPEED_DCEL_MIN)."""
G_COAST_MPS2 = 9.81
"""The gravity (m/s^2) of SUMO's coasting threshold on a slope (its Energy model uses 9.80665)."""
# SUMO 1.28's coasting threshold (PollutantsInterface::Helper::getCoastingDecel, a linear fit
# by SUMO's authors over vehicle mass and frontal area; reproduced to 1e-4 m/s^2 with
# emissionsDrivingCycle, docs/emissions.md).
_AREA_PER_MASS = -9.05337017
_INCL0 = -0.00017774
_PER_KG = 0.00001066
_DECEL0 = -0.38347107
_V_REF = 20.0


def coasting_terms(mass_kg: float, width_m: float, height_m: float) -> tuple[float, float]:
    """A vehicle's coasting threshold: its slope over speed (1/s) and its value at 0, level road (m/s^2).

    SUMO 1.28's fit for the vehicle's mass and frontal area ``width * height * pi / 4``.
    """
    incl = width_m * height_m * math.pi / 4.0 / mass_kg * _AREA_PER_MASS + _INCL0
    return incl, _PER_KG * mass_kg + _DECEL0 - _V_REF * incl
