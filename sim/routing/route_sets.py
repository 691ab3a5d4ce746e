"""Route sets: a few routes per group of trips, and each trip's choice among them (a JSON file).

A group is the trips that start on the same link and end at the same node; its routes are node
paths that all start on that link, so any of them can replace a trip's route before it
departs. ``citysim assign`` writes the set it converged to; a scenario uses it with
``[route_choice] route_set = "file.json"``: each trip listed takes its route there, the other trips
of a group draw theirs by the group's shares (from the run's seed), and trips of no group keep
their own route.

Format (``"format": "citysim-route-set"``, ``"version": 1``)::

    {"format": "citysim-route-set", "version": 1, "scenario": "grid20", "iterations": 8,
     "relative_gap": 0.012,
     "groups": [{"first": ["S17", "n17_0"], "destination": "S13",
                 "routes": [["S17", "n17_0", "n16_0", "S13"], ...], "shares": [0.7, 0.3]}],
     "trips": {"v0": [0, 1], ...}}
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from sim.routing.router import RoutingError
from sim.services import Services

__all__ = ["FORMAT", "ROUTE_SET_STREAM", "RouteGroup", "RouteSet", "RouteSetError", "apply_route_set"]

FORMAT = "citysim-route-set"
"""The ``format`` field of a route set file."""
_VERSION = 1
ROUTE_SET_STREAM = 0x52534554
"""Spawn key of the stream that draws routes by shares (``[seed, ROUTE_SET_STREAM]``)."""


class RouteSetError(ValueError):
    """A route set file that cannot be read, or whose routes the network cannot drive."""


@dataclass
class RouteGroup:
    """The routes of the trips that start on one link and end at one node.

    Attributes:
        first: ``(u, v)`` of the link they start on.
        destination: Their destination node.
        routes: Node paths, each starting ``u, v``.
        shares: Per route, the share of the group's trips on it.
    """

    first: tuple[str, str]
    destination: str
    routes: list[tuple[str, ...]]
    shares: list[float]

    @property
    def key(self) -> tuple[str, str, str]:
        """``(u, v, destination)``."""
        return (*self.first, self.destination)


@dataclass
class RouteSet:
    """Groups of routes and each trip's choice, with how the assignment that wrote them ended.

    Attributes:
        groups: The route groups.
        trips: Trip id -> ``(group, route)`` indices.
        meta: ``scenario``, ``iterations``, ``relative_gap`` and anything else worth keeping.
    """

    groups: list[RouteGroup] = field(default_factory=list)
    trips: dict[str, tuple[int, int]] = field(default_factory=dict)
    meta: dict[str, Any] = field(default_factory=dict)

    def write(self, file: str | Path) -> None:
        """Write the set as JSON."""
        doc = {
            "format": FORMAT,
            "version": _VERSION,
            **self.meta,
            "groups": [
                {
                    "first": list(g.first),
                    "destination": g.destination,
                    "routes": [list(r) for r in g.routes],
                    "shares": [round(s, 6) for s in g.shares],
                }
                for g in self.groups
            ],
            "trips": {tid: list(choice) for tid, choice in self.trips.items()},
        }
        Path(file).write_text(json.dumps(doc, indent=1) + "\n", encoding="utf-8")

    @classmethod
    def read(cls, file: str | Path) -> RouteSet:
        """Read a set written by :meth:`write`.

        Raises:
            RouteSetError: Naming the file and what is wrong in it.
        """
        try:
            doc = json.loads(Path(file).read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise RouteSetError(f"{file}: cannot read a route set: {exc}") from None
        if not isinstance(doc, dict) or doc.get("format") != FORMAT or doc.get("version") != _VERSION:
            raise RouteSetError(
                f"{file}: expected a JSON object with format {FORMAT!r} and version {_VERSION}"
            )
        groups = []
        try:
            for i, g in enumerate(doc["groups"]):
                routes = [tuple(str(n) for n in r) for r in g["routes"]]
                shares = [float(s) for s in g["shares"]]
                first = (str(g["first"][0]), str(g["first"][1]))
                if len(shares) != len(routes) or not routes or any(r[:2] != first for r in routes):
                    raise RouteSetError(
                        f"{file}: groups[{i}]: expected routes starting {first[0]!r} -> {first[1]!r} "
                        "and one share per route"
                    )
                if not all(math.isfinite(s) and s >= 0.0 for s in shares):
                    raise RouteSetError(
                        f"{file}: groups[{i}].shares: expected non-negative numbers, got {shares}"
                    )
                groups.append(RouteGroup(first, str(g["destination"]), routes, shares))
            trips = {str(tid): (int(c[0]), int(c[1])) for tid, c in doc["trips"].items()}
        except (KeyError, TypeError, IndexError, ValueError, AttributeError) as exc:
            if isinstance(exc, RouteSetError):
                raise
            raise RouteSetError(f"{file}: malformed route set ({type(exc).__name__}: {exc})") from None
        for tid, (g, r) in trips.items():
            if not (0 <= g < len(groups) and 0 <= r < len(groups[g].routes)):
                raise RouteSetError(f"{file}: trips[{tid!r}] = [{g}, {r}] names no route of the set")
        meta = {k: v for k, v in doc.items() if k not in ("format", "version", "groups", "trips")}
        return cls(groups, trips, meta)


def apply_route_set(model: Services, routes: RouteSet, trip_ids: list[str], source: str) -> int:
    """Give the demand's trips, before they depart, their routes from a route set.

    Args:
        model: The model, before its first step.
        routes: The route set.
        trip_ids: The demand's trip ids, in vehicle order (vehicle ``i`` is trip ``trip_ids[i]``).
        source: The file, for errors.

    Returns:
        How many trips took a route of the set.

    Raises:
        RouteSetError: If a route of the set cannot be driven on this network.
    """
    router, traffic = model.router, model.traffic
    rng = np.random.default_rng([model.seed, ROUTE_SET_STREAM])
    by_key = {g.key: i for i, g in enumerate(routes.groups)}
    edge_keys, to_node = model.net.edge_keys, model.net.node_ids
    first_edges = traffic.edges_of(np.arange(len(trip_ids)))
    last_nodes = model.net.edge_to[traffic.route_edges_at(traffic.route_ends(np.arange(len(trip_ids))))]
    route_ids: dict[tuple[int, int], int] = {}
    vids, chosen = [], []
    for vid, tid in enumerate(trip_ids):
        pick = routes.trips.get(tid)
        if pick is None:
            g = by_key.get((*edge_keys[first_edges[vid]], to_node[last_nodes[vid]]))
            if g is None:
                continue
            shares = np.asarray(routes.groups[g].shares)
            pick = (g, int(rng.choice(len(shares), p=shares / shares.sum())) if shares.sum() > 0 else 0)
        if pick not in route_ids:
            try:
                route_ids[pick] = router.route_id(routes.groups[pick[0]].routes[pick[1]])
            except RoutingError as exc:
                raise RouteSetError(f"{source}: groups[{pick[0]}].routes[{pick[1]}]: {exc}") from None
        if router.route_edges[route_ids[pick]][0] != first_edges[vid]:
            raise RouteSetError(
                f"{source}: trip {tid!r} starts on link {' -> '.join(edge_keys[first_edges[vid]])}, "
                f"not on the first link of groups[{pick[0]}]"
            )
        vids.append(vid)
        chosen.append(route_ids[pick])
    if vids:
        sizes = np.array([len(router.route_edges[r]) for r in chosen])
        ptr = np.concatenate([[0], np.cumsum(sizes)])
        traffic.set_routes(
            np.array(vids),
            ptr,
            np.concatenate([router.route_edges[r] for r in chosen]),
            np.concatenate([router.route_conns[r] for r in chosen]),
        )
    return len(vids)
