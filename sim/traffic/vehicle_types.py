"""Each vehicle's own type in the traffic state: the kernel's per-vehicle car-following rows (numpy only).

A vehicle's length, standstill gap, acceleration, deceleration, reaction time,
imperfection, speed cap and desired-speed factor are rows of ``Vehicles.vf``, read by the
car-following stage (:mod:`sim.traffic.speeds`) in place of scenario-wide values. They are
written once per vehicle, when it is added (never per step), through
:meth:`VehicleTypes.set_vehicle_type`, a writer of :class:`~sim.traffic.state.TrafficState`.
:class:`CarFollowing` holds the default vehicle's values, which every vehicle starts with,
and the junction parameters shared by all (turn speed, critical gaps).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import NamedTuple

import numpy as np

from sim.traffic.codes import HCM_GAPS_S
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

__all__ = ["CarFollowing", "VehicleType", "VehicleTypes"]


@dataclass(frozen=True)
class CarFollowing:
    """Krauss car-following parameters of the default vehicle, and junction parameters shared by all.

    Every vehicle starts with the default's length, gap, acceleration, deceleration,
    reaction time and imperfection, no speed cap of its own and a speed factor of 1;
    :meth:`~sim.traffic.vehicle_types.VehicleTypes.set_vehicle_type` gives it another type.

    Attributes:
        length_m: Vehicle length (m), default 5.0.
        min_gap_m: Standstill gap to the leader (m), default 2.5.
        accel_mps2: Maximum acceleration (m/s^2), default 2.6.
        decel_mps2: Comfortable deceleration (m/s^2), default 4.5.
        tau_s: Reaction time / desired time headway (s).
        turn_speed_mps: Speed at the stop line for left and right turns (m/s).
        critical_gap_s: Time gap a permitted left turn at a signal needs in oncoming traffic (s).
        signal_left_follow_up_s: Shortest time between two permitted left turns of one lane
            entering a signalized junction (s; HCM 2010's 2.5 s).
        left_wait_vehicles: At most this many permitted left turners wait inside a signalized
            junction for a gap and clear when the signal ends (0: they wait at the stop line).
        gaps_s: Critical gap and follow-up time (s) of each class of movement that gives way at
            an unsignalized junction (:data:`~sim.traffic.codes.HCM_GAPS_S`, the default).
        sigma: Driver imperfection in [0, 1]: random slowing by up to ``sigma * accel * dt``.
        emergency_pass_speed_mps: Speed at which an emergency vehicle passes the vehicles
            that make way for it (m/s).
        emergency_crawl_speed_mps: Speed at which an emergency vehicle crosses a stop line
            against the signal (m/s).
    """

    length_m: float = 5.0
    min_gap_m: float = 2.5
    accel_mps2: float = 2.6
    decel_mps2: float = 4.5
    tau_s: float = 1.0
    turn_speed_mps: float = 8.0
    critical_gap_s: float = 4.5
    signal_left_follow_up_s: float = 2.5
    left_wait_vehicles: int = 2
    sigma: float = 0.5
    emergency_pass_speed_mps: float = 5.0
    emergency_crawl_speed_mps: float = 2.0
    gaps_s: Mapping[str, tuple[float, float]] = field(default_factory=lambda: dict(HCM_GAPS_S))


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
        emission_index: Its emission class, a row of the class table of
            :mod:`sim.emissions.classes` (default 0, SUMO's default passenger car).
    """

    length_m: float | np.ndarray
    min_gap_m: float | np.ndarray
    accel_mps2: float | np.ndarray
    decel_mps2: float | np.ndarray
    tau_s: float | np.ndarray
    sigma: float | np.ndarray
    max_speed_mps: float | np.ndarray = math.inf
    speed_factor: float | np.ndarray = 1.0
    emission_index: int | np.ndarray = 0

    @classmethod
    def of(cls, values: object, **given: float | np.ndarray) -> VehicleType:
        """The type with the fields ``values`` has as attributes of the same names, then ``given``."""
        read = {name: getattr(values, name) for name in cls._fields if hasattr(values, name)}
        return cls(**(read | given))


_ROWS = VehicleType(VF_LEN, VF_MIN_GAP, VF_ACCEL, VF_DECEL, VF_TAU, VF_SIGMA, VF_MAX_SPEED, VF_SPEED_FACTOR)


class VehicleTypes:
    """The writer of the vehicles' types, a mixin of :class:`~sim.traffic.state.TrafficState`."""

    vf: np.ndarray
    set_emission_class: Callable[[np.ndarray, int | np.ndarray], None]

    def set_vehicle_type(self, ids: np.ndarray, vehicle_type: VehicleType) -> None:
        """Give vehicles that are not on the network yet their type.

        The lanes hold as many standing vehicles as the state's ``jam_spacing_m`` allows: a
        type with a shorter length plus gap must have been allowed for at construction.

        Args:
            ids: The vehicles.
            vehicle_type: Their type; an array value gives each of ``ids`` its own.
        """
        for row, value in zip(_ROWS, vehicle_type[: len(_ROWS)], strict=True):
            self.vf[row, ids] = value
        self.set_emission_class(ids, vehicle_type.emission_index)
