"""The scenario's vehicle types, given to each vehicle as it is added to the traffic state.

A vehicle of the default type (:data:`~sim.tables.DEFAULT_VEHICLE_TYPE`, the ``[vehicles]``
table) keeps what :meth:`~sim.traffic.state.TrafficState.add_vehicles` gave it; one of a
declared type (``[vehicle_types.<name>]``) gets that type's parameters and its own speed
factor, drawn from the fleet's seeded generator (SUMO's ``normc(mean, dev, 0.2, 2)``). This
runs once per insertion event, over every vehicle it adds, never per step.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from sim.tables import DEFAULT_VEHICLE_TYPE, SPEED_FACTOR_RANGE, VehicleSpec, VehicleTypeSpec
from sim.traffic.state import TrafficState
from sim.traffic.vehicle_types import VehicleType

__all__ = ["Fleet", "draw_speed_factors"]


def draw_speed_factors(rng: np.random.Generator, mean: float, dev: float, n: int) -> np.ndarray:
    """``n`` speed factors from a normal distribution truncated to :data:`~sim.tables.SPEED_FACTOR_RANGE`.

    As SUMO's ``normc(mean, dev, 0.2, 2)``: a draw outside the range is drawn again (a
    deviation of 0 gives ``mean`` without drawing).

    Args:
        rng: The generator (the only source of randomness).
        mean: Mean factor, inside the range.
        dev: Standard deviation (>= 0).
        n: How many.
    """
    if dev == 0.0:
        return np.full(n, mean)
    low, high = SPEED_FACTOR_RANGE
    factors = rng.normal(mean, dev, n)
    outside = (factors < low) | (factors > high)
    while outside.any():
        factors[outside] = rng.normal(mean, dev, int(outside.sum()))
        outside = (factors < low) | (factors > high)
    return factors


class Fleet:
    """The default vehicle and the declared vehicle types of a scenario.

    Args:
        vehicles: The ``[vehicles]`` table (the default type, and what declared types leave out).
        types: ``(name, type)`` of the ``[vehicle_types.<name>]`` tables.
        rng: The generator of the vehicles' own speed factors.
    """

    def __init__(
        self, vehicles: VehicleSpec, types: Sequence[tuple[str, VehicleTypeSpec]], rng: np.random.Generator
    ) -> None:
        self._vehicles = vehicles
        self._types = {name: spec.resolved(vehicles) for name, spec in types}
        self._rng = rng

    @property
    def jam_spacing_m(self) -> float:
        """The shortest front-to-front spacing of standing vehicles of any type (m): length plus gap."""
        specs = (self._vehicles, *self._types.values())
        return min(spec.length_m + spec.min_gap_m for spec in specs)

    def assign(self, traffic: TrafficState, ids: np.ndarray, type_names: Sequence[str]) -> None:
        """Give vehicles just added to ``traffic`` their types, each with its own speed factor.

        Types are drawn in the order they are declared, each over its vehicles in ``ids``
        order, so a seed gives the same factors in any process.

        Args:
            traffic: The traffic state the vehicles were added to.
            ids: Their ids.
            type_names: The type of each (:data:`~sim.tables.DEFAULT_VEHICLE_TYPE` or declared).

        Raises:
            ValueError: Naming a type that is not declared, and the declared ones.
        """
        named = set(type_names)
        unknown = named - {DEFAULT_VEHICLE_TYPE, *self._types}
        if unknown:
            declared = ", ".join(map(repr, [DEFAULT_VEHICLE_TYPE, *self._types]))
            raise ValueError(f"unknown vehicle type(s) {sorted(unknown)}; the scenario declares {declared}")
        if named <= {DEFAULT_VEHICLE_TYPE}:
            return  # add_vehicles gave them the default type
        names = np.asarray(type_names, dtype=object)
        for name, spec in self._types.items():
            if name in named:
                chosen = np.asarray(ids)[names == name]
                factors = draw_speed_factors(self._rng, spec.speed_factor, spec.speed_dev, chosen.size)
                cap_mps = math.inf if spec.max_speed_mps is None else spec.max_speed_mps
                kernel_type = VehicleType.of(spec, max_speed_mps=cap_mps, speed_factor=factors)
                traffic.set_vehicle_type(chosen, kernel_type)
