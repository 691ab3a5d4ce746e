"""Batch shortest paths over the connection graph for en-route rerouting, on any link costs.

The connection graph has one vertex per link (edge) and one arc per connection (a turning
movement the compiled network allows), so a path in it never makes a banned turn. Routing
many vehicles at once goes by destination: one compiled Dijkstra search per destination node
on the reversed graph (:func:`sim.traffic.shortest.trees_to`), from every link that ends
there, stopped once the links the vehicles are on are settled, gives their remaining cost to
that destination and the next link on the way. A vehicle's new route is then a walk along
those next links, done for all vehicles at once in numpy (one step per link of the longest
route), so the cost of an event grows with the number of destinations, not of vehicles.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from sim.traffic.shortest import trees_to

__all__ = ["DestinationTrees", "EdgeGraph", "spans"]

_MIN_COST_S = 1e-6
"""Floor of a link's cost (s), so that every arc of a path costs something."""


class DestinationTrees(NamedTuple):
    """Shortest-path trees towards a few destination nodes.

    Attributes:
        destinations: The destination node indices, one per row.
        cost_s: ``(k, n_edges)`` cost from the start of each link to the row's destination,
            the link's own cost included (s; ``inf``: it cannot be reached).
        next_edge: ``(k, n_edges)`` the link after each link on its best path (``-1`` after
            the last link or where the destination cannot be reached).
    """

    destinations: np.ndarray
    cost_s: np.ndarray
    next_edge: np.ndarray

    def rows_of(self, nodes: np.ndarray) -> np.ndarray:
        """The row of each destination node in ``nodes`` (each must be one of :attr:`destinations`)."""
        return np.searchsorted(self.destinations, nodes)


class EdgeGraph:
    """The connection graph of a compiled network (links as vertices, connections as arcs).

    Args:
        net: The compiled network (``edge_to``, ``conn_from``, ``conn_to``).
    """

    def __init__(self, net) -> None:
        self.n_edges = n = int(net.n_edges)
        self.edge_to = np.asarray(net.edge_to, dtype=np.int64)
        conn_from = np.asarray(net.conn_from, dtype=np.int64)
        conn_to = np.asarray(net.conn_to, dtype=np.int64)
        keys = conn_from * n + conn_to
        self._order = np.argsort(keys, kind="stable")
        self._keys = keys[self._order]
        # reversed arcs: from a connection's out-link back to its in-link
        by_to = np.argsort(conn_to, kind="stable")
        self._rev_ptr = np.concatenate([[0], np.cumsum(np.bincount(conn_to, minlength=n))])
        self._rev_adj = conn_from[by_to]
        # the links that end at each node
        self._in_order = np.argsort(self.edge_to, kind="stable")
        self._in_ptr = np.concatenate(
            [[0], np.cumsum(np.bincount(self.edge_to, minlength=len(net.node_ids)))]
        )

    def connections(self, frm: np.ndarray, to: np.ndarray) -> np.ndarray:
        """The connection from each link of ``frm`` to the matching link of ``to`` (-1: none)."""
        keys = np.asarray(frm, dtype=np.int64) * self.n_edges + np.asarray(to, dtype=np.int64)
        if not len(self._keys):
            return np.full(len(keys), -1, dtype=np.int64)
        at = np.minimum(np.searchsorted(self._keys, keys), len(self._keys) - 1)
        return np.where(self._keys[at] == keys, self._order[at], -1)

    def trees_to(self, destinations: np.ndarray, sources: np.ndarray, cost_s: np.ndarray) -> DestinationTrees:
        """Shortest paths from the ``sources`` links to their ``destinations`` nodes, on the given costs.

        Args:
            destinations: Per path asked for, its destination node.
            sources: Per path asked for, the link it starts on.
            cost_s: Per link, the cost of driving it (s); ``inf`` closes it.

        Returns:
            The trees, one row per distinct destination, ascending; settled as far as the
            sources needed (a link not on the way to a source may be left at ``inf``).
        """
        destinations = np.asarray(destinations, dtype=np.int64)
        dests, rows = np.unique(destinations, return_inverse=True)
        cost = np.maximum(np.asarray(cost_s, dtype=float), _MIN_COST_S)
        starts, stops = self._in_ptr[dests], self._in_ptr[dests + 1]
        ends = self._in_order[spans(starts, stops - starts)]
        ends_ptr = np.concatenate([[0], np.cumsum(stops - starts)])
        by_row = np.argsort(rows, kind="stable")
        want_ptr = np.concatenate([[0], np.cumsum(np.bincount(rows, minlength=len(dests)))])
        dist = np.empty((len(dests), self.n_edges))
        next_edge = np.empty((len(dests), self.n_edges), dtype=np.int64)
        trees_to(
            self._rev_ptr,
            self._rev_adj,
            ends_ptr,
            ends,
            cost,
            want_ptr,
            np.asarray(sources, dtype=np.int64)[by_row],
            dist,
            next_edge,
        )
        return DestinationTrees(dests, dist, next_edge)

    @staticmethod
    def paths(
        trees: DestinationTrees, rows: np.ndarray, sources: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """The best path from each source link to its row's destination, for all sources at once.

        Args:
            trees: From :meth:`trees_to`.
            rows: Per path, its destination's row in ``trees``.
            sources: Per path, the link it starts on (which must reach the destination).

        Returns:
            ``(ptr, edges)``: path ``i`` is ``edges[ptr[i]:ptr[i + 1]]``, its source first.
        """
        steps = [np.asarray(sources, dtype=np.int64)]
        alive = np.ones(len(sources), dtype=bool)
        while True:
            nxt = np.where(alive, trees.next_edge[rows, np.maximum(steps[-1], 0)], -1)
            alive = nxt >= 0
            if not alive.any():
                break
            steps.append(nxt)
        table = np.stack(steps, axis=1)
        taken = table >= 0
        ptr = np.concatenate([[0], np.cumsum(taken.sum(axis=1))])
        return ptr, table[taken]


def spans(first: np.ndarray, sizes: np.ndarray) -> np.ndarray:
    """The concatenated ranges ``first[i] .. first[i] + sizes[i] - 1``."""
    return np.arange(int(sizes.sum())) - np.repeat(np.cumsum(sizes) - sizes - first, sizes)
