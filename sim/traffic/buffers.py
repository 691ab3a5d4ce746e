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

__all__ = ["emit", "overtake", "pick_lane", "pop", "push", "room_m", "vid_at"]


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
def pick_lane(
    edge: int, next_conn: int, lanes: Lanes, vf: np.ndarray, edges: Edges, conns: Connections, min_gap: float
) -> tuple[int, float]:
    """The lane of ``edge`` serving ``next_conn`` (any lane if -1) with the most room (m)."""
    lo, hi = 0, edges.n_lanes[edge] - 1
    if next_conn >= 0:
        lo, hi = conns.lane_lo[next_conn], conns.lane_hi[next_conn]
    best, best_room = -1, -np.inf
    for j in range(lo, hi + 1):
        lane = edges.lane0[edge] + j
        r = room_m(lane, lanes, vf, edges.length_m, min_gap)
        if r > best_room:
            best, best_room = lane, r
    return best, best_room


@inline
def push(lanes: Lanes, lane: int, vid: int) -> None:
    """Append ``vid`` at the back of ``lane``."""
    li = lanes.li
    n = li[LI_COUNT, lane]
    lanes.buf[li[LI_OFF, lane] + (li[LI_HEAD, lane] + n) % li[LI_CAP, lane]] = vid
    li[LI_COUNT, lane] = n + 1


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
