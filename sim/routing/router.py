"""Set-up routes: shortest drivable free-flow paths cached per origin, compiled once into edge sequences.

A route is drivable when each turn from one of its edges to the next is a connection of the
compiled network (which lacks banned turns, and U-turns where a node offers another way out).
The shortest path over nodes (Dijkstra on the road graph by free-flow time) is taken whenever it
is drivable, so networks without turn restrictions route exactly as they always did; otherwise
the shortest drivable path is searched over the connections (Dijkstra on the edges, with
``scipy.sparse.csgraph``). Both searches are cached per origin.

A run never aborts on a trip it cannot route: :meth:`Router.route_trips` skips it and records
why (:class:`SkippedTrip`), and the model reports the skipped trips with the run.
"""

from __future__ import annotations

import dataclasses
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from itertools import pairwise
from typing import Any

import networkx as nx
import numpy as np
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import dijkstra

from sim.demand import Trips
from sim.metrics.catalog import Metric
from sim.network.compile import CompiledNetwork

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

NO_ROUTE = "no drivable route"
"""Why a trip is skipped: its destination cannot be reached from its origin by any drivable path."""
MISSING_EDGE = "route uses a missing edge"
"""Why a trip is skipped: its given route steps between two nodes that no edge joins."""
BANNED_TURN = "route uses a banned turn"
"""Why a trip is skipped: its given route turns where the network has no connection."""
ROUTING_INFO = "routing"
"""Key of a run's info holding its skipped trips (see :meth:`RoutedTrips.info`), when there are any."""
SKIPPED_TRIPS_METRIC = Metric("skipped_trips", "trips skipped: cannot be driven", "{:,.0f}", "none")
"""The headline metric a run declares (as ``routing_skipped_trips``) when it skipped trips."""
_LISTED_IDS = 5
"""Trip ids listed per reason in a run's info."""
_NO_PREDECESSOR = -9999
"""What ``scipy.sparse.csgraph.dijkstra`` gives as the predecessor of a source or unreached edge."""


class RoutingError(ValueError):
    """A trip whose destination cannot be reached, or whose given route the network lacks.

    Attributes:
        reason: Why, in a few words: :data:`NO_ROUTE`, :data:`MISSING_EDGE` or :data:`BANNED_TURN`.
    """

    def __init__(self, message: str, reason: str = NO_ROUTE) -> None:
        super().__init__(message)
        self.reason = reason


@dataclass(frozen=True)
class SkippedTrip:
    """A trip of the demand that the run leaves out because it cannot be driven.

    Attributes:
        id: The trip id.
        reason: :data:`NO_ROUTE`, :data:`MISSING_EDGE` or :data:`BANNED_TURN`.
        detail: The full message, naming the nodes.
    """

    id: str
    reason: str
    detail: str


@dataclass(frozen=True, eq=False)
class RoutedTrips:
    """The trips a run drives, their routes, and the trips it skips.

    Attributes:
        trips: The drivable trips, in departure order (every column of the demand's trips).
        route_ids: Per trip, its route's index among :attr:`Router.route_edges`.
        free_flow_s: Per trip, its route's free-flow time (s).
        length_m: Per trip, its route's length (m).
        skipped: The trips left out, in departure order.
    """

    trips: Trips
    route_ids: np.ndarray
    free_flow_s: np.ndarray
    length_m: np.ndarray
    skipped: tuple[SkippedTrip, ...]

    def info(self) -> dict:
        """The skipped trips for a run's info (JSON-compatible).

        Returns:
            ``{"skipped_trips": n, "skipped_by_reason": {reason: n}, "skipped_ids": {reason: [the
            first few ids]}}``.
        """
        by_reason = Counter(trip.reason for trip in self.skipped)
        return {
            SKIPPED_TRIPS_METRIC.key: len(self.skipped),
            "skipped_by_reason": dict(by_reason.most_common()),
            "skipped_ids": {
                reason: [trip.id for trip in self.skipped if trip.reason == reason][:_LISTED_IDS]
                for reason in by_reason
            },
        }


class Router:
    """Turns trips into drivable routes on the compiled network.

    A trip with a given route (a node path) uses it as is, if it can be driven. Otherwise it
    takes the shortest drivable path by free-flow time (length / speed), from searches cached
    per origin, so every trip between the same two nodes takes the same path. Each distinct
    path is stored once.

    Attributes:
        route_edges: Per distinct route, its edge indices.
        route_conns: Per distinct route, the connection between consecutive edges (-1 last).
    """

    def __init__(self, graph: nx.DiGraph, net: CompiledNetwork) -> None:
        self.graph = graph
        self.net = net
        self.route_edges: list[np.ndarray] = []
        self.route_conns: list[np.ndarray] = []
        self._route_id: dict[tuple[str, ...], int] = {}
        self._trees: dict[str, dict[str, list[str]]] = {}
        self._paths: dict[tuple[str, str], tuple[str, ...] | RoutingError] = {}
        self._edge_trees: dict[tuple[int, ...], tuple[np.ndarray, np.ndarray]] = {}
        self._turn_graph: csr_matrix | None = None
        self._free_flow = net.edge_length_m / net.edge_speed_mps

    def shortest_path(self, origin: str, destination: str) -> tuple[str, ...]:
        """Drivable node path of least free-flow time.

        Raises:
            RoutingError: If no drivable path leads from the origin to the destination.
        """
        found = self._paths.get((origin, destination))
        if found is None:
            found = self._paths[(origin, destination)] = self._search(origin, destination)
        if isinstance(found, RoutingError):
            raise found
        return found

    def edge_path(self, first: tuple[str, str], last: tuple[str, str]) -> tuple[str, ...]:
        """Node path of the quickest drivable route (free flow) from the start of an edge to the end of one.

        Args:
            first: ``(u, v)`` key of the graph edge the route starts on.
            last: ``(u, v)`` key of the graph edge it ends on (``first`` itself for a one-edge route).

        Raises:
            RoutingError: If either edge is missing or no drivable route joins them.
        """
        for key in (first, last):
            if key not in self.net.edge_index:
                raise RoutingError(f"no edge {key[0]!r} -> {key[1]!r}", MISSING_EDGE)
        edges = self._best_edge_path((self.net.edge_index[first],), [self.net.edge_index[last]])
        if edges is None:
            raise RoutingError(
                f"no drivable route from edge {first[0]!r} -> {first[1]!r} to edge {last[0]!r} -> {last[1]!r}"
            )
        return self._nodes(edges)

    def route_id(self, path: tuple[str, ...]) -> int:
        """Index of a node path among the distinct routes, adding it if new.

        Raises:
            RoutingError: If the path uses a missing edge or turn (its ``reason`` says which).
        """
        rid = self._route_id.get(path)
        if rid is None:
            try:
                edges = self.net.route_edges(path)
            except KeyError as exc:
                u, v = exc.args[0]
                raise RoutingError(
                    f"route {' '.join(path)!r} steps {u!r} -> {v!r}, which no edge joins", MISSING_EDGE
                ) from None
            try:
                conns = self.net.route_conns(edges)
            except KeyError as exc:
                a, b = (self.net.edge_keys[e] for e in exc.args[0])
                raise RoutingError(
                    f"route {' '.join(path)!r} turns {a[0]!r} -> {a[1]!r} -> {b[1]!r}, which the network "
                    "does not connect",
                    BANNED_TURN,
                ) from None
            rid = len(self.route_edges)
            self._route_id[path] = rid
            self.route_edges.append(edges)
            self.route_conns.append(conns)
        return rid

    def route_trips(self, trips: Trips) -> RoutedTrips:
        """Route every trip; skip, and record, the trips that cannot be driven.

        Returns:
            The drivable trips with their route indices, free-flow times and lengths, and the
            skipped ones.
        """
        keep: list[int] = []
        rids: list[int] = []
        skipped: list[SkippedTrip] = []
        for i in range(len(trips)):
            try:
                path = trips.routes[i]
                if path is None:
                    path = self.shortest_path(trips.origin[i], trips.destination[i])
                rids.append(self.route_id(tuple(path)))
                keep.append(i)
            except RoutingError as exc:
                skipped.append(SkippedTrip(trips.ids[i], exc.reason, f"trip {trips.ids[i]!r}: {exc}"))
        route_ids = np.array(rids, dtype=np.int64)
        lengths = self.net.edge_length_m
        totals = np.array([(self._free_flow[e].sum(), lengths[e].sum()) for e in self.route_edges]).reshape(
            -1, 2
        )
        kept = trips if len(keep) == len(trips) else _take(trips, keep)
        return RoutedTrips(kept, route_ids, totals[route_ids, 0], totals[route_ids, 1], tuple(skipped))

    def edge_flows_vph(self, trips: Trips) -> np.ndarray:
        """Hourly flow per edge if every trip follows its route, over the demand's time span.

        Raises:
            RoutingError: If a trip cannot be driven (pass the trips :meth:`route_trips` kept).
        """
        return self._flows_vph(trips, self.route_edges, self.net.n_edges)

    def connection_flows_vph(self, trips: Trips) -> np.ndarray:
        """Hourly flow per connection (turning movement), as :meth:`edge_flows_vph` per edge.

        Raises:
            RoutingError: If a trip cannot be driven (pass the trips :meth:`route_trips` kept).
        """
        return self._flows_vph(trips, self.route_conns, len(self.net.conn_from))

    def _flows_vph(self, trips: Trips, per_route: list[np.ndarray], n: int) -> np.ndarray:
        """Trips per hour on each of ``n`` items, ``per_route[route]`` the items of a route (-1: none)."""
        counts = np.zeros(n)
        for i in range(len(trips)):
            path = trips.routes[i] or self.shortest_path(trips.origin[i], trips.destination[i])
            items = per_route[self.route_id(tuple(path))]
            np.add.at(counts, items[items >= 0], 1.0)
        span_h = max(float(trips.depart_s[-1]) if len(trips) else 0.0, 60.0) / 3600.0
        return counts / span_h

    def _search(self, origin: str, destination: str) -> tuple[str, ...] | RoutingError:
        """The shortest node path if it is drivable, else the shortest drivable one, else the error."""
        if origin not in self._trees:
            self._trees[origin] = nx.single_source_dijkstra_path(
                self.graph, origin, weight=lambda u, v, d: d["length_m"] / d["speed_mps"]
            )
        path = self._trees[origin].get(destination)
        if path is None:
            return RoutingError(f"no route from {origin!r} to {destination!r}")
        index, conns = self.net.edge_index, self.net.conn_index
        edges = [index[step] for step in pairwise(path)]
        if all(pair in conns for pair in pairwise(edges)):
            return tuple(path)
        sources = tuple(sorted(index[key] for key in self.graph.out_edges(origin)))
        best = self._best_edge_path(sources, [index[key] for key in self.graph.in_edges(destination)])
        if best is None:
            return RoutingError(
                f"no drivable route from {origin!r} to {destination!r} (every path makes a banned turn)"
            )
        return self._nodes(best)

    def _best_edge_path(self, sources: tuple[int, ...], ends: Sequence[int]) -> list[int] | None:
        """Edges of the quickest drivable path (free flow) from one of ``sources`` to the end of an ``ends``.

        Returns:
            The edge indices in travel order, or ``None`` if no end can be reached.
        """
        if not sources or not ends:
            return None
        if sources not in self._edge_trees:
            if self._turn_graph is None:
                net = self.net
                # a turn costs the free-flow time of the edge it leaves, so a path's cost to an
                # edge's start is the time of the edges before it
                self._turn_graph = csr_matrix(
                    (self._free_flow[net.conn_from], (net.conn_from, net.conn_to)),
                    shape=(net.n_edges, net.n_edges),
                )
            dist, pred, _ = dijkstra(
                self._turn_graph, indices=list(sources), return_predecessors=True, min_only=True
            )
            self._edge_trees[sources] = (dist, pred)
        dist, pred = self._edge_trees[sources]
        ends = np.asarray(ends, dtype=np.int64)
        cost = dist[ends] + self._free_flow[ends]
        best = int(np.argmin(cost))
        if not np.isfinite(cost[best]):
            return None
        edges = [int(ends[best])]
        while pred[edges[-1]] != _NO_PREDECESSOR:
            edges.append(int(pred[edges[-1]]))
        return edges[::-1]

    def _nodes(self, edges: Sequence[int]) -> tuple[str, ...]:
        keys = self.net.edge_keys
        return (keys[edges[0]][0], *(keys[e][1] for e in edges))


def skipped_text(record: Mapping[str, Any]) -> str:
    """One line on a run's skipped trips from its :meth:`RoutedTrips.info` record.

    E.g. ``"12 trips of the demand skipped, not run: no drivable route 10 (t3, t7, t9, t12, t15,
    ...); route uses a banned turn 2 (t1, t2)"``.
    """
    count = int(record[SKIPPED_TRIPS_METRIC.key])
    parts = []
    for reason, n in record["skipped_by_reason"].items():
        ids = list(record["skipped_ids"].get(reason, []))
        listed = ", ".join(ids + (["..."] if n > len(ids) else []))
        parts.append(f"{reason} {n:,} ({listed})")
    return f"{count:,} trip{'s' if count != 1 else ''} of the demand skipped, not run: " + "; ".join(parts)


def _take(trips: Trips, keep: Sequence[int]) -> Trips:
    """The trips at positions ``keep`` (ascending), every column of :class:`~sim.demand.Trips` alike."""
    columns = {}
    for field in dataclasses.fields(trips):
        column = getattr(trips, field.name)
        columns[field.name] = (
            column[keep] if isinstance(column, np.ndarray) else tuple(column[i] for i in keep)
        )
    return Trips(**columns)
