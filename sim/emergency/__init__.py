"""Emergency response: the ``[emergency]`` scenario table.

Incidents, a dispatcher with stations and fleets, emergency vehicles in traffic, signal
preemption over any controller, and response metrics.
"""

from sim.emergency.dispatcher import EmergencyDispatcher
from sim.emergency.feature import EmergencyFeature, attach
from sim.emergency.incidents import Incident, IncidentTableError, read_incident_table
from sim.emergency.preemption import Preemption
from sim.emergency.spec import PREEMPTION_MODES, Spec, Station
from sim.emergency.vehicles import EmergencyVehicle, VehicleState

__all__ = [
    "PREEMPTION_MODES",
    "EmergencyDispatcher",
    "EmergencyFeature",
    "EmergencyVehicle",
    "Incident",
    "IncidentTableError",
    "Preemption",
    "Spec",
    "Station",
    "VehicleState",
    "attach",
    "read_incident_table",
]
