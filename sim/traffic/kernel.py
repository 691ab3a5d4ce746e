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

The arrays come in a few named containers (``typing.NamedTuple``s, which numba passes
as they are): :class:`Params`, :class:`Vehicles`, :class:`Lanes`, :class:`Edges`,
:class:`Connections`, :class:`Signals`, :class:`Routes`, :class:`Departures` and
:class:`Recorders`. Row layouts (constants below): ``vf`` float rows and ``vi`` int rows
per vehicle, ``li`` int rows and ``lf`` float rows per lane, ``si``/``sf`` per signal,
``acc`` per edge, ``counters`` the run's counts.

One step runs its stages in order, each a compiled function: signals (``_update_signals``),
insertion (``_insert``), speeds (``_speeds``: ``_lead_speed`` and ``_junction_speed`` for the
first vehicle of a lane, ``_follower_speed`` for the others), positions (``_positions``),
stop-line crossings and arrivals (``_crossings``), and the signals' clocks (``_tick_signals``).
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np
from numba import njit

__all__ = [
    "Connections",
    "Departures",
    "Edges",
    "Lanes",
    "Params",
    "Recorders",
    "Routes",
    "Signals",
    "Vehicles",
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
# per-edge accumulators
ACC_VEH_STEPS, ACC_SPEED_SUM, ACC_HALTED, ACC_EXITS = range(4)
# counters
C_WAIT_N, C_N_ARRIVED_OUT, C_ENTERED, C_ARRIVED, C_SCHED_PTR, C_N_EVENTS, C_STEPS_DONE = range(7)


class Params(NamedTuple):
    """Car-following and junction parameters, shared by all vehicles.

    Attributes:
        dt_s: Step length (s).
        min_gap_m: Standstill gap to the leader (m).
        accel_mps2: Maximum acceleration (m/s^2).
        decel_mps2: Comfortable deceleration (m/s^2).
        tau_s: Reaction time / desired time headway (s).
        turn_speed_mps: Speed at the stop line for turns (m/s).
        critical_gap_s: Time gap a permitted left turn needs in oncoming traffic (s).
        sigma: Driver imperfection in [0, 1].
        pass_speed_mps: Speed at which an emergency vehicle passes those making way (m/s).
        crawl_speed_mps: Speed at which an emergency vehicle crosses against the signal (m/s).
    """

    dt_s: float
    min_gap_m: float
    accel_mps2: float
    decel_mps2: float
    tau_s: float
    turn_speed_mps: float
    critical_gap_s: float
    sigma: float
    pass_speed_mps: float
    crawl_speed_mps: float


class Vehicles(NamedTuple):
    """Per-vehicle state, one column per vehicle id.

    Attributes:
        vf: ``(10, n)`` float rows ``VF_*`` (m, m/s, s).
        vi: ``(7, n)`` int32 rows ``VI_*``.
        vnew: ``(n,)`` the speed each vehicle chose this step, before positions (m/s).
    """

    vf: np.ndarray
    vi: np.ndarray
    vnew: np.ndarray


class Lanes(NamedTuple):
    """Lanes as FIFO ring buffers of vehicle ids, front (stop line) first.

    Attributes:
        buf: Every lane's ring buffer, lane ``l`` at ``buf[li[LI_OFF, l]:][:li[LI_CAP, l]]``.
        li: ``(5, n_lanes)`` int32 rows ``LI_*``.
        lf: ``(3, n_lanes)`` float rows ``LF_*`` (s; -1 when not held).
        go: ``(n_lanes,)`` int8, 1 if the first vehicle may cross the stop line this step.
        target: ``(n_lanes,)`` int32, the lane the first vehicle enters next (-1: none yet).
    """

    buf: np.ndarray
    li: np.ndarray
    lf: np.ndarray
    go: np.ndarray
    target: np.ndarray


class Edges(NamedTuple):
    """Links (directed road segments) of the compiled network.

    Attributes:
        length_m: Length per edge (m).
        speed_mps: Speed limit per edge (m/s).
        n_lanes: Lane count per edge.
        lane0: Index of each edge's lane 0 (rightmost).
        mark: Per edge, the step stamp of its last insertion attempt (one a step).
    """

    length_m: np.ndarray
    speed_mps: np.ndarray
    n_lanes: np.ndarray
    lane0: np.ndarray
    mark: np.ndarray


class Connections(NamedTuple):
    """Movements from an in-edge to an out-edge through a junction.

    Attributes:
        state: ``RED``, ``YELLOW`` or ``GREEN`` per connection (int8).
        turn: Turn kind per connection (``TURN_*`` of ``sim.network.compile``).
        lane_lo: Lowest in-edge lane (within the edge) that serves it.
        lane_hi: Highest in-edge lane (within the edge) that serves it.
        opposing: For permitted left turns, the opposing in-edge to yield to (-1: none).
    """

    state: np.ndarray
    turn: np.ndarray
    lane_lo: np.ndarray
    lane_hi: np.ndarray
    opposing: np.ndarray


class Signals(NamedTuple):
    """Signal controllers' state machines and their phases.

    Attributes:
        si: ``(4, n_signals)`` int32 rows ``SI_*``.
        sf: ``(4, n_signals)`` float rows ``SF_*`` (s).
        phase_conn_ptr: Phase ``p`` gives green to ``phase_conns[phase_conn_ptr[p]:phase_conn_ptr[p + 1]]``.
        phase_conns: Connection indices of every phase, concatenated.
    """

    si: np.ndarray
    sf: np.ndarray
    phase_conn_ptr: np.ndarray
    phase_conns: np.ndarray


class Routes(NamedTuple):
    """All routes, concatenated; a vehicle's ``VI_RPTR`` points at its current link.

    Attributes:
        edge: Edge index per route position.
        conn: Connection from that edge to the next one (-1 at a route's end).
    """

    edge: np.ndarray
    conn: np.ndarray


class Departures(NamedTuple):
    """The departure schedule and the entry queue.

    Attributes:
        vid: Scheduled vehicle ids, by departure time.
        depart_s: Their departure times, ascending (s).
        waiting: Released vehicles waiting to enter, ``waiting[:counters[C_WAIT_N]]``.
    """

    vid: np.ndarray
    depart_s: np.ndarray
    waiting: np.ndarray


class Recorders(NamedTuple):
    """What the kernel reports: counts, arrivals, events and per-edge sums.

    Attributes:
        counters: int64 counts ``C_*``.
        arrived_out: Vehicles arrived during the last :func:`advance`, ``[:counters[C_N_ARRIVED_OUT]]``.
        event_out: ``(2, m)`` vehicle and ``EV_*`` kind, ``[:, :counters[C_N_EVENTS]]``.
        acc: ``(4, n_edges)`` per-edge sums ``ACC_*`` (vehicle-steps, m/s, vehicle-steps, vehicles).
    """

    counters: np.ndarray
    arrived_out: np.ndarray
    event_out: np.ndarray
    acc: np.ndarray


# Every array the kernel touches is allocated by TrafficState, which holds it across the
# call, so the kernel runs without numba's reference counting (NRT): with it, each call or
# inlined helper increfs and decrefs every array of every container it is passed, which made
# a step 4.7 times slower (grid10); without it, passing a container costs nothing. An
# allocation added to the kernel then fails to compile instead of leaking.
_compiled = njit(cache=True, _nrt=False)
_inline = njit(cache=True, _nrt=False, inline="always")

HALT_MPS = 0.1
_REARM_MPS = 3.0
_TURN_THROUGH, _TURN_LEFT = 0, 2
_OPPOSED_STANDING_M = 3.0


@_inline
def _safe_speed(gap: float, v_leader: float, decel: float, tau: float) -> float:
    bt = decel * tau
    return -bt + math.sqrt(bt * bt + v_leader * v_leader + 2.0 * decel * max(gap, 0.0))


_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_MIX1 = np.uint64(0xBF58476D1CE4E5B9)
_MIX2 = np.uint64(0x94D049BB133111EB)
_VID_MUL = np.uint64(0xD1B54A32D192ED03)


@_inline
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


@_inline
def _vid_at(lanes: Lanes, lane: int, i: int) -> int:
    li = lanes.li
    j = li[LI_HEAD, lane] + i
    if j >= li[LI_CAP, lane]:
        j -= li[LI_CAP, lane]
    return lanes.buf[li[LI_OFF, lane] + j]


@_inline
def _room(lane: int, lanes: Lanes, vf: np.ndarray, edge_len: np.ndarray, min_gap: float) -> float:
    """Free length (m) at the entry of a lane: up to the rear of its last vehicle less the gap."""
    li = lanes.li
    n = li[LI_COUNT, lane]
    if n == 0:
        return edge_len[li[LI_EDGE, lane]]
    if n >= li[LI_CAP, lane]:
        return -1.0
    tail = _vid_at(lanes, lane, n - 1)
    return vf[VF_POS, tail] - vf[VF_LEN, tail] - min_gap


@_inline
def _pick_lane(
    edge: int, next_conn: int, lanes: Lanes, vf: np.ndarray, edges: Edges, conns: Connections, min_gap: float
) -> tuple[int, float]:
    """The lane of ``edge`` serving ``next_conn`` (any lane if -1) with the most room (m)."""
    lo, hi = 0, edges.n_lanes[edge] - 1
    if next_conn >= 0:
        lo, hi = conns.lane_lo[next_conn], conns.lane_hi[next_conn]
    best, best_room = -1, -np.inf
    for j in range(lo, hi + 1):
        lane = edges.lane0[edge] + j
        r = _room(lane, lanes, vf, edges.length_m, min_gap)
        if r > best_room:
            best, best_room = lane, r
    return best, best_room


@_inline
def _push(lanes: Lanes, lane: int, vid: int) -> None:
    li = lanes.li
    n = li[LI_COUNT, lane]
    lanes.buf[li[LI_OFF, lane] + (li[LI_HEAD, lane] + n) % li[LI_CAP, lane]] = vid
    li[LI_COUNT, lane] = n + 1


@_inline
def _pop(lanes: Lanes, lane: int) -> None:
    li = lanes.li
    li[LI_HEAD, lane] = (li[LI_HEAD, lane] + 1) % li[LI_CAP, lane]
    li[LI_COUNT, lane] -= 1


@_inline
def _emit(vid: int, kind: int, rec: Recorders) -> None:
    counters = rec.counters
    n = counters[C_N_EVENTS]
    rec.event_out[0, n] = vid
    rec.event_out[1, n] = kind
    counters[C_N_EVENTS] = n + 1


@_inline
def _end_green_wait(lane: int, t: float, lf: np.ndarray) -> None:
    """The lane's first vehicle no longer waits for green: keep the wait if it is the longest."""
    since = lf[LF_GREEN_WAIT_SINCE, lane]
    if since >= 0.0:
        lf[LF_GREEN_WAIT_MAX, lane] = max(lf[LF_GREEN_WAIT_MAX, lane], t - since)
        lf[LF_GREEN_WAIT_SINCE, lane] = -1.0


@_inline
def _not_held(lane: int, t: float, lf: np.ndarray) -> None:
    """The lane's first vehicle (if any) is held neither by spillback nor by the signal at ``t`` (s)."""
    lf[LF_BLOCKED_SINCE, lane] = -1.0
    _end_green_wait(lane, t, lf)


@_inline
def _hold_clocks(lane: int, t: float, blocked: bool, green: bool, v_new: float, lf: np.ndarray) -> None:
    """Start or end the lane's spillback and starvation clocks after its first vehicle chose ``v_new``."""
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


@_inline
def _overtake(lanes: Lanes, lane: int, i: int, vf: np.ndarray, length: float) -> int:
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


# ----- stage 1: signals -----------------------------------------------------------------------
@_inline
def _set_phase_state(phase: int, state: int, only_if: int, signals: Signals, conn_state: np.ndarray) -> None:
    for k in range(signals.phase_conn_ptr[phase], signals.phase_conn_ptr[phase + 1]):
        c = signals.phase_conns[k]
        if only_if < 0 or conn_state[c] == only_if:
            conn_state[c] = state


@_compiled
def _update_signals(signals: Signals, conn_state: np.ndarray) -> None:
    """Advance every signal's green -> yellow -> all-red -> green cycle by one step.

    A requested phase change starts only after the minimum green; yellow and all-red
    always run in full. Connections green in both the old and the new phase stay green.
    """
    si, sf = signals.si, signals.sf
    for s in range(si.shape[1]):
        if si[SI_STAGE, s] == STAGE_GREEN:
            target = si[SI_TARGET, s]
            if target == si[SI_PHASE, s]:
                si[SI_TARGET, s] = -1
            elif target >= 0 and sf[SF_ELAPSED, s] >= sf[SF_MIN_GREEN, s]:
                _set_phase_state(si[SI_PHASE, s], YELLOW, -1, signals, conn_state)
                _set_phase_state(target, GREEN, YELLOW, signals, conn_state)
                si[SI_NEXT, s] = target
                si[SI_TARGET, s] = -1
                si[SI_STAGE, s] = STAGE_YELLOW
                sf[SF_ELAPSED, s] = 0.0
        if si[SI_STAGE, s] == STAGE_YELLOW and sf[SF_ELAPSED, s] >= sf[SF_YELLOW, s] - 1e-9:
            _set_phase_state(si[SI_PHASE, s], RED, YELLOW, signals, conn_state)
            si[SI_STAGE, s] = STAGE_ALL_RED
            sf[SF_ELAPSED, s] = 0.0
        if si[SI_STAGE, s] == STAGE_ALL_RED and sf[SF_ELAPSED, s] >= sf[SF_ALL_RED, s] - 1e-9:
            si[SI_PHASE, s] = si[SI_NEXT, s]
            si[SI_NEXT, s] = -1
            _set_phase_state(si[SI_PHASE, s], GREEN, -1, signals, conn_state)
            si[SI_STAGE, s] = STAGE_GREEN
            sf[SF_ELAPSED, s] = 0.0


# ----- stage 2: insertion ---------------------------------------------------------------------
@_inline
def _enter(
    vid: int,
    e: int,
    t: float,
    p: Params,
    veh: Vehicles,
    lanes: Lanes,
    edges: Edges,
    conns: Connections,
    routes: Routes,
    rec: Recorders,
) -> bool:
    """Put a waiting vehicle on the lane of edge ``e`` with the most room at ``t`` (s), if it has room."""
    vf, vi, li = veh.vf, veh.vi, lanes.li
    lane, room = _pick_lane(e, routes.conn[vi[VI_RPTR, vid]], lanes, vf, edges, conns, p.min_gap_m)
    if room < 0.0:
        return False
    v0 = min(edges.speed_mps[e], vf[VF_MAX_SPEED, vid])
    if li[LI_COUNT, lane] > 0:
        tail = _vid_at(lanes, lane, li[LI_COUNT, lane] - 1)
        v0 = min(v0, _safe_speed(room, vf[VF_SPEED, tail], p.decel_mps2, p.tau_s))
    _push(lanes, lane, vid)
    vi[VI_LANE, vid] = lane
    vi[VI_STATUS, vid] = ST_ON_NETWORK
    vf[VF_POS, vid] = 0.0
    vf[VF_SPEED, vid] = v0
    vf[VF_ENTER, vid] = t
    rec.counters[C_ENTERED] += 1
    return True


@_compiled
def _insert(
    step_no: int,
    p: Params,
    veh: Vehicles,
    lanes: Lanes,
    edges: Edges,
    conns: Connections,
    routes: Routes,
    deps: Departures,
    rec: Recorders,
) -> None:
    """Insert the first waiting vehicle of each origin edge, if its lane has room; the rest keep waiting."""
    t = step_no * p.dt_s
    stamp = step_no + 1.0
    counters, waiting = rec.counters, deps.waiting
    kept = 0
    for k in range(counters[C_WAIT_N]):
        vid = waiting[k]
        e = routes.edge[veh.vi[VI_RPTR, vid]]
        inserted = False
        if edges.mark[e] != stamp:
            edges.mark[e] = stamp
            inserted = _enter(vid, e, t, p, veh, lanes, edges, conns, routes, rec)
        if not inserted:
            waiting[kept] = vid
            kept += 1
    counters[C_WAIT_N] = kept


# ----- stage 3: speeds ------------------------------------------------------------------------
@_inline
def _speed_cap(vid: int, v: float, vmax: float, p: Params, vf: np.ndarray) -> float:
    """The highest speed (m/s) reachable this step from ``v``, within ``vmax`` and the vehicle's own cap."""
    return min(v + p.accel_mps2 * p.dt_s, vmax, vf[VF_MAX_SPEED, vid])


@_inline
def _dawdled(v: float, vid: int, step_no: int, seed: np.uint64, p: Params) -> float:
    """Speed ``v`` (m/s) lowered by driver imperfection: up to ``sigma * accel * dt``, never below 0."""
    return max(0.0, v - p.sigma * p.accel_mps2 * p.dt_s * _uniform(seed, vid, step_no))


@_inline
def _opposed(
    opp_edge: int, p: Params, veh: Vehicles, lanes: Lanes, edges: Edges, conns: Connections, routes: Routes
) -> bool:
    """Whether oncoming through or right-turning traffic on ``opp_edge`` leaves no gap."""
    vf, vi, li, lf = veh.vf, veh.vi, lanes.li, lanes.lf
    decel, crit = p.decel_mps2, p.critical_gap_s
    for j in range(edges.n_lanes[opp_edge]):
        lane = edges.lane0[opp_edge] + j
        if li[LI_COUNT, lane] == 0 or lf[LF_BLOCKED_SINCE, lane] >= 0.0:
            continue
        h = _vid_at(lanes, lane, 0)
        rp = vi[VI_RPTR, h]
        if rp == vi[VI_REND, h]:
            continue
        c = routes.conn[rp]
        st = conns.state[c]
        if conns.turn[c] == _TURN_LEFT or st == RED:
            continue
        d = edges.length_m[opp_edge] - vf[VF_POS, h]
        v = vf[VF_SPEED, h]
        if st == YELLOW and v * v <= 2.0 * decel * d:
            continue
        if d < _OPPOSED_STANDING_M or d < crit * v:
            return True
    return False


@_inline
def _follower_speed(
    vid: int,
    lead: int,
    e: int,
    step_no: int,
    seed: np.uint64,
    p: Params,
    veh: Vehicles,
    edges: Edges,
    conns: Connections,
    routes: Routes,
) -> None:
    """Speed of a vehicle behind ``lead`` on the same lane of edge ``e``: car following and yellow."""
    vf, vi, decel, tau = veh.vf, veh.vi, p.decel_mps2, p.tau_s
    v = vf[VF_SPEED, vid]
    vcap = _speed_cap(vid, v, edges.speed_mps[e], p, vf)
    gap = vf[VF_POS, lead] - vf[VF_LEN, lead] - vf[VF_POS, vid] - p.min_gap_m
    vs = _safe_speed(gap, vf[VF_SPEED, lead], decel, tau)
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
                vs = min(vs, _safe_speed(d, 0.0, decel, tau))
    veh.vnew[vid] = _dawdled(min(vcap, vs), vid, step_no, seed, p)


@_inline
def _junction_speed(
    lane: int,
    vid: int,
    d: float,
    vcap: float,
    step_no: int,
    seed: np.uint64,
    p: Params,
    veh: Vehicles,
    lanes: Lanes,
    edges: Edges,
    conns: Connections,
    routes: Routes,
) -> None:
    """Speed of a lane's first vehicle ``d`` m before the stop line of a junction it will cross.

    Its leader is the stop line (red; yellow when it can stop comfortably; a permitted left
    turn without an acceptable gap in oncoming traffic; no room on the next lane) or the tail
    of the lane it enters next. Sets the lane's ``go`` and ``target`` and its hold clocks.
    """
    vf, decel, tau = veh.vf, p.decel_mps2, p.tau_s
    v, flags, rp = vf[VF_SPEED, vid], veh.vi[VI_FLAGS, vid], veh.vi[VI_RPTR, vid]
    c = routes.conn[rp]
    st = conns.state[c]
    go = st == GREEN or (st == YELLOW and v * v > 2.0 * decel * d)
    # an emergency vehicle stops for the signal like anyone until it is down to a crawl, then
    # crosses at that crawl
    against = not go and flags & F_EMERGENCY
    if against:
        go = v <= p.crawl_speed_mps + 1e-9
    if go and conns.opposing[c] >= 0 and not flags & F_EMERGENCY:
        go = not _opposed(conns.opposing[c], p, veh, lanes, edges, conns, routes)
    e2 = routes.edge[rp + 1]
    tl, room = _pick_lane(e2, routes.conn[rp + 1], lanes, vf, edges, conns, p.min_gap_m)
    v_lead = edges.speed_mps[e2]
    if lanes.li[LI_COUNT, tl] > 0:
        v_lead = vf[VF_SPEED, _vid_at(lanes, tl, lanes.li[LI_COUNT, tl] - 1)]
    # no box-blocking: enter behind a standing tail only if the whole vehicle fits
    fits = room >= vf[VF_LEN, vid]
    lanes.target[lane] = tl
    if go and (fits or (room > -vf[VF_LEN, vid] and v_lead >= HALT_MPS)):
        vs = _safe_speed(d + room, v_lead, decel, tau)
        if conns.turn[c] != _TURN_THROUGH:
            vs = min(vs, math.sqrt(p.turn_speed_mps * p.turn_speed_mps + 2.0 * decel * max(d, 0.0)))
        if against:
            vs = min(vs, p.crawl_speed_mps)
    else:
        go = False
        vs = _safe_speed(d, 0.0, decel, tau)
    lanes.go[lane] = 1 if go else 0
    v_new = _dawdled(min(vcap, vs), vid, step_no, seed, p)
    veh.vnew[vid] = v_new
    _hold_clocks(lane, step_no * p.dt_s, not fits, st == GREEN, v_new, lanes.lf)


@_inline
def _lead_speed(
    lane: int,
    step_no: int,
    seed: np.uint64,
    p: Params,
    veh: Vehicles,
    lanes: Lanes,
    edges: Edges,
    conns: Connections,
    routes: Routes,
    rec: Recorders,
) -> int:
    """Speed of the first vehicle of a non-empty lane; returns its id.

    Far from the stop line nothing ahead binds it; at the end of an agent's route it stops
    there (and tells Python once); otherwise :func:`_junction_speed` decides.
    """
    vf, vi, t = veh.vf, veh.vi, step_no * p.dt_s
    vid = _vid_at(lanes, lane, 0)
    e = lanes.li[LI_EDGE, lane]
    vcap = _speed_cap(vid, vf[VF_SPEED, vid], edges.speed_mps[e], p, vf)
    flags = vi[VI_FLAGS, vid]
    d = edges.length_m[e] - vf[VF_POS, vid]
    lanes.target[lane] = -1
    # far from the stop line, neither the signal nor the next lane can bind this step
    # (v_safe(d, 0) >= vcap whenever d >= vcap^2 / 2b + vcap * tau; the margin covers a
    # next-lane tail that still sticks out into the junction)
    reach = vcap * (p.tau_s + p.dt_s) + vcap * vcap / (2.0 * p.decel_mps2)
    far = d >= reach + 2.0 * (vf[VF_LEN, vid] + p.min_gap_m)
    at_end = vi[VI_RPTR, vid] == vi[VI_REND, vid]
    if far or (at_end and not flags & F_NOTIFY):
        lanes.go[lane] = 0 if far else 1
        _not_held(lane, t, lanes.lf)
        veh.vnew[vid] = _dawdled(vcap, vid, step_no, seed, p)
    elif at_end:
        # an agent's vehicle nearing the end of its route: tell Python once, and stop at the
        # end unless Python extends the route meanwhile
        if not flags & F_APPROACH_SENT:
            vi[VI_FLAGS, vid] = flags | F_APPROACH_SENT
            _emit(vid, EV_APPROACH, rec)
        lanes.go[lane] = 0
        _not_held(lane, t, lanes.lf)
        veh.vnew[vid] = max(0.0, min(vcap, _safe_speed(d, 0.0, p.decel_mps2, p.tau_s)))
    else:
        _junction_speed(lane, vid, d, vcap, step_no, seed, p, veh, lanes, edges, conns, routes)
    return vid


@_compiled
def _speeds(
    step_no: int,
    seed: np.uint64,
    p: Params,
    veh: Vehicles,
    lanes: Lanes,
    edges: Edges,
    conns: Connections,
    routes: Routes,
    rec: Recorders,
) -> None:
    """Every vehicle's speed for this step into ``veh.vnew``, from the state at the step's start."""
    t = step_no * p.dt_s
    li = lanes.li
    for lane in range(li.shape[1]):
        n = li[LI_COUNT, lane]
        if n == 0:
            _not_held(lane, t, lanes.lf)
            continue
        e = li[LI_EDGE, lane]
        lead = _lead_speed(lane, step_no, seed, p, veh, lanes, edges, conns, routes, rec)
        for i in range(1, n):
            vid = _vid_at(lanes, lane, i)
            _follower_speed(vid, lead, e, step_no, seed, p, veh, edges, conns, routes)
            lead = vid


# ----- stage 4: positions ---------------------------------------------------------------------
@_inline
def _record_move(
    vid: int, first: bool, e: int, moved: float, length: float, p: Params, veh: Vehicles, rec: Recorders
) -> None:
    """Record a vehicle's move of ``moved`` m on edge ``e`` (of ``length`` m) at its new speed.

    Counts a stop (a halt after driving faster than ``_REARM_MPS`` since the last one, so
    creeping in a queue counts once), distance, halted time, the per-edge sums and the stop
    of an agent's vehicle at the end of its route.
    """
    vf, vi, acc = veh.vf, veh.vi, rec.acc
    v = vf[VF_SPEED, vid]
    if v < HALT_MPS and not vi[VI_HALTED, vid]:
        vi[VI_STOPS, vid] += 1
        vi[VI_HALTED, vid] = 1
    elif v >= _REARM_MPS:
        vi[VI_HALTED, vid] = 0
    vf[VF_DIST, vid] += moved
    acc[ACC_VEH_STEPS, e] += 1.0
    acc[ACC_SPEED_SUM, e] += v
    if v < HALT_MPS:
        acc[ACC_HALTED, e] += 1.0
        vf[VF_WAIT, vid] += p.dt_s
        vf[VF_LINK_WAIT, vid] += p.dt_s
        flags = vi[VI_FLAGS, vid]
        stopped_at_end = first and length - vf[VF_POS, vid] < 1.0 and vi[VI_RPTR, vid] == vi[VI_REND, vid]
        if flags & F_NOTIFY and not flags & F_STOP_SENT and stopped_at_end:
            vi[VI_FLAGS, vid] = flags | F_STOP_SENT
            _emit(vid, EV_STOP, rec)


@_inline
def _move_lane(lane: int, p: Params, veh: Vehicles, lanes: Lanes, edges: Edges, rec: Recorders) -> None:
    """Move a non-empty lane's vehicles front to back, so a follower never overlaps its moved leader.

    An emergency vehicle may pass the vehicles ahead; it then takes their place in the lane.
    """
    vf, vi, dt = veh.vf, veh.vi, p.dt_s
    e = lanes.li[LI_EDGE, lane]
    length = edges.length_m[e]
    lead_rear = np.inf if lanes.go[lane] else length
    for i in range(lanes.li[LI_COUNT, lane]):
        vid = _vid_at(lanes, lane, i)
        emergency = vi[VI_FLAGS, vid] & F_EMERGENCY
        old = vf[VF_POS, vid]
        new = old + veh.vnew[vid] * dt
        if i == 0 or not emergency:
            new = min(new, lead_rear)
        if i > 0:
            new = min(new, length - 1e-3)
        new = max(new, old)
        vf[VF_POS, vid] = new
        vf[VF_SPEED, vid] = (new - old) / dt
        _record_move(vid, i == 0, e, new - old, length, p, veh, rec)
        lead_rear = new - vf[VF_LEN, vid]
        if emergency and i > 0:
            i_now = _overtake(lanes, lane, i, vf, length)
            if i_now == 0:
                lanes.go[lane] = 0  # the old first vehicle's right of way is not the emergency vehicle's
            if i_now != i:
                back = _vid_at(lanes, lane, i)
                lead_rear = vf[VF_POS, back] - vf[VF_LEN, back]


@_compiled
def _positions(p: Params, veh: Vehicles, lanes: Lanes, edges: Edges, rec: Recorders) -> None:
    """Advance every vehicle by its new speed (Euler: ``x += v_new * dt``)."""
    for lane in range(lanes.li.shape[1]):
        if lanes.li[LI_COUNT, lane] > 0:
            _move_lane(lane, p, veh, lanes, edges, rec)


# ----- stage 5: crossings and arrivals --------------------------------------------------------
@_inline
def _leave_link(vid: int, e: int, vf: np.ndarray, acc: np.ndarray) -> None:
    vf[VF_MAX_LINK_WAIT, vid] = max(vf[VF_MAX_LINK_WAIT, vid], vf[VF_LINK_WAIT, vid])
    acc[ACC_EXITS, e] += 1.0


@_inline
def _arrive(
    lane: int, vid: int, e: int, over: float, t: float, p: Params, veh: Vehicles, lanes: Lanes, rec: Recorders
) -> None:
    """The lane's first vehicle, ``over`` m past the end of its last link, arrives (time interpolated, s)."""
    vf, vi, counters = veh.vf, veh.vi, rec.counters
    _pop(lanes, lane)
    v = vf[VF_SPEED, vid]
    vf[VF_ARRIVE, vid] = t + p.dt_s - (over / v if v > 0.0 else 0.0)
    _leave_link(vid, e, vf, rec.acc)
    vf[VF_DIST, vid] -= over
    vi[VI_STATUS, vid] = ST_ARRIVED
    vi[VI_LANE, vid] = -1
    n = counters[C_N_ARRIVED_OUT]
    rec.arrived_out[n] = vid
    counters[C_N_ARRIVED_OUT] = n + 1


@_inline
def _cross(
    lane: int,
    vid: int,
    e: int,
    over: float,
    p: Params,
    veh: Vehicles,
    lanes: Lanes,
    edges: Edges,
    rec: Recorders,
) -> None:
    """The lane's first vehicle, ``over`` m past the stop line, enters its target lane if there is room.

    Without room it waits at the stop line (its distance and speed corrected).
    """
    vf, vi = veh.vf, veh.vi
    tl = lanes.target[lane]
    room = _room(tl, lanes, vf, edges.length_m, p.min_gap_m)
    if room < 0.0:
        vf[VF_DIST, vid] -= over
        vf[VF_POS, vid] = edges.length_m[e]
        vf[VF_SPEED, vid] = 0.0
        return
    _pop(lanes, lane)
    _push(lanes, tl, vid)
    vf[VF_POS, vid] = min(over, room)
    vf[VF_DIST, vid] -= over - vf[VF_POS, vid]
    vi[VI_LANE, vid] = tl
    vi[VI_RPTR, vid] += 1
    _leave_link(vid, e, vf, rec.acc)
    vf[VF_LINK_WAIT, vid] = 0.0


@_compiled
def _crossings(step_no: int, p: Params, veh: Vehicles, lanes: Lanes, edges: Edges, rec: Recorders) -> None:
    """Stop-line crossings and arrivals, at most one per lane and step, appended to ``rec.arrived_out``."""
    t = step_no * p.dt_s
    vf, vi, li, counters = veh.vf, veh.vi, lanes.li, rec.counters
    n_out0 = counters[C_N_ARRIVED_OUT]
    for lane in range(li.shape[1]):
        if li[LI_COUNT, lane] == 0 or not lanes.go[lane]:
            continue
        e = li[LI_EDGE, lane]
        vid = _vid_at(lanes, lane, 0)
        over = vf[VF_POS, vid] - edges.length_m[e]
        if over < 0.0:
            continue
        if vi[VI_RPTR, vid] == vi[VI_REND, vid]:
            _arrive(lane, vid, e, over, t, p, veh, lanes, rec)
        else:
            _cross(lane, vid, e, over, p, veh, lanes, edges, rec)
    counters[C_ARRIVED] += counters[C_N_ARRIVED_OUT] - n_out0


# ----- stage 6: signal clocks -----------------------------------------------------------------
@_compiled
def _tick_signals(signals: Signals, dt: float) -> None:
    """Advance every signal's clock of its current stage by ``dt`` (s)."""
    sf = signals.sf
    for s in range(sf.shape[1]):
        sf[SF_ELAPSED, s] += dt


# ----- the step and the call ------------------------------------------------------------------
@_compiled
def _step(
    step_no: int,
    seed: np.uint64,
    p: Params,
    veh: Vehicles,
    lanes: Lanes,
    edges: Edges,
    conns: Connections,
    signals: Signals,
    routes: Routes,
    deps: Departures,
    rec: Recorders,
) -> None:
    """Advance the whole network by one step ``[t, t + dt)`` with ``t = step_no * dt``.

    Stages in order: signals, insertion of waiting departures, speeds of every vehicle (from
    the state at ``t``), positions, stop-line crossings and arrivals, and the signals' clocks.
    """
    _update_signals(signals, conns.state)
    _insert(step_no, p, veh, lanes, edges, conns, routes, deps, rec)
    _speeds(step_no, seed, p, veh, lanes, edges, conns, routes, rec)
    _positions(p, veh, lanes, edges, rec)
    _crossings(step_no, p, veh, lanes, edges, rec)
    _tick_signals(signals, p.dt_s)


@_compiled
def _release_due(t: float, veh: Vehicles, deps: Departures, counters: np.ndarray) -> None:
    """Move the scheduled vehicles due by ``t`` (s) to the entry queue."""
    ptr, n = counters[C_SCHED_PTR], counters[C_WAIT_N]
    while ptr < deps.vid.shape[0] and deps.depart_s[ptr] <= t + 1e-9:
        vid = deps.vid[ptr]
        deps.waiting[n] = vid
        veh.vi[VI_STATUS, vid] = ST_WAITING
        n += 1
        ptr += 1
    counters[C_SCHED_PTR], counters[C_WAIT_N] = ptr, n


@_compiled
def advance(
    n_steps: int,
    step_no: int,
    seed: np.uint64,
    p: Params,
    veh: Vehicles,
    lanes: Lanes,
    edges: Edges,
    conns: Connections,
    signals: Signals,
    routes: Routes,
    deps: Departures,
    rec: Recorders,
) -> None:
    """Run ``n_steps`` steps from ``step_no``, releasing scheduled departures as they fall due.

    A scheduled vehicle joins the entry queue of its first link at the first step starting
    at or after its departure time. Vehicles that arrive during the call are listed in
    ``rec.arrived_out[:rec.counters[C_N_ARRIVED_OUT]]``. The call returns early, after the
    step in which an agent's vehicle raised an event (``rec.event_out[:, :C_N_EVENTS]``:
    vehicle and ``EV_*`` kind); ``rec.counters[C_STEPS_DONE]`` says how many steps ran.

    Args:
        n_steps: Steps to run at most.
        step_no: Number of the first step (its start is ``step_no * p.dt_s``, s).
        seed: Seed of the drivers' imperfection.
        p: Car-following parameters.
        veh: Vehicles.
        lanes: Lanes.
        edges: Edges.
        conns: Connections.
        signals: Signals.
        routes: Routes.
        deps: Departure schedule and entry queue.
        rec: Counters and outputs.
    """
    counters = rec.counters
    counters[C_N_ARRIVED_OUT] = 0
    counters[C_N_EVENTS] = 0
    counters[C_STEPS_DONE] = 0
    for s in range(n_steps):
        _release_due((step_no + s) * p.dt_s, veh, deps, counters)
        _step(step_no + s, seed, p, veh, lanes, edges, conns, signals, routes, deps, rec)
        counters[C_STEPS_DONE] = s + 1
        if counters[C_N_EVENTS] > 0:
            return


@_compiled
def observe_connections(
    horizon_m: float,
    veh: Vehicles,
    lanes: Lanes,
    edges: Edges,
    routes: Routes,
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
    vf, li = veh.vf, lanes.li
    for lane in range(li.shape[1]):
        length = edges.length_m[li[LI_EDGE, lane]]
        for i in range(li[LI_COUNT, lane]):
            vid = _vid_at(lanes, lane, i)
            c = routes.conn[veh.vi[VI_RPTR, vid]]
            if c < 0:
                continue
            if vf[VF_SPEED, vid] < HALT_MPS:
                queue[c] += 1.0
            elif length - vf[VF_POS, vid] <= horizon_m:
                approaching[c] += 1.0
            waiting_s[c] += vf[VF_LINK_WAIT, vid]
