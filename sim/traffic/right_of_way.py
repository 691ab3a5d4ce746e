"""Right of way at junctions: gap acceptance, stop signs, first come first served, conflict zones.

Helpers of the speed stage (:mod:`sim.traffic.speeds`) and the crossing stage
(:mod:`sim.traffic.kernel`), over the connections' right of way compiled by
:mod:`sim.network.conflicts` (numpy and numba only).

A lane's first vehicle, near the stop line of connection ``c`` (``d`` m before it), may enter
the junction (:func:`may_enter`) when

1. it has made its stop at the stop line (halted there, or is down to :data:`STOPPED_MPS` at
   it), if ``c`` is ``RULE_STOP`` (a stop sign, an all-way stop);
2. no connection ``c`` conflicts with has a vehicle in its conflict zone (:func:`occupied`);
3. it reaches the line at least the follow-up time ``tf`` after the vehicle ahead of it in its
   lane (:func:`crossed`; a queue of minor vehicles enters one every ``tf`` s): a vehicle
   that would be early is slowed to arrive in time instead of stopping. At a signal only while
   a vehicle of a foe it gives way to comes within its horizon: a permitted left turn with
   nobody coming, or in its protected phase, follows at saturation flow;
4. for every foe ``f`` it gives way to (``FOE_YIELD``), no vehicle that will take ``f`` reaches
   the stop line of ``f`` within its own arrival time plus the critical gap ``tc`` (for a
   vehicle that waited at its line for a foe to pass, the gap counts from that passage, as
   in the gap-acceptance theory of Harders: the first vehicle needs a gap of ``tc``, each
   following one ``tf`` more); the vehicles
   looked at are, on every lane serving ``f``, the first that will take it (on a link shorter
   than the distance covered in that time, also on the links feeding it); ``f`` showing red,
   a vehicle that can still stop for its yellow, and lanes held by spillback do not count;
5. for every foe it shares first come, first served with (``FOE_FIRST_COME``), no vehicle that
   will take it halted at its stop line before this one did (or, ahead of a zipper, reaches
   its line before this one), unless that vehicle is held by another one in the junction
   (which does not hold this one: vehicles on movements that do not conflict go together).

A vehicle standing at its stop line arrives now, unless it was held there in the last step and
has stood there no longer than the vehicle deciding (so that vehicles that all give way to one
another at a right-before-left junction let the longest-waiting one go); a vehicle standing
further back arrives after accelerating from rest; a moving one at its present speed. Two
vehicles may decide to go in the same step: the crossing stage lets the first through and holds
the other at its line (:func:`occupied` with ``step_no``), so conflicting movements are never in
the junction together.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import numpy as np

from sim.traffic.buffers import vid_at
from sim.traffic.codes import (
    FOE_CONFLICT,
    FOE_YIELD,
    GAP_CLASSES,
    HALT_MPS,
    RED,
    RULE_FREE,
    RULE_STOP,
    YELLOW,
)
from sim.traffic.layout import (
    GO_CROSS,
    LF_BLOCKED_SINCE,
    LF_LAST_CROSS,
    LF_LINE_SINCE,
    LI_COUNT,
    LI_EDGE,
    VF_ACCEL,
    VF_DECEL,
    VF_LEN,
    VF_POS,
    VF_SPEED,
    VI_JCONN,
    VI_REND,
    VI_RPTR,
    Connections,
    World,
    inline,
)

__all__ = [
    "AT_LINE_M",
    "STOPPED_MPS",
    "connections",
    "crossed",
    "enter_zone",
    "gap_table",
    "leave_zone",
    "may_enter",
    "occupied",
    "time_to_line",
]

AT_LINE_M = 3.0
"""A first vehicle within this distance of its stop line (m) stands at the line."""
STOPPED_MPS = 1.5
"""A vehicle at a stop sign slower than this (m/s, about 5 km/h) within :data:`AT_LINE_M` of it has made its
stop: with 1 s steps a vehicle braking to the line is still this fast one step before it stands."""
_PASSAGE_LAG = 2.0
"""Steps between a foe's passage and the first step a vehicle waiting for it can decide to go."""
_REACH = 1.5
"""How much faster than the limit a foe may drive (speed factors): sizes the look-ahead."""


def gap_table(gaps_s: Mapping[str, tuple[float, float]]) -> np.ndarray:
    """``(len(GAP_CLASSES), 2)`` critical gap and follow-up time (s) per class, by index.

    Args:
        gaps_s: ``(critical gap, follow-up time)`` of the classes that have them.
    """
    table = np.zeros((len(GAP_CLASSES), 2))
    for name, values in gaps_s.items():
        table[GAP_CLASSES.index(name)] = values
    return table


def connections(net, state: int, gaps: np.ndarray, wait_vehicles: int, slot_m: float) -> Connections:
    """The kernel's connections of compiled network ``net``, all showing ``state``.

    Args:
        net: The compiled network.
        state: ``RED``, ``YELLOW`` or ``GREEN``.
        gaps: Critical gap and follow-up time by class (:func:`gap_table`, s).
        wait_vehicles: At most this many permitted turners wait in a junction (within its
            ``conn_wait_n``).
        slot_m: The room one of them takes (m).
    """
    per_conn = gaps[net.conn_gap_class]
    into = np.argsort(net.conn_to, kind="stable").astype(np.int32)
    into_ptr = np.searchsorted(net.conn_to[into], np.arange(len(net.edge_keys) + 1)).astype(np.int32)
    n = len(net.conn_from)
    return Connections(
        np.full(n, state, dtype=np.int8),
        net.conn_turn,
        net.conn_lane_lo,
        net.conn_lane_hi,
        net.conn_from,
        net.conn_to,
        net.conn_rule,
        np.ascontiguousarray(per_conn[:, 0]),
        np.ascontiguousarray(per_conn[:, 1]),
        net.conn_zone_m,
        np.minimum(net.conn_wait_n, wait_vehicles) * slot_m,
        net.conn_foe_ptr,
        net.conn_foes,
        net.conn_foe_kind,
        into_ptr,
        into,
        np.zeros(n, dtype=np.int32),
        np.full(n, -1, dtype=np.int64),
    )


@inline
def time_to_line(d: float, v: float, accel: float) -> float:
    """Time (s) a vehicle ``d`` m before its stop line, at speed ``v``, needs to reach it.

    Now if it stands there, at its speed if it moves, from rest at ``accel`` if it stands further back.
    """
    if d < AT_LINE_M:
        return 0.0
    if v >= HALT_MPS:
        return d / v
    return math.sqrt(2.0 * d / accel)


@inline
def occupied(c: int, step_no: int, w: World) -> bool:
    """Whether a connection conflicting with ``c`` holds or gets (in ``step_no``) a vehicle in its zone."""
    conns = w.conns
    for k in range(conns.foe_ptr[c], conns.foe_ptr[c + 1]):
        f = conns.foes[k]
        if conns.inside[f] > 0 or conns.stamp[f] == step_no:
            return True
    return False


@inline
def enter_zone(vid: int, c: int, step_no: int, w: World) -> None:
    """Vehicle ``vid`` has just crossed into connection ``c``: it occupies the zone until its rear leaves."""
    conns = w.conns
    conns.stamp[c] = step_no
    if conns.zone_m[c] > 0.0 and w.veh.vf[VF_POS, vid] - w.veh.vf[VF_LEN, vid] < conns.zone_m[c]:
        conns.inside[c] += 1
        w.veh.vi[VI_JCONN, vid] = c


@inline
def leave_zone(vid: int, pos: float, w: World) -> None:
    """Free the zone vehicle ``vid`` is in once its rear, at ``pos`` less its length (m), has left it."""
    vi = w.veh.vi
    c = vi[VI_JCONN, vid]
    if c >= 0 and (pos < 0.0 or pos - w.veh.vf[VF_LEN, vid] >= w.conns.zone_m[c]):
        w.conns.inside[c] -= 1
        vi[VI_JCONN, vid] = -1


@inline
def _lane_arrival(
    lane: int, f: int, nxt: int, extra_m: float, horizon_m: float, since_me: float, merge: bool, w: World
) -> float:
    """When (s from now) the first vehicle of ``lane`` that will take connection ``f`` reaches its stop line.

    With ``nxt >= 0`` the lane is upstream: the vehicle must take ``f`` and then ``nxt``, whose
    stop line is ``extra_m`` m further. Vehicles beyond ``horizon_m`` are not looked at
    (``inf``). Where the two movements ``merge`` into one link, a vehicle held at its line, or
    queued upstream on a movement that gives way to nobody (a roundabout's ring), counts: it
    keeps its right to the room there. Elsewhere a vehicle held at its line longer than the
    one deciding, or standing upstream (waiting for its own right of way), does not count.
    """
    veh, lanes, edges, conns, routes = w.veh, w.lanes, w.edges, w.conns, w.routes
    vf, vi, lf = veh.vf, veh.vi, lanes.lf
    length = edges.length_m[lanes.li[LI_EDGE, lane]]
    for i in range(lanes.li[LI_COUNT, lane]):
        h = vid_at(lanes, lane, i)
        d = length - vf[VF_POS, h]
        if d + extra_m > horizon_m:
            break
        rp = vi[VI_RPTR, h]
        v = vf[VF_SPEED, h]
        other = rp == vi[VI_REND, h] or routes.conn[rp] != f
        if not other and nxt >= 0:
            other = rp + 1 == vi[VI_REND, h] or routes.conn[rp + 1] != nxt
        if other:
            if v < HALT_MPS:
                break  # those behind it wait for it
            continue
        if nxt >= 0 and v < HALT_MPS and not (merge and conns.rule[f] == RULE_FREE):
            break  # waiting upstream for its own right of way
        if i == 0 and nxt < 0:
            if conns.state[f] == YELLOW and v * v <= 2.0 * vf[VF_DECEL, h] * d:
                break  # it stops for the yellow, and so do those behind it
            standing = d < AT_LINE_M and v < HALT_MPS
            if standing and not merge and lanes.go[lane] != GO_CROSS and lf[LF_LINE_SINCE, lane] >= since_me:
                break  # held there, and not for longer than the vehicle deciding
        return time_to_line(d + extra_m, v, vf[VF_ACCEL, h])
    return np.inf


@inline
def _arrival(f: int, c: int, horizon_s: float, since_me: float, w: World) -> float:
    """When (s from now) the next vehicle to take foe ``f`` of ``c`` reaches its line, within ``horizon_s``.

    Lanes held by spillback do not count, unless ``f`` and ``c`` merge into one link and ``f``
    gives way to nobody (a major road, a roundabout's circulating lane): it keeps its right to
    the room there. Between movements that may give way to each other, a held vehicle does not
    count, so that they cannot all wait for one another.
    """
    lanes, edges, conns = w.lanes, w.edges, w.conns
    merge = conns.to[f] == conns.to[c] and conns.rule[f] == RULE_FREE
    ef = conns.frm[f]
    length = edges.length_m[ef]
    horizon_m = horizon_s * edges.speed_mps[ef] * _REACH
    first = np.inf
    for j in range(conns.lane_lo[f], conns.lane_hi[f] + 1):
        lane = edges.lane0[ef] + j
        if merge or lanes.lf[LF_BLOCKED_SINCE, lane] < 0.0:
            first = min(first, _lane_arrival(lane, f, -1, 0.0, horizon_m, since_me, merge, w))
    if length < horizon_m:
        # a short link: look also at the links feeding it
        for k in range(conns.into_ptr[ef], conns.into_ptr[ef + 1]):
            g = conns.into[k]
            eg = conns.frm[g]
            for j in range(conns.lane_lo[g], conns.lane_hi[g] + 1):
                first = min(
                    first, _lane_arrival(edges.lane0[eg] + j, g, f, length, horizon_m, since_me, merge, w)
                )
    return first


@inline
def _first_come_key(f: int, t: float, horizon_s: float, w: World) -> tuple[float, int]:
    """When the first vehicle taking ``f`` halted at its stop line, and its lane (``inf``, -1: none).

    A vehicle that need not halt there counts when it will reach the line, within ``horizon_s``.
    """
    veh, lanes, edges, conns, routes = w.veh, w.lanes, w.edges, w.conns, w.routes
    ef = conns.frm[f]
    best, best_lane = np.inf, -1
    for j in range(conns.lane_lo[f], conns.lane_hi[f] + 1):
        lane = edges.lane0[ef] + j
        if lanes.li[LI_COUNT, lane] == 0 or lanes.lf[LF_BLOCKED_SINCE, lane] >= 0.0:
            continue
        h = vid_at(lanes, lane, 0)
        rp = veh.vi[VI_RPTR, h]
        if rp == veh.vi[VI_REND, h] or routes.conn[rp] != f:
            continue
        since = lanes.lf[LF_LINE_SINCE, lane]
        if since < 0.0:
            if conns.rule[f] == RULE_STOP:
                continue  # it has to halt first
            d = edges.length_m[ef] - veh.vf[VF_POS, h]
            since = t + time_to_line(d, veh.vf[VF_SPEED, h], veh.vf[VF_ACCEL, h])
            if since > t + horizon_s:
                continue
        if since < best:
            best, best_lane = since, lane
    return best, best_lane


@inline
def may_enter(lane: int, vid: int, c: int, d: float, t: float, step_no: int, w: World) -> float:
    """When the first vehicle ``vid`` of ``lane``, ``d`` m before the line, may cross it onto ``c``.

    Returns 0 (now: drive on), a time ``s`` > 0 (it may go, but must not reach the line before
    ``s`` s from now: the follow-up time of the vehicle ahead), or ``inf`` (not now: stop at the line).
    """
    conns, lf, vf = w.conns, w.lanes.lf, w.veh.vf
    rule = conns.rule[c]
    if rule == RULE_FREE and conns.zone_m[c] == 0.0:
        return 0.0
    since_me = lf[LF_LINE_SINCE, lane]
    v = vf[VF_SPEED, vid]
    if rule == RULE_STOP and since_me < 0.0:
        if d >= AT_LINE_M or v >= STOPPED_MPS:
            return np.inf
        since_me = t  # its stop is made
    if conns.zone_m[c] > 0.0 and occupied(c, step_no, w):
        return np.inf
    if rule == RULE_FREE:
        return 0.0
    t_me = time_to_line(d, v, vf[VF_ACCEL, vid])
    t_go = max(t_me, lf[LF_LAST_CROSS, lane] + conns.tf[c] - t)
    horizon_s = t_go + conns.tc[c]
    near = False
    key_me = since_me if since_me >= 0.0 else t + t_me
    for k in range(conns.foe_ptr[c], conns.foe_ptr[c + 1]):
        kind = conns.foe_kind[k]
        f = conns.foes[k]
        if kind == FOE_CONFLICT or conns.state[f] == RED:
            continue
        if kind == FOE_YIELD:
            # waiting at the line when a foe passed, the gap counts from that passage: the
            # decision lags it by the step and the foe's clearing of the zone (credited up
            # to _PASSAGE_LAG steps)
            waited = 0.0
            passed_s = conns.stamp[f] * w.p.dt_s
            if since_me >= 0.0 and conns.stamp[f] >= 0 and passed_s >= since_me - w.p.dt_s:
                waited = min(t - passed_s, _PASSAGE_LAG * w.p.dt_s)
            arrival = _arrival(f, c, horizon_s, key_me, w)
            if arrival < horizon_s - waited:
                return np.inf
            near = near or arrival < np.inf
        else:
            key, other = _first_come_key(f, t, horizon_s, w)
            # an earlier foe goes first, unless a vehicle in the junction holds it and not this one
            if (key < key_me or (key == key_me and other < lane)) and not occupied(f, step_no, w):
                return np.inf
    if not near and conns.zone_m[c] == 0.0:
        return 0.0  # at a signal with no foe coming (or all shown red): no follow-up time
    return t_go if t_go > t_me else 0.0


@inline
def crossed(lane: int, c: int, t: float, w: World) -> None:
    """A vehicle of ``lane`` crossed onto ``c`` in the step starting at ``t`` (s): keep its follow-up clock.

    The clock is the time the next vehicle of the lane may follow from: the crossing (within the
    step), or for a vehicle that followed as early as it could, the time it could, so that a
    queue enters one every ``tf`` s on average at any step length.
    """
    lf = w.lanes.lf
    lf[LF_LINE_SINCE, lane] = -1.0
    lf[LF_LAST_CROSS, lane] = max(t - w.p.dt_s, lf[LF_LAST_CROSS, lane] + w.conns.tf[c])
