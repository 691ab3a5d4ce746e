"""Stage 3 of the step: every vehicle's speed, from the state at the step's start (numpy and numba only).

Car following is Krauss's safe-speed model (Krauss 1998, the default of SUMO): each
step a vehicle takes the largest speed that is at most its previous speed plus
``accel * dt``, at most its desired speed ``min(max speed, speed factor * speed limit)``,
and safe::

    v_safe = -b*tau + sqrt((b*tau)^2 + v_leader^2 + 2*b*gap)

so that it can always stop behind a leader braking at ``b``; a leader of another type
brakes at its own deceleration ``b_l``, and ``v_leader^2`` becomes ``b * v_leader^2 / b_l``
(SUMO's form; :func:`follow_speed`). Driver imperfection (``sigma``, SUMO's default 0.5)
lowers each step's speed by ``sigma * accel * dt * u``, with ``u`` uniform in [0, 1) from
a counter-based hash of (seed, vehicle, step). Every parameter (length, standstill gap
``min_gap``, ``accel``, ``b``, ``tau``, ``sigma``, max speed, speed factor) is the
vehicle's own, a row of ``Vehicles.vf`` set once when the vehicle is added.

With the defaults (length 5 m, min gap 2.5 m, accel 2.6, decel 4.5 m/s^2, tau 1 s,
sigma 0.5, dt 1 s) a standing queue discharges at about 1,830-1,850 veh/h/lane
(tests/test_engine.py; 2,055 with sigma 0), SUMO's measured 1,893 with the same parameters.

The leader of the first vehicle of a lane is either the stop line (red; yellow when
the vehicle can stop comfortably; a permitted left turn without an acceptable gap in
oncoming traffic; no room on the next lane) or the last vehicle of the lane it will
enter next (:func:`_lead_speed`, :func:`_junction_speed`); the others follow the vehicle
ahead of them in their lane (:func:`_follower_speed`).
"""

from __future__ import annotations

import math

import numpy as np

from sim.traffic.buffers import emit, pick_lane, vid_at
from sim.traffic.codes import EV_APPROACH, GREEN, HALT_MPS, TURN_THROUGH, YELLOW
from sim.traffic.layout import (
    F_APPROACH_SENT,
    F_EMERGENCY,
    F_NOTIFY,
    GO_CROSS,
    GO_HOLD,
    GO_WAIT_INSIDE,
    LF_BLOCKED_SINCE,
    LF_GREEN_WAIT_MAX,
    LF_GREEN_WAIT_SINCE,
    LF_LINE_SINCE,
    LI_COUNT,
    LI_EDGE,
    VF_ACCEL,
    VF_DECEL,
    VF_LEN,
    VF_MAX_SPEED,
    VF_MIN_GAP,
    VF_POS,
    VF_SIGMA,
    VF_SPEED,
    VF_SPEED_FACTOR,
    VF_TAU,
    VI_FLAGS,
    VI_LANE,
    VI_REND,
    VI_RPTR,
    VI_YIELD,
    Params,
    World,
    compiled,
    inline,
)
from sim.traffic.right_of_way import AT_LINE_M, may_enter

__all__ = ["desired_speed", "follow_speed", "gap_behind", "safe_speed", "set_speeds", "speed_behind"]


@inline
def safe_speed(gap: float, v_leader: float, decel: float, tau: float) -> float:
    """Krauss's safe speed (m/s): ``gap`` (m) behind a leader at ``v_leader`` (m/s).

    ``decel`` is the comfortable deceleration (m/s^2), ``tau`` the reaction time (s).
    """
    bt = decel * tau
    return -bt + math.sqrt(bt * bt + v_leader * v_leader + 2.0 * decel * max(gap, 0.0))


@inline
def follow_speed(gap: float, v_leader: float, decel_leader: float, decel: float, tau: float) -> float:
    """Krauss's safe speed (m/s) ``gap`` (m) behind a leader at ``v_leader`` (m/s) braking at its own rate.

    ``decel_leader`` is the leader's deceleration, ``decel`` and ``tau`` the follower's
    (m/s^2, s). The follower can stop behind the point where the leader stops: ``gap`` plus
    the leader's braking distance ``v_leader^2 / (2 * decel_leader)``. With equal
    decelerations this is :func:`safe_speed`, computed as it computes it.
    """
    if decel_leader == decel:
        return safe_speed(gap, v_leader, decel, tau)
    return safe_speed(max(gap, 0.0) + v_leader * v_leader / (2.0 * decel_leader), 0.0, decel, tau)


@inline
def gap_behind(back: int, front: int, vf: np.ndarray) -> float:
    """Free space (m) from vehicle ``front``'s rear to ``back``'s front, less ``back``'s standstill gap."""
    return vf[VF_POS, front] - vf[VF_LEN, front] - vf[VF_POS, back] - vf[VF_MIN_GAP, back]


@inline
def speed_behind(back: int, front: int, vf: np.ndarray) -> float:
    """Krauss's safe speed (m/s) of vehicle ``back`` following vehicle ``front`` (:func:`follow_speed`)."""
    return follow_speed(
        gap_behind(back, front, vf),
        vf[VF_SPEED, front],
        vf[VF_DECEL, front],
        vf[VF_DECEL, back],
        vf[VF_TAU, back],
    )


_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_MIX1 = np.uint64(0xBF58476D1CE4E5B9)
_MIX2 = np.uint64(0x94D049BB133111EB)
_VID_MUL = np.uint64(0xD1B54A32D192ED03)


@inline
def _uniform(seed: np.uint64, vid: int, step_no: int) -> float:
    """A uniform [0, 1) number from (seed, vehicle, step) by SplitMix64 hashing.

    Counter-based, so a vehicle's draws do not depend on how many other vehicles exist
    or in which order they are processed: runs are reproducible in any process.
    """
    z = seed * _GOLDEN + np.uint64(vid) * _VID_MUL + np.uint64(step_no)
    z = (z ^ (z >> np.uint64(30))) * _MIX1
    z = (z ^ (z >> np.uint64(27))) * _MIX2
    z = z ^ (z >> np.uint64(31))
    return float(z >> np.uint64(11)) * (1.0 / 9007199254740992.0)


@inline
def _end_green_wait(lane: int, t: float, lf: np.ndarray) -> None:
    """The lane's first vehicle no longer waits for green: keep the wait if it is the longest."""
    since = lf[LF_GREEN_WAIT_SINCE, lane]
    if since >= 0.0:
        lf[LF_GREEN_WAIT_MAX, lane] = max(lf[LF_GREEN_WAIT_MAX, lane], t - since)
        lf[LF_GREEN_WAIT_SINCE, lane] = -1.0


@inline
def _not_held(lane: int, t: float, lf: np.ndarray) -> None:
    """The lane's first vehicle (if any) is held neither by spillback nor by the signal at ``t`` (s)."""
    lf[LF_BLOCKED_SINCE, lane] = -1.0
    _end_green_wait(lane, t, lf)


@inline
def _hold_clocks(
    lane: int, t: float, d: float, blocked: bool, green: bool, v_new: float, lf: np.ndarray
) -> None:
    """Start or end the lane's hold clocks once its first vehicle, ``d`` m from the line, chose ``v_new``."""
    # standing at the stop line, whatever holds it
    if v_new < HALT_MPS and d < AT_LINE_M:
        if lf[LF_LINE_SINCE, lane] < 0.0:
            lf[LF_LINE_SINCE, lane] = t
    else:
        lf[LF_LINE_SINCE, lane] = -1.0
    # spillback: held because the next lane is full, whatever the signal shows
    if blocked and v_new < HALT_MPS:
        if lf[LF_BLOCKED_SINCE, lane] < 0.0:
            lf[LF_BLOCKED_SINCE, lane] = t
    else:
        lf[LF_BLOCKED_SINCE, lane] = -1.0
    # starvation: how long the first vehicle has stood at the stop line without green
    if not green and v_new < HALT_MPS:
        if lf[LF_GREEN_WAIT_SINCE, lane] < 0.0:
            lf[LF_GREEN_WAIT_SINCE, lane] = t
    else:
        _end_green_wait(lane, t, lf)


@inline
def desired_speed(vid: int, vmax: float, vf: np.ndarray) -> float:
    """The speed (m/s) vehicle ``vid`` wants where the limit is ``vmax``: its share, within its own cap."""
    return min(vf[VF_SPEED_FACTOR, vid] * vmax, vf[VF_MAX_SPEED, vid])


@inline
def _speed_cap(vid: int, v: float, vmax: float, p: Params, vf: np.ndarray) -> float:
    """The highest speed (m/s) reachable from ``v`` this step: at most the desired speed."""
    return min(v + vf[VF_ACCEL, vid] * p.dt_s, desired_speed(vid, vmax, vf))


@inline
def _dawdled(v: float, vid: int, step_no: int, seed: np.uint64, p: Params, vf: np.ndarray) -> float:
    """Speed ``v`` (m/s) lowered by driver imperfection: up to ``sigma * accel * dt``, never below 0."""
    return max(0.0, v - vf[VF_SIGMA, vid] * vf[VF_ACCEL, vid] * p.dt_s * _uniform(seed, vid, step_no))


@inline
def _follower_speed(vid: int, lead: int, e: int, step_no: int, seed: np.uint64, w: World) -> None:
    """Speed of a vehicle behind ``lead`` on the same lane of edge ``e``: car following and yellow."""
    p, veh, edges, conns, routes = w.p, w.veh, w.edges, w.conns, w.routes
    vf, vi = veh.vf, veh.vi
    decel, tau = vf[VF_DECEL, vid], vf[VF_TAU, vid]
    v = vf[VF_SPEED, vid]
    vcap = _speed_cap(vid, v, edges.speed_mps[e], p, vf)
    vs = speed_behind(vid, lead, vf)
    if vi[VI_FLAGS, vid] & F_EMERGENCY:
        # the vehicles ahead make way: pass them at a reduced speed
        vs = max(vs, min(vcap, p.pass_speed_mps))
    else:
        # a yellow binds followers too: one that can stop comfortably before the line does,
        # even if the vehicle ahead of it goes on
        c = routes.conn[vi[VI_RPTR, vid]]
        if c >= 0 and conns.state[c] == YELLOW:
            d = edges.length_m[e] - vf[VF_POS, vid]
            if v * v <= 2.0 * decel * d:
                vs = min(vs, safe_speed(d, 0.0, decel, tau))
    veh.vnew[vid] = _dawdled(min(vcap, vs), vid, step_no, seed, p, vf)


@inline
def _junction_speed(
    lane: int, vid: int, d: float, vcap: float, step_no: int, seed: np.uint64, w: World
) -> None:
    """Speed of a lane's first vehicle ``d`` m before the stop line of a junction it will cross.

    Its leader is the stop line (red; yellow when it can stop comfortably; its lane does not
    serve its turn; no right of way, :func:`~sim.traffic.right_of_way.may_enter`; no room on
    the next lane, beyond the junction's conflict zone) or the tail of the lane it enters next.
    A permitted turn at a signal that has no gap yet drives on into the junction, up to its
    connection's ``wait_m``, if the next lane has room; past the stop line (``d < 0``) it is
    committed and clears whatever the signal shows once it has a gap ("sneakers"). Sets the
    lane's ``go`` and ``target`` and its hold clocks.
    """
    p, veh, lanes, edges, conns, routes = w.p, w.veh, w.lanes, w.edges, w.conns, w.routes
    vf = veh.vf
    decel, tau = vf[VF_DECEL, vid], vf[VF_TAU, vid]
    v, flags, rp = vf[VF_SPEED, vid], veh.vi[VI_FLAGS, vid], veh.vi[VI_RPTR, vid]
    c = routes.conn[rp]
    st = conns.state[c]
    j = lane - edges.lane0[lanes.li[LI_EDGE, lane]]
    own_lane = conns.lane_lo[c] <= j <= conns.lane_hi[c]
    inside = d < 0.0
    go = inside or st == GREEN or (st == YELLOW and v * v > 2.0 * decel * d)
    # an emergency vehicle stops for the signal like anyone until it is down to a crawl, then
    # crosses at that crawl
    against = not go and flags & F_EMERGENCY
    if against:
        go = v <= p.crawl_speed_mps + 1e-9
    go = go and (own_lane or against)
    t = step_no * p.dt_s
    wait_s = 0.0
    if go and not flags & F_EMERGENCY:
        wait_s = may_enter(lane, vid, c, d, t, step_no, w)
        go = wait_s < np.inf
    e2 = routes.edge[rp + 1]
    need_m = vf[VF_LEN, vid] + conns.zone_m[c]
    tl, room = pick_lane(e2, routes.conn[rp + 1], lanes, vf, edges, conns, vf[VF_MIN_GAP, vid], need_m)
    v_lead, decel_lead = edges.speed_mps[e2], decel
    if lanes.li[LI_COUNT, tl] > 0:
        tail = vid_at(lanes, tl, lanes.li[LI_COUNT, tl] - 1)
        v_lead, decel_lead = vf[VF_SPEED, tail], vf[VF_DECEL, tail]
    # no box-blocking: enter behind a standing tail only if the whole vehicle fits
    fits = room >= need_m
    lanes.target[lane] = tl
    wait_inside = False
    if go and (fits or (room > -vf[VF_LEN, vid] and v_lead >= HALT_MPS)):
        vs = follow_speed(d + room, v_lead, decel_lead, decel, tau)
        if conns.turn[c] != TURN_THROUGH:
            vs = min(vs, math.sqrt(p.turn_speed_mps * p.turn_speed_mps + 2.0 * decel * max(d, 0.0)))
        if against:
            vs = min(vs, p.crawl_speed_mps)
        if wait_s > 0.0:
            vs = min(vs, d / wait_s)  # not at the line before the vehicle ahead's follow-up time
    else:
        go = False
        wait_inside = conns.wait_m[c] > 0.0 and own_lane and (inside or (st == GREEN and fits))
        vs = safe_speed(d + conns.wait_m[c] if wait_inside else d, 0.0, decel, tau)
    lanes.go[lane] = GO_CROSS if go else GO_WAIT_INSIDE if wait_inside else GO_HOLD
    v_new = _dawdled(min(vcap, vs), vid, step_no, seed, p, vf)
    veh.vnew[vid] = v_new
    _hold_clocks(lane, t, d, not fits, st == GREEN, v_new, lanes.lf)


@inline
def _lead_speed(lane: int, step_no: int, seed: np.uint64, w: World) -> int:
    """Speed of the first vehicle of a non-empty lane; returns its id.

    Far from the stop line nothing ahead binds it; at the end of an agent's route it stops
    there (and tells Python once); otherwise :func:`_junction_speed` decides.
    """
    p, veh, lanes, edges = w.p, w.veh, w.lanes, w.edges
    vf, vi, t = veh.vf, veh.vi, step_no * p.dt_s
    vid = vid_at(lanes, lane, 0)
    e = lanes.li[LI_EDGE, lane]
    vcap = _speed_cap(vid, vf[VF_SPEED, vid], edges.speed_mps[e], p, vf)
    flags = vi[VI_FLAGS, vid]
    d = edges.length_m[e] - vf[VF_POS, vid]
    lanes.target[lane] = -1
    # far from the stop line, neither the signal nor the next lane can bind this step
    # (v_safe(d, 0) >= vcap whenever d >= vcap^2 / 2b + vcap * tau; the margin covers a
    # next-lane tail that still sticks out into the junction)
    decel, tau = vf[VF_DECEL, vid], vf[VF_TAU, vid]
    reach = vcap * (tau + p.dt_s) + vcap * vcap / (2.0 * decel)
    far = d >= reach + 2.0 * (vf[VF_LEN, vid] + vf[VF_MIN_GAP, vid])
    at_end = vi[VI_RPTR, vid] == vi[VI_REND, vid]
    if far or (at_end and not flags & F_NOTIFY):
        lanes.go[lane] = GO_HOLD if far else GO_CROSS
        _not_held(lane, t, lanes.lf)
        veh.vnew[vid] = _dawdled(vcap, vid, step_no, seed, p, vf)
    elif at_end:
        # an agent's vehicle nearing the end of its route: tell Python once, and stop at the
        # end unless Python extends the route meanwhile
        if not flags & F_APPROACH_SENT:
            vi[VI_FLAGS, vid] = flags | F_APPROACH_SENT
            emit(vid, EV_APPROACH, w.rec)
        lanes.go[lane] = GO_HOLD
        _not_held(lane, t, lanes.lf)
        veh.vnew[vid] = max(0.0, min(vcap, safe_speed(d, 0.0, decel, tau)))
    else:
        _junction_speed(lane, vid, d, vcap, step_no, seed, w)
    return vid


@inline
def _let_in(vid: int, e: int, w: World) -> None:
    """Keep ``vid`` a safe distance behind the vehicle the lane-change stage named (``VI_YIELD``), once.

    That vehicle is next to it, on a neighbouring lane of its link: one of the two is changing
    lanes into the other's.
    """
    veh, lanes = w.veh, w.lanes
    vf, vi = veh.vf, veh.vi
    other = vi[VI_YIELD, vid]
    if other < 0:
        return
    vi[VI_YIELD, vid] = -1
    if vi[VI_LANE, other] < 0 or lanes.li[LI_EDGE, vi[VI_LANE, other]] != e:
        return
    veh.vnew[vid] = min(veh.vnew[vid], speed_behind(vid, other, vf))


@compiled
def set_speeds(step_no: int, seed: np.uint64, w: World) -> None:
    """Every vehicle's speed for this step into ``veh.vnew``, from the state at the step's start."""
    lanes = w.lanes
    t = step_no * w.p.dt_s
    li = lanes.li
    for lane in range(li.shape[1]):
        n = li[LI_COUNT, lane]
        if n == 0:
            _not_held(lane, t, lanes.lf)
            continue
        e = li[LI_EDGE, lane]
        lead = _lead_speed(lane, step_no, seed, w)
        _let_in(lead, e, w)
        for i in range(1, n):
            vid = vid_at(lanes, lane, i)
            _follower_speed(vid, lead, e, step_no, seed, w)
            _let_in(vid, e, w)
            lead = vid
