"""Where a searching driver can go: turn-aware drive times and walking distances.

Drive routes follow the compiled network's connections (so no forbidden U-turn is ever
planned): a Dijkstra search over edges, from the end of the edge a vehicle is on, gives
the time to reach the end of every edge. Walking is on the street graph in either
direction, by length.
"""

from __future__ import annotations

import heapq
import math

import networkx as nx
import numpy as np

from sim.network.compile import CompiledNetwork

__all__ = ["DriveTree", "StreetMap"]

_FROM_START = -2


class DriveTree:
    """Least drive times from the end of one edge to the end of every edge.

    Attributes:
        source: The edge the vehicle is on.
        time_s: Per edge, the least time to reach its end (s); ``inf`` if unreachable.
            The source's own entry is the time to come back round to it.
    """

    def __init__(self, source: int, time_s: np.ndarray, pred: np.ndarray) -> None:
        self.source = source
        self.time_s = time_s
        self._pred = pred

    def edges_to(self, target: int) -> list[int]:
        """Edges from the source to ``target``, both included."""
        chain = [target]
        while self._pred[chain[-1]] != _FROM_START:
            chain.append(int(self._pred[chain[-1]]))
        return [self.source, *reversed(chain)]


class StreetMap:
    """Turn-aware driving and walking distances on one network.

    Args:
        graph: The road network.
        net: Its compiled form.
    """

    def __init__(self, graph: nx.DiGraph, net: CompiledNetwork) -> None:
        self.net = net
        self.successors: list[list[int]] = [[] for _ in range(net.n_edges)]
        for a, b in zip(net.conn_from.tolist(), net.conn_to.tolist(), strict=True):
            self.successors[a].append(b)
        self.edge_from = [net.edge_keys[e][0] for e in range(net.n_edges)]
        self.edge_to = [net.edge_keys[e][1] for e in range(net.n_edges)]
        self.free_flow_s = net.edge_length_m / net.edge_speed_mps
        self._walk_graph = graph.to_undirected(as_view=True)
        self._walk: dict[str, dict[str, float]] = {}

    def walk_m(self, node: str, destination: str) -> float:
        """Walking distance from ``node`` to ``destination`` on the streets (m)."""
        if destination not in self._walk:
            self._walk[destination] = nx.single_source_dijkstra_path_length(
                self._walk_graph, destination, weight="length_m"
            )
        return self._walk[destination].get(node, math.inf)

    def edge_walk_m(self, edge: int, destination: str) -> float:
        """Walking distance from the middle of an edge to ``destination`` (m)."""
        half = float(self.net.edge_length_m[edge]) / 2.0
        ends = (self.walk_m(self.edge_from[edge], destination), self.walk_m(self.edge_to[edge], destination))
        return half + min(ends)

    def tree(self, source: int, edge_time_s: np.ndarray) -> DriveTree:
        """Dijkstra over edges from the end of ``source``, each edge costing ``edge_time_s[edge]``."""
        n = len(self.successors)
        time_s = np.full(n, math.inf)
        pred = np.full(n, -1, dtype=np.int64)
        heap: list[tuple[float, int]] = []
        for e in self.successors[source]:
            t = float(edge_time_s[e])
            if t < time_s[e]:
                time_s[e] = t
                pred[e] = _FROM_START
                heapq.heappush(heap, (t, e))
        done = np.zeros(n, dtype=bool)
        while heap:
            t, e = heapq.heappop(heap)
            if done[e]:
                continue
            done[e] = True
            for nxt in self.successors[e]:
                cand = t + float(edge_time_s[nxt])
                if cand < time_s[nxt]:
                    time_s[nxt] = cand
                    pred[nxt] = e
                    heapq.heappush(heap, (cand, nxt))
        return DriveTree(source, time_s, pred)

    def node_path(self, edges: list[int]) -> tuple[str, ...]:
        """The node path of consecutive edges."""
        return (self.edge_from[edges[0]], *(self.edge_to[e] for e in edges))
