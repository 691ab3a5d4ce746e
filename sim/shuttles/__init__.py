"""Autonomous shuttles: fixed-route and on-demand service in mixed traffic (``[shuttles]``).

Shuttles are kernel vehicles driven by :class:`AutonomousShuttle` agents, so congestion
and signals delay them; passengers are :class:`Passenger` agents that request, wait,
board, ride and alight, or give up. A fixed-route service loops through the stops on a
timetable with holding at timing points; an on-demand service assigns requests by
insertion under MATSim-style wait and detour limits and rebalances idle shuttles. Late
shuttles may get signal priority. See each module's docstring for its rules.
"""

from sim.shuttles.feature import ShuttleFeature, attach
from sim.shuttles.fixed_route import FixedRouteService
from sim.shuttles.legs import Leg, LegPlanner
from sim.shuttles.on_demand import OnDemandService
from sim.shuttles.passenger import JourneyError, Passenger, PassengerState
from sim.shuttles.priority import SignalPriority
from sim.shuttles.requests import Request
from sim.shuttles.shuttle import AutonomousShuttle, CapacityError, ShuttleState
from sim.shuttles.spec import SERVICES, OdRate, Spec

__all__ = [
    "SERVICES",
    "AutonomousShuttle",
    "CapacityError",
    "FixedRouteService",
    "JourneyError",
    "Leg",
    "LegPlanner",
    "OdRate",
    "OnDemandService",
    "Passenger",
    "PassengerState",
    "Request",
    "ShuttleFeature",
    "ShuttleState",
    "SignalPriority",
    "Spec",
    "attach",
]
