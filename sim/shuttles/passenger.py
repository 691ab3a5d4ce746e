"""The passenger agent: requests a ride, waits, boards, rides and alights, or gives up."""

from __future__ import annotations

import math
from enum import Enum

import mesa

from sim.services import Services
from sim.shuttles.requests import Request

__all__ = ["JourneyError", "Passenger", "PassengerState"]


class JourneyError(RuntimeError):
    """A passenger asked to make a move its state does not allow (a bug in a service)."""


class PassengerState(Enum):
    """Where a passenger is in its journey."""

    WAITING = "waiting"
    RIDING = "riding"
    ARRIVED = "arrived"
    REJECTED = "rejected"
    GAVE_UP = "gave_up"


class Passenger(mesa.Agent):
    """A party of passengers travelling together from one stop to another.

    Times are simulated seconds, distances metres; NaN until they happen.

    Attributes:
        pid: Index of the request.
        request: The request (time, origin, destination, party size).
        direct_time_s, direct_m: Planned time and distance of the direct (unshared) ride.
        state: The journey's state.
        reason: Why it was rejected ("" otherwise).
        shuttle: Index of the shuttle that carries it, or -1.
        board_s, alight_s: When its shuttle arrived at the origin (the wait ends) and at
            the destination (the ride ends).
        ride_m: Distance driven by its shuttle between boarding and alighting.
        latest_pickup_s, max_ride_s: On demand: the limits it was accepted with.
        promised_pickup_s, promised_dropoff_s: On demand: the planned times at acceptance.
        gave_up_s: When it gave up waiting.
    """

    def __init__(self, model: Services, pid: int, request: Request, direct_time_s: float, direct_m: float):
        super().__init__(model)
        self.pid = pid
        self.request = request
        self.direct_time_s = direct_time_s
        self.direct_m = direct_m
        self.state = PassengerState.WAITING
        self.reason = ""
        self.shuttle = -1
        self.board_s = self.alight_s = self.gave_up_s = math.nan
        self.ride_m = math.nan
        self._board_odometer_m = math.nan
        self.latest_pickup_s = self.max_ride_s = math.nan
        self.promised_pickup_s = self.promised_dropoff_s = math.nan

    @property
    def persons(self) -> int:
        """Party size."""
        return self.request.party_size

    def _require(self, state: PassengerState, move: str) -> None:
        if self.state is not state:
            raise JourneyError(f"passenger {self.pid} cannot {move} while {self.state.value}")

    def reject(self, reason: str) -> None:
        """The service cannot serve the request."""
        self._require(PassengerState.WAITING, "be rejected")
        self.state = PassengerState.REJECTED
        self.reason = reason

    def board(self, shuttle: int, time_s: float, odometer_m: float) -> None:
        """Board shuttle ``shuttle``, which arrived at ``time_s`` with odometer ``odometer_m``."""
        self._require(PassengerState.WAITING, "board")
        if time_s < self.request.time_s:
            raise JourneyError(f"passenger {self.pid} cannot board at {time_s:g} s before its request")
        self.state = PassengerState.RIDING
        self.shuttle = shuttle
        self.board_s = time_s
        self._board_odometer_m = odometer_m

    def alight(self, time_s: float, odometer_m: float) -> None:
        """Alight at the destination, where the shuttle arrived at ``time_s``."""
        self._require(PassengerState.RIDING, "alight")
        self.state = PassengerState.ARRIVED
        self.alight_s = time_s
        self.ride_m = odometer_m - self._board_odometer_m

    def give_up(self, time_s: float) -> None:
        """Stop waiting."""
        self._require(PassengerState.WAITING, "give up")
        self.state = PassengerState.GAVE_UP
        self.gave_up_s = time_s

    def record(self) -> dict:
        """One row of the ``shuttle_passengers`` records."""
        req = self.request
        return {
            "id": self.pid,
            "request_s": req.time_s,
            "origin": req.origin,
            "destination": req.destination,
            "party_size": req.party_size,
            "status": self.state.value,
            "reason": self.reason,
            "shuttle": self.shuttle,
            "board_s": self.board_s,
            "alight_s": self.alight_s,
            "gave_up_s": self.gave_up_s,
            "wait_s": self.board_s - req.time_s,
            "ride_s": self.alight_s - self.board_s,
            "direct_time_s": self.direct_time_s,
            "direct_m": self.direct_m,
            "ride_m": self.ride_m,
            "detour_factor": self.ride_m / self.direct_m if self.direct_m > 0 else math.nan,
            "latest_pickup_s": self.latest_pickup_s,
            "max_ride_s": self.max_ride_s,
            "promised_pickup_s": self.promised_pickup_s,
            "promised_dropoff_s": self.promised_dropoff_s,
        }
