"""One vehicle through a speed profile: its emissions per step, computed by the kernel's own stage."""

from __future__ import annotations

import numpy as np
import pandas as pd

from sim.emissions.classes import class_index, class_table
from sim.traffic.emission_codes import RECORD_COLUMNS, RECORD_SCALE
from sim.traffic.emissions import class_rates

__all__ = ["drive_cycle"]


def drive_cycle(
    emission_class: str,
    speed_mps: np.ndarray,
    accel_mps2: np.ndarray | None = None,
    slope_deg: np.ndarray | None = None,
    dt_s: float = 1.0,
) -> pd.DataFrame:
    """Each step's emissions over a driving cycle, as a run computes them (as SUMO's emissionsDrivingCycle).

    Args:
        emission_class: One of :data:`~sim.emissions.classes.EMISSION_CLASSES`.
        speed_mps: Speed at the end of each step (m/s).
        accel_mps2: Acceleration over each step (m/s^2); default ``(v[t] - v[t-1]) / dt``, 0 first.
        slope_deg: Road slope of each step (deg); default level.
        dt_s: Step length (s).

    Returns:
        One row per step: ``speed_mps``, ``accel_mps2`` and the amounts of the step in
        ``RECORD_COLUMNS`` (g; electricity Wh).

    Raises:
        ValueError: If the class is unknown.
    """
    speed = np.asarray(speed_mps, dtype=float)
    accel = np.diff(speed, prepend=speed[:1]) / dt_s if accel_mps2 is None else np.asarray(accel_mps2, float)
    table = class_table()
    amounts = class_rates(table.coef, table.cls, class_index(emission_class), speed, accel, slope_deg, dt_s)
    columns = dict(zip(RECORD_COLUMNS, (amounts * RECORD_SCALE).T, strict=True))
    return pd.DataFrame({"speed_mps": speed, "accel_mps2": accel, **columns})
