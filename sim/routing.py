"""Routes: shortest free-flow paths cached per origin, compiled once into edge sequences."""

from __future__ import annotations

import networkx as nx
import numpy as np

from sim.demand import Trips
from sim.network.compile import CompiledNetwork

__all__ = ["RoutingError", "Router"]


class RoutingError(ValueError):
    """A trip whose destination cannot be reached, or whose given route the network lacks."""


class Router:
    """Turns trips into routes on the compiled network.

    A trip with a given route (a node path) uses it as is. Otherwise it takes the
    shortest path by free-flow time (length / speed), computed once per origin with
    Dijkstra and cached, so every trip between the same two nodes takes the same path.
    Each distinct path is stored once.

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
        self._free_flow = net.edge_length_m / net.edge_speed_mps

    def shortest_path(self, origin: str, destination: str) -> tuple[str, ...]:
        """Node path of least free-flow time.

        Raises:
            RoutingError: If the destination is unreachable from the origin.
        """
        if origin not in self._trees:
            self._trees[origin] = nx.single_source_dijkstra_path(
                self.graph, origin, weight=lambda u, v, d: d["length_m"] / d["speed_mps"]
            )
        path = self._trees[origin].get(destination)
        if path is None:
            raise RoutingError(f"no route from {origin!r} to {destination!r}")
        return tuple(path)

    def route_id(self, path: tuple[str, ...]) -> int:
        """Index of a node path among the distinct routes, adding it if new.

        Raises:
            RoutingError: If the path uses a missing edge or turn.
        """
        rid = self._route_id.get(path)
        if rid is None:
            try:
                edges = self.net.route_edges(path)
                conns = self.net.route_conns(edges)
            except KeyError as exc:
                raise RoutingError(f"route {' '.join(path)!r} uses a missing edge or turn: {exc}") from None
            rid = len(self.route_edges)
            self._route_id[path] = rid
            self.route_edges.append(edges)
            self.route_conns.append(conns)
        return rid

    def route_trips(self, trips: Trips) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Route every trip.

        Returns:
            For each trip, its route's index among :attr:`route_edges`, its free-flow time (s)
            and its length (m).
        """
        rids = np.empty(len(trips), dtype=np.int64)
        for i in range(len(trips)):
            path = trips.routes[i]
            if path is None:
                path = self.shortest_path(trips.origin[i], trips.destination[i])
            try:
                rids[i] = self.route_id(tuple(path))
            except RoutingError as exc:
                raise RoutingError(f"trip {trips.ids[i]!r}: {exc}") from None
        lengths = self.net.edge_length_m
        totals = np.array([(self._free_flow[e].sum(), lengths[e].sum()) for e in self.route_edges]).reshape(
            -1, 2
        )
        return rids, totals[rids, 0], totals[rids, 1]

    def edge_flows_vph(self, trips: Trips) -> np.ndarray:
        """Hourly flow per edge if every trip follows its route, over the demand's time span."""
        counts = np.zeros(self.net.n_edges)
        for i in range(len(trips)):
            path = trips.routes[i] or self.shortest_path(trips.origin[i], trips.destination[i])
            np.add.at(counts, self.route_edges[self.route_id(tuple(path))], 1.0)
        span_h = max(float(trips.depart_s[-1]) if len(trips) else 0.0, 60.0) / 3600.0
        return counts / span_h
