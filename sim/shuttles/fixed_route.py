"""Fixed-route service: shuttles loop through the stops on a timetable, holding at timing points.

**Timetable.** The scheduled running time of a leg is its planned time (see
:mod:`sim.shuttles.legs`), and each stop gets a dwell allowance of one door time, one
boarding and one alighting. The loop time ``L`` is the sum over all legs and stops. With
``N`` shuttles the headway is ``H = max(headway_s, L / N)`` and the cycle ``C = N * H``
(``C - L`` is layover at the first stop). Shuttle ``i`` starts its ``r``-th loop from the
first stop at ``T(i, r) = service_start_s + i * H + r * C``; its scheduled arrival at a
stop is ``T`` plus the scheduled running time to it, its scheduled departure that plus the
dwell allowance (at the first stop: the next loop's ``T``).

**Holding rule (schedule-based).** At a timing point a shuttle never departs before its
scheduled departure: an early shuttle holds at the stop (passengers keep boarding), a
late one leaves as soon as its passengers have boarded. Elsewhere it leaves when boarding
ends. Passengers board first come, first served, skipping parties that do not fit.

**Request stops.** Near a stop, a shuttle drives through without halting when nobody on
board alights there, nobody waits there, and it is not early at a timing point.

After ``service_end_s`` a shuttle goes out of service (parks) at the first stop where it
is empty and nobody waits anywhere on the line.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from sim.services import Services
from sim.shuttles.legs import LegPlanner, Position
from sim.shuttles.passenger import Passenger
from sim.shuttles.service import Service
from sim.shuttles.shuttle import AutonomousShuttle
from sim.shuttles.spec import Spec

__all__ = ["FixedRouteService"]

_SETTLE_LAPS = 3


class FixedRouteService(Service):
    """A loop line with a timetable (see the module docstring for the rules).

    Attributes:
        offsets_s: Scheduled arrival at each stop after leaving the first, and (last)
            back at the first (s).
        loop_s: Scheduled loop time including every stop's dwell allowance (s).
        loop_m: Length of the loop (m).
        headway_s: Scheduled headway (s).
        cycle_s: Time between two departures of one shuttle from the first stop (s).
    """

    def __init__(
        self, model: Services, spec: Spec, shuttles: Sequence[AutonomousShuttle], planner: LegPlanner
    ) -> None:
        super().__init__(model, spec, shuttles, planner)
        self.stops = spec.stops
        self._timing = frozenset(spec.timing_stops)
        self._queues: dict[str, list[Passenger]] = {stop: [] for stop in self.stops}
        self._allowance_s = self.dwell_times.visit_s(1, 1)
        self.offsets_s, self.loop_m = self._timetable()
        self.loop_s = self.offsets_s[-1] + self._allowance_s
        n = len(self.shuttles)
        self.headway_s = max(spec.headway_s, self.loop_s / n) if n else math.inf
        self.cycle_s = n * self.headway_s
        self._trip = [0] * n
        self._stop = [0] * n

    def _timetable(self) -> tuple[tuple[float, ...], float]:
        """Scheduled arrival offsets along the loop, laps repeated until the arrival link settles."""
        m = len(self.stops)
        position: Position = self.stops[0]
        for _ in range(_SETTLE_LAPS):
            offsets, length_m, start = [0.0], 0.0, position
            for k in range(1, m + 1):
                leg = self.planner.leg(position, self.stops[k % m])
                offsets.append(offsets[-1] + leg.time_s + (self._allowance_s if k > 1 else 0.0))
                length_m += leg.length_m
                position = leg.end
            if position == start:
                break
        return tuple(offsets), length_m

    # ----- timetable ------------------------------------------------------------------
    def _loop_start_s(self, i: int) -> float:
        return self.spec.service_start_s + i * self.headway_s + self._trip[i] * self.cycle_s

    def _due_arrival_s(self, i: int) -> float:
        k = self._stop[i]
        if k == 0:
            return self._loop_start_s(i) - self.cycle_s + self.offsets_s[-1]
        return self._loop_start_s(i) + self.offsets_s[k]

    def _due_departure_s(self, i: int) -> float:
        k = self._stop[i]
        if k == 0:
            return self._loop_start_s(i)
        return self._loop_start_s(i) + self.offsets_s[k] + self._allowance_s

    # ----- service --------------------------------------------------------------------
    def start(self) -> None:
        """Dispatch shuttle ``i`` from the first stop at ``service_start_s + i * headway_s``."""
        for i, shuttle in enumerate(self.shuttles):
            self.model.schedule(self._loop_start_s(i), lambda s=shuttle: self._dispatch(s))

    def _dispatch(self, shuttle: AutonomousShuttle) -> None:
        shuttle.start_service()
        self._visit(shuttle)

    def _accept(self, passenger: Passenger) -> bool:
        self._queues[passenger.request.origin].append(passenger)
        return True

    def _forget(self, passenger: Passenger) -> None:
        self._queues[passenger.request.origin].remove(passenger)

    def _anyone_waiting(self) -> bool:
        return any(self._queues.values())

    def _fits(self, node: str, room: int) -> list[Passenger]:
        """Waiting parties at ``node`` that board, first come first served, within ``room`` seats."""
        boarding = []
        for passenger in self._queues[node]:
            if passenger.persons <= room:
                boarding.append(passenger)
                room -= passenger.persons
        for passenger in boarding:
            self._queues[node].remove(passenger)
        return boarding

    def on_approach(self, shuttle: AutonomousShuttle) -> None:
        """Drive through the stop ahead unless someone alights, waits, or the shuttle must hold."""
        i = shuttle.index
        node = self.stops[self._stop[i]]
        arrival_s = shuttle.free_from()[1]
        halt = (
            any(p.request.destination == node for p in shuttle.onboard)
            or bool(self._queues[node])
            or (node in self._timing and self._due_departure_s(i) > arrival_s)
            or self._retiring(shuttle)
        )
        if not halt:
            shuttle.pass_stop(node)
            self._advance(shuttle)

    def on_arrival(self, shuttle: AutonomousShuttle) -> None:
        """Serve the stop the shuttle halted at."""
        self._visit(shuttle)

    def _retiring(self, shuttle: AutonomousShuttle) -> bool:
        return not self.open and shuttle.load == 0 and not self._anyone_waiting()

    def _visit(self, shuttle: AutonomousShuttle) -> None:
        shuttle.arrive()
        node = shuttle.node
        alighting = [p for p in shuttle.onboard if p.request.destination == node]
        room = shuttle.capacity - shuttle.load + sum(p.persons for p in alighting)
        dwell_s = self._exchange(shuttle, alighting, self._fits(node, room))
        self._after(shuttle, dwell_s)

    def _after(self, shuttle: AutonomousShuttle, dwell_s: float) -> None:
        if dwell_s > 0.0:
            shuttle.dwell(dwell_s, lambda: self._ready(shuttle))
        else:
            self._ready(shuttle)

    def _ready(self, shuttle: AutonomousShuttle) -> None:
        """Boarding is over: board newcomers, hold if early at a timing point, else leave."""
        i, node, now = shuttle.index, shuttle.node, self.model.time_s
        newcomers = self._fits(node, shuttle.capacity - shuttle.load)
        if newcomers:
            self._after(shuttle, self._exchange(shuttle, (), newcomers))
            return
        if node in self._timing:
            due_s = self._due_departure_s(i)
            shuttle.schedule_departure(due_s)
            if due_s - now > 1e-9:
                shuttle.hold(due_s - now)
                shuttle.dwell(due_s - now, lambda: self._ready(shuttle))
                return
        if self._retiring(shuttle):
            shuttle.park()
            shuttle.end_service()
            return
        self._advance(shuttle)

    def _advance(self, shuttle: AutonomousShuttle) -> None:
        """Send the shuttle to the next stop of the loop."""
        i = shuttle.index
        self._stop[i] = (self._stop[i] + 1) % len(self.stops)
        if self._stop[i] == 0:
            self._trip[i] += 1
        shuttle.drive_to(self.stops[self._stop[i]], self._due_arrival_s(i))
