"""Stage 3 of the step: lane changes on multi-lane links (numpy and numba only).

Each lane stays a FIFO buffer ordered from the stop line back: a lane change takes a vehicle
out of its lane's buffer and puts it into the neighbouring lane's at its place by position
(:func:`~sim.traffic.buffers.remove_at`, :func:`~sim.traffic.buffers.insert_at`), in one step
(SUMO's default, no lateral motion). Every lane of a multi-lane link is walked front to back
with a pointer into each neighbouring lane, so that finding a vehicle's new leader and
follower costs nothing extra: the stage is linear in the vehicles on multi-lane links.

A vehicle changes lanes for one of two reasons, after the lane-change model of SUMO
(LC2013; Erdmann 2015):

* **strategic:** its lane does not serve the turn it takes at the end of the link
  (``conns.lane_lo``/``lane_hi`` of its next connection): it moves one lane towards them as
  soon as the change is safe. Until then it keeps behind the slower vehicle next to it in the
  target lane (so that it can merge behind it), and the vehicle behind it there keeps a
  safe distance behind it (cooperation): one of the two lets it in within a few steps. Two
  halted vehicles that each need the other's lane swap. A vehicle that reaches the stop
  line in a lane that does not serve its turn waits there (:mod:`sim.traffic.speeds`).
* **tactical:** it is held below its desired speed by its leader (a vehicle waiting to
  turn, a queue) and a neighbouring lane that serves its next turn as well lets it drive at
  least :data:`GAIN_MPS` faster; not within :data:`HOLD_S` of its last change.

A change is safe when the gaps to the new leader and the new follower are secure, as LC2013
requires: neither the vehicle nor its new follower has to brake at all, the vehicle's Krauss
safe speed (:func:`~sim.traffic.speeds.follow_speed`) behind its new leader is at least its
speed, and the follower's behind it at least the follower's speed (SUMO's secure gap,
``v_f tau + v_f^2 / 2b - v^2 / 2b``). A vehicle standing next to a lane that moves at 10 m/s
thus needs about 21 m behind it; the cooperation above makes such room for strategic changes.
(A weaker rule that let the follower brake at its comfortable deceleration made lane 1 of a
two-lane arterial approach empty four times faster than SUMO's behind waiting left turners.)
Emergency vehicles, vehicles in a
junction's conflict zone and vehicles past the stop line do not change lanes.
"""

from __future__ import annotations

import numpy as np

from sim.traffic.buffers import insert_at, remove_at, slot, vid_at
from sim.traffic.codes import HALT_MPS
from sim.traffic.layout import (
    C_LANE_CHANGES,
    F_EMERGENCY,
    LF_LINE_SINCE,
    LI_CAP,
    LI_COUNT,
    VF_LC_LAST,
    VF_LEN,
    VF_POS,
    VF_SPEED,
    VI_FLAGS,
    VI_JCONN,
    VI_LANE,
    VI_LC,
    VI_REND,
    VI_RPTR,
    VI_YIELD,
    World,
    compiled,
    inline,
)
from sim.traffic.speeds import desired_speed, gap_behind, speed_behind

__all__ = ["GAIN_MPS", "HOLD_S", "change_lanes"]

GAIN_MPS = 2.0
"""A tactical lane change needs a neighbouring lane this much faster (m/s)."""
HOLD_S = 2.0
"""No tactical lane change this soon (s) after the last one, so that no vehicle weaves."""
_SLACK_MPS = 1.0
"""A vehicle within this of its desired speed (m/s) has no tactical reason to change lanes."""
_STAYED, _MOVED, _SWAPPED = range(3)


@inline
def _behind(back: int, front: int, vf: np.ndarray) -> float:
    """The safe speed (m/s) of vehicle ``back`` behind vehicle ``front`` (-1: none, no limit)."""
    return np.inf if front < 0 else speed_behind(back, front, vf)


@inline
def _safe(vid: int, leader: int, follower: int, vf: np.ndarray) -> bool:
    """Whether ``vid`` may slot in between ``leader`` and ``follower`` (-1: none): secure gaps, no braking."""
    if leader >= 0 and (gap_behind(vid, leader, vf) < 0.0 or _behind(vid, leader, vf) < vf[VF_SPEED, vid]):
        return False
    return follower < 0 or (
        gap_behind(follower, vid, vf) >= 0.0 and _behind(follower, vid, vf) >= vf[VF_SPEED, follower]
    )


@inline
def _ahead(lane: int, ptr: int, pos: float, w: World) -> int:
    """How many vehicles of ``lane`` are ahead of position ``pos`` (m), counting on from ``ptr``."""
    lanes, vf = w.lanes, w.veh.vf
    while ptr < lanes.li[LI_COUNT, lane] and vf[VF_POS, vid_at(lanes, lane, ptr)] > pos:
        ptr += 1
    return ptr


@inline
def _neighbours(lane: int, ptr: int, w: World) -> tuple[int, int]:
    """The vehicles of ``lane`` just ahead of and behind the place ``ptr`` (-1: none)."""
    lanes = w.lanes
    leader = vid_at(lanes, lane, ptr - 1) if ptr > 0 else -1
    follower = vid_at(lanes, lane, ptr) if ptr < lanes.li[LI_COUNT, lane] else -1
    return leader, follower


@inline
def _serves(vid: int, j: int, w: World) -> tuple[int, int]:
    """The lanes (within the link) that serve ``vid``'s next turn: all of them on its last link."""
    vi, routes, conns = w.veh.vi, w.routes, w.conns
    rp = vi[VI_RPTR, vid]
    if rp == vi[VI_REND, vid]:
        return 0, 1 << 20
    c = routes.conn[rp]
    return conns.lane_lo[c], conns.lane_hi[c]


@inline
def _move(vid: int, lane: int, i: int, target: int, k: int, t: float, w: World) -> None:
    """Vehicle ``vid``, ``i`` places behind the stop line of ``lane``, goes to place ``k`` of ``target``."""
    lanes, vf, vi = w.lanes, w.veh.vf, w.veh.vi
    remove_at(lanes, lane, i)
    insert_at(lanes, target, k, vid)
    # a lane's stop-line clock belongs to the vehicle that was first
    if i == 0:
        lanes.lf[LF_LINE_SINCE, lane] = -1.0
    if k == 0:
        lanes.lf[LF_LINE_SINCE, target] = -1.0
    vi[VI_LANE, vid] = target
    vi[VI_LC, vid] += 1
    vf[VF_LC_LAST, vid] = t
    w.rec.counters[C_LANE_CHANGES] += 1


@inline
def _fits_at(lane: int, k: int, vid: int, w: World) -> bool:
    """Whether ``vid`` fits in place ``k`` of ``lane``, between the vehicles now before and after it."""
    lanes, vf = w.lanes, w.veh.vf
    if k > 0:
        front = vid_at(lanes, lane, k - 1)
        if vf[VF_POS, front] - vf[VF_LEN, front] < vf[VF_POS, vid]:
            return False
    if k + 1 < lanes.li[LI_COUNT, lane]:
        back = vid_at(lanes, lane, k + 1)
        return vf[VF_POS, vid] - vf[VF_LEN, vid] >= vf[VF_POS, back]
    return True


@inline
def _swap(vid: int, lane: int, i: int, other: int, target: int, k: int, t: float, w: World) -> None:
    """Two halted vehicles side by side, each needing the other's lane, trade places."""
    lanes, vf, vi = w.lanes, w.veh.vf, w.veh.vi
    lanes.buf[slot(lanes, lane, i)] = other
    lanes.buf[slot(lanes, target, k)] = vid
    vi[VI_LANE, vid], vi[VI_LANE, other] = target, lane
    vi[VI_LC, vid] += 1
    vi[VI_LC, other] += 1
    vf[VF_LC_LAST, vid] = t
    vf[VF_LC_LAST, other] = t
    w.rec.counters[C_LANE_CHANGES] += 2


@inline
def _strategic(vid: int, lane: int, i: int, j: int, side: int, ptr: int, t: float, w: World) -> int:
    """Move ``vid`` one lane towards its turn if safe, else ask for room.

    Returns:
        :data:`_MOVED` (it left ``lane``), :data:`_SWAPPED` (with the vehicle now at place ``i``)
        or :data:`_STAYED`.
    """
    lanes, vf, vi = w.lanes, w.veh.vf, w.veh.vi
    target = lane + side
    leader, follower = _neighbours(target, ptr, w)
    room = lanes.li[LI_COUNT, target] < lanes.li[LI_CAP, target]
    if room and _safe(vid, leader, follower, vf):
        _move(vid, lane, i, target, ptr, t, w)
        return _MOVED
    # two halted vehicles side by side that each need the other's lane trade places
    if vf[VF_SPEED, vid] < HALT_MPS:
        for other, k in ((leader, ptr - 1), (follower, ptr)):
            if other < 0 or vf[VF_SPEED, other] >= HALT_MPS or vf[VF_LC_LAST, other] == t:
                continue
            lo, hi = _serves(other, j + side, w)
            if (
                (lo > j + side or hi < j + side)
                and lo <= j <= hi
                and _fits_at(lane, i, other, w)
                and _fits_at(target, k, vid, w)
            ):
                _swap(vid, lane, i, other, target, k, t, w)
                return _SWAPPED
    # merge behind a slower vehicle next to it; the one behind it there lets it in
    if leader >= 0 and vf[VF_SPEED, leader] <= vf[VF_SPEED, vid]:
        vi[VI_YIELD, vid] = leader
    if follower >= 0 and gap_behind(follower, vid, vf) >= 0.0:
        vi[VI_YIELD, follower] = vid
    return _STAYED


@inline
def _tactical(vid: int, lane: int, i: int, j: int, e: int, ptr_r: int, ptr_l: int, t: float, w: World) -> int:
    """Move ``vid`` to a faster neighbouring lane that serves its turn too, if safe (:data:`_MOVED`)."""
    lanes, edges, vf = w.lanes, w.edges, w.veh.vf
    v0 = desired_speed(vid, edges.speed_mps[e], vf)
    here = min(v0, _behind(vid, vid_at(lanes, lane, i - 1), vf)) if i > 0 else v0
    if here >= v0 - _SLACK_MPS or t - vf[VF_LC_LAST, vid] < HOLD_S:
        return _STAYED
    lo, hi = _serves(vid, j, w)
    best, best_ptr, best_v = -1, 0, here + GAIN_MPS
    for side in (-1, 1):
        jj = j + side
        if jj < max(lo, 0) or jj > min(hi, edges.n_lanes[e] - 1):
            continue
        target = lane + side
        ptr = ptr_l if side > 0 else ptr_r
        leader, follower = _neighbours(target, ptr, w)
        there = min(v0, _behind(vid, leader, vf))
        if (
            there >= best_v
            and lanes.li[LI_COUNT, target] < lanes.li[LI_CAP, target]
            and _safe(vid, leader, follower, vf)
        ):
            best, best_ptr, best_v = target, ptr, there
    if best < 0:
        return _STAYED
    _move(vid, lane, i, best, best_ptr, t, w)
    return _MOVED


@inline
def _walk_lane(e: int, j: int, t: float, w: World) -> None:
    """Every vehicle of lane ``j`` of link ``e``, front to back, changes lanes if it should."""
    lanes, edges, vf, vi = w.lanes, w.edges, w.veh.vf, w.veh.vi
    lane = edges.lane0[e] + j
    n_lanes, length = edges.n_lanes[e], edges.length_m[e]
    ptr_r, ptr_l, i = 0, 0, 0
    while i < lanes.li[LI_COUNT, lane]:
        vid = vid_at(lanes, lane, i)
        pos = vf[VF_POS, vid]
        if j > 0:
            ptr_r = _ahead(lane - 1, ptr_r, pos, w)
        if j < n_lanes - 1:
            ptr_l = _ahead(lane + 1, ptr_l, pos, w)
        moved = _STAYED
        if not (
            vi[VI_FLAGS, vid] & F_EMERGENCY
            or vi[VI_JCONN, vid] >= 0
            or pos > length
            or vf[VF_LC_LAST, vid] == t
        ):
            lo, hi = _serves(vid, j, w)
            if j < lo:
                moved = _strategic(vid, lane, i, j, 1, ptr_l, t, w)
            elif j > hi:
                moved = _strategic(vid, lane, i, j, -1, ptr_r, t, w)
            else:
                moved = _tactical(vid, lane, i, j, e, ptr_r, ptr_l, t, w)
        if moved == _STAYED:
            i += 1
        elif moved == _MOVED and vi[VI_LANE, vid] == lane + 1:
            ptr_l += 1  # it is ahead of the rest of this lane
        elif moved == _MOVED:
            ptr_r += 1


@compiled
def change_lanes(step_no: int, w: World) -> None:
    """Lane changes on every multi-lane link for the step starting at ``step_no * dt``."""
    edges = w.edges
    t = step_no * w.p.dt_s
    for e in range(edges.n_lanes.shape[0]):
        if edges.n_lanes[e] > 1:
            for j in range(edges.n_lanes[e]):
                _walk_lane(e, j, t, w)
