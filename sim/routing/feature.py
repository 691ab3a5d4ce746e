"""The ``[route_choice]`` table attached to a model: route sets before departure, rerouting en route."""

from __future__ import annotations

import numpy as np
import pandas as pd

from sim.metrics.catalog import Metric
from sim.routing.navigation import Navigation, navigation_for
from sim.routing.route_sets import RouteSet, RouteSetError, apply_route_set
from sim.routing.spec import Spec
from sim.schema import ScenarioError
from sim.services import Services

__all__ = ["RoutingFeature", "Spec", "attach", "route_change_summary"]


class RoutingFeature:
    """The ``[route_choice]`` section of a model: who re-plans, and how often routes changed.

    Attributes:
        navigation: The rerouting state, shared with closures.
        from_route_set: How many trips took their route from the route set.
    """

    headline_metrics = (
        Metric("rerouted_share", "trips whose route changed en route (share)", "{:.1%}", "none", high=1.0),
        Metric(
            "mean_extra_distance_m", "extra distance of rerouted trips, mean (m)", "{:,.0f}", "none", low=None
        ),
    )

    def __init__(self, model: Services, spec: Spec, navigation: Navigation, from_route_set: int) -> None:
        self.model, self.spec = model, spec
        self.navigation = navigation
        self.from_route_set = from_route_set

    def records(self) -> dict[str, pd.DataFrame]:
        """No frames of its own: route changes are summarized."""
        return {}

    def summary(self) -> dict:
        """Equipped drivers, route changes, extra distance and the wall time of re-planning."""
        nav = self.navigation
        return {
            "equipped": int(nav.equipped.sum()),
            "from_route_set": self.from_route_set,
            **route_change_summary(self.model.trip_records(), nav.route_changes),
            "reroute_events": nav.events,
            "routing_wall_s": round(nav.wall_s, 4),
        }


def route_change_summary(trips: pd.DataFrame, route_changes: np.ndarray) -> dict:
    """Rerouted share, route changes and extra distance of the rerouted trips that arrived.

    Args:
        trips: The run's trip records (``distance_m``, ``route_length_m``, ``arrive_s``).
        route_changes: Per trip, how many times its route changed.

    Returns:
        ``rerouted_share``, ``route_changes`` and ``mean_extra_distance_m`` (driven distance
        minus the planned route's length, over the rerouted trips that arrived; NaN if none).
    """
    rerouted = route_changes > 0
    done = rerouted & trips["arrive_s"].notna().to_numpy()
    extra = (trips["distance_m"] - trips["route_length_m"]).to_numpy()[done]
    return {
        "rerouted_share": float(rerouted.mean()) if len(rerouted) else 0.0,
        "route_changes": int(route_changes.sum()),
        "mean_extra_distance_m": float(extra.mean()) if len(extra) else float("nan"),
    }


def attach(model: Services, spec: Spec) -> RoutingFeature:
    """Add the ``[route_choice]`` table to a model before its first step.

    Raises:
        ScenarioError: If the route set cannot be read or driven on the network.
    """
    navigation = navigation_for(model, spec)
    applied = 0
    if spec.route_set:
        try:
            routes = RouteSet.read(spec.route_set)
            applied = apply_route_set(model, routes, list(model.trip_records()["id"]), spec.route_set)
        except RouteSetError as exc:
            raise ScenarioError(model.config.source, "route_choice.route_set", str(exc)) from None
    navigation.start()
    return RoutingFeature(model, spec, navigation, applied)
