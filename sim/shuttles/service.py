"""What both shuttle services share: admitting requests, passengers giving up, visits."""

from __future__ import annotations

from collections.abc import Sequence

import mesa

from sim.services import Services
from sim.shuttles.insertion import Dwell
from sim.shuttles.legs import LegPlanner
from sim.shuttles.passenger import Passenger, PassengerState
from sim.shuttles.shuttle import AutonomousShuttle
from sim.shuttles.spec import Spec

__all__ = ["NO_FLEET", "NO_INSERTION", "PARTY_TOO_LARGE", "Service"]

NO_FLEET = "no shuttles in service"
"""Rejection reason: the fleet is empty."""
PARTY_TOO_LARGE = "party larger than a shuttle"
"""Rejection reason: the party does not fit in an empty shuttle."""
NO_INSERTION = "no shuttle can serve it within the wait and detour limits"
"""Rejection reason (on demand): no feasible insertion."""


class Service(mesa.Agent):
    """Base of the fixed-route and on-demand services (a dispatcher agent).

    Args:
        model: The city model.
        spec: The ``[shuttles]`` table.
        shuttles: The fleet; each reports its legs' ends to this service.
        planner: Leg planner.
    """

    def __init__(
        self, model: Services, spec: Spec, shuttles: Sequence[AutonomousShuttle], planner: LegPlanner
    ) -> None:
        super().__init__(model)
        self.spec = spec
        self.shuttles = tuple(shuttles)
        self.planner = planner
        self.dwell_times = Dwell(spec.door_time_s, spec.board_time_s, spec.alight_time_s)
        for shuttle in self.shuttles:
            shuttle.service = self

    @property
    def open(self) -> bool:
        """Whether the service window is still open (requests still come)."""
        return self.model.time_s < self.spec.service_end_s

    def start(self) -> None:
        """Put the fleet in service (called at ``service_start_s``)."""
        raise NotImplementedError

    def request(self, passenger: Passenger) -> None:
        """Take a new request: reject it, or accept it and let the passenger give up after its patience."""
        if not self.shuttles:
            passenger.reject(NO_FLEET)
        elif passenger.persons > self.spec.capacity:
            passenger.reject(PARTY_TOO_LARGE)
        elif self._accept(passenger):
            deadline_s = passenger.request.time_s + self.spec.patience_s
            self.model.schedule(deadline_s, lambda: self._give_up(passenger))

    def _give_up(self, passenger: Passenger) -> None:
        if passenger.state is PassengerState.WAITING:
            passenger.give_up(self.model.time_s)
            self._forget(passenger)

    def _accept(self, passenger: Passenger) -> bool:
        """Plan the passenger's trip; False if rejected."""
        raise NotImplementedError

    def _forget(self, passenger: Passenger) -> None:
        """Drop a passenger who gave up from the service's plans."""
        raise NotImplementedError

    def on_approach(self, shuttle: AutonomousShuttle) -> None:
        """A shuttle nears the end of its leg."""

    def on_arrival(self, shuttle: AutonomousShuttle) -> None:
        """A shuttle halted at the end of its leg."""
        raise NotImplementedError

    def _exchange(
        self, shuttle: AutonomousShuttle, alighting: Sequence[Passenger], boarding: Sequence[Passenger]
    ) -> float:
        """Let passengers off, then on, at the shuttle's open visit; returns the dwell (s)."""
        arrived_s = shuttle.visits[-1]["arrive_s"]
        for passenger in alighting:
            shuttle.alight(passenger, arrived_s)
        for passenger in boarding:
            shuttle.board(passenger, arrived_s)
        return self.dwell_times.visit_s(sum(p.persons for p in boarding), sum(p.persons for p in alighting))
