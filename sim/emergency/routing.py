"""Fastest routes for emergency vehicles under the current link travel times.

Dijkstra runs on the graph of the network's *connections* (link -> link turning
movements the kernel allows) rather than on the node graph, so that a route that must
start on the link a vehicle is driving on never begins with a turn the network does
not offer (a U-turn). One search backwards from the scene gives every link's time to
reach it, so all candidate vehicles are priced by a single search.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import networkx as nx
import numpy as np

from sim.network.compile import CompiledNetwork

__all__ = ["Reach", "Route", "SceneRouter"]


@dataclass(frozen=True)
class Route:
    """A route and its expected travel time.

    Attributes:
        cost_s: Expected travel time (s) under the link times it was computed with.
        edges: Edge indices from the first link to the last.
        path: The same route as a node path (for :meth:`~sim.services.Services.add_vehicle`).
        free_flow_s: Its travel time at the speed limits (s).
    """

    cost_s: float
    edges: tuple[int, ...]
    path: tuple[str, ...]
    free_flow_s: float = 0.0

    @classmethod
    def standing(cls, node: str) -> Route:
        """The empty route of a vehicle that is already where it must be."""
        return cls(0.0, (), (node,))


class Reach:
    """Times to reach one scene from every link, under fixed link travel times.

    Attributes:
        to_go_s: Edge index -> time (s) from the end of that link to the end of the route
            (absent: the scene cannot be reached from it).
    """

    def __init__(
        self,
        net: CompiledNetwork,
        times_s: np.ndarray,
        to_go_s: dict[int, float],
        paths: dict[int, list[int]],
    ) -> None:
        self._net = net
        self._times_s = times_s
        self.to_go_s = to_go_s
        self._paths = paths

    def _route(self, cost_s: float, first: int) -> Route:
        edges = tuple(reversed(self._paths[first]))
        net = self._net
        path = (net.node_ids[net.edge_from[first]], *(net.node_ids[net.edge_to[e]] for e in edges))
        free_flow_s = float((net.edge_length_m[list(edges)] / net.edge_speed_mps[list(edges)]).sum())
        return Route(cost_s, edges, path, free_flow_s)

    def from_node(self, node: str) -> Route | None:
        """The fastest route for a vehicle parked at ``node`` (it may leave on any link)."""
        index = self._net.node_ids.index(node)
        best: tuple[float, int] | None = None
        for edge in np.flatnonzero(self._net.edge_from == index).tolist():
            if edge in self.to_go_s:
                option = (float(self._times_s[edge]) + self.to_go_s[edge], edge)
                best = option if best is None or option < best else best
        return None if best is None else self._route(*best)

    def from_edge(self, edge: int, position_m: float) -> Route | None:
        """The fastest route for a vehicle ``position_m`` along ``edge``, starting with that link."""
        if edge not in self.to_go_s:
            return None
        left = max(0.0, 1.0 - position_m / float(self._net.edge_length_m[edge]))
        return self._route(left * float(self._times_s[edge]) + self.to_go_s[edge], edge)


class SceneRouter:
    """Prices routes to a scene on the connection graph of a compiled network."""

    def __init__(self, net: CompiledNetwork) -> None:
        self.net = net
        backwards = nx.DiGraph()
        backwards.add_nodes_from(range(net.n_edges))
        backwards.add_edges_from(zip(net.conn_to.tolist(), net.conn_from.tolist(), strict=True))
        self._backwards = backwards

    def reach(self, target_edges: tuple[int, ...], times_s: np.ndarray) -> Reach:
        """Times and routes to the end of any of ``target_edges`` from every link.

        Args:
            target_edges: Links whose end is the scene.
            times_s: Travel time of every link (s), e.g. ``model.link_travel_times_s()``.
        """
        # walking backwards from link b to a link a feeding it costs the time to drive b
        to_go, paths = nx.multi_source_dijkstra(
            self._backwards, set(target_edges), weight=lambda b, _a, _d: float(times_s[b])
        )
        finite = {edge: cost for edge, cost in to_go.items() if math.isfinite(cost)}
        return Reach(self.net, times_s, finite, paths)
