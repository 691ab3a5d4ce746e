"""Emergency vehicle agents: a fleet vehicle that drives kernel vehicles to scenes and back.

While parked (at its station or on scene) a vehicle is off the network; each drive is a
kernel vehicle added with a listener (and ``emergency=True`` while responding, so traffic
makes way and it may cross a red at a crawl). It reaches the end of a drive when it is
within ``arrival_m`` of the end of its last link (checked by the feature's 1 s poll) or
halts there.
"""

from __future__ import annotations

from collections.abc import Callable
from enum import Enum
from typing import TYPE_CHECKING

import mesa

from sim.agents.vehicle import VehicleEvent
from sim.emergency.incidents import Incident
from sim.emergency.routing import Reach, Route
from sim.emergency.spec import Station
from sim.services import Services

if TYPE_CHECKING:
    from sim.emergency.dispatcher import EmergencyDispatcher

__all__ = ["EmergencyVehicle", "VehicleState"]


class VehicleState(Enum):
    """What a fleet vehicle is doing."""

    IDLE = "idle"
    """Parked at its station, available."""
    RESPONDING = "responding"
    """Driving to a scene with lights and siren."""
    ON_SCENE = "on_scene"
    """Parked at a scene."""
    RETURNING = "returning"
    """Driving back to its station without lights; available for a new call."""


class EmergencyVehicle(mesa.Agent):
    """One vehicle of a station's fleet.

    Attributes:
        name: ``"<station>-<n>"``.
        station: Its home station.
        state: What it is doing.
        vid: Kernel id of its current drive, None while parked.
        node: Where it is parked (meaningful while ``vid`` is None).
        incident: The call it is serving or last served.
        trip_no: Counts its drives; identifies a drive for the preemption layer.
        time_in_s: Seconds spent in each state so far (the current stretch excluded).
    """

    def __init__(
        self,
        model: Services,
        name: str,
        station: Station,
        dispatcher: EmergencyDispatcher,
        arrival_m: float,
        on_drive: Callable[[], None],
    ) -> None:
        super().__init__(model)
        self.name = name
        self.station = station
        self.state = VehicleState.IDLE
        self.vid: int | None = None
        self.node = station.node
        self.incident: Incident | None = None
        self.trip_no = 0
        self.time_in_s = dict.fromkeys(VehicleState, 0.0)
        self._since_s = model.time_s
        self._dispatcher = dispatcher
        self._arrival_m = arrival_m
        self._on_drive = on_drive

    @property
    def available(self) -> bool:
        """Whether it can take a call (at its station or on its way back)."""
        return self.state in (VehicleState.IDLE, VehicleState.RETURNING)

    def time_in_now_s(self) -> dict[VehicleState, float]:
        """Seconds spent in each state up to now, the current stretch included."""
        out = dict(self.time_in_s)
        out[self.state] += self.model.time_s - self._since_s
        return out

    def route_from_here(self, reach: Reach) -> Route | None:
        """Its fastest route to the scene ``reach`` was computed for, from where it is now."""
        if self.vid is None:
            return reach.from_node(self.node)
        traffic = self.model.traffic
        lane = int(traffic.lanes_of(self.vid))
        if lane < 0:  # still in the entry queue of its first link
            return reach.from_edge(int(traffic.edges_of(self.vid)), 0.0)
        return reach.from_edge(int(self.model.net.lane_edge[lane]), float(traffic.positions_m(self.vid)))

    def respond(self, incident: Incident, route: Route) -> None:
        """Drive to ``incident`` along ``route`` with lights (a route without links: already there)."""
        self.incident = incident
        self._set_state(VehicleState.RESPONDING)
        self._drive(route, emergency=True)

    def clear_scene(self) -> None:
        """Leave the scene: available again, though still parked there."""
        self._set_state(VehicleState.RETURNING)

    def go_home(self, route: Route) -> None:
        """Drive back to the station along ``route`` (a route without links: it is there)."""
        self._set_state(VehicleState.RETURNING)
        self._drive(route, emergency=False)

    def check_arrival(self) -> None:
        """End the drive if the vehicle is on its last link within ``arrival_m`` of its end."""
        traffic = self.model.traffic
        vid = self.vid
        lane = int(traffic.lanes_of(vid))
        if lane < 0 or not traffic.on_last_link(vid):
            return
        length_m = self.model.net.edge_length_m[self.model.net.lane_edge[lane]]
        if length_m - traffic.positions_m(vid) <= self._arrival_m:
            self._end_drive()

    def on_vehicle_event(self, vid: int, event: VehicleEvent) -> None:
        """Kernel events of its drive: halted at the end of the route ends the drive."""
        if event is VehicleEvent.STOP and vid == self.vid:
            self._end_drive()

    def _drive(self, route: Route, emergency: bool) -> None:
        self.trip_no += 1
        if not route.edges:
            self._arrived()
            return
        model = self.model
        if self.vid is None:
            self.vid = model.add_vehicle(route.path, self, emergency=emergency)
        else:
            model.set_route(self.vid, route.path)
            model.traffic.set_flags(self.vid, notify=True, emergency=emergency)
        self._on_drive()

    def _end_drive(self) -> None:
        last_edge = int(self.model.traffic.route_ahead(self.vid).edges[-1])
        self.node = self.model.net.node_ids[self.model.net.edge_to[last_edge]]
        self.model.remove_vehicle(self.vid)
        self.vid = None
        self._arrived()

    def _arrived(self) -> None:
        if self.state is VehicleState.RESPONDING:
            self._set_state(VehicleState.ON_SCENE)
            self._dispatcher.on_scene(self)
        else:
            self._set_state(VehicleState.IDLE)
            self._dispatcher.home(self)

    def _set_state(self, state: VehicleState) -> None:
        now = self.model.time_s
        self.time_in_s[self.state] += now - self._since_s
        self._since_s = now
        self.state = state
