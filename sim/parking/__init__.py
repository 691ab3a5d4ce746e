"""Smart parking: parking supply, sensors, an information service and drivers who search.

The ``[parking]`` scenario table (:class:`Spec`) adds on-street parking and garages,
background parkers that hold occupancy near a target, a :class:`ParkingSensor` per
facility reporting to a :class:`ParkingInformation` service, and parking trips whose
drivers either cruise for a space or are guided by the service. :func:`attach` adds it
all to a model (through :class:`~sim.services.Services`); the figure of occupancy is in
:mod:`sim.plots.parking_figures`.
"""

from sim.parking.drivers import ParkingDriver, ParkingTrip, Phase
from sim.parking.feature import ParkingFeature, attach
from sim.parking.sensors import ParkingInformation, ParkingSensor
from sim.parking.spec import GarageSpec, Spec, StreetSpec
from sim.parking.supply import Facility, FacilityFullError, Occupancy, ParkingError

__all__ = [
    "Facility",
    "FacilityFullError",
    "GarageSpec",
    "Occupancy",
    "ParkingDriver",
    "ParkingError",
    "ParkingFeature",
    "ParkingInformation",
    "ParkingSensor",
    "ParkingTrip",
    "Phase",
    "Spec",
    "StreetSpec",
    "attach",
]
