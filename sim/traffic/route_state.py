"""Route and link writers for rerouting and closures, mixed into ``TrafficState`` (numpy only).

Rerouting drivers get new routes many at a time (:meth:`RouteWriters.set_routes`: written in
place into spare room at the end of the flat route arrays, which grow by half at a time). A
lane closure narrows the lanes that serve each turn out of its link
(:meth:`RouteWriters.set_connection_lanes`), so the lane-change stage moves vehicles out of the
closed lanes as it moves any vehicle off a lane that does not serve its turn; a speed limit
changes a link's limit (:meth:`RouteWriters.set_link_speeds`). Both write copies of the
compiled network's arrays, which stay as built.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from sim.traffic.layout import F_APPROACH_SENT, F_STOP_SENT, VI_FLAGS, VI_REND, VI_RPTR, Connections, Edges

if TYPE_CHECKING:
    from numpy.typing import ArrayLike

__all__ = ["RouteWriters"]


class RouteWriters:
    """Route and link writers mixed into ``TrafficState``, which provides the attributes below.

    Attributes:
        vi: Per-vehicle int rows.
        r_edge, r_conn: The flat route arrays (edge and connection per route position).
        conns: The kernel's connections container.
        edges: The kernel's links container.
        net: The compiled network.
    """

    vi: np.ndarray
    r_edge: np.ndarray
    r_conn: np.ndarray
    conns: Connections
    edges: Edges

    def route_ends(self, vids: ArrayLike) -> np.ndarray:
        """Position of each vehicle's last link in the flat route arrays."""
        return self.vi[VI_REND, vids]

    def route_edges_at(self, positions: ArrayLike) -> np.ndarray:
        """The link at each position of the flat route arrays."""
        return self.r_edge[positions]

    def set_routes(self, vids: np.ndarray, ptr: np.ndarray, edges: np.ndarray, conns: np.ndarray) -> None:
        """Give many vehicles new routes at once, each starting on the link it is on (or will enter).

        Vehicle ``vids[i]`` takes ``edges[ptr[i]:ptr[i + 1]]`` with the connections
        ``conns[ptr[i]:ptr[i + 1]]`` (-1 after its last link). Clears the vehicles' sent-event bits.

        Raises:
            ValueError: If a route does not start on its vehicle's current link.
        """
        vids = np.asarray(vids, dtype=np.int64)
        if not len(vids):
            return
        first = ptr[:-1]
        current = self.r_edge[self.vi[VI_RPTR, vids]]
        wrong = np.flatnonzero(edges[first] != current)
        if len(wrong):
            i = int(wrong[0])
            raise ValueError(
                f"vehicle {int(vids[i])}: a new route must start on its current edge {current[i]}"
            )
        base = self._route_room(len(edges))
        self.r_edge[base : base + len(edges)] = edges
        self.r_conn[base : base + len(edges)] = conns
        self.vi[VI_RPTR, vids] = base + first
        self.vi[VI_REND, vids] = base + ptr[1:] - 1
        self.vi[VI_FLAGS, vids] &= ~(F_APPROACH_SENT | F_STOP_SENT)

    def _route_room(self, size: int) -> int:
        """Where ``size`` free places of the flat route arrays start, growing them if needed.

        The arrays grow by half their length at a time and the free tail is remembered, so
        re-planning appends in place: no vehicle's route points into the free tail, and routes
        appended by ``add_route`` go after it.
        """
        start, stop = getattr(self, "_route_free", (0, 0))
        if stop - start < size:
            start = len(self.r_edge)
            spare = size + len(self.r_edge) // 2
            self.r_edge = np.concatenate([self.r_edge, np.full(spare, -1, dtype=np.int32)])
            self.r_conn = np.concatenate([self.r_conn, np.full(spare, -1, dtype=np.int32)])
            stop = start + spare
        self._route_free = (start + size, stop)
        return start

    def connection_lanes(self) -> tuple[np.ndarray, np.ndarray]:
        """Per connection, the lowest and highest lane of its in-link that serve it now (copies)."""
        return self.conns.lane_lo.copy(), self.conns.lane_hi.copy()

    def set_connection_lanes(self, conns: np.ndarray, lane_lo: np.ndarray, lane_hi: np.ndarray) -> None:
        """Let lanes ``lane_lo..lane_hi`` (within the in-link) serve each of ``conns`` from now on."""
        box = self.conns
        lo, hi = box.lane_lo.copy(), box.lane_hi.copy()
        lo[conns], hi[conns] = lane_lo, lane_hi
        self.conns = box._replace(lane_lo=lo, lane_hi=hi)

    def link_speeds_mps(self) -> np.ndarray:
        """Every link's speed limit now (m/s, a copy)."""
        return self.edges.speed_mps.copy()

    def set_link_speeds(self, links: np.ndarray, speed_mps: np.ndarray) -> None:
        """Give each of ``links`` a new speed limit (m/s) from now on."""
        speed = self.edges.speed_mps.copy()
        speed[links] = speed_mps
        self.edges = self.edges._replace(speed_mps=speed)
