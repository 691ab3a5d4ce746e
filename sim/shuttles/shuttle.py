"""The autonomous shuttle agent: a kernel vehicle driven stop to stop by its service.

A shuttle is *parked* off the street at a node (before and after service, and when an
on-demand shuttle idles), *driving* a leg, or *halted* at the stop line at the end of
its leg. Each leg ends at a stop node, where the kernel halts the vehicle and reports
``STOP``; the shuttle then tells its service, which makes passengers alight and board
(a dwell on the street, via a timer) and sends it on with a new route starting on the
link it stands on. A parked shuttle re-enters traffic at the start of a link leaving its
node. Shuttles drive at the links' speed limits: the kernel has no per-vehicle limit. They are
battery-electric (:data:`SHUTTLE_EMISSION_CLASS`, SUMO's Energy model, for ``[emissions]``).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from enum import Enum
from typing import Protocol

import mesa
import numpy as np

from sim.agents.vehicle import VehicleEvent
from sim.emissions.classes import class_index
from sim.services import Services
from sim.shuttles.legs import LegPlanner, Position
from sim.shuttles.passenger import Passenger

__all__ = ["SHUTTLE_EMISSION_CLASS", "AutonomousShuttle", "CapacityError", "ShuttleService", "ShuttleState"]

SHUTTLE_EMISSION_CLASS = "Energy/default"
"""Every shuttle's emission class: a battery-electric vehicle with recuperation (docs/emissions.md)."""


class CapacityError(RuntimeError):
    """A service tried to board more people than a shuttle carries (a bug in the service)."""


class ShuttleState(Enum):
    """What a shuttle is doing."""

    PARKED = "parked"
    DRIVING = "driving"
    HALTED = "halted"


class ShuttleService(Protocol):
    """The service a shuttle reports to (fixed route or on demand)."""

    def on_approach(self, shuttle: AutonomousShuttle) -> None:
        """The shuttle nears the end of its leg (it may be sent on without halting)."""

    def on_arrival(self, shuttle: AutonomousShuttle) -> None:
        """The shuttle halted at the end of its leg."""


class AutonomousShuttle(mesa.Agent):
    """A shuttle with a capacity, driving a kernel vehicle for its service.

    Odometer, load and time are accounted between every change of load, so distance and
    time split exactly into empty and loaded parts.

    Attributes:
        index: Shuttle number in the fleet.
        capacity: Most passengers on board.
        state: Parked, driving or halted.
        position: Its node when parked, else the link it arrived on when halted.
        target: The node its current leg ends at (None when parked or halted).
        target_due_s: Planned arrival at the target (s); inf when none is planned.
        dwell_until_s: End of the current dwell or hold (s), NaN when not dwelling.
        onboard: Passengers on board.
        visits: One dict per stop visit or pass: shuttle, node, arrival and departure,
            arrival due (``due_s``), scheduled departure at a timing point
            (``depart_due_s``), people alighted and boarded, time held, load on leaving,
            and whether it drove through (``passed``).
    """

    def __init__(self, model: Services, index: int, capacity: int, home: str, planner: LegPlanner) -> None:
        super().__init__(model)
        self.index = index
        self.capacity = capacity
        self.planner = planner
        self.service: ShuttleService | None = None
        self.state = ShuttleState.PARKED
        self.position: Position = home
        self.target: str | None = None
        self.target_due_s = math.inf
        self.dwell_until_s = math.nan
        self.onboard: list[Passenger] = []
        self.visits: list[dict] = []
        self.vids: list[int] = []
        self.distance_m = self.empty_m = self.person_m = 0.0
        self.in_service_s = self.occupied_s = self.person_s = 0.0
        self._vid: int | None = None
        self._closed_m = 0.0
        self._mark: tuple[float, float] | None = None

    # ----- reading --------------------------------------------------------------------
    @property
    def load(self) -> int:
        """People on board."""
        return sum(p.persons for p in self.onboard)

    @property
    def node(self) -> str | None:
        """The node it stands at (parked or halted), None while driving."""
        return None if self.state is ShuttleState.DRIVING else self.planner.node_of(self.position)

    @property
    def dwelling(self) -> bool:
        """Whether a dwell or hold is running."""
        return not math.isnan(self.dwell_until_s)

    @property
    def vid(self) -> int | None:
        """Its vehicle in the kernel arrays, None while parked."""
        return self._vid

    def odometer_m(self) -> float:
        """Distance driven since the start (m)."""
        if self._vid is None:
            return self._closed_m
        return self._closed_m + float(self.model.traffic.distances_m(self._vid))

    def current_edge(self) -> int:
        """The link its vehicle is on or about to enter (driving or halted)."""
        return int(self.model.traffic.edges_of(self._vid))

    def free_from(self) -> tuple[Position, float]:
        """Where and from when (s) it can start a new plan: the end of its link, or its dwell's end."""
        now = self.model.time_s
        if self.state is ShuttleState.DRIVING:
            edge = self.current_edge()
            left = 1.0 - self.model.traffic.positions_m(self._vid) / self.planner.net.edge_length_m[edge]
            return edge, now + max(left, 0.0) * float(self.planner.edge_time_s[edge])
        return self.position, (self.dwell_until_s if self.dwelling else now)

    def lateness_s(self) -> float:
        """Planned arrival at the target minus the arrival due there (s); -inf without a target."""
        if self.state is not ShuttleState.DRIVING or not math.isfinite(self.target_due_s):
            return -math.inf
        start, start_s = self.free_from()
        return start_s + self.planner.leg(start, self.target).time_s - self.target_due_s

    # ----- service time and accounting ------------------------------------------------
    def start_service(self) -> None:
        """Start counting its in-service time and distance now."""
        self._mark = (self.model.time_s, self.odometer_m())

    def account(self) -> None:
        """Bring distance, load and time accounts up to now (no-op out of service)."""
        if self._mark is None:
            return
        now, odometer = self.model.time_s, self.odometer_m()
        driven, elapsed = odometer - self._mark[1], now - self._mark[0]
        load = self.load
        self.distance_m += driven
        self.empty_m += driven if load == 0 else 0.0
        self.person_m += load * driven
        self.in_service_s += elapsed
        self.occupied_s += elapsed if load > 0 else 0.0
        self.person_s += load * elapsed
        self._mark = (now, odometer)

    def end_service(self) -> None:
        """Close its accounts now (after service, or when the run ends)."""
        self.account()
        self._mark = None

    # ----- moves ----------------------------------------------------------------------
    def drive_to(self, node: str, due_s: float = math.inf) -> None:
        """Drive to ``node`` (from a parked node, a halt, or diverting while driving).

        Args:
            node: The stop to halt at; not the node it stands at.
            due_s: Planned arrival there (s), for its lateness.
        """
        start = self.current_edge() if self.state is ShuttleState.DRIVING else self.position
        leg = self.planner.leg(start, node)
        self._close_visit()
        if self._vid is None:
            self._vid = self.model.add_vehicle(leg.path, self, max_speed_mps=self.planner.max_speed_mps)
            self.model.traffic.set_emission_class(np.array([self._vid]), class_index(SHUTTLE_EMISSION_CLASS))
            self.vids.append(self._vid)
        else:
            self.model.set_route(self._vid, leg.path)
        self.state = ShuttleState.DRIVING
        self.target = node
        self.target_due_s = due_s

    def park(self) -> None:
        """Leave the street at the node it halted at (or stay parked)."""
        self._close_visit()
        if self._vid is not None:
            self.account()
            self._closed_m = self.odometer_m()
            self.model.remove_vehicle(self._vid)
            self._vid = None
            self.position = self.planner.node_of(self.position)
        self.state = ShuttleState.PARKED

    def dwell(self, duration_s: float, then: Callable[[], None]) -> None:
        """Stand for ``duration_s`` where it is, then call ``then``."""
        self.dwell_until_s = self.model.time_s + duration_s

        def done() -> None:
            self.dwell_until_s = math.nan
            then()

        self.model.schedule(self.dwell_until_s, done)

    # ----- visits ---------------------------------------------------------------------
    def arrive(self) -> None:
        """Open the record of a visit at the node it stands at."""
        if self.visits and math.isnan(self.visits[-1]["depart_s"]):
            return
        self.visits.append(
            {
                "shuttle": self.index,
                "node": self.node,
                "arrive_s": self.model.time_s,
                "depart_s": math.nan,
                "due_s": self.target_due_s if self.state is not ShuttleState.PARKED else math.nan,
                "depart_due_s": math.nan,
                "alighted": 0,
                "boarded": 0,
                "held_s": 0.0,
                "load": self.load,
                "passed": False,
            }
        )

    def pass_stop(self, node: str) -> None:
        """Record driving through stop ``node`` without halting."""
        now = self.model.time_s
        row = {"shuttle": self.index, "node": node, "arrive_s": now, "depart_s": now}
        row |= {"due_s": self.target_due_s, "depart_due_s": math.nan}
        self.visits.append(
            row | {"alighted": 0, "boarded": 0, "held_s": 0.0, "load": self.load, "passed": True}
        )

    def hold(self, duration_s: float) -> None:
        """Count ``duration_s`` of holding in the open visit."""
        self.visits[-1]["held_s"] += duration_s

    def schedule_departure(self, due_s: float) -> None:
        """Note the scheduled departure (s) of the open visit, at a timing point."""
        self.visits[-1]["depart_due_s"] = due_s

    def _close_visit(self) -> None:
        if self.visits and math.isnan(self.visits[-1]["depart_s"]):
            self.visits[-1]["depart_s"] = self.model.time_s
            self.visits[-1]["load"] = self.load

    def alight(self, passenger: Passenger, arrived_s: float) -> None:
        """Let ``passenger`` off; the shuttle arrived at ``arrived_s``."""
        self.account()
        self.onboard.remove(passenger)
        passenger.alight(arrived_s, self.odometer_m())
        self.visits[-1]["alighted"] += passenger.persons

    def board(self, passenger: Passenger, arrived_s: float) -> None:
        """Take ``passenger`` on board; the shuttle arrived at ``arrived_s`` (or later, if it came later)."""
        if self.load + passenger.persons > self.capacity:
            raise CapacityError(
                f"shuttle {self.index}: boarding passenger {passenger.pid} ({passenger.persons} people) "
                f"with {self.load} on board would exceed its capacity {self.capacity}"
            )
        self.account()
        passenger.board(self.index, max(arrived_s, passenger.request.time_s), self.odometer_m())
        self.onboard.append(passenger)
        self.visits[-1]["boarded"] += passenger.persons

    # ----- kernel events --------------------------------------------------------------
    def on_vehicle_event(self, vid: int, event: VehicleEvent) -> None:
        """Forward the end of a leg to the service: halted there, or approaching it."""
        if self.service is None or vid != self._vid:
            return
        if event is VehicleEvent.STOP:
            self.state = ShuttleState.HALTED
            self.position = self.current_edge()
            self.target = None
            self.arrive()
            self.service.on_arrival(self)
        elif event is VehicleEvent.APPROACH:
            self.service.on_approach(self)
