"""The dispatcher agent: owns the stations and their fleets, assigns calls, queues the rest."""

from __future__ import annotations

import heapq
import itertools
from collections.abc import Callable, Sequence

import mesa
import numpy as np

from sim.emergency.incidents import Incident
from sim.emergency.metrics import EmergencyLog
from sim.emergency.routing import Route, SceneRouter
from sim.emergency.spec import Station
from sim.emergency.vehicles import EmergencyVehicle, VehicleState
from sim.services import Services

__all__ = ["EmergencyDispatcher"]


class EmergencyDispatcher(mesa.Agent):
    """A dispatch centre: the stations, their vehicles and the queue of waiting calls.

    A call is decided ``processing_s`` after it comes in: it goes to the available
    vehicle (parked at its station, just cleared from a scene, or driving back) with
    the least expected travel time to the scene under the current link travel times
    (``model.link_travel_times_s()``, Dijkstra on the network's connections). When no
    vehicle is available the call waits; waiting calls are served by severity (1 first),
    then call time, as vehicles become available. A vehicle drives back to its station
    after its on-scene time unless a waiting call takes it first.

    Attributes:
        stations: The stations.
        fleet: Every vehicle, station by station.
    """

    def __init__(
        self,
        model: Services,
        stations: Sequence[Station],
        log: EmergencyLog,
        arrival_m: float,
        processing_s: float,
        on_drive: Callable[[], None],
    ) -> None:
        super().__init__(model)
        self.stations = tuple(stations)
        self.fleet = [
            EmergencyVehicle(model, f"{station.name}-{n + 1}", station, self, arrival_m, on_drive)
            for station in self.stations
            for n in range(station.vehicles)
        ]
        self._router = SceneRouter(model.net)
        self._log = log
        self._processing_s = processing_s
        self._queue: list[tuple[int, float, int, Incident]] = []
        self._order = itertools.count()
        net = model.net
        self._home_edges = {
            station.node: tuple(np.flatnonzero(net.edge_to == net.node_ids.index(station.node)).tolist())
            for station in self.stations
        }

    @property
    def waiting(self) -> list[Incident]:
        """Calls waiting for a vehicle, in the order they will be served."""
        return [item[3] for item in sorted(self._queue)]

    def call(self, incident: Incident) -> None:
        """A call comes in now; it is decided after the call processing time."""
        self._log.call(incident)
        if self._processing_s > 0.0:
            self.model.schedule(self.model.time_s + self._processing_s, lambda: self._decide(incident))
        else:
            self._decide(incident)

    def best_vehicle(self, incident: Incident) -> tuple[EmergencyVehicle, Route] | None:
        """The available vehicle with the least expected travel time to ``incident``, and its route.

        Ties go to the vehicle listed first. None if no vehicle is available (or none can
        reach the scene).
        """
        reach = self._router.reach(incident.scene.target_edges, self.model.link_travel_times_s())
        best: tuple[EmergencyVehicle, Route] | None = None
        for vehicle in self.fleet:
            if not vehicle.available:
                continue
            if vehicle.vid is None and vehicle.node == incident.scene.node:
                route = Route.standing(vehicle.node)
            else:
                route = vehicle.route_from_here(reach)
            if route is not None and (best is None or route.cost_s < best[1].cost_s):
                best = (vehicle, route)
        return best

    def on_scene(self, vehicle: EmergencyVehicle) -> None:
        """``vehicle`` reached its scene: it stays for the call's on-scene time."""
        now = self.model.time_s
        self._log.arrived(vehicle.incident, now)
        self.model.schedule(now + vehicle.incident.on_scene_s, lambda: self._clear(vehicle))

    def home(self, vehicle: EmergencyVehicle) -> None:
        """``vehicle`` is back at its station."""
        if vehicle.incident is not None:
            self._log.back(vehicle.incident, self.model.time_s)
        self._serve_queue()

    def _decide(self, incident: Incident) -> None:
        if not self._send(incident):
            self._log.queued(incident)
            heapq.heappush(self._queue, (incident.severity, incident.call_s, next(self._order), incident))

    def _send(self, incident: Incident) -> bool:
        choice = self.best_vehicle(incident)
        if choice is None:
            return False
        vehicle, route = choice
        self._log.dispatched(incident, vehicle, route, self.model.time_s)
        vehicle.respond(incident, route)
        return True

    def _serve_queue(self) -> None:
        while self._queue and self._send(self._queue[0][3]):
            heapq.heappop(self._queue)

    def _clear(self, vehicle: EmergencyVehicle) -> None:
        self._log.cleared(vehicle.incident, self.model.time_s)
        vehicle.clear_scene()
        self._serve_queue()
        if vehicle.state is VehicleState.RETURNING and vehicle.vid is None:
            vehicle.go_home(self._route_home(vehicle))

    def _route_home(self, vehicle: EmergencyVehicle) -> Route:
        """Fastest route from where ``vehicle`` is parked to its station (no links if it is there).

        A vehicle that cannot reach its station stays where it is.
        """
        station = vehicle.station.node
        if vehicle.node == station:
            return Route.standing(station)
        reach = self._router.reach(self._home_edges[station], self.model.link_travel_times_s())
        return reach.from_node(vehicle.node) or Route.standing(vehicle.node)
