"""The numba-compiled simulation step over flat arrays (numpy and numba only).

Car following is Krauss's safe-speed model (Krauss 1998, the default of SUMO): each
step a vehicle takes the largest speed that is at most its previous speed plus
``accel * dt``, at most the link's speed limit, and safe::

    v_safe = -b*tau + sqrt((b*tau)^2 + v_leader^2 + 2*b*gap)

so that it can always stop behind a leader braking at ``b``. Positions advance by
Euler integration (``x += v_new * dt``), as in SUMO's default. Driver imperfection
(``sigma``, SUMO's default 0.5) lowers each step's speed by ``sigma * accel * dt * u``,
with ``u`` uniform in [0, 1) from a counter-based hash of (seed, vehicle, step).

With the defaults (length 5 m, min gap 2.5 m, accel 2.6, decel 4.5 m/s^2, tau 1 s,
sigma 0.5, dt 1 s) a standing queue discharges at about 1,830-1,850 veh/h/lane
(tests/test_engine.py; 2,055 with sigma 0), SUMO's measured 1,893 with the same parameters.

The leader of the first vehicle of a lane is either the stop line (red; yellow when
the vehicle can stop comfortably; a permitted left turn without an acceptable gap in
oncoming traffic; no room on the next lane) or the last vehicle of the lane it will
enter next. Lanes are FIFO ring buffers, so no sorting is needed: a vehicle's leader is the one before it.

Array layouts (row constants below): ``vf`` float rows and ``vi`` int rows per vehicle,
``li`` int rows and ``lf`` float rows per lane, ``si``/``sf`` per signal, ``acc`` per edge.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

__all__ = [
    "ACC_EXITS",
    "ACC_HALTED",
    "ACC_SPEED_SUM",
    "ACC_VEH_STEPS",
    "C_ARRIVED",
    "C_ENTERED",
    "C_N_ARRIVED_OUT",
    "C_N_EVENTS",
    "C_SCHED_PTR",
    "C_STEPS_DONE",
    "EV_APPROACH",
    "EV_STOP",
    "F_APPROACH_SENT",
    "F_EMERGENCY",
    "F_NOTIFY",
    "F_STOP_SENT",
    "C_WAIT_N",
    "GREEN",
    "HALT_MPS",
    "LF_BLOCKED_SINCE",
    "LF_GREEN_WAIT_MAX",
    "LF_GREEN_WAIT_SINCE",
    "LI_CAP",
    "LI_COUNT",
    "LI_EDGE",
    "LI_HEAD",
    "LI_OFF",
    "P_ACCEL",
    "P_CRIT_GAP",
    "P_DECEL",
    "P_DT",
    "P_CRAWL_SPEED",
    "P_MIN_GAP",
    "P_PASS_SPEED",
    "P_SIGMA",
    "P_TAU",
    "P_TURN_SPEED",
    "RED",
    "SF_ALL_RED",
    "SF_ELAPSED",
    "SF_MIN_GREEN",
    "SF_YELLOW",
    "SI_NEXT",
    "SI_PHASE",
    "SI_STAGE",
    "SI_TARGET",
    "STAGE_ALL_RED",
    "STAGE_GREEN",
    "STAGE_YELLOW",
    "ST_ARRIVED",
    "ST_ON_NETWORK",
    "ST_SCHEDULED",
    "ST_WAITING",
    "VF_ARRIVE",
    "VF_DIST",
    "VF_ENTER",
    "VF_LEN",
    "VF_LINK_WAIT",
    "VF_MAX_LINK_WAIT",
    "VF_MAX_SPEED",
    "VF_POS",
    "VF_SPEED",
    "VF_WAIT",
    "VI_HALTED",
    "VI_FLAGS",
    "VI_LANE",
    "VI_REND",
    "VI_RPTR",
    "VI_STATUS",
    "VI_STOPS",
    "YELLOW",
    "advance",
    "observe_connections",
]

# vehicle float rows
# (VF_MAX_LINK_WAIT: the longest halted time on one link of the links it has left, s)
(
    VF_POS,
    VF_SPEED,
    VF_LEN,
    VF_ENTER,
    VF_ARRIVE,
    VF_DIST,
    VF_WAIT,
    VF_LINK_WAIT,
    VF_MAX_SPEED,
    VF_MAX_LINK_WAIT,
) = range(10)
# vehicle int rows
VI_LANE, VI_RPTR, VI_REND, VI_STATUS, VI_STOPS, VI_HALTED, VI_FLAGS = range(7)
# vehicle flags: notify Python near and at the route end (instead of arriving); emergency
# vehicle; events already sent for the current route
F_NOTIFY, F_EMERGENCY, F_APPROACH_SENT, F_STOP_SENT = 1, 2, 4, 8
# event kinds
EV_APPROACH, EV_STOP = 0, 1
# vehicle status
ST_SCHEDULED, ST_WAITING, ST_ON_NETWORK, ST_ARRIVED = range(4)
# lane int rows and float rows
LI_OFF, LI_CAP, LI_HEAD, LI_COUNT, LI_EDGE = range(5)
# LF_GREEN_WAIT_SINCE: since when the first vehicle has stood at the stop line without green
# (-1: not waiting); LF_GREEN_WAIT_MAX: the longest such wait that ended since the last read
LF_BLOCKED_SINCE, LF_GREEN_WAIT_SINCE, LF_GREEN_WAIT_MAX = range(3)
# connection signal states
RED, YELLOW, GREEN = 0, 1, 2
# signal int rows, float rows, stages
SI_PHASE, SI_STAGE, SI_TARGET, SI_NEXT = range(4)
SF_ELAPSED, SF_YELLOW, SF_ALL_RED, SF_MIN_GREEN = range(4)
STAGE_GREEN, STAGE_YELLOW, STAGE_ALL_RED = range(3)
# parameters
P_DT, P_MIN_GAP, P_ACCEL, P_DECEL, P_TAU, P_TURN_SPEED, P_CRIT_GAP, P_SIGMA, P_PASS_SPEED, P_CRAWL_SPEED = (
    range(10)
)
# per-edge accumulators
ACC_VEH_STEPS, ACC_SPEED_SUM, ACC_HALTED, ACC_EXITS = range(4)
# counters
C_WAIT_N, C_N_ARRIVED_OUT, C_ENTERED, C_ARRIVED, C_SCHED_PTR, C_N_EVENTS, C_STEPS_DONE = range(7)

HALT_MPS = 0.1
_REARM_MPS = 3.0
_TURN_THROUGH, _TURN_LEFT = 0, 2
_OPPOSED_STANDING_M = 3.0


@njit(cache=True, inline="always")
def _safe_speed(gap: float, v_leader: float, decel: float, tau: float) -> float:
    bt = decel * tau
    return -bt + math.sqrt(bt * bt + v_leader * v_leader + 2.0 * decel * max(gap, 0.0))


_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_MIX1 = np.uint64(0xBF58476D1CE4E5B9)
_MIX2 = np.uint64(0x94D049BB133111EB)
_VID_MUL = np.uint64(0xD1B54A32D192ED03)


@njit(cache=True, inline="always")
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


@njit(cache=True, inline="always")
def _vid_at(lane: int, i: int, lane_buf: np.ndarray, li: np.ndarray) -> int:
    j = li[LI_HEAD, lane] + i
    if j >= li[LI_CAP, lane]:
        j -= li[LI_CAP, lane]
    return lane_buf[li[LI_OFF, lane] + j]


@njit(cache=True)
def _room(lane: int, lane_buf, li, vf, edge_len, min_gap: float) -> float:
    """Free length (m) at the entry of a lane: up to the rear of its last vehicle less the gap."""
    n = li[LI_COUNT, lane]
    if n == 0:
        return edge_len[li[LI_EDGE, lane]]
    if n >= li[LI_CAP, lane]:
        return -1.0
    tail = _vid_at(lane, n - 1, lane_buf, li)
    return vf[VF_POS, tail] - vf[VF_LEN, tail] - min_gap


@njit(cache=True)
def _pick_lane(
    edge: int, next_conn: int, lane_buf, li, vf, edge_len, edge_lanes, edge_lane0, conn_lo, conn_hi, min_gap
):
    """The lane of ``edge`` serving ``next_conn`` (any lane if -1) with the most room."""
    lo, hi = 0, edge_lanes[edge] - 1
    if next_conn >= 0:
        lo, hi = conn_lo[next_conn], conn_hi[next_conn]
    best, best_room = -1, -np.inf
    for j in range(lo, hi + 1):
        lane = edge_lane0[edge] + j
        r = _room(lane, lane_buf, li, vf, edge_len, min_gap)
        if r > best_room:
            best, best_room = lane, r
    return best, best_room


@njit(cache=True)
def _push(lane: int, vid: int, lane_buf, li) -> None:
    n = li[LI_COUNT, lane]
    lane_buf[li[LI_OFF, lane] + (li[LI_HEAD, lane] + n) % li[LI_CAP, lane]] = vid
    li[LI_COUNT, lane] = n + 1


@njit(cache=True)
def _pop(lane: int, li) -> None:
    li[LI_HEAD, lane] = (li[LI_HEAD, lane] + 1) % li[LI_CAP, lane]
    li[LI_COUNT, lane] -= 1


@njit(cache=True)
def _emit(vid: int, kind: int, event_out: np.ndarray, counters: np.ndarray) -> None:
    n = counters[C_N_EVENTS]
    event_out[0, n] = vid
    event_out[1, n] = kind
    counters[C_N_EVENTS] = n + 1


@njit(cache=True, inline="always")
def _end_green_wait(lane: int, t: float, lf: np.ndarray) -> None:
    """The lane's first vehicle no longer waits for green: keep the wait if it is the longest."""
    since = lf[LF_GREEN_WAIT_SINCE, lane]
    if since >= 0.0:
        lf[LF_GREEN_WAIT_MAX, lane] = max(lf[LF_GREEN_WAIT_MAX, lane], t - since)
        lf[LF_GREEN_WAIT_SINCE, lane] = -1.0


@njit(cache=True)
def _overtake(lane: int, i: int, lane_buf, li, vf, length: float) -> int:
    """Move the vehicle at position ``i`` ahead of those it has passed; returns its new position.

    Vehicles at the stop line (about to cross) are never passed.
    """
    cap, off, head = li[LI_CAP, lane], li[LI_OFF, lane], li[LI_HEAD, lane]
    j = i
    while j > 0:
        a = off + (head + j - 1) % cap
        b = off + (head + j) % cap
        ahead, me = lane_buf[a], lane_buf[b]
        if vf[VF_POS, ahead] >= vf[VF_POS, me] or vf[VF_POS, ahead] >= length - 1e-3:
            break
        lane_buf[a], lane_buf[b] = me, ahead
        j -= 1
    return j


@njit(cache=True)
def _set_phase_state(phase: int, state: int, only_if: int, phase_conn_ptr, phase_conns, conn_state) -> None:
    for k in range(phase_conn_ptr[phase], phase_conn_ptr[phase + 1]):
        c = phase_conns[k]
        if only_if < 0 or conn_state[c] == only_if:
            conn_state[c] = state


@njit(cache=True)
def _update_signals(si, sf, phase_conn_ptr, phase_conns, conn_state) -> None:
    """Advance every signal's green -> yellow -> all-red -> green cycle by one step.

    A requested phase change starts only after the minimum green; yellow and all-red
    always run in full. Connections green in both the old and the new phase stay green.
    """
    for s in range(si.shape[1]):
        if si[SI_STAGE, s] == STAGE_GREEN:
            target = si[SI_TARGET, s]
            if target == si[SI_PHASE, s]:
                si[SI_TARGET, s] = -1
            elif target >= 0 and sf[SF_ELAPSED, s] >= sf[SF_MIN_GREEN, s]:
                _set_phase_state(si[SI_PHASE, s], YELLOW, -1, phase_conn_ptr, phase_conns, conn_state)
                _set_phase_state(target, GREEN, YELLOW, phase_conn_ptr, phase_conns, conn_state)
                si[SI_NEXT, s] = target
                si[SI_TARGET, s] = -1
                si[SI_STAGE, s] = STAGE_YELLOW
                sf[SF_ELAPSED, s] = 0.0
        if si[SI_STAGE, s] == STAGE_YELLOW and sf[SF_ELAPSED, s] >= sf[SF_YELLOW, s] - 1e-9:
            _set_phase_state(si[SI_PHASE, s], RED, YELLOW, phase_conn_ptr, phase_conns, conn_state)
            si[SI_STAGE, s] = STAGE_ALL_RED
            sf[SF_ELAPSED, s] = 0.0
        if si[SI_STAGE, s] == STAGE_ALL_RED and sf[SF_ELAPSED, s] >= sf[SF_ALL_RED, s] - 1e-9:
            si[SI_PHASE, s] = si[SI_NEXT, s]
            si[SI_NEXT, s] = -1
            _set_phase_state(si[SI_PHASE, s], GREEN, -1, phase_conn_ptr, phase_conns, conn_state)
            si[SI_STAGE, s] = STAGE_GREEN
            sf[SF_ELAPSED, s] = 0.0


@njit(cache=True)
def _opposed(
    opp_edge: int,
    p,
    vf,
    vi,
    lane_buf,
    li,
    lf,
    edge_len,
    edge_lanes,
    edge_lane0,
    conn_state,
    conn_turn,
    r_conn,
) -> bool:
    """Whether oncoming through or right-turning traffic on ``opp_edge`` leaves no gap."""
    decel, crit = p[P_DECEL], p[P_CRIT_GAP]
    for j in range(edge_lanes[opp_edge]):
        lane = edge_lane0[opp_edge] + j
        if li[LI_COUNT, lane] == 0 or lf[LF_BLOCKED_SINCE, lane] >= 0.0:
            continue
        h = _vid_at(lane, 0, lane_buf, li)
        rp = vi[VI_RPTR, h]
        if rp == vi[VI_REND, h]:
            continue
        c = r_conn[rp]
        st = conn_state[c]
        if conn_turn[c] == _TURN_LEFT or st == RED:
            continue
        d = edge_len[opp_edge] - vf[VF_POS, h]
        v = vf[VF_SPEED, h]
        if st == YELLOW and v * v <= 2.0 * decel * d:
            continue
        if d < _OPPOSED_STANDING_M or d < crit * v:
            return True
    return False


@njit(cache=True)
def _step(
    step_no: int,
    seed: np.uint64,
    p: np.ndarray,
    vf: np.ndarray,
    vi: np.ndarray,
    vnew: np.ndarray,
    lane_buf: np.ndarray,
    li: np.ndarray,
    lf: np.ndarray,
    lane_go: np.ndarray,
    lane_target: np.ndarray,
    edge_len: np.ndarray,
    edge_speed: np.ndarray,
    edge_lanes: np.ndarray,
    edge_lane0: np.ndarray,
    edge_mark: np.ndarray,
    conn_state: np.ndarray,
    conn_turn: np.ndarray,
    conn_lo: np.ndarray,
    conn_hi: np.ndarray,
    conn_opp: np.ndarray,
    si: np.ndarray,
    sf: np.ndarray,
    phase_conn_ptr: np.ndarray,
    phase_conns: np.ndarray,
    r_edge: np.ndarray,
    r_conn: np.ndarray,
    wait_buf: np.ndarray,
    counters: np.ndarray,
    arrived_out: np.ndarray,
    event_out: np.ndarray,
    acc: np.ndarray,
) -> None:
    """Advance the whole network by one step ``[t, t + dt)`` with ``t = step_no * dt``.

    Order: signals, insertion of waiting departures, speeds of every vehicle (from the
    state at ``t``), positions, then stop-line crossings and arrivals (appended to
    ``arrived_out``), and the signals' clocks.
    """
    dt, min_gap, accel, decel, tau, turn_speed = (
        p[P_DT],
        p[P_MIN_GAP],
        p[P_ACCEL],
        p[P_DECEL],
        p[P_TAU],
        p[P_TURN_SPEED],
    )
    dawdle = p[P_SIGMA] * accel * dt
    pass_speed, crawl_speed = p[P_PASS_SPEED], p[P_CRAWL_SPEED]
    t = step_no * dt
    n_lanes = li.shape[1]
    _update_signals(si, sf, phase_conn_ptr, phase_conns, conn_state)

    # insertion: first waiting vehicle per origin edge, if its lane has room
    stamp = step_no + 1.0
    kept = 0
    for k in range(counters[C_WAIT_N]):
        vid = wait_buf[k]
        e = r_edge[vi[VI_RPTR, vid]]
        inserted = False
        if edge_mark[e] != stamp:
            edge_mark[e] = stamp
            lane, room = _pick_lane(
                e,
                r_conn[vi[VI_RPTR, vid]],
                lane_buf,
                li,
                vf,
                edge_len,
                edge_lanes,
                edge_lane0,
                conn_lo,
                conn_hi,
                min_gap,
            )
            if room >= 0.0:
                v0 = min(edge_speed[e], vf[VF_MAX_SPEED, vid])
                if li[LI_COUNT, lane] > 0:
                    tail = _vid_at(lane, li[LI_COUNT, lane] - 1, lane_buf, li)
                    v0 = min(v0, _safe_speed(room, vf[VF_SPEED, tail], decel, tau))
                _push(lane, vid, lane_buf, li)
                vi[VI_LANE, vid] = lane
                vi[VI_STATUS, vid] = ST_ON_NETWORK
                vf[VF_POS, vid] = 0.0
                vf[VF_SPEED, vid] = v0
                vf[VF_ENTER, vid] = t
                counters[C_ENTERED] += 1
                inserted = True
        if not inserted:
            wait_buf[kept] = vid
            kept += 1
    counters[C_WAIT_N] = kept

    # speeds
    for lane in range(n_lanes):
        n = li[LI_COUNT, lane]
        if n == 0:
            lf[LF_BLOCKED_SINCE, lane] = -1.0
            _end_green_wait(lane, t, lf)
            continue
        e = li[LI_EDGE, lane]
        vmax = edge_speed[e]
        lead = -1
        for i in range(n):
            vid = _vid_at(lane, i, lane_buf, li)
            v = vf[VF_SPEED, vid]
            vcap = min(v + accel * dt, vmax, vf[VF_MAX_SPEED, vid])
            flags = vi[VI_FLAGS, vid]
            if i > 0:
                gap = vf[VF_POS, lead] - vf[VF_LEN, lead] - vf[VF_POS, vid] - min_gap
                vs = _safe_speed(gap, vf[VF_SPEED, lead], decel, tau)
                if flags & F_EMERGENCY:
                    # the vehicles ahead make way: pass them at a reduced speed
                    vs = max(vs, min(vcap, pass_speed))
                else:
                    # a yellow binds followers too: one that can stop comfortably before the
                    # line does, even if the vehicle ahead of it goes on
                    c = r_conn[vi[VI_RPTR, vid]]
                    if c >= 0 and conn_state[c] == YELLOW:
                        d = edge_len[e] - vf[VF_POS, vid]
                        if v * v <= 2.0 * decel * d:
                            vs = min(vs, _safe_speed(d, 0.0, decel, tau))
                vnew[vid] = max(0.0, min(vcap, vs) - dawdle * _uniform(seed, vid, step_no))
                lead = vid
                continue
            lead = vid
            d = edge_len[e] - vf[VF_POS, vid]
            rp = vi[VI_RPTR, vid]
            lane_target[lane] = -1
            # far from the stop line, neither the signal nor the next lane can bind this step
            # (v_safe(d, 0) >= vcap whenever d >= vcap^2 / 2b + vcap * tau; the margin covers
            # a next-lane tail that still sticks out into the junction)
            far = d >= vcap * (tau + dt) + vcap * vcap / (2.0 * decel) + 2.0 * (vf[VF_LEN, vid] + min_gap)
            at_end = rp == vi[VI_REND, vid]
            if far or (at_end and not flags & F_NOTIFY):
                lane_go[lane] = 0 if far else 1
                lf[LF_BLOCKED_SINCE, lane] = -1.0
                _end_green_wait(lane, t, lf)
                vnew[vid] = max(0.0, vcap - dawdle * _uniform(seed, vid, step_no))
                continue
            if at_end:
                # an agent's vehicle nearing the end of its route: tell Python once, and stop
                # at the end unless Python extends the route meanwhile
                if not flags & F_APPROACH_SENT:
                    vi[VI_FLAGS, vid] = flags | F_APPROACH_SENT
                    _emit(vid, EV_APPROACH, event_out, counters)
                lane_go[lane] = 0
                lf[LF_BLOCKED_SINCE, lane] = -1.0
                _end_green_wait(lane, t, lf)
                vnew[vid] = max(0.0, min(vcap, _safe_speed(d, 0.0, decel, tau)))
                continue
            c = r_conn[rp]
            st = conn_state[c]
            go = st == GREEN or (st == YELLOW and v * v > 2.0 * decel * d)
            # an emergency vehicle stops for the signal like anyone until it is down to a
            # crawl, then crosses at that crawl
            against = not go and flags & F_EMERGENCY
            if against:
                go = v <= crawl_speed + 1e-9
            if go and conn_opp[c] >= 0 and not flags & F_EMERGENCY:
                go = not _opposed(
                    conn_opp[c], p, vf, vi, lane_buf, li, lf, edge_len, edge_lanes, edge_lane0, conn_state,
                    conn_turn, r_conn,
                )  # fmt: skip
            e2 = r_edge[rp + 1]
            tl, room = _pick_lane(
                e2,
                r_conn[rp + 1],
                lane_buf,
                li,
                vf,
                edge_len,
                edge_lanes,
                edge_lane0,
                conn_lo,
                conn_hi,
                min_gap,
            )
            v_lead = edge_speed[e2]
            if li[LI_COUNT, tl] > 0:
                v_lead = vf[VF_SPEED, _vid_at(tl, li[LI_COUNT, tl] - 1, lane_buf, li)]
            # no box-blocking: enter behind a standing tail only if the whole vehicle fits
            fits = room >= vf[VF_LEN, vid]
            blocked = not fits
            lane_target[lane] = tl
            if go and (fits or (room > -vf[VF_LEN, vid] and v_lead >= HALT_MPS)):
                vs = _safe_speed(d + room, v_lead, decel, tau)
                if conn_turn[c] != _TURN_THROUGH:
                    vs = min(vs, math.sqrt(turn_speed * turn_speed + 2.0 * decel * max(d, 0.0)))
                if against:
                    vs = min(vs, crawl_speed)
            else:
                go = False
                vs = _safe_speed(d, 0.0, decel, tau)
            lane_go[lane] = 1 if go else 0
            vnew[vid] = max(0.0, min(vcap, vs) - dawdle * _uniform(seed, vid, step_no))
            # spillback: held because the next lane is full, whatever the signal shows
            if blocked and vnew[vid] < HALT_MPS:
                if lf[LF_BLOCKED_SINCE, lane] < 0.0:
                    lf[LF_BLOCKED_SINCE, lane] = t
            else:
                lf[LF_BLOCKED_SINCE, lane] = -1.0
            # starvation: how long the first vehicle has stood at the stop line without green
            if st != GREEN and vnew[vid] < HALT_MPS:
                if lf[LF_GREEN_WAIT_SINCE, lane] < 0.0:
                    lf[LF_GREEN_WAIT_SINCE, lane] = t
            else:
                _end_green_wait(lane, t, lf)

    # positions (front to back, so a follower never overlaps its already moved leader)
    for lane in range(n_lanes):
        n = li[LI_COUNT, lane]
        if n == 0:
            continue
        e = li[LI_EDGE, lane]
        length = edge_len[e]
        lead_rear = np.inf if lane_go[lane] else length
        for i in range(n):
            vid = _vid_at(lane, i, lane_buf, li)
            flags = vi[VI_FLAGS, vid]
            old = vf[VF_POS, vid]
            new = old + vnew[vid] * dt
            if i == 0 or not flags & F_EMERGENCY:
                new = min(new, lead_rear)
            if i > 0:
                new = min(new, length - 1e-3)
            new = max(new, old)
            v = (new - old) / dt
            # a stop: a halt after driving faster than _REARM_MPS since the last one, so
            # creeping in a queue counts once
            if v < HALT_MPS and not vi[VI_HALTED, vid]:
                vi[VI_STOPS, vid] += 1
                vi[VI_HALTED, vid] = 1
            elif v >= _REARM_MPS:
                vi[VI_HALTED, vid] = 0
            vf[VF_POS, vid] = new
            vf[VF_SPEED, vid] = v
            vf[VF_DIST, vid] += new - old
            acc[ACC_VEH_STEPS, e] += 1.0
            acc[ACC_SPEED_SUM, e] += v
            if v < HALT_MPS:
                acc[ACC_HALTED, e] += 1.0
                vf[VF_WAIT, vid] += dt
                vf[VF_LINK_WAIT, vid] += dt
                stopped_at_end = i == 0 and length - new < 1.0 and vi[VI_RPTR, vid] == vi[VI_REND, vid]
                if flags & F_NOTIFY and not flags & F_STOP_SENT and stopped_at_end:
                    vi[VI_FLAGS, vid] = flags | F_STOP_SENT
                    _emit(vid, EV_STOP, event_out, counters)
            lead_rear = new - vf[VF_LEN, vid]
            if flags & F_EMERGENCY and i > 0:
                i_now = _overtake(lane, i, lane_buf, li, vf, length)
                if i_now == 0:
                    lane_go[lane] = 0  # the old first vehicle's right of way is not the emergency vehicle's
                if i_now != i:
                    back = _vid_at(lane, i, lane_buf, li)
                    lead_rear = vf[VF_POS, back] - vf[VF_LEN, back]

    # stop-line crossings and arrivals: at most one per lane and step
    n_out = counters[C_N_ARRIVED_OUT]
    n_out0 = n_out
    for lane in range(n_lanes):
        if li[LI_COUNT, lane] == 0 or not lane_go[lane]:
            continue
        e = li[LI_EDGE, lane]
        vid = _vid_at(lane, 0, lane_buf, li)
        over = vf[VF_POS, vid] - edge_len[e]
        if over < 0.0:
            continue
        if vi[VI_RPTR, vid] == vi[VI_REND, vid]:
            _pop(lane, li)
            v = vf[VF_SPEED, vid]
            vf[VF_ARRIVE, vid] = t + dt - (over / v if v > 0.0 else 0.0)
            vf[VF_MAX_LINK_WAIT, vid] = max(vf[VF_MAX_LINK_WAIT, vid], vf[VF_LINK_WAIT, vid])
            vf[VF_DIST, vid] -= over
            vi[VI_STATUS, vid] = ST_ARRIVED
            vi[VI_LANE, vid] = -1
            arrived_out[n_out] = vid
            n_out += 1
            acc[ACC_EXITS, e] += 1.0
            continue
        tl = lane_target[lane]
        room = _room(tl, lane_buf, li, vf, edge_len, min_gap)
        if room < 0.0:
            vf[VF_DIST, vid] -= over
            vf[VF_POS, vid] = edge_len[e]
            vf[VF_SPEED, vid] = 0.0
            continue
        _pop(lane, li)
        _push(tl, vid, lane_buf, li)
        vf[VF_POS, vid] = min(over, room)
        vf[VF_DIST, vid] -= over - vf[VF_POS, vid]
        vi[VI_LANE, vid] = tl
        vi[VI_RPTR, vid] += 1
        vf[VF_MAX_LINK_WAIT, vid] = max(vf[VF_MAX_LINK_WAIT, vid], vf[VF_LINK_WAIT, vid])
        vf[VF_LINK_WAIT, vid] = 0.0
        acc[ACC_EXITS, e] += 1.0
    counters[C_N_ARRIVED_OUT] = n_out
    counters[C_ARRIVED] += n_out - n_out0
    for sig in range(si.shape[1]):
        sf[SF_ELAPSED, sig] += dt


@njit(cache=True)
def advance(
    n_steps: int,
    step_no: int,
    seed: np.uint64,
    p: np.ndarray,
    vf: np.ndarray,
    vi: np.ndarray,
    vnew: np.ndarray,
    lane_buf: np.ndarray,
    li: np.ndarray,
    lf: np.ndarray,
    lane_go: np.ndarray,
    lane_target: np.ndarray,
    edge_len: np.ndarray,
    edge_speed: np.ndarray,
    edge_lanes: np.ndarray,
    edge_lane0: np.ndarray,
    edge_mark: np.ndarray,
    conn_state: np.ndarray,
    conn_turn: np.ndarray,
    conn_lo: np.ndarray,
    conn_hi: np.ndarray,
    conn_opp: np.ndarray,
    si: np.ndarray,
    sf: np.ndarray,
    phase_conn_ptr: np.ndarray,
    phase_conns: np.ndarray,
    r_edge: np.ndarray,
    r_conn: np.ndarray,
    wait_buf: np.ndarray,
    sched_vid: np.ndarray,
    sched_depart: np.ndarray,
    counters: np.ndarray,
    arrived_out: np.ndarray,
    event_out: np.ndarray,
    acc: np.ndarray,
) -> None:
    """Run ``n_steps`` steps from ``step_no``, releasing scheduled departures as they fall due.

    A scheduled vehicle joins the entry queue of its first link at the first step
    starting at or after its departure time. Vehicles that arrive during the call are
    listed in ``arrived_out[:counters[C_N_ARRIVED_OUT]]``. The call returns early, after
    the step in which an agent's vehicle raised an event (``event_out[:, :C_N_EVENTS]``:
    vehicle and ``EV_*`` kind); ``counters[C_STEPS_DONE]`` says how many steps ran.
    """
    dt = p[P_DT]
    counters[C_N_ARRIVED_OUT] = 0
    counters[C_N_EVENTS] = 0
    counters[C_STEPS_DONE] = 0
    for s in range(n_steps):
        t = (step_no + s) * dt
        ptr, n = counters[C_SCHED_PTR], counters[C_WAIT_N]
        while ptr < sched_vid.shape[0] and sched_depart[ptr] <= t + 1e-9:
            vid = sched_vid[ptr]
            wait_buf[n] = vid
            vi[VI_STATUS, vid] = ST_WAITING
            n += 1
            ptr += 1
        counters[C_SCHED_PTR], counters[C_WAIT_N] = ptr, n
        _step(
            step_no + s, seed, p, vf, vi, vnew, lane_buf, li, lf, lane_go, lane_target, edge_len, edge_speed,
            edge_lanes, edge_lane0, edge_mark, conn_state, conn_turn, conn_lo, conn_hi, conn_opp, si, sf,
            phase_conn_ptr, phase_conns, r_edge, r_conn, wait_buf, counters, arrived_out, event_out, acc,
        )  # fmt: skip
        counters[C_STEPS_DONE] = s + 1
        if counters[C_N_EVENTS] > 0:
            return


@njit(cache=True)
def observe_connections(
    horizon_m: float,
    vf: np.ndarray,
    vi: np.ndarray,
    lane_buf: np.ndarray,
    li: np.ndarray,
    edge_len: np.ndarray,
    r_conn: np.ndarray,
    queue: np.ndarray,
    approaching: np.ndarray,
    waiting_s: np.ndarray,
) -> None:
    """Per connection, from the vehicles whose next movement it is.

    Fills ``queue`` (halted vehicles), ``approaching`` (moving vehicles within
    ``horizon_m`` of the stop line) and ``waiting_s`` (their summed halted time on the
    current link, s). Vehicles on their last link belong to no connection.
    """
    queue[:] = 0.0
    approaching[:] = 0.0
    waiting_s[:] = 0.0
    for lane in range(li.shape[1]):
        length = edge_len[li[LI_EDGE, lane]]
        for i in range(li[LI_COUNT, lane]):
            vid = _vid_at(lane, i, lane_buf, li)
            c = r_conn[vi[VI_RPTR, vid]]
            if c < 0:
                continue
            if vf[VF_SPEED, vid] < HALT_MPS:
                queue[c] += 1.0
            elif length - vf[VF_POS, vid] <= horizon_m:
                approaching[c] += 1.0
            waiting_s[c] += vf[VF_LINK_WAIT, vid]
