"""Wiring of the shuttle feature into a model: fleet, service, requests, priority, records."""

from __future__ import annotations

import logging
from collections.abc import Sequence

import numpy as np
import pandas as pd

from sim.metrics.catalog import Metric
from sim.routing import RoutingError
from sim.schema import ScenarioError
from sim.services import Services
from sim.shuttles.fixed_route import FixedRouteService
from sim.shuttles.legs import LegPlanner
from sim.shuttles.metrics import passenger_frame, shuttle_summary, vehicle_frame, visit_frame
from sim.shuttles.on_demand import OnDemandService
from sim.shuttles.passenger import Passenger
from sim.shuttles.priority import SignalPriority
from sim.shuttles.requests import Request, poisson_requests, read_request_table
from sim.shuttles.service import Service
from sim.shuttles.shuttle import AutonomousShuttle
from sim.shuttles.spec import Spec

__all__ = ["OUTSIDE_HOURS", "ShuttleFeature", "attach"]

_log = logging.getLogger(__name__)
_STREAM = 0x5348_5554
"""Spawn key of the shuttles' random stream ("SHUT"), apart from every other component's."""
OUTSIDE_HOURS = "outside the service hours"
"""Rejection reason: a request-table request before ``service_start_s`` or after ``service_end_s``."""


class ShuttleFeature:
    """The shuttle service of one model run: what :func:`attach` returns.

    Attributes:
        spec: The ``[shuttles]`` table.
        planner: The leg planner every shuttle and the service plan with.
        shuttles: The fleet.
        service: The fixed-route or on-demand dispatcher.
        priority: The signal priority agent, or None.
        passengers: Every request so far, as passenger agents.
    """

    headline_metrics = (
        Metric("requests", "shuttle requests", "{:,.0f}", "none"),
        Metric("served", "shuttle passengers delivered", "{:,.0f}", "higher"),
        Metric("unserved_rate", "shuttle requests rejected or given up", "{:.1%}"),
        Metric("wait_mean_s", "shuttle wait, mean (s)"),
        Metric("wait_p95_s", "shuttle wait, 95th pct (s)"),
        Metric("in_vehicle_mean_s", "shuttle ride time, mean (s)"),
        Metric("detour_factor_mean", "shuttle detour factor, mean", "{:.2f}"),
        Metric("passenger_km_per_vehicle_km", "shuttle passenger-km per vehicle-km", "{:.2f}", "higher"),
    )

    def __init__(
        self,
        model: Services,
        spec: Spec,
        planner: LegPlanner,
        shuttles: Sequence[AutonomousShuttle],
        service: Service,
        priority: SignalPriority | None,
        requests: Sequence[Request],
    ) -> None:
        self.model = model
        self.spec = spec
        self.planner = planner
        self.shuttles = tuple(shuttles)
        self.service = service
        self.priority = priority
        self.passengers: list[Passenger] = []
        self._requests = tuple(requests)
        self._next = 0

    def start(self) -> None:
        """Open the service (at ``service_start_s``)."""
        self.service.start()
        if self.priority is not None:
            self.priority.start()
        self._release()

    def _release(self) -> None:
        """Hand every request now due to the service; wake up again at the next one."""
        now = self.model.time_s
        spec = self.spec
        while self._next < len(self._requests) and self._requests[self._next].time_s <= now + 1e-9:
            request = self._requests[self._next]
            direct = self.planner.leg(request.origin, request.destination)
            passenger = Passenger(self.model, self._next, request, direct.time_s, direct.length_m)
            self.passengers.append(passenger)
            self._next += 1
            if spec.service_start_s <= request.time_s < spec.service_end_s:
                self.service.request(passenger)
            else:
                passenger.reject(OUTSIDE_HOURS)
        if self._next < len(self._requests):
            self.model.schedule(self._requests[self._next].time_s, self._release)

    def records(self) -> dict[str, pd.DataFrame]:
        """``shuttle_passengers``, ``shuttle_visits``, ``shuttle_vehicles`` and ``shuttle_priority``."""
        actions = self.priority.actions if self.priority is not None else []
        return {
            "shuttle_passengers": passenger_frame(self.passengers),
            "shuttle_visits": visit_frame(self.shuttles),
            "shuttle_vehicles": vehicle_frame(self.shuttles),
            "shuttle_priority": pd.DataFrame(
                actions,
                columns=["time_s", "shuttle", "signal", "node", "mode", "lateness_s", "released_s"],
            ),
        }

    def summary(self) -> dict:
        """Passenger and shuttle metrics (see :func:`sim.shuttles.metrics.shuttle_summary`)."""
        summary = shuttle_summary(
            passenger_frame(self.passengers),
            vehicle_frame(self.shuttles),
            self.spec.service,
            len(self.shuttles),
        )
        summary["priority_actions"] = len(self.priority.actions) if self.priority is not None else 0
        return summary


def _check_stops(model: Services, spec: Spec, planner: LegPlanner) -> None:
    source = model.config.source
    known = set(model.net.node_ids)
    for i, stop in enumerate(spec.stops):
        if stop not in known:
            raise ScenarioError(
                source, f"shuttles.stops[{i}]", f"expected a node of the network, got {stop!r}"
            )
    for i, origin in enumerate(spec.stops):
        for destination in spec.stops:
            try:
                planner.leg(origin, destination)
            except RoutingError as exc:
                raise ScenarioError(source, f"shuttles.stops[{i}]", f"unreachable stop: {exc}") from None


def _requests(model: Services, spec: Spec) -> tuple[Request, ...]:
    if spec.requests is not None:
        return read_request_table(spec.requests, spec.stops, source=model.config.source)
    rates = [(od.origin, od.destination, od.rate_pph) for od in spec.od]
    if not rates:
        pairs = [(o, d) for o in spec.stops for d in spec.stops if o != d]
        rates = [(o, d, spec.request_rate_pph / len(pairs)) for o, d in pairs]
    rng = np.random.default_rng([model.seed, _STREAM])
    return poisson_requests(rates, spec.profile, spec.service_start_s, spec.service_end_s, rng)


def attach(model: Services, spec: Spec) -> ShuttleFeature:
    """Add the shuttle service of ``spec`` to a model (through :class:`~sim.services.Services`).

    Shuttles, passengers, the dispatcher and the signal priority agent are Mesa agents of
    the model. The service opens at ``service_start_s`` (a timer).

    Raises:
        ScenarioError: If a stop is not a node of the network or cannot be reached.
    """
    planner = LegPlanner(model.net, spec.planning_speed_factor, spec.signal_delay_s, spec.max_speed_mps)
    _check_stops(model, spec, planner)
    on_demand = spec.service == "on_demand"
    shuttles = [
        AutonomousShuttle(
            model, i, spec.capacity, spec.stops[i % len(spec.stops) if on_demand else 0], planner
        )
        for i in range(spec.fleet_size)
    ]
    service_class = OnDemandService if on_demand else FixedRouteService
    service = service_class(model, spec, shuttles, planner)
    priority = None
    if spec.signal_priority and len(model.net.signal_nodes):
        priority = SignalPriority(model, spec, shuttles)
    if not shuttles:
        _log.warning("shuttles: fleet_size = 0, every request will be rejected")
    feature = ShuttleFeature(model, spec, planner, shuttles, service, priority, _requests(model, spec))
    model.schedule(spec.service_start_s, feature.start)
    return feature
