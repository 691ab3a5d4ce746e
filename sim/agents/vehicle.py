"""The private vehicle agent: created when its trip departs, removed when it arrives."""

from __future__ import annotations

from enum import IntEnum
from typing import Protocol

import mesa

from sim.traffic.codes import EV_APPROACH, EV_STOP

__all__ = ["Vehicle", "VehicleEvent", "VehicleListener"]


class VehicleEvent(IntEnum):
    """What the kernel tells an agent about the vehicle it drives."""

    APPROACH = EV_APPROACH
    """Near the end of its route: time to extend the route, or it will stop there."""
    STOP = EV_STOP
    """Halted at the end of its route."""
    ARRIVED = -1
    """Left the network at the end of its route (vehicles without a listener)."""


class VehicleListener(Protocol):
    """An agent that drives a vehicle of its own (shuttle, emergency vehicle, parking searcher)."""

    def on_vehicle_event(self, vid: int, event: VehicleEvent) -> None:
        """React to an event of vehicle ``vid``."""


class Vehicle(mesa.Agent):
    """A trip in progress.

    Its motion lives in the traffic kernel's arrays under index ``vid``; the agent holds
    what decisions need (the trip) and is told about events, not stepped every tick.

    Attributes:
        vid: Index of the vehicle in the kernel arrays (and of its trip).
        trip_id: The trip's id from the demand.
        origin, destination: Node ids.
    """

    def __init__(self, model: mesa.Model, vid: int, trip_id: str, origin: str, destination: str) -> None:
        super().__init__(model)
        self.vid = vid
        self.trip_id = trip_id
        self.origin = origin
        self.destination = destination
