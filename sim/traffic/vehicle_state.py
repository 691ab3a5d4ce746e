"""Named readers of the vehicles' state for :class:`sim.traffic.state.TrafficState` (numpy only).

Outside ``sim/traffic/`` nothing indexes the vehicle rows: agents, probes and tests ask these
readers. Each takes one vehicle id or an array of ids (``vids``) and returns a number or an
array alike, so reading many vehicles is one numpy operation.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, NamedTuple

import numpy as np

from sim.traffic.layout import (
    F_EMERGENCY,
    VF_ARRIVE,
    VF_DIST,
    VF_ENTER,
    VF_LEN,
    VF_LINK_WAIT,
    VF_MAX_LINK_WAIT,
    VF_POS,
    VF_SPEED,
    VI_FLAGS,
    VI_LANE,
    VI_LC,
    VI_REND,
    VI_RPTR,
    VI_STATUS,
    VI_STOPS,
)

if TYPE_CHECKING:
    from numpy.typing import ArrayLike

__all__ = ["RouteAhead", "VehicleReaders"]


class RouteAhead(NamedTuple):
    """The rest of a vehicle's route, from the link it is on (or will enter) to the route's end.

    Attributes:
        position: Position of that link in the flat route arrays; it grows by one at every
            link the vehicle leaves, so it tells how far along its route a vehicle is.
        edges: Edge indices from that link to the last one.
        conns: The connection from each of them to the next (-1 after the last).
    """

    position: int
    edges: np.ndarray
    conns: np.ndarray


class VehicleReaders:
    """Vehicle readers mixed into ``TrafficState``, which provides the attributes below.

    Attributes:
        vf: ``(16, capacity)`` float rows ``VF_*`` (m, m/s, s; from ``VF_LEN`` on, the vehicle type).
        vi: ``(7, capacity)`` int rows ``VI_*``.
        r_edge: Edge index per route position.
        r_conn: Connection index per route position (-1 at a route's end).
        n_vehicles: Vehicles created so far (ids ``0..n_vehicles-1``).
    """

    vf: np.ndarray
    vi: np.ndarray
    r_edge: np.ndarray
    r_conn: np.ndarray
    n_vehicles: int

    def positions_m(self, vids: ArrayLike) -> np.ndarray:
        """Distance of each vehicle's front from the start of the link it is on (m)."""
        return self.vf[VF_POS, vids]

    def speeds_mps(self, vids: ArrayLike) -> np.ndarray:
        """Speed of each vehicle in the last step (m/s)."""
        return self.vf[VF_SPEED, vids]

    def distances_m(self, vids: ArrayLike) -> np.ndarray:
        """Distance each vehicle has driven since it entered the network (m)."""
        return self.vf[VF_DIST, vids]

    def lengths_m(self, vids: ArrayLike) -> np.ndarray:
        """Length of each vehicle (m)."""
        return self.vf[VF_LEN, vids]

    def lanes_of(self, vids: ArrayLike) -> np.ndarray:
        """The lane each vehicle is on (-1 before it enters and after it arrives)."""
        return self.vi[VI_LANE, vids]

    def lane_changes(self, vids: ArrayLike) -> np.ndarray:
        """How many times each vehicle has changed lanes."""
        return self.vi[VI_LC, vids]

    def route_positions(self, vids: ArrayLike) -> np.ndarray:
        """Position of each vehicle's current link in the flat route arrays (see :class:`RouteAhead`)."""
        return self.vi[VI_RPTR, vids]

    def edges_of(self, vids: ArrayLike) -> np.ndarray:
        """The link each vehicle is on, or will enter first while it waits to enter."""
        return self.r_edge[self.vi[VI_RPTR, vids]]

    def next_connections(self, vids: ArrayLike) -> np.ndarray:
        """The connection each vehicle takes at the end of its current link (-1 on its last link)."""
        return self.r_conn[self.vi[VI_RPTR, vids]]

    def on_last_link(self, vids: ArrayLike) -> np.ndarray:
        """Whether each vehicle is on (or waits to enter) the last link of its route."""
        return self.vi[VI_RPTR, vids] == self.vi[VI_REND, vids]

    def is_emergency(self, vid: int) -> bool:
        """Whether traffic makes way for the vehicle and it may cross a red light at a crawl."""
        return bool(self.vi[VI_FLAGS, vid] & F_EMERGENCY)

    def route_ahead(self, vid: int) -> RouteAhead:
        """The rest of the vehicle's route, its current link first (copies)."""
        first, last = int(self.vi[VI_RPTR, vid]), int(self.vi[VI_REND, vid])
        return RouteAhead(first, self.r_edge[first : last + 1].copy(), self.r_conn[first : last + 1].copy())

    def statuses(self) -> np.ndarray:
        """Every vehicle's ``ST_*`` status of :mod:`sim.traffic.codes`, by id (a read-only view)."""
        out = self.vi[VI_STATUS, : self.n_vehicles]
        out.flags.writeable = False
        return out

    def n_entered_of(self, n: int) -> int:
        """How many of vehicles ``0..n-1`` (e.g. the demand's trips) have entered the network."""
        return int(np.count_nonzero(~np.isnan(self.vf[VF_ENTER, :n])))

    def n_arrived_of(self, n: int) -> int:
        """How many of vehicles ``0..n-1`` have arrived."""
        return int(np.count_nonzero(~np.isnan(self.vf[VF_ARRIVE, :n])))

    def trip_columns(self, n: int) -> dict[str, np.ndarray]:
        """The recorded trip columns of vehicles ``0..n-1``.

        ``enter_s`` and ``arrive_s`` (NaN if not yet), ``distance_m`` driven, ``stops`` and
        ``max_link_wait_s``: the longest halted time on one link (s), the link it is on now included.
        """
        vf = self.vf
        return {
            "enter_s": vf[VF_ENTER, :n].copy(),
            "arrive_s": vf[VF_ARRIVE, :n].copy(),
            "distance_m": vf[VF_DIST, :n].copy(),
            "stops": self.vi[VI_STOPS, :n].astype(np.int64),
            "max_link_wait_s": np.maximum(vf[VF_MAX_LINK_WAIT, :n], vf[VF_LINK_WAIT, :n]),
        }
