"""Each vehicle's own type in the traffic state: the kernel's per-vehicle car-following rows (numpy only).

A vehicle's length, standstill gap, acceleration, deceleration, reaction time,
imperfection, speed cap and desired-speed factor are rows of ``Vehicles.vf``, read by the
car-following stage (:mod:`sim.traffic.speeds`) in place of scenario-wide values. They are
written once per vehicle, when it is added (never per step), through
:meth:`VehicleTypes.set_vehicle_type`, a writer of :class:`~sim.traffic.state.TrafficState`.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np

from sim.traffic.layout import (
    VF_ACCEL,
    VF_DECEL,
    VF_LEN,
    VF_MAX_SPEED,
    VF_MIN_GAP,
    VF_SIGMA,
    VF_SPEED_FACTOR,
    VF_TAU,
)

__all__ = ["VehicleType", "VehicleTypes"]


class VehicleType(NamedTuple):
    """A vehicle type as the kernel takes it: each value one for all vehicles, or an array of one per vehicle.

    Attributes:
        length_m: Length (m).
        min_gap_m: Standstill gap to the leader (m).
        accel_mps2: Maximum acceleration (m/s^2).
        decel_mps2: Comfortable deceleration (m/s^2); a follower expects its leader to brake at it.
        tau_s: Reaction time (s).
        sigma: Driver imperfection in [0, 1].
        max_speed_mps: The vehicle's own speed cap (m/s), default none.
        speed_factor: Its desired speed as a share of the speed limit, default 1.
    """

    length_m: float | np.ndarray
    min_gap_m: float | np.ndarray
    accel_mps2: float | np.ndarray
    decel_mps2: float | np.ndarray
    tau_s: float | np.ndarray
    sigma: float | np.ndarray
    max_speed_mps: float | np.ndarray = math.inf
    speed_factor: float | np.ndarray = 1.0

    @classmethod
    def of(cls, values: object, **given: float | np.ndarray) -> VehicleType:
        """The type with the fields ``values`` has as attributes of the same names, then ``given``."""
        read = {name: getattr(values, name) for name in cls._fields if hasattr(values, name)}
        return cls(**(read | given))


_ROWS = VehicleType(VF_LEN, VF_MIN_GAP, VF_ACCEL, VF_DECEL, VF_TAU, VF_SIGMA, VF_MAX_SPEED, VF_SPEED_FACTOR)


class VehicleTypes:
    """The writer of the vehicles' types, a mixin of :class:`~sim.traffic.state.TrafficState`."""

    vf: np.ndarray

    def set_vehicle_type(self, ids: np.ndarray, vehicle_type: VehicleType) -> None:
        """Give vehicles that are not on the network yet their type.

        The lanes hold as many standing vehicles as the state's ``jam_spacing_m`` allows: a
        type with a shorter length plus gap must have been allowed for at construction.

        Args:
            ids: The vehicles.
            vehicle_type: Their type; an array value gives each of ``ids`` its own.
        """
        for row, value in zip(_ROWS, vehicle_type, strict=True):
            self.vf[row, ids] = value
