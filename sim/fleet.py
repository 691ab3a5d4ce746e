"""The scenario's vehicle types, given to each vehicle as it is added to the traffic state.

Every vehicle, of the default type (:data:`~sim.tables.DEFAULT_VEHICLE_TYPE`, the
``[vehicles]`` table) or of a declared one (``[vehicle_types.<name>]``), demand trip or a
feature's own (``add_vehicle``), gets its type's parameters and its own speed factor, drawn
from the fleet's seeded generator (SUMO's ``normc(mean, dev, 0.2, 2)``; SUMO's default car
has deviation 0.1). This runs once per insertion event, over every vehicle it adds, never
per step.
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
    """The default vehicle type and the declared vehicle types of a scenario.

    Args:
        vehicles: The ``[vehicles]`` table (the default type, and what declared types leave out).
        types: ``(name, type)`` of the ``[vehicle_types.<name>]`` tables.
        rng: The generator of the vehicles' own speed factors.
    """

    def __init__(
        self, vehicles: VehicleSpec, types: Sequence[tuple[str, VehicleTypeSpec]], rng: np.random.Generator
    ) -> None:
        self._types = {
            DEFAULT_VEHICLE_TYPE: VehicleTypeSpec().resolved(vehicles),
            **{name: spec.resolved(vehicles) for name, spec in types},
        }
        self._rng = rng

    @property
    def jam_spacing_m(self) -> float:
        """The shortest front-to-front spacing of standing vehicles of any type (m): length plus gap."""
        return min(spec.length_m + spec.min_gap_m for spec in self._types.values())

    def assign(self, traffic: TrafficState, ids: np.ndarray, type_names: Sequence[str]) -> None:
        """Give vehicles just added to ``traffic`` their types, each with its own speed factor.

        Speed factors are drawn type by type, the default first and then the others in the
        order they are declared, each over its vehicles in ``ids`` order, so a seed gives
        the same factors in any process.

        Args:
            traffic: The traffic state the vehicles were added to.
            ids: Their ids.
            type_names: The type of each (:data:`~sim.tables.DEFAULT_VEHICLE_TYPE` or declared).

        Raises:
            ValueError: Naming a type that is not declared, and the declared ones.
        """
        named = set(type_names)
        unknown = named - set(self._types)
        if unknown:
            declared = ", ".join(map(repr, self._types))
            raise ValueError(f"unknown vehicle type(s) {sorted(unknown)}; the scenario declares {declared}")
        names = np.asarray(type_names, dtype=object)
        for name, spec in self._types.items():
            if name in named:
                chosen = np.asarray(ids)[names == name]
                factors = draw_speed_factors(self._rng, spec.speed_factor, spec.speed_dev, chosen.size)
                cap_mps = math.inf if spec.max_speed_mps is None else spec.max_speed_mps
                kernel_type = VehicleType.of(spec, max_speed_mps=cap_mps, speed_factor=factors)
                traffic.set_vehicle_type(chosen, kernel_type)
