"""The parking feature: wires supply, background parkers, sensors and drivers into a model.

Timers (Python runs only at them and at the drivers' vehicle events): one per parking
trip's departure, a background step every ``background_step_s`` (background arrivals
and departures, and parked drivers whose stay is over), sensor readings every
``sensor_interval_s`` (or at every change with an interval of 0) and records every
``record_interval_s``. The periodic timers stop once no parking trip is waiting to
depart, driving or (with return trips) parked, so a run can finish.
"""

from __future__ import annotations

import heapq
import itertools
import math
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial

import numpy as np
import pandas as pd

from sim.metrics.catalog import Metric
from sim.network.graph import FRINGE, INTERSECTION
from sim.parking.background import BackgroundParkers
from sim.parking.drivers import ParkingDriver, ParkingTrip, Phase, SearchWorld
from sim.parking.metrics import ParkingRecorder
from sim.parking.navigation import StreetMap
from sim.parking.sensors import ParkingInformation, ParkingSensor
from sim.parking.spec import Spec
from sim.parking.supply import Occupancy, ParkingError, build_facilities
from sim.services import Services

__all__ = ["PARKING_STREAM", "ParkingFeature", "attach"]

PARKING_STREAM = 0x5041524B
"""Spawn key of the parking feature's random streams (``np.random.default_rng([seed, key, stream])``)."""

_TRIPS, _SUPPLY, _BACKGROUND, _SENSORS, _DRIVERS = range(5)


@dataclass
class _Periodic:
    """A timer that repeats while parking is active."""

    period_s: float
    action: Callable[[], None]
    running: bool = False


def attach(model: Services, spec: Spec) -> ParkingFeature:
    """Add parking search to a model (called at the end of ``CityModel.__init__``).

    Raises:
        ParkingError: If the parking table does not fit the network.
    """
    return ParkingFeature(model, spec)


class ParkingFeature:
    """Parking supply, sensors, information service and parking drivers of one model.

    Attributes:
        facilities: The facilities (streets first, then garages).
        occupancy: Their taken spaces.
        service: The parking-information service.
        sensors: One :class:`ParkingSensor` per facility.
        trips: The parking trips, in departure order.
        drivers: Their drivers, once departed (None before).
    """

    headline_metrics = (
        Metric("trips", "parking trips", "{:,.0f}", "none"),
        Metric("gave_up", "parking searches given up", "{:,.0f}"),
        Metric("unfinished", "parking searches unfinished at the end", "{:,.0f}"),
        Metric("mean_search_time_s", "parking search time, mean of ended searches (s)"),
        Metric("mean_search_distance_m", "parking search distance, mean of ended searches (m)", "{:,.0f}"),
        Metric("mean_walk_m", "walk from the space, mean (m)", "{:,.0f}"),
        Metric("mean_street_occupancy", "street parking occupancy, mean", "{:.1%}", "none"),
        Metric("share_searching", "share of vehicle time spent searching", "{:.1%}"),
    )

    def __init__(self, model: Services, spec: Spec) -> None:
        self.model = model
        self.spec = spec

        def rng(stream: int) -> np.random.Generator:
            return np.random.default_rng([model.seed, PARKING_STREAM, stream])

        self.facilities = build_facilities(
            model.graph, model.net.edge_index, spec, rng(_SUPPLY), model.config.source
        )
        self.occupancy = Occupancy(self.facilities)
        self.background = BackgroundParkers(
            self.facilities, spec.occupancy, spec.garage_occupancy, spec.background_stay_s, rng(_BACKGROUND)
        )
        self.occupancy.set_background(self.background.initial_counts(), model.time_s)
        self.service = ParkingInformation(
            self.occupancy.capacity, on_change=spec.sensor_interval_s == 0.0, latency_s=spec.sensor_latency_s
        )
        self.sensors = self._make_sensors(rng(_SENSORS))
        self._read_all()
        if spec.sensor_interval_s == 0.0:
            self.occupancy.watch(self._read_changed)
        self.trips = self._make_trips(rng(_TRIPS))
        self.drivers: list[ParkingDriver | None] = [None] * len(self.trips)
        self.world = SearchWorld(
            model=model,
            streets=StreetMap(model.graph, model.net),
            facilities=self.facilities,
            occupancy=self.occupancy,
            service=self.service,
            spec=spec,
            rng=rng(_DRIVERS),
            on_parked=self._parked,
            on_done=self._done,
        )
        self.recorder = ParkingRecorder(self.facilities)
        self._waiting = len(self.trips)
        self._returns: list[tuple[float, int, ParkingDriver]] = []
        self._seq = itertools.count()
        self._periodic: list[_Periodic] = []
        self.return_vehicles: list[int] = []
        for i, trip in enumerate(self.trips):
            model.schedule(trip.depart_s, partial(self._depart, i))
        now = model.time_s
        self._every(now, spec.background_step_s, self._background_step)
        if spec.sensor_interval_s > 0.0:
            self._every(now + spec.sensor_interval_s, spec.sensor_interval_s, self._read_all)
        self._every(now + spec.record_interval_s, spec.record_interval_s, self._record)

    # ----- set-up ------------------------------------------------------------------
    def _make_sensors(self, rng: np.random.Generator) -> list[ParkingSensor]:
        spec, n = self.spec, len(self.facilities)
        fails = rng.random(n) < spec.sensor_failure
        fail_times = rng.uniform(0.0, self.model.config.simulation.max_time_s, n)
        return [
            ParkingSensor(
                self.model,
                i,
                f.capacity,
                self.service,
                rng,
                error=spec.sensor_error,
                latency_s=spec.sensor_latency_s,
                fails_at_s=float(fail_times[i]) if fails[i] else math.inf,
            )
            for i, f in enumerate(self.facilities)
        ]

    def _make_trips(self, rng: np.random.Generator) -> list[ParkingTrip]:
        spec, graph = self.spec, self.model.graph
        origins = sorted((n for n, kind in graph.nodes(data="kind") if kind == FRINGE), key=str)
        inner = sorted((n for n, kind in graph.nodes(data="kind") if kind == INTERSECTION), key=str)
        xy = np.array([(graph.nodes[n]["x"], graph.nodes[n]["y"]) for n in inner], dtype=float).reshape(-1, 2)
        if spec.area_radius_m > 0.0 and len(inner):
            centre = xy.mean(axis=0)
            inner = [n for n, p in zip(inner, xy, strict=True) if math.dist(p, centre) <= spec.area_radius_m]
        if spec.trips_vph > 0.0 and (not origins or not inner):
            raise ParkingError(
                self.model.config.source,
                f"parking.trips_vph = {spec.trips_vph:g}: expected a network with fringe nodes (origins) and "
                f"intersections within parking.area_radius_m = {spec.area_radius_m:g} m (destinations), got "
                f"{len(origins)} and {len(inner)}",
            )
        rate_per_s = spec.trips_vph / 3600.0
        count = rng.poisson(rate_per_s * spec.duration_s) if rate_per_s > 0.0 else 0
        depart = np.sort(rng.uniform(0.0, spec.duration_s, count))
        origin = rng.integers(len(origins), size=count) if count else np.zeros(0, dtype=int)
        dest = rng.integers(len(inner), size=count) if count else np.zeros(0, dtype=int)
        guided = rng.random(count) < spec.guided_share
        stay = rng.exponential(spec.stay_mean_s, count)
        return [
            ParkingTrip(f"p{i}", origins[o], inner[d], float(t), bool(g), float(s))
            for i, (t, o, d, g, s) in enumerate(
                zip(
                    depart.tolist(),
                    origin.tolist(),
                    dest.tolist(),
                    guided.tolist(),
                    stay.tolist(),
                    strict=True,
                )
            )
        ]

    # ----- timers ------------------------------------------------------------------
    def _every(self, start_s: float, period_s: float, action: Callable[[], None]) -> None:
        """Run ``action`` at ``start_s`` and every ``period_s`` after, while parking is active."""
        periodic = _Periodic(period_s, action)
        self._periodic.append(periodic)
        self._start(periodic, start_s)

    def _start(self, periodic: _Periodic, at_s: float) -> None:
        periodic.running = True

        def tick() -> None:
            periodic.action()
            if self.active:
                self.model.schedule(self.model.time_s + periodic.period_s, tick)
            else:
                periodic.running = False

        self.model.schedule(at_s, tick)

    @property
    def active(self) -> bool:
        """Whether a parking trip is still to depart, driving, or parked with a return trip to make."""
        driving = any(d is not None and d.on_network for d in self.drivers)
        return self._waiting > 0 or driving or (self.spec.return_trips and bool(self._returns))

    def add_trip(self, trip: ParkingTrip) -> None:
        """Add a parking trip besides the generated ones (it departs at ``trip.depart_s``).

        Raises:
            ParkingError: If its origin or destination is not a node, or it departs in the past.
        """
        graph, now = self.model.graph, self.model.time_s
        for what, node in (("origin", trip.origin), ("destination", trip.destination)):
            if node not in graph:
                raise ParkingError(
                    self.model.config.source,
                    f"parking trip {trip.trip_id!r}: {what} {node!r} is not a node of the network",
                )
        if trip.depart_s < now:
            raise ParkingError(
                self.model.config.source,
                f"parking trip {trip.trip_id!r}: expected depart_s >= now ({now:g} s), got {trip.depart_s:g}",
            )
        self.trips.append(trip)
        self.drivers.append(None)
        self._waiting += 1
        self.model.schedule(trip.depart_s, partial(self._depart, len(self.trips) - 1))
        for periodic in self._periodic:
            if not periodic.running:
                self._start(periodic, now)

    def _depart(self, index: int) -> None:
        driver = ParkingDriver(self.model, self.trips[index], self.world)
        self.drivers[index] = driver
        self._waiting -= 1
        driver.depart()

    def _parked(self, driver: ParkingDriver, leave_s: float) -> None:
        heapq.heappush(self._returns, (leave_s, next(self._seq), driver))

    def _done(self, driver: ParkingDriver) -> None:
        driver.remove()

    def _background_step(self) -> None:
        now = self.model.time_s
        while self._returns and self._returns[0][0] <= now:
            driver = heapq.heappop(self._returns)[2]
            path = driver.leave_space(now)
            if self.spec.return_trips and path is not None:
                self.return_vehicles.append(self.model.add_vehicle(path))
            driver.remove()
        if self.spec.background:
            self.background.step(self.occupancy, self.spec.background_step_s, now)

    def _read_all(self) -> None:
        occupied, now = self.occupancy.occupied, self.model.time_s
        for sensor in self.sensors:
            sensor.read(int(occupied[sensor.facility]), now)

    def _read_changed(self, facilities: np.ndarray, time_s: float) -> None:
        occupied = self.occupancy.occupied
        for f in facilities.tolist():
            self.sensors[f].read(int(occupied[f]), time_s)

    def _record(self) -> None:
        now = self.model.time_s
        searching = sum(1 for d in self.drivers if d is not None and d.phase == Phase.SEARCHING)
        self.recorder.sample(
            now,
            self.occupancy.occupied,
            self.service.free_spaces(now),
            searching,
            self.model.traffic.n_on_network,
        )

    # ----- results -----------------------------------------------------------------
    def records(self) -> dict[str, pd.DataFrame]:
        """``parking_trips``, ``parking_occupancy``, ``parking_series`` and ``parking_facilities``."""
        return self.recorder.frames(self.trips, self.drivers)

    def summary(self) -> dict:
        """Counts of outcomes, mean search time, distance and walk, occupancy and share searching."""
        return self.recorder.summary(self.trips, self.drivers, len(self.return_vehicles))
