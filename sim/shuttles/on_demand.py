"""On-demand service (DRT): requests inserted into shuttle plans, idle shuttles rebalanced.

**Assignment.** Each request is offered to every shuttle;
:func:`~sim.shuttles.insertion.best_insertion` finds the cheapest feasible place for its
pickup and dropoff in each plan, and the cheapest shuttle takes it (ties: earliest
pickup, then lowest index). Cost: the planned time added to the shuttle's plan plus
``wait_weight`` times the passenger's planned wait. A request no shuttle can serve within
its limits is rejected at once. Limits, in MATSim's form: planned pickup at most
``max_wait_s`` after the request, planned ride at most ``detour_alpha * direct ride time +
detour_beta_s``. A driving shuttle may be diverted from its next stop; an idle one waits
parked off the street at its last stop. Planned times are estimates
(:mod:`sim.shuttles.legs`): traffic and signals can make a realized pickup or ride exceed
a limit the plan kept; the summary counts such journeys.

**Rebalancing rule.** Every ``rebalance_interval_s`` while the service is open, demand
per stop is estimated as the requests made there in the last ``rebalance_window_s``.
Taking idle parked shuttles in index order, each moves to the stop with the highest
``demand / (1 + shuttles there or heading there)`` if that beats the same ratio at its
own stop (counting the others there), so idle shuttles spread in proportion to recent
demand.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Sequence
from dataclasses import replace

from sim.services import Services
from sim.shuttles.insertion import Insertion, Rider, Task, best_insertion, better, timeline
from sim.shuttles.legs import LegPlanner
from sim.shuttles.passenger import Passenger
from sim.shuttles.service import NO_INSERTION, Service
from sim.shuttles.shuttle import AutonomousShuttle, ShuttleState
from sim.shuttles.spec import Spec

__all__ = ["OnDemandService"]


class OnDemandService(Service):
    """Demand-responsive transit (see the module docstring for the rules).

    Attributes:
        plans: Per shuttle, its remaining tasks in order.
        riders: Limits of every rider accepted and not yet delivered.
        rebalanced: Rebalancing moves ordered so far.
    """

    def __init__(
        self, model: Services, spec: Spec, shuttles: Sequence[AutonomousShuttle], planner: LegPlanner
    ) -> None:
        super().__init__(model, spec, shuttles, planner)
        self.plans: list[tuple[Task, ...]] = [() for _ in self.shuttles]
        self.riders: dict[int, Rider] = {}
        self.rebalanced = 0
        self._passengers: dict[int, Passenger] = {}
        self._recent: deque[tuple[float, str]] = deque()

    def start(self) -> None:
        """Put every shuttle in service, parked at its home stop; start rebalancing and closing timers."""
        for shuttle in self.shuttles:
            shuttle.start_service()
        self.model.schedule(self.model.time_s + self.spec.rebalance_interval_s, self._rebalance)
        self.model.schedule(self.spec.service_end_s, self._close)

    # ----- requests -------------------------------------------------------------------
    def _accept(self, passenger: Passenger) -> bool:
        spec, req = self.spec, passenger.request
        self._recent.append((req.time_s, req.origin))
        rider = Rider(
            req.time_s + spec.max_wait_s, spec.detour_alpha * passenger.direct_time_s + spec.detour_beta_s
        )
        passenger.latest_pickup_s, passenger.max_ride_s = rider.latest_pickup_s, rider.max_ride_s
        riders = {**self.riders, passenger.pid: rider}
        pickup = Task(req.origin, passenger.pid, True, passenger.persons)
        dropoff = Task(req.destination, passenger.pid, False, passenger.persons)
        best: Insertion | None = None
        chosen = -1
        for shuttle in self.shuttles:
            start, start_s = shuttle.free_from()
            insertion = best_insertion(
                self.plans[shuttle.index], start, start_s, shuttle.load, shuttle.capacity, riders,
                passenger.pid, pickup, dropoff, self.planner.time_s, self.dwell_times, req.time_s,
                spec.wait_weight,
            )  # fmt: skip
            if insertion is not None and (best is None or better(insertion, best)):
                best, chosen = insertion, shuttle.index
        if best is None:
            passenger.reject(NO_INSERTION)
            return False
        self.riders[passenger.pid] = rider
        self._passengers[passenger.pid] = passenger
        passenger.promised_pickup_s, passenger.promised_dropoff_s = best.pickup_s, best.dropoff_s
        self.plans[chosen] = best.plan
        self._replanned(self.shuttles[chosen])
        return True

    def _forget(self, passenger: Passenger) -> None:
        del self.riders[passenger.pid]
        del self._passengers[passenger.pid]
        for shuttle in self.shuttles:
            plan = self.plans[shuttle.index]
            kept = tuple(task for task in plan if task.rider != passenger.pid)
            if len(kept) != len(plan):
                self.plans[shuttle.index] = kept
                self._replanned(shuttle)

    def _first_due_s(self, shuttle: AutonomousShuttle) -> float:
        start, start_s = shuttle.free_from()
        times = timeline(
            self.plans[shuttle.index], start, start_s, shuttle.load, self.planner.time_s, self.dwell_times
        )
        return times.task_s[0]

    def _replanned(self, shuttle: AutonomousShuttle) -> None:
        """Act on a changed plan: set off if idle, divert if its next stop changed."""
        plan = self.plans[shuttle.index]
        if shuttle.dwelling:
            return
        if shuttle.state is not ShuttleState.DRIVING:
            self._proceed(shuttle)
        elif plan and plan[0].node != shuttle.target:
            shuttle.drive_to(plan[0].node, self._first_due_s(shuttle))
        elif plan:
            shuttle.target_due_s = self._first_due_s(shuttle)

    # ----- shuttles -------------------------------------------------------------------
    def on_arrival(self, shuttle: AutonomousShuttle) -> None:
        """Serve the tasks at the stop the shuttle halted at, then go on."""
        self._proceed(shuttle)

    def _proceed(self, shuttle: AutonomousShuttle) -> None:
        """Serve the plan's leading tasks at the shuttle's node, then drive to the next, or park."""
        i, node = shuttle.index, shuttle.node
        plan = self.plans[i]
        here = 0
        while here < len(plan) and plan[here].node == node:
            here += 1
        if here:
            shuttle.arrive()
            self.plans[i] = plan[here:]
            tasks = [(task, self._passengers[task.rider]) for task in plan[:here]]
            dwell_s = self._exchange(
                shuttle, [p for t, p in tasks if not t.pickup], [p for t, p in tasks if t.pickup]
            )
            for task, passenger in tasks:
                if task.pickup:
                    self.riders[task.rider] = replace(self.riders[task.rider], board_s=passenger.board_s)
                else:
                    del self.riders[task.rider]
                    del self._passengers[task.rider]
            shuttle.dwell(dwell_s, lambda: self._proceed(shuttle))
            return
        if plan:
            shuttle.drive_to(plan[0].node, self._first_due_s(shuttle))
            return
        shuttle.park()
        if not self.open:
            shuttle.end_service()

    def _close(self) -> None:
        """At the end of the service window, idle shuttles go out of service."""
        for shuttle in self.shuttles:
            if (
                shuttle.state is ShuttleState.PARKED
                and not shuttle.dwelling
                and not self.plans[shuttle.index]
            ):
                shuttle.end_service()

    def _rebalance(self) -> None:
        """Move idle shuttles toward recent demand (the rule in the module docstring)."""
        if not self.open:
            return
        now = self.model.time_s
        while self._recent and self._recent[0][0] < now - self.spec.rebalance_window_s:
            self._recent.popleft()
        demand = dict.fromkeys(self.spec.stops, 0)
        for _, origin in self._recent:
            demand[origin] += 1
        supply = dict.fromkeys(self.spec.stops, 0)
        idle = []
        for shuttle in self.shuttles:
            if self.plans[shuttle.index]:
                continue
            if shuttle.state is ShuttleState.DRIVING:
                supply[shuttle.target] = supply.get(shuttle.target, 0) + 1
            elif not shuttle.dwelling:
                supply[shuttle.node] = supply.get(shuttle.node, 0) + 1
                idle.append(shuttle)
        for shuttle in idle:
            here = shuttle.node
            supply[here] -= 1
            best = max(self.spec.stops, key=lambda s: demand[s] / (1 + supply[s]))
            if demand[best] / (1 + supply[best]) > demand.get(here, 0) / (1 + supply[here]):
                shuttle.drive_to(best)
                supply[best] += 1
                self.rebalanced += 1
            else:
                supply[here] += 1
        self.model.schedule(now + self.spec.rebalance_interval_s, self._rebalance)
