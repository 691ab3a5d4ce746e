"""Records of the emergency layer: per incident, per vehicle, per preemption; and their summary.

Per incident (all times in s of simulation time; durations in s):

* ``call_s``; ``dispatch_s`` and ``dispatch_delay_s = dispatch_s - call_s`` (call
  processing plus any wait in the queue); ``dispatched_from`` (``station``, ``scene``
  or ``returning``); ``expected_travel_s`` (at dispatch, under the link times then) and
  ``free_flow_travel_s`` (the same route at the speed limits);
* ``arrive_s``, ``travel_s = arrive_s - dispatch_s`` and ``response_s = arrive_s - call_s``;
* ``clear_s`` and ``on_scene_s``; ``back_s`` and ``return_s = back_s - clear_s`` (NaN
  when the vehicle was sent to another call before it got back).

Per vehicle: seconds responding, on scene, returning and idle, and ``utilization``: the
share of the observed time spent responding or on scene.

Per preemption: see :mod:`sim.emergency.preemption`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import pandas as pd

from sim.emergency.incidents import Incident
from sim.emergency.routing import Route
from sim.emergency.vehicles import EmergencyVehicle, VehicleState

__all__ = [
    "INCIDENT_COLUMNS",
    "PREEMPTION_COLUMNS",
    "VEHICLE_COLUMNS",
    "EmergencyLog",
    "summarize_emergency",
    "vehicle_frame",
]

INCIDENT_COLUMNS = (
    "id", "call_s", "location", "scene_node", "severity", "queued", "vehicle", "station", "dispatched_from",
    "dispatch_s", "dispatch_delay_s", "expected_travel_s", "free_flow_travel_s", "arrive_s", "travel_s",
    "response_s", "clear_s", "on_scene_s", "back_s", "return_s",
)  # fmt: skip
VEHICLE_COLUMNS = (
    "vehicle", "station", "incidents", "responding_s", "on_scene_s", "returning_s", "idle_s", "utilization",
)  # fmt: skip
PREEMPTION_COLUMNS = (
    "signal_node", "vehicle", "incident", "mode", "request_s", "eta_s", "lead_s", "already_green", "green_s",
    "release_s", "hold_s", "crossed", "side_baseline_veh", "side_peak_veh", "side_halted_veh_s",
    "recovery_s",
)  # fmt: skip
_NAN = math.nan


class EmergencyLog:
    """Collects what happens to each call, and the preemption records."""

    def __init__(self) -> None:
        self._incidents: dict[str, dict] = {}
        self.preemptions: list[dict] = []

    def call(self, incident: Incident) -> None:
        """A call came in."""
        self._incidents[incident.id] = {
            **dict.fromkeys(INCIDENT_COLUMNS, _NAN),
            "id": incident.id,
            "call_s": incident.call_s,
            "location": incident.location,
            "scene_node": incident.scene.node,
            "severity": incident.severity,
            "queued": False,
            "vehicle": "",
            "station": "",
            "dispatched_from": "",
        }

    def queued(self, incident: Incident) -> None:
        """No vehicle was available: the call waits."""
        self._incidents[incident.id]["queued"] = True

    def dispatched(self, incident: Incident, vehicle: EmergencyVehicle, route: Route, now_s: float) -> None:
        """``vehicle`` was sent: from its station, from the scene it just cleared, or on its way back."""
        row = self._incidents[incident.id]
        if vehicle.vid is not None:
            origin = "returning"
        else:
            origin = "station" if vehicle.node == vehicle.station.node else "scene"
        row.update(
            vehicle=vehicle.name,
            station=vehicle.station.name,
            dispatched_from=origin,
            dispatch_s=now_s,
            dispatch_delay_s=now_s - row["call_s"],
            expected_travel_s=route.cost_s,
            free_flow_travel_s=route.free_flow_s,
        )

    def arrived(self, incident: Incident, now_s: float) -> None:
        """The vehicle reached the scene."""
        row = self._incidents[incident.id]
        row.update(arrive_s=now_s, travel_s=now_s - row["dispatch_s"], response_s=now_s - row["call_s"])

    def cleared(self, incident: Incident, now_s: float) -> None:
        """The vehicle left the scene."""
        row = self._incidents[incident.id]
        row.update(clear_s=now_s, on_scene_s=now_s - row["arrive_s"])

    def back(self, incident: Incident, now_s: float) -> None:
        """The vehicle that served ``incident`` is back at its station."""
        row = self._incidents[incident.id]
        row.update(back_s=now_s, return_s=now_s - row["clear_s"])

    def incident_frame(self) -> pd.DataFrame:
        """One row per call, in call order (columns :data:`INCIDENT_COLUMNS`)."""
        return pd.DataFrame(list(self._incidents.values()), columns=list(INCIDENT_COLUMNS))

    def preemption_frame(self) -> pd.DataFrame:
        """One row per preemption, in request order (columns :data:`PREEMPTION_COLUMNS`)."""
        return pd.DataFrame(self.preemptions, columns=list(PREEMPTION_COLUMNS))


def vehicle_frame(fleet: Sequence[EmergencyVehicle], served: pd.Series, elapsed_s: float) -> pd.DataFrame:
    """One row per fleet vehicle (columns :data:`VEHICLE_COLUMNS`).

    Args:
        fleet: The vehicles.
        served: Calls dispatched per vehicle name.
        elapsed_s: Observed time (s): the simulation time now.
    """
    rows = []
    for vehicle in fleet:
        spent = vehicle.time_in_now_s()
        busy = spent[VehicleState.RESPONDING] + spent[VehicleState.ON_SCENE]
        rows.append(
            {
                "vehicle": vehicle.name,
                "station": vehicle.station.name,
                "incidents": int(served.get(vehicle.name, 0)),
                "responding_s": spent[VehicleState.RESPONDING],
                "on_scene_s": spent[VehicleState.ON_SCENE],
                "returning_s": spent[VehicleState.RETURNING],
                "idle_s": spent[VehicleState.IDLE],
                "utilization": busy / elapsed_s if elapsed_s > 0 else _NAN,
            }
        )
    return pd.DataFrame(rows, columns=list(VEHICLE_COLUMNS))


def _mean(values: pd.Series) -> float:
    finite = values.to_numpy(dtype=float)
    finite = finite[np.isfinite(finite)]
    return float(finite.mean()) if finite.size else _NAN


def _p90(values: pd.Series) -> float:
    finite = values.to_numpy(dtype=float)
    finite = finite[np.isfinite(finite)]
    return float(np.percentile(finite, 90)) if finite.size else _NAN


def summarize_emergency(
    incidents: pd.DataFrame, vehicles: pd.DataFrame, preemptions: pd.DataFrame, ordinary_delay_s: float
) -> dict:
    """Headline figures of one run (JSON-compatible; NaN where undefined).

    Args:
        incidents: The incident records.
        vehicles: The vehicle records.
        preemptions: The preemption records.
        ordinary_delay_s: Mean delay of every ordinary trip, unfinished ones with their delay so far (s).
    """
    return {
        "incidents": len(incidents),
        "reached": int(incidents["arrive_s"].notna().sum()),
        "queued": int(incidents["queued"].sum()),
        "mean_response_s": _mean(incidents["response_s"]),
        "p90_response_s": _p90(incidents["response_s"]),
        "mean_travel_s": _mean(incidents["travel_s"]),
        "mean_dispatch_delay_s": _mean(incidents["dispatch_delay_s"]),
        "mean_utilization": _mean(vehicles["utilization"]),
        "preemptions": len(preemptions),
        "preemptions_timed_out": int((~preemptions["crossed"].astype(bool)).sum()),
        "mean_hold_s": _mean(preemptions["hold_s"]),
        "side_street_halted_veh_s": float(preemptions["side_halted_veh_s"].sum()),
        "mean_recovery_s": _mean(preemptions["recovery_s"]),
        "ordinary_mean_delay_s": ordinary_delay_s,
    }
