"""Compiled shortest paths towards destinations, for en-route rerouting (numpy and numba only).

One Dijkstra search per destination node on the reversed connection graph (links as
vertices, connections as arcs, so no path makes a banned turn), seeded with every open link
that ends at the destination. A search stops as soon as every link it was asked about is
settled: the links on their best paths were settled before them, so their next links are
final. A binary heap with lazy deletion keeps it at ``O(m log m)`` per search: about 0.1 ms
on the 1,680 links of grid20. (An A* variant, bounded by straight-line distance, settled half
as many links there but took as long or, with several sources per destination, twice as long.)
"""

from __future__ import annotations

import numpy as np
from numba import njit

__all__ = ["trees_to"]


@njit(cache=True)
def _push(heap_d: np.ndarray, heap_v: np.ndarray, n: int, d: float, v: int) -> int:
    i = n
    heap_d[i], heap_v[i] = d, v
    while i > 0:
        parent = (i - 1) >> 1
        if heap_d[parent] <= heap_d[i]:
            break
        heap_d[i], heap_d[parent] = heap_d[parent], heap_d[i]
        heap_v[i], heap_v[parent] = heap_v[parent], heap_v[i]
        i = parent
    return n + 1


@njit(cache=True)
def _pop(heap_d: np.ndarray, heap_v: np.ndarray, n: int) -> int:
    n -= 1
    heap_d[0], heap_v[0] = heap_d[n], heap_v[n]
    i = 0
    while True:
        small, left = i, 2 * i + 1
        if left < n and heap_d[left] < heap_d[small]:
            small = left
        if left + 1 < n and heap_d[left + 1] < heap_d[small]:
            small = left + 1
        if small == i:
            return n
        heap_d[i], heap_d[small] = heap_d[small], heap_d[i]
        heap_v[i], heap_v[small] = heap_v[small], heap_v[i]
        i = small


@njit(cache=True)
def trees_to(
    rev_ptr: np.ndarray,
    rev_adj: np.ndarray,
    ends_ptr: np.ndarray,
    ends: np.ndarray,
    cost_s: np.ndarray,
    want_ptr: np.ndarray,
    want: np.ndarray,
    dist_s: np.ndarray,
    next_edge: np.ndarray,
) -> None:
    """Shortest paths from links to destinations, one search per destination (row).

    Args:
        rev_ptr: The reversed connection graph's offsets: the links ``e`` with a connection
            ``e -> f`` are ``rev_adj[rev_ptr[f]:rev_ptr[f + 1]]``.
        rev_adj: The reversed connection graph's in-links, by out-link.
        ends_ptr: Row ``k``'s destination is reached at the end of the links
            ``ends[ends_ptr[k]:ends_ptr[k + 1]]``.
        ends: Those links, row by row.
        cost_s: Per link, the cost of driving it (s, > 0; ``inf``: closed).
        want_ptr: The links row ``k`` is asked about are ``want[want_ptr[k]:want_ptr[k + 1]]``:
            its search stops once they are settled.
        want: Those links, row by row.
        dist_s: ``(k, n_links)`` out: cost from the start of each link to the destination,
            its own cost included (``inf`` where not settled).
        next_edge: ``(k, n_links)`` out: the link after each settled link on its best path
            (-1 after the last link, or where not settled).
    """
    n_rows, n = dist_s.shape
    size = rev_adj.shape[0] + n + 1
    heap_d = np.empty(size)
    heap_v = np.empty(size, dtype=np.int64)
    done = np.zeros(n, dtype=np.int64)
    wanted = np.zeros(n, dtype=np.int64)
    for k in range(n_rows):
        stamp = k + 1
        dist, nxt = dist_s[k], next_edge[k]
        dist[:] = np.inf
        nxt[:] = -1
        left = 0
        for i in range(want_ptr[k], want_ptr[k + 1]):
            if wanted[want[i]] != stamp:
                wanted[want[i]] = stamp
                left += 1
        m = 0
        for i in range(ends_ptr[k], ends_ptr[k + 1]):
            e = ends[i]
            if cost_s[e] < dist[e]:
                dist[e] = cost_s[e]
                m = _push(heap_d, heap_v, m, cost_s[e], e)
        while m > 0 and left > 0:
            f = heap_v[0]
            m = _pop(heap_d, heap_v, m)
            if done[f] == stamp:
                continue
            done[f] = stamp
            if wanted[f] == stamp:
                left -= 1
            for j in range(rev_ptr[f], rev_ptr[f + 1]):
                e = rev_adj[j]
                nd = dist[f] + cost_s[e]
                if nd < dist[e] and done[e] != stamp:
                    dist[e] = nd
                    nxt[e] = f
                    m = _push(heap_d, heap_v, m, nd, e)
        # what the early stop left unsettled is unknown, not unreachable: only settled links count
        for v in range(n):
            if done[v] != stamp:
                dist[v] = np.inf
                nxt[v] = -1
