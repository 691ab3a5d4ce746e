"""Parking supply: on-street facilities along links, garages at nodes, and their occupancy.

A :class:`Facility` describes one place to park (it never changes); :class:`Occupancy`
holds how many spaces of each are taken, by background parkers and by simulated drivers,
and is the only place that changes those counts, so no facility ever holds more vehicles
than its capacity (:class:`FacilityFullError` otherwise).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import networkx as nx
import numpy as np

from sim.network.graph import INTERSECTION
from sim.parking.spec import Spec

__all__ = [
    "GARAGE",
    "STREET",
    "Facility",
    "FacilityFullError",
    "Occupancy",
    "ParkingError",
    "build_facilities",
]

STREET = "street"
GARAGE = "garage"


class ParkingError(ValueError):
    """A parking table (or parking trip) that does not fit the scenario's road network.

    Attributes:
        source: The scenario file (or ``"<dict>"``) the error is about.
    """

    def __init__(self, source: str, problem: str) -> None:
        super().__init__(f"{source}: {problem}")
        self.source = source


class FacilityFullError(RuntimeError):
    """A vehicle was to park in a facility that has no free space."""


@dataclass(frozen=True)
class Facility:
    """One place to park.

    Attributes:
        name: ``"street u->v"`` or ``"garage node"``.
        kind: :data:`STREET` or :data:`GARAGE`.
        capacity: Number of spaces.
        max_stay_s: Longest allowed stay (s); infinite for garages.
        edge: Compiled edge index of a street; -1 for a garage.
        node: The node a vehicle reaches when it parks: a street's downstream node, a
            garage's entrance.
        from_node: A street's upstream node; equal to ``node`` for a garage.
        entry_rate_vph: Vehicles admitted per hour (garage gate); infinite for streets.
        x_m, y_m: Where it is drawn: a street's midpoint, a garage's node.
        initial: Spaces taken at the start if the scenario says so, else None.
    """

    name: str
    kind: str
    capacity: int
    max_stay_s: float
    edge: int
    node: str
    from_node: str
    entry_rate_vph: float
    x_m: float
    y_m: float
    initial: int | None = None


def build_facilities(
    graph: nx.DiGraph, edge_index: dict, spec: Spec, rng: np.random.Generator, source: str = "<dict>"
) -> list[Facility]:
    """The facilities of a scenario: listed ones, or generated from the spec's densities.

    Streets are generated on every link between two intersections with
    ``floor(spaces_per_m * length_m)`` spaces (links with none are skipped); garages at a
    random ``garage_share`` of the intersections (at least one when the share is > 0).

    Args:
        graph: The road network.
        edge_index: ``(u, v) -> edge index`` of the compiled network.
        spec: The parking spec.
        rng: Draws the garage nodes.
        source: The scenario file, named in errors.

    Returns:
        The streets, then the garages.

    Raises:
        ParkingError: If a listed street or garage is not on the network.
    """
    pos = {n: (float(d["x"]), float(d["y"])) for n, d in graph.nodes(data=True)}
    streets = []
    if spec.streets:
        for index, street in enumerate(spec.streets):
            link = (street.from_node, street.to_node)
            if link not in edge_index:
                raise ParkingError(
                    source,
                    f"parking.streets[{index}]: expected a link of the network, "
                    f"got {link[0]!r} -> {link[1]!r}",
                )
            stay = spec.max_stay_s if street.max_stay_s is None else street.max_stay_s
            streets.append((link, street.spaces, stay, street.occupied))
    else:
        for u, v, length_m in graph.edges(data="length_m"):
            spaces = math.floor(spec.spaces_per_m * float(length_m) + 1e-9)
            kinds = (graph.nodes[u].get("kind"), graph.nodes[v].get("kind"))
            if spaces > 0 and kinds == (INTERSECTION, INTERSECTION):
                streets.append(((u, v), spaces, spec.max_stay_s, None))
    garages = []
    if spec.garages:
        for index, garage in enumerate(spec.garages):
            if garage.node not in graph:
                raise ParkingError(
                    source,
                    f"parking.garages[{index}].node: expected a node of the network, got {garage.node!r}",
                )
            rate = spec.garage_entry_rate_vph if garage.entry_rate_vph is None else garage.entry_rate_vph
            garages.append((garage.node, garage.capacity, rate, garage.occupied))
    elif spec.garage_share > 0.0:
        nodes = [n for n, kind in graph.nodes(data="kind") if kind == INTERSECTION]
        count = max(1, round(spec.garage_share * len(nodes)))
        for i in sorted(rng.choice(len(nodes), size=min(count, len(nodes)), replace=False).tolist()):
            garages.append((nodes[i], spec.garage_capacity, spec.garage_entry_rate_vph, None))
    facilities = [
        Facility(
            name=f"street {u}->{v}",
            kind=STREET,
            capacity=spaces,
            max_stay_s=stay,
            edge=int(edge_index[(u, v)]),
            node=v,
            from_node=u,
            entry_rate_vph=math.inf,
            x_m=(pos[u][0] + pos[v][0]) / 2.0,
            y_m=(pos[u][1] + pos[v][1]) / 2.0,
            initial=occupied,
        )
        for (u, v), spaces, stay, occupied in streets
    ]
    facilities += [
        Facility(
            name=f"garage {node}",
            kind=GARAGE,
            capacity=capacity,
            max_stay_s=math.inf,
            edge=-1,
            node=node,
            from_node=node,
            entry_rate_vph=rate,
            x_m=pos[node][0],
            y_m=pos[node][1],
            initial=occupied,
        )
        for node, capacity, rate, occupied in garages
    ]
    return facilities


class Occupancy:
    """Taken spaces per facility, split into background parkers and simulated drivers.

    Garages admit drivers through a gate at their entry rate: a driver who arrives while
    the gate is busy waits (off the street, in the ramp) and holds its space meanwhile.

    Attributes:
        capacity: Spaces per facility.
        background: Background parkers per facility.
        drivers: Simulated drivers parked (or waiting at a garage gate) per facility.
    """

    def __init__(self, facilities: list[Facility]) -> None:
        self.facilities = facilities
        self.capacity = np.array([f.capacity for f in facilities], dtype=np.int64)
        self.background = np.zeros(len(facilities), dtype=np.int64)
        self.drivers = np.zeros(len(facilities), dtype=np.int64)
        self._gate_s = np.array([3600.0 / f.entry_rate_vph for f in facilities])
        self._gate_free_s = np.zeros(len(facilities))
        self._watchers: list[Callable[[np.ndarray, float], None]] = []

    @property
    def occupied(self) -> np.ndarray:
        """Taken spaces per facility."""
        return self.background + self.drivers

    def free(self, facility: int) -> int:
        """Free spaces of one facility now."""
        return int(self.capacity[facility] - self.background[facility] - self.drivers[facility])

    def watch(self, callback: Callable[[np.ndarray, float], None]) -> None:
        """Call ``callback(changed_facilities, time_s)`` after every change."""
        self._watchers.append(callback)

    def _changed(self, facilities: np.ndarray, time_s: float) -> None:
        if len(facilities):
            for callback in self._watchers:
                callback(facilities, time_s)

    def park(self, facility: int, time_s: float) -> float:
        """A simulated driver takes a space.

        Returns:
            The time (s) the driver is parked: now, or for a garage when its gate admits it.

        Raises:
            FacilityFullError: If the facility has no free space.
        """
        if self.free(facility) <= 0:
            raise FacilityFullError(
                f"{self.facilities[facility].name}: no free space at t={time_s:g} s "
                f"(capacity {self.capacity[facility]})"
            )
        self.drivers[facility] += 1
        parked_s = time_s
        if self.facilities[facility].kind == GARAGE:
            parked_s = max(time_s, float(self._gate_free_s[facility]))
            self._gate_free_s[facility] = parked_s + self._gate_s[facility]
        self._changed(np.array([facility]), time_s)
        return parked_s

    def leave(self, facility: int, time_s: float) -> None:
        """A simulated driver frees its space."""
        if self.drivers[facility] <= 0:
            raise ValueError(f"{self.facilities[facility].name}: no simulated driver is parked there")
        self.drivers[facility] -= 1
        self._changed(np.array([facility]), time_s)

    def set_background(self, counts: np.ndarray, time_s: float) -> None:
        """Replace the background parkers' counts (each within the free room left by drivers).

        Raises:
            FacilityFullError: If a count would overfill its facility.
        """
        counts = np.asarray(counts, dtype=np.int64)
        over = np.flatnonzero(counts + self.drivers > self.capacity)
        if len(over):
            f = int(over[0])
            raise FacilityFullError(
                f"{self.facilities[f].name}: {counts[f]} background parkers and {self.drivers[f]} drivers "
                f"exceed its capacity {self.capacity[f]}"
            )
        changed = np.flatnonzero(counts != self.background)
        self.background = counts.copy()
        self._changed(changed, time_s)
