"""Drivers who park: the cruising baseline and the guided driver.

A parking driver drives the free-flow shortest path from its origin to its destination
node (a driver whose stay no street allows drives to the garage nearest its destination
instead). Its **search starts** when it gets there (the end of the last link, the
kernel's ``APPROACH`` event): search time and search distance count from then. From then
on it decides at the end of every link, and the distance it accepts to walk grows with
the time searched: ``radius = search_radius_m + widen_mps * elapsed``. Parking happens at
the end of a link (``remove_vehicle``); a space on a link is taken to lie at its middle
for walking, so a space on a link into or out of the destination is half a link away.

**Cruising** (no information on occupancy): on the link just driven, it takes a free
space if the link's walk is within the radius and the driver may stay that long there
(maximum stay). It knows where the garages are, not whether they are full: once it has
searched ``garage_cost_s`` (at once if no street allows its stay) it heads for the
garage of least drive + walk cost (garages are known places: the walking radius does
not limit them), still taking a free street space it passes, and enters if the garage
has room, else it remembers it as full and tries the next. Otherwise it drives on one
link, choosing among the links it may turn into (never into a
dead-end fringe stub if it can help it) by, in order: within the radius first, then the
fewest times it has driven the link, then the smallest walking distance from the link's
end to the destination; remaining ties are broken at random. So it heads for the
destination, circles the blocks around it, and spirals outwards as the radius widens.

**Guided**: it checks the link just driven as a cruiser does, and otherwise asks the
information service and heads for the facility of least expected cost among those
reported to have a free space, allowed for its stay, within the radius (garages at any
distance) and not found full by the driver itself. The cost is ``drive time (current
link times) + walk_weight * walk time (+ garage_cost_s for a garage)``, divided by the
chance that a space is still free on arrival: the Poisson chance that fewer than the
reported free spaces are taken during the report's age plus the drive, at the fill rate
the service has seen in the reports. It follows the route one link at a time, so it
still takes a free space it passes, and is guided again as soon as the service reports
its target full, or when it reaches the target and finds it full. When no facility
qualifies it cruises one link.

Either driver gives up after ``give_up_s`` of search and drives to the nearest fringe
node, where it leaves the network.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import Enum

import mesa
import numpy as np

from sim.agents.vehicle import VehicleEvent
from sim.network.graph import FRINGE
from sim.parking.guidance import Belief, poisson_at_least
from sim.parking.navigation import DriveTree, StreetMap
from sim.parking.sensors import ParkingInformation
from sim.parking.spec import Spec
from sim.parking.supply import GARAGE, Facility, Occupancy
from sim.services import Services

__all__ = ["ParkingDriver", "ParkingTrip", "Phase", "SearchWorld"]


class Phase(Enum):
    """Where a parking driver is in its trip."""

    APPROACHING = "approaching"
    SEARCHING = "searching"
    LEAVING = "leaving"
    PARKED = "parked"
    DONE = "done"


@dataclass(frozen=True)
class ParkingTrip:
    """A parking trip: where from, where to, when, how the driver searches and how long it stays."""

    trip_id: str
    origin: str
    destination: str
    depart_s: float
    guided: bool
    stay_s: float


@dataclass
class SearchWorld:
    """What drivers share: the model, streets, parking supply, information, rules and callbacks.

    Attributes:
        on_parked: Called with ``(driver, leave_s)`` when a driver has taken a space.
        on_done: Called with the driver when it has left the network without parking.
    """

    model: Services
    streets: StreetMap
    facilities: list[Facility]
    occupancy: Occupancy
    service: ParkingInformation
    spec: Spec
    rng: np.random.Generator
    on_parked: Callable[[ParkingDriver, float], None]
    on_done: Callable[[ParkingDriver], None]
    street_at_edge: dict[int, int] = field(default_factory=dict)
    garage_at_node: dict[str, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for i, f in enumerate(self.facilities):
            if f.kind == GARAGE:
                self.garage_at_node[f.node] = i
            else:
                self.street_at_edge[f.edge] = i
        streets = self.streets
        self.in_edges: dict[str, list[int]] = {}
        for e, node in enumerate(streets.edge_to):
            self.in_edges.setdefault(node, []).append(e)
        graph = self.model.graph
        self.fringe = {n for n, kind in graph.nodes(data="kind") if kind == FRINGE}
        self.exit_edges = np.array(
            [e for e, v in enumerate(streets.edge_to) if v in self.fringe], dtype=np.int64
        )


class ParkingDriver(mesa.Agent):
    """A driver who looks for parking near its destination (see the module docstring).

    Attributes:
        trip: The trip.
        vid: Its vehicle's id once it departed, else -1.
        phase: Where it is in the trip.
        outcome: ``"parked"``, ``"garage"`` or ``"gave_up"`` once the search has ended, else "".
        facility: Index of the facility it parked in, or -1.
        seen: ``(time_s, facility, free)`` for every street it checked on the link just
            driven (true free spaces then).
        guidance: ``(time_s, facility, true_free, reported_free)`` for every facility the
            information service sent it to (guided drivers).
        arrivals: ``(time_s, facility, true_free)`` for every target facility it reached.
        reguided: Times its target was found full on arrival or reported full on the way.
    """

    def __init__(self, model: Services, trip: ParkingTrip, world: SearchWorld) -> None:
        super().__init__(model)
        self.trip = trip
        self.world = world
        self.vid = -1
        self.phase = Phase.APPROACHING
        self.outcome = ""
        self.facility = -1
        self.search_start_s = math.nan
        self.search_end_s = math.nan
        self.search_distance_m = math.nan
        self.walk_m = math.nan
        self.seen: list[tuple[float, int, int]] = []
        self.guidance: list[tuple[float, int, int, int]] = []
        self.arrivals: list[tuple[float, int, int]] = []
        self.reguided = 0
        self._dist0_m = 0.0
        self._visits: dict[int, int] = {}
        self._target = -1
        self._plan: list[int] = []
        self._found_full: set[int] = set()
        streets, dest = world.streets, trip.destination
        self._walk = np.array(
            [
                streets.walk_m(f.node, dest) if f.kind == GARAGE else streets.edge_walk_m(f.edge, dest)
                for f in world.facilities
            ]
        )
        self._garage = np.array([f.kind == GARAGE for f in world.facilities], dtype=bool)
        self._capacity = np.array([f.capacity for f in world.facilities], dtype=np.int64)
        self._allowed = np.array([f.max_stay_s >= trip.stay_s for f in world.facilities], dtype=bool)
        self._street_allowed = bool((self._allowed & ~self._garage).any())

    # ----- driving ---------------------------------------------------------------
    def depart(self) -> None:
        """Put the vehicle on the network, on the free-flow shortest path to where it parks.

        That is its destination, or, if no street allows its stay, the garage nearest to it.
        """
        trip, world = self.trip, self.world
        goal = trip.destination
        if not self._street_allowed and self._garage.any():
            self._target = int(np.flatnonzero(self._garage)[np.argmin(self._walk[self._garage])])
            goal = world.facilities[self._target].node
        self.vid = world.model.add_vehicle(world.model.router.shortest_path(trip.origin, goal), self)

    def on_vehicle_event(self, vid: int, event: VehicleEvent) -> None:
        """Decide at the end of every link (``APPROACH``; ``STOP`` if it waited there)."""
        if event in (VehicleEvent.APPROACH, VehicleEvent.STOP):
            self._decide()

    @property
    def on_network(self) -> bool:
        """Whether its vehicle is on its way (departed, neither parked nor gone)."""
        return self.vid >= 0 and self.phase in (Phase.APPROACHING, Phase.SEARCHING, Phase.LEAVING)

    def _decide(self) -> None:
        model, spec = self.world.model, self.world.spec
        now = model.time_s
        traffic = model.traffic
        edge = int(traffic.edges_of(self.vid))
        if self.phase == Phase.LEAVING:
            model.remove_vehicle(self.vid)
            self.phase = Phase.DONE
            self.world.on_done(self)
            return
        if self.phase == Phase.APPROACHING:
            self.phase = Phase.SEARCHING
            self.search_start_s = now
            self._dist0_m = float(traffic.distances_m(self.vid))
        self._visits[edge] = self._visits.get(edge, 0) + 1
        elapsed = now - self.search_start_s
        if elapsed >= spec.give_up_s:
            self._give_up(edge, now)
            return
        self._step(edge, now, spec.search_radius_m + spec.widen_mps * elapsed, elapsed)

    def _step(self, edge: int, now: float, radius: float, elapsed: float) -> None:
        """Park, follow or make a plan to a facility, or cruise on one link."""
        occupancy = self.world.occupancy
        if self._target >= 0 and self._reached(self._target, edge):
            free = occupancy.free(self._target)
            self.arrivals.append((now, self._target, free))
            if free > 0:
                self._park(self._target, now)
                return
            self._lost_target()
        elif self._take_seen(edge, now, radius, elapsed):
            return
        if self.trip.guided:
            belief = Belief.from_service(self.world.service, now)
        elif self._wants_garage(elapsed):
            belief = Belief.static(np.where(self._garage, self._capacity, 0))
        else:
            self._cruise_on(edge, radius)
            return
        if self._target >= 0:
            if belief.free[self._target] >= 1 and self._plan:
                self._route([edge, self._plan.pop(0)])
                return
            self._lost_target(seen_full=False)
        self._head_for_best(edge, now, radius, belief)

    def _route(self, edges: list[int]) -> None:
        self.world.model.set_route(self.vid, self.world.streets.node_path(edges))

    # ----- cruising --------------------------------------------------------------
    def _take_seen(self, edge: int, now: float, radius: float, elapsed: float) -> bool:
        """Park on the link just driven, or in a garage at its end, if the rules allow."""
        world = self.world
        street = world.street_at_edge.get(edge, -1)
        if street >= 0 and self._allowed[street] and self._walk[street] <= radius:
            free = world.occupancy.free(street)
            self.seen.append((now, street, free))
            if free > 0:
                self._park(street, now)
                return True
            self._found_full.add(street)
        garage = world.garage_at_node.get(world.streets.edge_to[edge], -1)
        if garage >= 0 and self._wants_garage(elapsed) and world.occupancy.free(garage) > 0:
            self._park(garage, now)
            return True
        return False

    def _wants_garage(self, elapsed: float) -> bool:
        """Whether it takes a garage: after ``garage_cost_s`` of search, or if no street allows its stay."""
        return elapsed >= self.world.spec.garage_cost_s or not self._street_allowed

    def _cruise_on(self, edge: int, radius: float) -> None:
        """Drive on one link by the cruising rule."""
        streets, dest = self.world.streets, self.trip.destination
        options = streets.successors[edge]
        options = [e for e in options if streets.edge_to[e] not in self.world.fringe] or options

        def key(e: int) -> tuple[bool, int, float]:
            within = streets.edge_walk_m(e, dest) <= radius
            return (not within, self._visits.get(e, 0), streets.walk_m(streets.edge_to[e], dest))

        best = min(key(e) for e in options)
        ties = [e for e in options if key(e) == best]
        nxt = ties[int(self.world.rng.integers(len(ties)))] if len(ties) > 1 else ties[0]
        self._target, self._plan = -1, []
        self._route([edge, nxt])

    # ----- heading for a facility ------------------------------------------------
    def _lost_target(self, seen_full: bool = True) -> None:
        """Drop the target: found full on arrival (remembered), or reported full on the way."""
        if seen_full:
            self._found_full.add(self._target)
        self.reguided += 1
        self._target, self._plan = -1, []

    def _reached(self, facility: int, edge: int) -> bool:
        f = self.world.facilities[facility]
        return f.node == self.world.streets.edge_to[edge] if f.kind == GARAGE else f.edge == edge

    def _head_for_best(self, edge: int, now: float, radius: float, belief: Belief) -> None:
        """Plan a route to the facility of least expected cost and take its first link."""
        world = self.world
        tree = world.streets.tree(edge, world.model.link_travel_times_s())
        while True:
            target, target_edge = self._best(tree, belief, radius)
            if target < 0:
                self._cruise_on(edge, radius)
                return
            if self.trip.guided:
                self.guidance.append((now, target, world.occupancy.free(target), int(belief.free[target])))
            self._target = target
            if target_edge >= 0:
                self._plan = tree.edges_to(target_edge)[1:]
                self._route([edge, self._plan.pop(0)])
                return
            # a garage at this very node
            free = world.occupancy.free(target)
            self.arrivals.append((now, target, free))
            if free > 0:
                self._park(target, now)
                return
            self._lost_target()

    def _best(self, tree: DriveTree, belief: Belief, radius: float) -> tuple[int, int]:
        """The facility of least expected cost and the edge to drive to.

        The cost of a facility is ``drive + walk_weight * walk time (+ garage_cost_s)``,
        divided by the chance that it still has a space on arrival (as if every failed
        attempt cost as much again). That chance is the Poisson probability that fewer
        than its believed free spaces are taken during the report's age plus the drive.

        Returns:
            ``(facility, edge)``; edge -1 for a garage at the current node; ``(-1, -1)`` if
            no facility qualifies.
        """
        world, spec = self.world, self.world.spec
        here = world.streets.edge_to[tree.source]
        best, best_cost, best_edge = -1, math.inf, -1
        walk_cost = spec.walk_weight / spec.walk_speed_mps
        qualifies = self._allowed & ((self._walk <= radius) | self._garage) & (belief.free >= 1)
        for f in np.flatnonzero(qualifies).tolist():
            if f in self._found_full:
                continue
            facility = world.facilities[f]
            if facility.kind != GARAGE:
                edge, drive = facility.edge, float(tree.time_s[facility.edge])
            elif facility.node == here:
                edge, drive = -1, 0.0
            else:
                ins = world.in_edges.get(facility.node, [])
                edge = min(ins, key=lambda e: tree.time_s[e]) if ins else -1
                drive = float(tree.time_s[edge]) if ins else math.inf
            cost = (
                drive
                + walk_cost * float(self._walk[f])
                + (spec.garage_cost_s if facility.kind == GARAGE else 0.0)
            )
            taken = float(belief.fill_rate_per_s[f]) * (float(belief.age_s[f]) + drive)
            chance = 1.0 - poisson_at_least(taken, int(belief.free[f]))
            if chance > 0.0 and cost / chance < best_cost:
                best, best_cost, best_edge = f, cost / chance, edge
        return best, best_edge

    # ----- ending the search -----------------------------------------------------
    def _end_search(self, end_s: float) -> None:
        traffic = self.world.model.traffic
        self.search_end_s = end_s
        self.search_distance_m = float(traffic.distances_m(self.vid)) - self._dist0_m

    def _park(self, facility: int, now: float) -> None:
        world = self.world
        parked_s = world.occupancy.park(facility, now)
        self._end_search(parked_s)
        world.model.remove_vehicle(self.vid)
        self.phase = Phase.PARKED
        self.facility = facility
        self.outcome = "garage" if self._garage[facility] else "parked"
        self.walk_m = float(self._walk[facility])
        world.on_parked(self, parked_s + self.trip.stay_s)

    def _give_up(self, edge: int, now: float) -> None:
        """Stop searching and drive to the nearest fringe node, or leave at once if there is none."""
        world = self.world
        self._end_search(now)
        self.outcome = "gave_up"
        exits = world.exit_edges
        tree = world.streets.tree(edge, world.streets.free_flow_s)
        if len(exits) == 0 or not np.isfinite(tree.time_s[exits]).any():
            world.model.remove_vehicle(self.vid)
            self.phase = Phase.DONE
            world.on_done(self)
            return
        self.phase = Phase.LEAVING
        self._route(tree.edges_to(int(exits[np.argmin(tree.time_s[exits])])))

    def leave_space(self, now: float) -> tuple[str, ...] | None:
        """End the stay: free the space and return the node path back to the origin (None: no way back)."""
        world = self.world
        world.occupancy.leave(self.facility, now)
        self.phase = Phase.DONE
        facility = world.facilities[self.facility]
        if facility.kind == GARAGE:
            return world.model.router.shortest_path(facility.node, self.trip.origin)
        tree = world.streets.tree(facility.edge, world.streets.free_flow_s)
        homes = [e for e in world.in_edges.get(self.trip.origin, []) if math.isfinite(tree.time_s[e])]
        if not homes:
            return None
        return world.streets.node_path(tree.edges_to(min(homes, key=lambda e: tree.time_s[e])))
