"""CityModel: wires the network, demand, traffic kernel, agents and recorders; owns the step order."""

from __future__ import annotations

import functools
import importlib
import logging
import math
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, fields
from typing import Protocol

import mesa
import numpy as np
import pandas as pd
from tqdm.auto import tqdm

from sim import __version__
from sim.agents.vehicle import Vehicle, VehicleEvent, VehicleListener
from sim.clock import Clock, EventKind
from sim.control.base import Intersection, IntersectionView, SignalController
from sim.control.holds import SignalHolds
from sim.control.observe import Observation
from sim.control.registry import controller_class
from sim.control.timing import DemandFlows, signal_plans
from sim.demand import Trips, trips_for
from sim.fleet import Fleet
from sim.metrics.catalog import SECTION_METRICS_INFO, Metric, section_declarations
from sim.metrics.results import RunResults
from sim.metrics.summary import HORIZON_INFO
from sim.network import build_network, compile_network
from sim.recorders import Recorder
from sim.routing import ROUTING_INFO, SKIPPED_TRIPS_METRIC, Router
from sim.scenario import SAFETY, SECTIONS, Overrides, Scenario, load_scenario
from sim.tables import DEFAULT_VEHICLE_TYPE
from sim.traffic.codes import ST_ARRIVED
from sim.traffic.state import CarFollowing, TrafficState

__all__ = ["CityModel", "Feature"]

_log = logging.getLogger(__name__)
_EPS = 1e-9


class Feature(Protocol):
    """What an optional scenario section adds to a model (see :data:`sim.scenario.SECTIONS`)."""

    def records(self) -> dict[str, pd.DataFrame]:
        """Its record frames by name, stored beside the run's trips, series and links."""

    def summary(self) -> dict:
        """Its summary metrics (JSON-compatible), stored in the run's info under its name."""

    @property
    def headline_metrics(self) -> tuple[Metric, ...]:
        """The keys of :meth:`summary` that are headline metrics of a run (see :mod:`sim.metrics.catalog`)."""


class CityModel(mesa.Model):
    """One simulation of a scenario.

    Each :meth:`step` advances ``scenario.simulation.dt_s`` seconds: due departures are
    released (a :class:`Vehicle` agent is created for each), due signal controllers
    decide, the kernel moves every vehicle, arrived vehicles' agents are removed, and at
    every reporting interval the recorders sample the network.

    The validated scenario is ``model.config``: Mesa 3.5 reserves ``Model.scenario`` for its
    own experimental ``Scenario`` objects (SolaraViz reads it), so citysim's goes by another name.

    Args:
        scenario: The validated scenario (a file is read by :meth:`from_file`).
        seed: Overrides ``scenario.seed``. Demand, routing and driver randomness use
            separate streams spawned from it, so adding a component does not shift another.
    """

    def __init__(self, scenario: Scenario, seed: int | None = None) -> None:
        if not isinstance(scenario, Scenario):
            raise TypeError(
                f"CityModel takes a validated Scenario, got {type(scenario).__name__} {scenario!r}; "
                "for a scenario file use CityModel.from_file(path, overrides=..., seed=...)"
            )
        seed = scenario.seed if seed is None else int(seed)
        super().__init__(rng=seed)
        t0 = time.perf_counter()
        self.config = scenario
        self.seed = seed
        sim_spec = scenario.simulation
        self.dt_s = sim_spec.dt_s
        demand_ss, kernel_ss, fleet_ss = np.random.SeedSequence(seed).spawn(3)
        self.graph = build_network(scenario.network.type, scenario.network.kwargs())
        self.net = compile_network(self.graph, scenario.signals.phasing())
        self.router = Router(self.graph, self.net)
        # trips that cannot be driven are left out of the run and reported with it
        demand = trips_for(scenario, self.graph, np.random.default_rng(demand_ss))
        self.routed = self.router.route_trips(demand)
        self.trips: Trips = self.routed.trips
        route_ids = self.routed.route_ids
        self.free_flow_s, self.route_length_m = self.routed.free_flow_s, self.routed.length_m
        if self.routed.skipped:
            _log.warning("%d trips skipped: %s", len(self.routed.skipped), self.routed.skipped[0].detail)
        self.fleet = Fleet(scenario.vehicles, scenario.vehicle_types, np.random.default_rng(fleet_ss))
        # the [vehicles] keys the kernel takes; the speed factor distribution is the fleet's
        taken = {f.name for f in fields(CarFollowing)}
        self.traffic = TrafficState(
            self.net,
            CarFollowing(
                **{k: v for k, v in asdict(scenario.vehicles).items() if k in taken},
                gaps_s=scenario.right_of_way.gaps_s(),
                signal_left_follow_up_s=scenario.right_of_way.signal_left_follow_up_s,
                left_wait_vehicles=scenario.right_of_way.left_wait_vehicles,
            ),
            self.dt_s,
            seed=int(kernel_ss.generate_state(1)[0]),
            vehicle_capacity=len(self.trips),
            jam_spacing_m=self.fleet.jam_spacing_m,
        )
        spans = self.traffic.add_routes(self.router.route_edges, self.router.route_conns).reshape(-1, 2)
        ids = self.traffic.add_vehicles(spans[route_ids, 0], spans[route_ids, 1])
        self.fleet.assign(self.traffic, ids, self.trips.types)
        self.traffic.schedule(ids, self.trips.depart_s)
        self.clock = Clock(self.dt_s)
        # the pending decision and report events; an event whose time is no longer the armed
        # one was superseded (a controller replaced, a report taken early) and does nothing
        self._armed_s = {EventKind.DECISION: math.inf, EventKind.REPORT: math.inf}
        self.controllers, self._decision_s = self._make_controllers()
        self._arm(EventKind.DECISION, float(self._decision_s.min(initial=math.inf)))
        self._released = 0
        self._vehicles: dict[int, Vehicle] = {}
        self._listeners: dict[int, VehicleListener] = {}
        self.holds = SignalHolds(self._request_held_phase)
        self._report_every_s = sim_spec.report_interval_s
        self._arm(EventKind.REPORT, self._report_every_s)
        self.recorder = Recorder(self, self.traffic, self.net, sim_spec.gridlock_s)
        self.features = {
            name: importlib.import_module(SECTIONS[name]).attach(self, spec)
            for name, spec in scenario.sections
        }
        self.traffic.warm_up()
        self.sim_wall_s = 0.0
        self.setup_wall_s = time.perf_counter() - t0

    @classmethod
    def from_file(
        cls, path: str | os.PathLike[str], overrides: Overrides = (), seed: int | None = None
    ) -> CityModel:
        """The model of a scenario file, read and validated by :func:`sim.scenario.load_scenario`.

        Args:
            path: The scenario TOML file.
            overrides: ``["demand.scale=1.5"]`` or ``{"demand.scale": 1.5}``, checked like the file's keys.
            seed: Overrides the scenario's seed.

        Raises:
            ScenarioError: If the file cannot be read or the scenario or an override is invalid.
        """
        return cls(load_scenario(path, overrides), seed=seed)

    # ----- set-up -----------------------------------------------------------------
    def _make_controllers(self) -> tuple[list[SignalController], np.ndarray]:
        """One controller of class ``signals.controller`` per signal, started in the kernel.

        Each signal runs its plan (:func:`sim.control.timing.signal_plans`: the scenario's
        timing, or the node's own ``signal_plan``); the kernel gets the plan's yellow,
        all-red and minimum green of each phase, the controller its :class:`Intersection` and the
        scenario's settings of its class.

        Returns:
            The controllers in signal order, and the time of each one's first decision (s).
        """
        spec, vehicles = self.config.signals, self.config.vehicles
        flows = DemandFlows.of(self.router, self.trips) if spec.timing != "fixed" else None
        jam_spacing_m = vehicles.length_m + vehicles.min_gap_m
        controller, settings = controller_class(spec.controller), spec.settings_of(spec.controller)
        controllers: list[SignalController] = []
        decision_s = []
        for s, plan in enumerate(signal_plans(spec, self.graph, self.net, flows)):
            ctrl = controller(Intersection.of(self.net, s, plan, jam_spacing_m, self.dt_s), settings)
            start = ctrl.start()
            phase = ctrl.intersection.phases[start.phase]
            self.traffic.set_signal(
                s, phase, start.elapsed_s, plan.yellow_s, plan.all_red_s, plan.min_green_s
            )
            controllers.append(ctrl)
            decision_s.append(start.next_decision_s)
        return controllers, np.array(decision_s, dtype=float)

    # ----- stepping ---------------------------------------------------------------
    @property
    def time_s(self) -> float:
        """Simulated time (s) at the end of the last step."""
        return self.traffic.t_s

    @property
    def finished(self) -> bool:
        """Whether every vehicle, from the demand or added by agents, has arrived and no timer waits."""
        return (
            self.traffic.n_arrived == self.traffic.n_vehicles and self.clock.peek(EventKind.TIMER) == math.inf
        )

    def step(self) -> None:
        """Advance the simulation by one time step."""
        self._advance(1)

    def _advance(self, n_steps: int) -> int:
        """Run up to ``n_steps`` kernel steps; no Python event may fall inside them.

        Departures are released by the kernel from its schedule; the agent population is
        brought up to date after the call, so it is exact whenever Python code runs (a
        trip that departs and arrives within one call never gets an agent). The kernel
        stops early when an agent's vehicle raises an event.

        Returns:
            The number of steps run.
        """
        traffic = self.traffic
        for action in self.clock.due(traffic.t_s):
            action()
        done = traffic.advance(n_steps)
        released = traffic.n_released
        if released > self._released:
            trips, status = self.trips, traffic.statuses()
            for vid in range(self._released, released):
                if status[vid] != ST_ARRIVED:
                    self._vehicles[vid] = Vehicle(
                        self, vid, trips.ids[vid], trips.origin[vid], trips.destination[vid]
                    )
            self._released = released
        for vid in traffic.arrived.tolist():
            agent = self._vehicles.pop(vid, None)
            if agent is not None:
                agent.remove()
            listener = self._listeners.pop(vid, None)
            if listener is not None:
                listener.on_vehicle_event(vid, VehicleEvent.ARRIVED)
        events = traffic.events
        for vid, kind in zip(events[0].tolist(), events[1].tolist(), strict=True):
            self._listeners[vid].on_vehicle_event(vid, VehicleEvent(kind))
        # the report closes the interval that just ended; timers and decisions due now run
        # at the start of the next call, before the kernel moves on
        for action in self.clock.due(traffic.t_s, kinds=(EventKind.REPORT,)):
            action()
        return done

    # ----- hooks for agents that drive their own vehicles ---------------------------
    def add_vehicle(
        self,
        path: Sequence[str],
        listener: VehicleListener | None = None,
        *,
        emergency: bool = False,
        vehicle_type: str = DEFAULT_VEHICLE_TYPE,
        max_speed_mps: float | None = None,
    ) -> int:
        """Put a vehicle that is not part of the demand in the entry queue of its first link now.

        Args:
            path: Node path of its route.
            listener: Told of the vehicle's events (``on_vehicle_event(vid, event)``):
                with a listener, the vehicle does not arrive at the end of its route but
                reports ``APPROACH`` near it and ``STOP`` once halted there, and waits for
                :meth:`set_route` or :meth:`remove_vehicle`.
            emergency: Traffic makes way for it; it crosses red lights at a crawl.
            vehicle_type: Its type: ``"default"`` (``[vehicles]``) or a ``[vehicle_types.<name>]``.
            max_speed_mps: Its own speed cap below the links' limits (default: its type's).

        Returns:
            The vehicle's id (its index in the kernel arrays).
        """
        rid = self.router.route_id(tuple(path))
        first, last = self.traffic.add_route(self.router.route_edges[rid], self.router.route_conns[rid])
        vid = int(self.traffic.add_vehicles(np.array([first]), np.array([last]))[0])
        self.fleet.assign(self.traffic, np.array([vid]), (vehicle_type,))
        self.traffic.set_flags(vid, notify=listener is not None, emergency=emergency)
        if max_speed_mps is not None:
            self.traffic.set_max_speed(vid, max_speed_mps)
        if listener is not None:
            self._listeners[vid] = listener
        self.traffic.release(np.array([vid]))
        return vid

    def set_route(self, vid: int, path: Sequence[str]) -> None:
        """Send a vehicle on a new node path that starts with the link it is on."""
        rid = self.router.route_id(tuple(path))
        self.traffic.set_route(vid, self.router.route_edges[rid], self.router.route_conns[rid])

    def remove_vehicle(self, vid: int) -> None:
        """Take a vehicle off the network now (parked, or out of service)."""
        self.traffic.remove_vehicle(vid)
        self._listeners.pop(vid, None)

    def schedule(self, time_s: float, callback: Callable[[], None]) -> None:
        """Call ``callback()`` at the start of the first step at or after ``time_s``."""
        self.clock.schedule(time_s, EventKind.TIMER, callback)

    def _arm(self, kind: EventKind, time_s: float) -> None:
        """Make ``time_s`` the pending decision or report time (superseding a later one)."""
        time_s = self.clock.step_time_s(time_s)
        if time_s < self._armed_s[kind] and math.isfinite(time_s):
            self._armed_s[kind] = time_s
            action = self._decide if kind is EventKind.DECISION else self._report
            self.clock.schedule(time_s, kind, functools.partial(self._fire, kind, time_s, action))

    def _fire(self, kind: EventKind, time_s: float, action: Callable[[], None]) -> None:
        if self._armed_s[kind] == time_s:
            self._armed_s[kind] = math.inf
            action()

    def _request_held_phase(self, signal: int, phase: int) -> None:
        """Send the phase :attr:`holds` chose for a signal to the kernel (yellow and all-red still run)."""
        self.traffic.request_phases(np.array([signal]), np.array([phase]))

    def replace_controller(self, controller: SignalController) -> SignalController:
        """Let ``controller`` run its intersection's signal from now on.

        The signal keeps its current phase and stage (the kernel still enforces minimum
        green, yellow and all-red); the new controller is started (the phase its
        :meth:`~sim.control.base.SignalController.start` names is not applied) and first
        decides now. Use it to give single intersections another controller than the
        scenario's, or to drive them from outside (the RL environments do).

        Returns:
            The controller it replaces.
        """
        signal = controller.intersection.signal
        old = self.controllers[signal]
        if old is controller:
            return old
        controller.start()
        self.controllers[signal] = controller
        self._decision_s[signal] = self.time_s
        self._arm(EventKind.DECISION, self.time_s)
        return old

    def next_decision_s(self, signal: int) -> float:
        """Simulated time of the next decision of a signal's controller (s)."""
        return float(self._decision_s[signal])

    def link_travel_times_s(self) -> np.ndarray:
        """Current travel time of every edge (s): length over the mean speed on it now.

        An empty edge takes its free-flow time; speeds are floored at 0.5 m/s.
        """
        return self.traffic.link_travel_times_s()

    def _decide(self) -> None:
        due = np.flatnonzero(self._decision_s <= self.time_s + _EPS)
        obs = Observation(self.traffic, self.config.signals.observation_horizon_m)
        signals, phases, decision_s = [], [], []
        for i in due.tolist():
            crossing = self.controllers[i].intersection
            decision = self.features[SAFETY].decide(self.controllers[i], IntersectionView(crossing, obs))
            decision_s.append(decision.next_decision_s)
            if decision.phase is not None and not self.holds.is_held(i):
                signals.append(i)
                phases.append(crossing.phases[decision.phase])
        self.traffic.request_phases(np.array(signals, dtype=np.int64), np.array(phases, dtype=np.int64))
        self._decision_s[due] = decision_s
        self._arm(EventKind.DECISION, float(self._decision_s.min()))

    def _report(self) -> None:
        """Close the reporting interval that ends now; a run that stalled in gridlock stops."""
        if self.recorder.report():
            self.running = False
        self._armed_s[EventKind.REPORT] = math.inf
        self._arm(EventKind.REPORT, self.time_s + self._report_every_s)

    def run(self, until_s: float | None = None, progress: bool = False) -> CityModel:
        """Step until ``until_s`` (default: ``simulation.max_time_s``), every trip has arrived, or gridlock.

        Can be called repeatedly to run in chunks (a controller may act between calls).

        Args:
            until_s: Simulated time (s) to stop at, capped at ``simulation.max_time_s``.
            progress: Show a progress bar over simulated time.
        """
        end = self.config.simulation.max_time_s
        if until_s is not None:
            end = min(end, until_s)
        # no bar object at all without progress: tqdm would start a monitor thread
        bar = (
            tqdm(total=round(end), initial=round(self.time_s), unit="sim s", leave=False)
            if progress
            else None
        )
        t0 = time.perf_counter()
        dt = self.dt_s
        while self.running and self.time_s < end - _EPS:
            next_event = min(self.clock.peek(), end)
            n_steps = max(1, math.ceil((next_event - self.time_s) / dt - _EPS))
            self.steps += self._advance(n_steps)
            if self.finished:
                self.running = False
            if bar is not None:
                bar.update(round(self.time_s) - bar.n)
        self.sim_wall_s += time.perf_counter() - t0
        if bar is not None:
            bar.update(round(self.time_s) - bar.n)
            bar.close()
        return self

    # ----- results ----------------------------------------------------------------
    @property
    def status(self) -> str:
        """How the run stands or ended: a key of :data:`sim.metrics.results.RUN_STATUSES`."""
        if self.recorder.stalled_at_s is not None:
            return "stalled"
        if self.traffic.n_arrived_of(len(self.trips)) == len(self.trips):
            return "completed"
        if self.time_s >= self.config.simulation.max_time_s - _EPS:
            return "time_limit"
        return "partial"

    def status_message(self) -> str:
        """One line on how the run ended, with counts of the trips it left unfinished."""
        n = len(self.trips)
        arrived = self.traffic.n_arrived_of(n)
        entered = self.traffic.n_entered_of(n)
        not_due = int(np.count_nonzero(np.asarray(self.trips.depart_s) > self.time_s + _EPS))
        counts = (
            f"{n - arrived:,} of {n:,} trips unfinished: {entered - arrived:,} on the network, "
            f"{n - entered - not_due:,} due but never entered, {not_due:,} scheduled later"
        )
        status = self.status
        if status == "completed":
            return f"completed: all {n:,} trips arrived by t = {self.time_s:,.0f} s"
        if status == "stalled":
            return f"stalled in gridlock at t = {self.recorder.stalled_at_s:,.0f} s; {counts}"
        if status == "time_limit":
            return f"reached the time limit (simulation.max_time_s = {self.time_s:,.0f} s); {counts}"
        return f"stopped at t = {self.time_s:,.0f} s before the end; {counts}"

    def trip_records(self) -> pd.DataFrame:
        """One row per trip (see :class:`sim.metrics.results.RunResults`)."""
        n = len(self.trips)
        recorded = self.traffic.trip_columns(n)
        return pd.DataFrame(
            {
                "id": list(self.trips.ids),
                "origin": list(self.trips.origin),
                "destination": list(self.trips.destination),
                "depart_s": np.asarray(self.trips.depart_s, dtype=float),
                "enter_s": recorded["enter_s"],
                "arrive_s": recorded["arrive_s"],
                "free_flow_s": self.free_flow_s,
                "route_length_m": self.route_length_m,
                **{key: recorded[key] for key in ("distance_m", "stops", "max_link_wait_s")},
                # only with declared types (and [emissions]): trips of a scenario without stay as they were
                **({"type": list(self.trips.types)} if self.config.vehicle_types else {}),
                **self.traffic.emission_trip_columns(n),
            }
        )

    def results(self) -> RunResults:
        """Everything the run produced so far, as tidy records with provenance."""
        recorder = self.recorder
        if self.time_s > recorder.last_report_s + _EPS:
            self._report()
        series = recorder.series()
        extras: dict[str, pd.DataFrame] = {}
        feature_info = {}
        declared: list[dict[str, str]] = []
        for name, feature in self.features.items():
            extras.update(feature.records())
            feature_info[name] = feature.summary()
            declared += section_declarations(name, feature.headline_metrics)
        if self.routed.skipped:
            feature_info[ROUTING_INFO] = self.routed.info()
            declared += section_declarations(ROUTING_INFO, (SKIPPED_TRIPS_METRIC,))
        return RunResults(
            trips=self.trip_records(),
            series=series,
            links=recorder.link_records(),
            graph=self.graph,
            info={
                "scenario": self.config.name,
                "scenario_key": self.config.key(),
                "scenario_source": self.config.source,
                "seed": self.seed,
                "version": __version__,
                "sim_time_s": self.time_s,
                "sim_wall_s": self.sim_wall_s,
                "setup_wall_s": self.setup_wall_s,
                "vehicle_steps": recorder.vehicle_steps,
                "gridlock": recorder.gridlock,
                "stalled_at_s": recorder.stalled_at_s,
                "status": self.status,
                "status_message": self.status_message(),
                # a gridlock never clears: its trips count until the time limit
                HORIZON_INFO: self.config.simulation.max_time_s
                if recorder.stalled_at_s is not None
                else self.time_s,
                "longest_green_wait": recorder.longest_green_wait,
                SECTION_METRICS_INFO: declared,
                **feature_info,
            },
            extras=extras,
        )
