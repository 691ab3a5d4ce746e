"""The private vehicle agent: created when its trip departs, removed when it arrives."""

from __future__ import annotations

import mesa

__all__ = ["Vehicle"]


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
