"""Turn-aware shuttle legs: planned time, distance and node path between positions.

A shuttle is either at the end of a link (driving, or halted at a stop) or parked off the
street at a node, from where it can leave on any link. Where it can turn depends on the
link it arrives on (the network has no U-turns where another way out exists), so paths
are shortest paths over the network's connections (its line graph), not over nodes.

Planned link time: ``length / (speed limit * speed_factor)``, plus ``signal_delay_s``
when the link ends at a signalized junction.
"""

from __future__ import annotations

import heapq
import math
from dataclasses import dataclass

import numpy as np

from sim.network.compile import CompiledNetwork
from sim.routing import RoutingError

__all__ = ["Leg", "LegPlanner", "Position"]

Position = int | str
"""Where a shuttle is: an edge index (at the end of that link) or a node id (parked there)."""


@dataclass(frozen=True)
class Leg:
    """A planned drive.

    Attributes:
        path: Node path; starts with the current link when starting from an edge, with the
            node when parked. A single node when there is nothing to drive.
        time_s: Planned time from the start position to the halt at the target (s).
        length_m: Distance driven (m).
        end: The position on arrival: the last link, or the node when nothing is driven.
    """

    path: tuple[str, ...]
    time_s: float
    length_m: float
    end: Position


class LegPlanner:
    """Shortest planned-time legs over the connections of a compiled network, cached.

    Args:
        net: The compiled network.
        speed_factor: Share of the speed limit planned for (0 < f).
        signal_delay_s: Planned delay per signalized junction crossed (s).
        max_speed_mps: The vehicle's own speed cap below the links' limits (m/s).

    Attributes:
        edge_time_s: Planned time of every link (s).
        max_speed_mps: The speed cap it plans with, given to the vehicles it plans for.
    """

    def __init__(
        self, net: CompiledNetwork, speed_factor: float, signal_delay_s: float, max_speed_mps: float = np.inf
    ) -> None:
        self.net = net
        self.max_speed_mps = max_speed_mps
        signalized = np.zeros(len(net.node_ids), dtype=bool)
        signalized[net.signal_nodes] = True
        speed = np.minimum(net.edge_speed_mps, max_speed_mps) * speed_factor
        self.edge_time_s = net.edge_length_m / speed + np.where(signalized[net.edge_to], signal_delay_s, 0.0)
        self._node_index = {node: i for i, node in enumerate(net.node_ids)}
        n_edges = net.n_edges
        order = np.argsort(net.conn_from, kind="stable")
        self._succ_ptr = np.searchsorted(net.conn_from[order], np.arange(n_edges + 1))
        self._succ = net.conn_to[order]
        self._in_edges = [np.flatnonzero(net.edge_to == n) for n in range(len(net.node_ids))]
        self._out_edges = [np.flatnonzero(net.edge_from == n) for n in range(len(net.node_ids))]
        self._trees: dict[Position, tuple[np.ndarray, np.ndarray]] = {}
        self._legs: dict[tuple[Position, str], Leg] = {}

    def node_of(self, position: Position) -> str:
        """The node a position is at (the head of its link, or the parking node)."""
        if isinstance(position, str):
            return position
        return self.net.node_ids[self.net.edge_to[position]]

    def leg(self, start: Position, node: str) -> Leg:
        """The planned-fastest leg from ``start`` to a halt at ``node``.

        Raises:
            RoutingError: If ``node`` cannot be reached.
        """
        key = (start, node)
        leg = self._legs.get(key)
        if leg is None:
            leg = self._legs[key] = self._plan(start, node)
        return leg

    def time_s(self, start: Position, node: str) -> tuple[float, Position]:
        """Planned time to ``node`` and the position on arrival (the insertion heuristic's leg time)."""
        leg = self.leg(start, node)
        return leg.time_s, leg.end

    def _plan(self, start: Position, node: str) -> Leg:
        net = self.net
        if self.node_of(start) == node:
            path = (node,) if isinstance(start, str) else net.edge_keys[start]
            return Leg(tuple(path), 0.0, 0.0, start)
        target = self._node_index.get(node)
        if target is None:
            raise RoutingError(f"no node {node!r} in the network")
        dist, pred = self._tree(start)
        ins = self._in_edges[target]
        if not len(ins) or not np.isfinite(dist[ins]).any():
            raise RoutingError(f"no route from {self.node_of(start)!r} to {node!r}")
        last = int(ins[np.argmin(dist[ins])])
        edges = [last]
        while pred[edges[-1]] >= 0:
            edges.append(int(pred[edges[-1]]))
        edges.reverse()
        driven = edges if isinstance(start, str) else edges[1:]
        path = [net.edge_keys[edges[0]][0], *(net.edge_keys[e][1] for e in edges)]
        return Leg(tuple(path), float(dist[last]), float(net.edge_length_m[driven].sum()), last)

    def _tree(self, start: Position) -> tuple[np.ndarray, np.ndarray]:
        """Dijkstra over connections: planned time to the end of every edge, and predecessors."""
        tree = self._trees.get(start)
        if tree is not None:
            return tree
        dist = np.full(self.net.n_edges, math.inf)
        pred = np.full(self.net.n_edges, -1, dtype=np.int64)
        if isinstance(start, str):
            sources = self._out_edges[self._node_index[start]].tolist()
            heap = [(float(self.edge_time_s[e]), e) for e in sources]
        else:
            heap = [(0.0, int(start))]
        for time_s, e in heap:
            dist[e] = time_s
        heapq.heapify(heap)
        while heap:
            time_s, e = heapq.heappop(heap)
            if time_s > dist[e]:
                continue
            for nxt in self._succ[self._succ_ptr[e] : self._succ_ptr[e + 1]].tolist():
                candidate = time_s + float(self.edge_time_s[nxt])
                if candidate < dist[nxt]:
                    dist[nxt] = candidate
                    pred[nxt] = e
                    heapq.heappush(heap, (candidate, nxt))
        self._trees[start] = (dist, pred)
        return dist, pred
