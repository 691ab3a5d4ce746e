"""The lanes' ring buffers and the event list, as inlined kernel helpers (numpy and numba only).

Each lane is a FIFO ring buffer of vehicle ids, front (stop line) first, so no sorting is
needed: a vehicle's leader is the one before it. These helpers read and change the buffers
(who is where, room at a lane's entry, the best lane for a movement, entering and leaving,
an emergency vehicle's overtaking) and append the events Python is told about; the stages of
:mod:`sim.traffic.kernel` and :mod:`sim.traffic.speeds` inline them.
"""

from __future__ import annotations

import numpy as np

from sim.traffic.layout import (
    C_N_EVENTS,
    LI_CAP,
    LI_COUNT,
    LI_EDGE,
    LI_HEAD,
    LI_OFF,
    VF_LEN,
    VF_POS,
    Connections,
    Edges,
    Lanes,
    Recorders,
    inline,
)

__all__ = [
    "CHANGE_LINK_M",
    "emit",
    "insert_at",
    "overtake",
    "pick_lane",
    "pop",
    "push",
    "remove_at",
    "room_m",
    "slot",
    "vid_at",
]

CHANGE_LINK_M = 30.0
"""The shortest link (m) a vehicle enters on a lane not serving its next turn (to change lanes on it)."""


@inline
def vid_at(lanes: Lanes, lane: int, i: int) -> int:
    """The id of the vehicle ``i`` places behind the stop line of ``lane`` (0: its first)."""
    li = lanes.li
    j = li[LI_HEAD, lane] + i
    if j >= li[LI_CAP, lane]:
        j -= li[LI_CAP, lane]
    return lanes.buf[li[LI_OFF, lane] + j]


@inline
def room_m(lane: int, lanes: Lanes, vf: np.ndarray, edge_len: np.ndarray, min_gap: float) -> float:
    """Free length (m) at the entry of a lane: up to the rear of its last vehicle less the gap."""
    li = lanes.li
    n = li[LI_COUNT, lane]
    if n == 0:
        return edge_len[li[LI_EDGE, lane]]
    if n >= li[LI_CAP, lane]:
        return -1.0
    tail = vid_at(lanes, lane, n - 1)
    return vf[VF_POS, tail] - vf[VF_LEN, tail] - min_gap


@inline
def _roomiest(
    edge: int, lo: int, hi: int, lanes: Lanes, vf: np.ndarray, edges: Edges, min_gap: float
) -> tuple[int, float]:
    best, best_room = -1, -np.inf
    for j in range(lo, hi + 1):
        lane = edges.lane0[edge] + j
        r = room_m(lane, lanes, vf, edges.length_m, min_gap)
        if r > best_room:
            best, best_room = lane, r
    return best, best_room


@inline
def pick_lane(
    edge: int,
    next_conn: int,
    lanes: Lanes,
    vf: np.ndarray,
    edges: Edges,
    conns: Connections,
    min_gap: float,
    need_m: float,
) -> tuple[int, float]:
    """The lane a vehicle enters ``edge`` on, and its room (m).

    The lane serving ``next_conn`` (any lane if -1) with the most room; if none has ``need_m``
    of room and the link is long enough to change lanes on (:data:`CHANGE_LINK_M`), the lane
    with the most room of all.
    """
    lo, hi = 0, edges.n_lanes[edge] - 1
    if next_conn >= 0:
        lo, hi = conns.lane_lo[next_conn], conns.lane_hi[next_conn]
    best, best_room = _roomiest(edge, lo, hi, lanes, vf, edges, min_gap)
    if best_room < need_m and hi - lo + 1 < edges.n_lanes[edge] and edges.length_m[edge] >= CHANGE_LINK_M:
        other, other_room = _roomiest(edge, 0, edges.n_lanes[edge] - 1, lanes, vf, edges, min_gap)
        if other_room >= need_m:
            return other, other_room
    return best, best_room


@inline
def push(lanes: Lanes, lane: int, vid: int) -> None:
    """Append ``vid`` at the back of ``lane``."""
    li = lanes.li
    n = li[LI_COUNT, lane]
    lanes.buf[li[LI_OFF, lane] + (li[LI_HEAD, lane] + n) % li[LI_CAP, lane]] = vid
    li[LI_COUNT, lane] = n + 1


@inline
def slot(lanes: Lanes, lane: int, i: int) -> int:
    """The index in ``lanes.buf`` of place ``i`` (0: the stop line's) of ``lane``."""
    li = lanes.li
    return li[LI_OFF, lane] + (li[LI_HEAD, lane] + i) % li[LI_CAP, lane]


@inline
def remove_at(lanes: Lanes, lane: int, i: int) -> None:
    """Take the vehicle ``i`` places behind the stop line out of ``lane``; those behind move up."""
    n = lanes.li[LI_COUNT, lane]
    for k in range(i, n - 1):
        lanes.buf[slot(lanes, lane, k)] = lanes.buf[slot(lanes, lane, k + 1)]
    lanes.li[LI_COUNT, lane] = n - 1


@inline
def insert_at(lanes: Lanes, lane: int, i: int, vid: int) -> None:
    """Put ``vid`` ``i`` places behind the stop line of ``lane`` (which has room); those behind move back."""
    n = lanes.li[LI_COUNT, lane]
    for k in range(n, i, -1):
        lanes.buf[slot(lanes, lane, k)] = lanes.buf[slot(lanes, lane, k - 1)]
    lanes.buf[slot(lanes, lane, i)] = vid
    lanes.li[LI_COUNT, lane] = n + 1


@inline
def pop(lanes: Lanes, lane: int) -> None:
    """Drop the first vehicle of ``lane``."""
    li = lanes.li
    li[LI_HEAD, lane] = (li[LI_HEAD, lane] + 1) % li[LI_CAP, lane]
    li[LI_COUNT, lane] -= 1


@inline
def overtake(lanes: Lanes, lane: int, i: int, vf: np.ndarray, length: float) -> int:
    """Move the vehicle at position ``i`` ahead of those it has passed; returns its new position.

    Vehicles at the stop line (within 1 mm of ``length``, m) are never passed.
    """
    li, buf = lanes.li, lanes.buf
    cap, off, head = li[LI_CAP, lane], li[LI_OFF, lane], li[LI_HEAD, lane]
    j = i
    while j > 0:
        a = off + (head + j - 1) % cap
        b = off + (head + j) % cap
        ahead, me = buf[a], buf[b]
        if vf[VF_POS, ahead] >= vf[VF_POS, me] or vf[VF_POS, ahead] >= length - 1e-3:
            break
        buf[a], buf[b] = me, ahead
        j -= 1
    return j


@inline
def emit(vid: int, kind: int, rec: Recorders) -> None:
    """Append the event ``kind`` (``EV_*``) of vehicle ``vid`` to ``rec.event_out``."""
    counters = rec.counters
    n = counters[C_N_EVENTS]
    rec.event_out[0, n] = vid
    rec.event_out[1, n] = kind
    counters[C_N_EVENTS] = n + 1
