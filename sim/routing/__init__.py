"""Routes: set-up routing, batch shortest paths, en-route rerouting and route sets.

* :mod:`sim.routing.router`: the set-up routes of a run's trips (:class:`Router`), shortest
  drivable free-flow paths cached per origin, and the trips that cannot be driven.
* :mod:`sim.routing.paths`: batch shortest paths over the connection graph
  (``scipy.sparse.csgraph``) on any link costs, so every route respects the turn restrictions.
* :mod:`sim.routing.navigation`: drivers who re-plan their remaining route on current, smoothed
  link travel times (the ``[route_choice]`` scenario table, :mod:`sim.routing.feature`).
* :mod:`sim.routing.route_sets`: route sets per origin and destination, as the equilibrium
  assignment (``citysim assign``) writes them and later runs read them.
"""

from sim.routing.router import (
    BANNED_TURN,
    MISSING_EDGE,
    NO_ROUTE,
    ROUTING_INFO,
    SKIPPED_TRIPS_METRIC,
    RoutedTrips,
    Router,
    RoutingError,
    SkippedTrip,
    skipped_text,
)

__all__ = [
    "BANNED_TURN",
    "MISSING_EDGE",
    "NO_ROUTE",
    "ROUTING_INFO",
    "SKIPPED_TRIPS_METRIC",
    "RoutedTrips",
    "Router",
    "RoutingError",
    "SkippedTrip",
    "skipped_text",
]
