"""The emergency layer attached to a model: calls on timers, a 1 s poll while vehicles drive."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from sim.emergency.dispatcher import EmergencyDispatcher
from sim.emergency.incidents import Incident, IncidentTableError, LocationError, incidents_for
from sim.emergency.metrics import EmergencyLog, summarize_emergency, vehicle_frame
from sim.emergency.preemption import Preemption
from sim.emergency.spec import Spec
from sim.emergency.vehicles import VehicleState
from sim.metrics.catalog import Metric
from sim.metrics.summary import all_trip_metrics
from sim.schema import ScenarioError
from sim.services import Services

__all__ = ["EMERGENCY_STREAM", "POLL_S", "EmergencyFeature", "attach"]

EMERGENCY_STREAM = 0x454D4552
"""Spawn key of the emergency layer's random stream (``[seed, EMERGENCY_STREAM]``)."""
POLL_S = 1.0
"""Interval (s) of the poll that runs while an emergency vehicle drives."""


class EmergencyFeature:
    """The ``[emergency]`` section of a model: dispatcher, fleet, preemption and records.

    Attributes:
        incidents: Every call of the run, in call order.
        dispatcher: The dispatch centre (a Mesa agent) and its fleet.
        preemption: The signal preemption layer.
        log: The records.
    """

    headline_metrics = (
        Metric("incidents", "emergency incidents", "{:,.0f}", "none"),
        Metric("reached", "emergency incidents reached", "{:,.0f}", "higher"),
        Metric("mean_response_s", "emergency response time, mean (s)"),
        Metric("p90_response_s", "emergency response time, 90th pct (s)"),
        Metric("mean_travel_s", "emergency travel time, mean (s)"),
        Metric("preemptions", "signal preemptions", "{:,.0f}", "none"),
        Metric("side_street_halted_veh_s", "vehicle-seconds halted on preempted approaches", "{:,.0f}"),
        Metric("ordinary_mean_delay_s", "mean delay of the other trips, all trips (s)"),
    )

    def __init__(self, model: Services, spec: Spec, incidents: list[Incident]) -> None:
        self.model = model
        self.spec = spec
        self.incidents = incidents
        self.log = EmergencyLog()
        self.dispatcher = EmergencyDispatcher(
            model, spec.stations, self.log, spec.arrival_m, spec.processing_s, self._start_polling
        )
        self.preemption = Preemption(model, spec, self.log)
        self._polling = False
        for incident in incidents:
            model.schedule(incident.call_s, lambda incident=incident: self.dispatcher.call(incident))

    def _start_polling(self) -> None:
        if not self._polling:
            self._polling = True
            self.model.schedule(self.model.time_s + POLL_S, self._poll)

    def _poll(self) -> None:
        fleet = self.dispatcher.fleet
        for vehicle in fleet:
            if vehicle.vid is not None:
                vehicle.check_arrival()
        self.preemption.update(v for v in fleet if v.state is VehicleState.RESPONDING and v.vid is not None)
        if self.preemption.active or any(v.vid is not None for v in fleet):
            self.model.schedule(self.model.time_s + POLL_S, self._poll)
        else:
            self._polling = False

    def records(self) -> dict[str, pd.DataFrame]:
        """The ``incidents``, ``emergency_vehicles`` and ``preemptions`` frames.

        See :mod:`sim.emergency.metrics` for their columns.
        """
        incidents = self.log.incident_frame()
        served = incidents["vehicle"].value_counts()
        return {
            "incidents": incidents,
            "emergency_vehicles": vehicle_frame(self.dispatcher.fleet, served, self.model.time_s),
            "preemptions": self.log.preemption_frame(),
        }

    def summary(self) -> dict:
        """Headline figures (see :func:`sim.emergency.metrics.summarize_emergency`)."""
        frames = self.records()
        delay = all_trip_metrics(self.model.trip_records(), self.model.time_s)["delay_s"]
        ordinary = float(delay.mean()) if len(delay) else math.nan
        return summarize_emergency(
            frames["incidents"], frames["emergency_vehicles"], frames["preemptions"], ordinary
        )


def attach(model: Services, spec: Spec) -> EmergencyFeature:
    """Add the emergency layer to a model (called at the end of ``CityModel.__init__``).

    Its randomness comes from its own stream, ``np.random.default_rng([model.seed,
    EMERGENCY_STREAM])``, so it never shifts the private-vehicle demand.

    Raises:
        ScenarioError: If a station names a node the network lacks, a table row names an
            unknown location (file and line given), or generated locations cannot be placed.
    """
    source = model.config.source
    for index, station in enumerate(spec.stations):
        if station.node not in model.graph:
            raise ScenarioError(
                source,
                f"emergency.stations[{index}].node",
                f"expected a node of the network, got {station.node!r}",
            )
    rng = np.random.default_rng([model.seed, EMERGENCY_STREAM])
    try:
        closures = model.config.section("incidents")
        traffic = {c.id: c.link for c in closures.entries} if closures is not None else {}
        incidents = incidents_for(spec, model.graph, model.net, rng, traffic)
    except IncidentTableError as exc:
        raise ScenarioError(source, "emergency.table", str(exc)) from None
    except LocationError as exc:
        key = "emergency.weight_attribute" if spec.location == "weighted_nodes" else "emergency.location"
        raise ScenarioError(source, key, str(exc)) from None
    return EmergencyFeature(model, spec, incidents)
