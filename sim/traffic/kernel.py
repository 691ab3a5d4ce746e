"""The numba-compiled simulation step over the state's containers (numpy and numba only).

One step runs its stages in order, each a compiled function: signals (``_update_signals``),
insertion (``_insert``), lane changes (:func:`sim.traffic.lane_change.change_lanes`), speeds
(:func:`sim.traffic.speeds.set_speeds`: Krauss car following, stop lines, gap acceptance,
room downstream), positions (``_positions``), stop-line crossings
and arrivals (``_crossings``), and the signals' clocks (``_tick_signals``). Positions advance
by Euler integration (``x += v_new * dt``), as in SUMO's default.

The arrays come in the named containers of :mod:`sim.traffic.layout` (``Params``,
``Vehicles``, ``Lanes``, ``Edges``, ``Connections``, ``Signals``, ``Routes``, ``Departures``,
``Recorders``), which numba passes as they are; lanes are the FIFO ring buffers of
:mod:`sim.traffic.buffers`.
"""

from __future__ import annotations

import numpy as np

from sim.traffic.buffers import emit, overtake, pick_lane, pop, push, room_m, vid_at
from sim.traffic.codes import (
    EV_STOP,
    GREEN,
    HALT_MPS,
    RED,
    ST_ARRIVED,
    ST_ON_NETWORK,
    ST_WAITING,
    STAGE_ALL_RED,
    STAGE_GREEN,
    STAGE_YELLOW,
    YELLOW,
)
from sim.traffic.emissions import add_step, settle_cuts, to_edge
from sim.traffic.lane_change import change_lanes
from sim.traffic.layout import (
    ACC_EXITS,
    ACC_HALTED,
    ACC_SPEED_SUM,
    ACC_VEH_STEPS,
    C_ARRIVED,
    C_ENTERED,
    C_N_ARRIVED_OUT,
    C_N_EVENTS,
    C_SCHED_PTR,
    C_STEPS_DONE,
    C_WAIT_N,
    F_EMERGENCY,
    F_NOTIFY,
    F_STOP_SENT,
    GO_CROSS,
    GO_HOLD,
    GO_WAIT_INSIDE,
    LF_LINE_SINCE,
    LI_COUNT,
    LI_EDGE,
    PF_ALL_RED,
    PF_MIN_GREEN,
    PF_YELLOW,
    SF_ELAPSED,
    SI_NEXT,
    SI_PHASE,
    SI_STAGE,
    SI_TARGET,
    VF_ARRIVE,
    VF_DECEL,
    VF_DIST,
    VF_ENTER,
    VF_LEN,
    VF_LINK_WAIT,
    VF_MAX_LINK_WAIT,
    VF_MIN_GAP,
    VF_POS,
    VF_SPEED,
    VF_TAU,
    VF_WAIT,
    VI_FLAGS,
    VI_HALTED,
    VI_LANE,
    VI_REND,
    VI_RPTR,
    VI_STATUS,
    VI_STOPS,
    Departures,
    Params,
    Recorders,
    Signals,
    Vehicles,
    World,
    compiled,
    inline,
)
from sim.traffic.right_of_way import crossed, enter_zone, leave_zone, occupied
from sim.traffic.speeds import desired_speed, follow_speed, set_speeds

__all__ = ["advance", "observe_connections"]

_REARM_MPS = 3.0


# ----- stage 1: signals ----------------------------------------------------------------------
@inline
def _set_phase_state(phase: int, state: int, only_if: int, signals: Signals, conn_state: np.ndarray) -> None:
    for k in range(signals.phase_conn_ptr[phase], signals.phase_conn_ptr[phase + 1]):
        c = signals.phase_conns[k]
        if only_if < 0 or conn_state[c] == only_if:
            conn_state[c] = state


@compiled
def _update_signals(signals: Signals, conn_state: np.ndarray) -> None:
    """Advance every signal's green -> yellow -> all-red -> green cycle by one step.

    A requested phase change starts only after the green phase's minimum green; the yellow
    and all-red after it (that phase's own) always run in full. Connections green in both
    the old and the new phase stay green.
    """
    si, sf, pf = signals.si, signals.sf, signals.pf
    for s in range(si.shape[1]):
        # the phase shown green, or ending during yellow and all-red: its timing applies
        phase = si[SI_PHASE, s]
        if si[SI_STAGE, s] == STAGE_GREEN:
            target = si[SI_TARGET, s]
            if target == phase:
                si[SI_TARGET, s] = -1
            elif target >= 0 and sf[SF_ELAPSED, s] >= pf[PF_MIN_GREEN, phase]:
                _set_phase_state(phase, YELLOW, -1, signals, conn_state)
                _set_phase_state(target, GREEN, YELLOW, signals, conn_state)
                si[SI_NEXT, s] = target
                si[SI_TARGET, s] = -1
                si[SI_STAGE, s] = STAGE_YELLOW
                sf[SF_ELAPSED, s] = 0.0
        if si[SI_STAGE, s] == STAGE_YELLOW and sf[SF_ELAPSED, s] >= pf[PF_YELLOW, phase] - 1e-9:
            _set_phase_state(phase, RED, YELLOW, signals, conn_state)
            si[SI_STAGE, s] = STAGE_ALL_RED
            sf[SF_ELAPSED, s] = 0.0
        if si[SI_STAGE, s] == STAGE_ALL_RED and sf[SF_ELAPSED, s] >= pf[PF_ALL_RED, phase] - 1e-9:
            si[SI_PHASE, s] = si[SI_NEXT, s]
            si[SI_NEXT, s] = -1
            _set_phase_state(si[SI_PHASE, s], GREEN, -1, signals, conn_state)
            si[SI_STAGE, s] = STAGE_GREEN
            sf[SF_ELAPSED, s] = 0.0


# ----- stage 2: insertion --------------------------------------------------------------------
@inline
def _enter(vid: int, e: int, t: float, w: World) -> bool:
    """Put a waiting vehicle on the lane of edge ``e`` with the most room at ``t`` (s), if it has room."""
    veh, lanes, edges, conns, routes = w.veh, w.lanes, w.edges, w.conns, w.routes
    vf, vi, li = veh.vf, veh.vi, lanes.li
    # a departing vehicle waits for room on a lane of its turn (need -inf: no other lane)
    lane, room = pick_lane(
        e, routes.conn[vi[VI_RPTR, vid]], lanes, vf, edges, conns, vf[VF_MIN_GAP, vid], -np.inf
    )
    if room < 0.0:
        return False
    v0 = desired_speed(vid, edges.speed_mps[e], vf)
    if li[LI_COUNT, lane] > 0:
        tail = vid_at(lanes, lane, li[LI_COUNT, lane] - 1)
        decel, tau = vf[VF_DECEL, vid], vf[VF_TAU, vid]
        v0 = min(v0, follow_speed(room, vf[VF_SPEED, tail], vf[VF_DECEL, tail], decel, tau))
    push(lanes, lane, vid)
    vi[VI_LANE, vid] = lane
    vi[VI_STATUS, vid] = ST_ON_NETWORK
    vf[VF_POS, vid] = 0.0
    vf[VF_SPEED, vid] = v0
    vf[VF_ENTER, vid] = t
    to_edge(vid, e, w.p.dt_s, w.em)
    w.rec.counters[C_ENTERED] += 1
    return True


@compiled
def _insert(step_no: int, w: World) -> None:
    """Insert the first waiting vehicle of each origin edge, if its lane has room; the rest keep waiting."""
    veh, edges, routes = w.veh, w.edges, w.routes
    t = step_no * w.p.dt_s
    stamp = step_no + 1.0
    counters, waiting = w.rec.counters, w.deps.waiting
    kept = 0
    for k in range(counters[C_WAIT_N]):
        vid = waiting[k]
        e = routes.edge[veh.vi[VI_RPTR, vid]]
        inserted = False
        if edges.mark[e] != stamp:
            edges.mark[e] = stamp
            inserted = _enter(vid, e, t, w)
        if not inserted:
            waiting[kept] = vid
            kept += 1
    counters[C_WAIT_N] = kept


# ----- stage 4: positions --------------------------------------------------------------------
@inline
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
            emit(vid, EV_STOP, rec)


@inline
def _move_lane(lane: int, w: World) -> None:
    """Move a non-empty lane's vehicles front to back, so a follower never overlaps its moved leader.

    An emergency vehicle may pass the vehicles ahead; it then takes their place in the lane. A
    vehicle whose rear leaves the conflict zone of the junction behind it frees the zone.
    """
    p, veh, lanes, edges, rec = w.p, w.veh, w.lanes, w.edges, w.rec
    vf, vi, dt = veh.vf, veh.vi, p.dt_s
    e = lanes.li[LI_EDGE, lane]
    length = edges.length_m[e]
    go = lanes.go[lane]
    lead_rear = np.inf if go == GO_CROSS else length
    c_inside = -1
    if go == GO_WAIT_INSIDE:
        c_inside = w.routes.conn[vi[VI_RPTR, vid_at(lanes, lane, 0)]]
        lead_rear = length + w.conns.wait_m[c_inside]
    em = w.em
    emissions = em.coef.shape[0] > 0
    sin_slope, per_dt = em.sin_slope[e], 1.0 / dt
    for i in range(lanes.li[LI_COUNT, lane]):
        vid = vid_at(lanes, lane, i)
        emergency = vi[VI_FLAGS, vid] & F_EMERGENCY
        old = vf[VF_POS, vid]
        new = old + veh.vnew[vid] * dt
        if i == 0 or not emergency:
            new = min(new, lead_rear)
        # only the permitted turners waiting in the junction are past the stop line
        if i > 0 and w.routes.conn[vi[VI_RPTR, vid]] != c_inside:
            new = min(new, length - 1e-3)
        new = max(new, old)
        vf[VF_POS, vid] = new
        v = (new - old) / dt
        if emissions:
            add_step(vid, e, v, (v - vf[VF_SPEED, vid]) * per_dt, sin_slope, dt, em)
        vf[VF_SPEED, vid] = v
        if old - vf[VF_LEN, vid] < p.zone_max_m:
            leave_zone(vid, new, w)
        _record_move(vid, i == 0, e, new - old, length, p, veh, rec)
        lead_rear = new - vf[VF_LEN, vid]
        if emergency and i > 0:
            i_now = overtake(lanes, lane, i, vf, length)
            if i_now == 0:
                lanes.go[lane] = (
                    GO_HOLD  # the old first vehicle's right of way is not the emergency vehicle's
                )
            if i_now != i:
                back = vid_at(lanes, lane, i)
                lead_rear = vf[VF_POS, back] - vf[VF_LEN, back]


@compiled
def _positions(w: World) -> None:
    """Advance every vehicle by its new speed (Euler: ``x += v_new * dt``), and add up its emissions if on."""
    li = w.lanes.li
    for lane in range(li.shape[1]):
        if li[LI_COUNT, lane] > 0:
            _move_lane(lane, w)
    settle_cuts(w.veh.vf[VF_SPEED], w.p.dt_s, w.em)


# ----- stage 5: crossings and arrivals -------------------------------------------------------
@inline
def _leave_link(vid: int, e: int, vf: np.ndarray, acc: np.ndarray) -> None:
    vf[VF_MAX_LINK_WAIT, vid] = max(vf[VF_MAX_LINK_WAIT, vid], vf[VF_LINK_WAIT, vid])
    acc[ACC_EXITS, e] += 1.0


@inline
def _arrive(lane: int, vid: int, e: int, over: float, t: float, w: World) -> None:
    """The lane's first vehicle, ``over`` m past the end of its last link, arrives (time interpolated, s)."""
    p, veh, rec = w.p, w.veh, w.rec
    vf, vi, counters = veh.vf, veh.vi, rec.counters
    pop(w.lanes, lane)
    w.lanes.lf[LF_LINE_SINCE, lane] = -1.0
    leave_zone(vid, -1.0, w)
    v = vf[VF_SPEED, vid]
    vf[VF_ARRIVE, vid] = t + p.dt_s - (over / v if v > 0.0 else 0.0)
    _leave_link(vid, e, vf, rec.acc)
    vf[VF_DIST, vid] -= over
    vi[VI_STATUS, vid] = ST_ARRIVED
    vi[VI_LANE, vid] = -1
    to_edge(vid, -1, p.dt_s, w.em)
    n = counters[C_N_ARRIVED_OUT]
    rec.arrived_out[n] = vid
    counters[C_N_ARRIVED_OUT] = n + 1


@inline
def _cross(lane: int, vid: int, e: int, over: float, t: float, step_no: int, w: World) -> None:
    """The lane's first vehicle, ``over`` m past the stop line, enters its target lane if it may.

    It waits at the stop line (its distance and speed corrected) if the target lane has no room,
    or if a vehicle crossed into a conflicting connection before it (this step or still in
    its conflict zone).
    """
    veh, lanes, edges, conns = w.veh, w.lanes, w.edges, w.conns
    vf, vi = veh.vf, veh.vi
    tl = lanes.target[lane]
    c = w.routes.conn[vi[VI_RPTR, vid]]
    room = room_m(tl, lanes, vf, edges.length_m, vf[VF_MIN_GAP, vid])
    if room < 0.0 or (conns.zone_m[c] > 0.0 and occupied(c, step_no, w)):
        back = over - min(over, conns.wait_m[c])  # it stays in the junction if it may wait there
        vf[VF_DIST, vid] -= back
        vf[VF_POS, vid] -= back
        vf[VF_SPEED, vid] = 0.0
        return
    pop(lanes, lane)
    push(lanes, tl, vid)
    vf[VF_POS, vid] = min(over, room)
    vf[VF_DIST, vid] -= over - vf[VF_POS, vid]
    vi[VI_LANE, vid] = tl
    vi[VI_RPTR, vid] += 1
    to_edge(vid, lanes.li[LI_EDGE, tl], w.p.dt_s, w.em)
    _leave_link(vid, e, vf, w.rec.acc)
    vf[VF_LINK_WAIT, vid] = 0.0
    crossed(lane, c, t, w)
    leave_zone(vid, -1.0, w)
    enter_zone(vid, c, step_no, w)


@compiled
def _crossings(step_no: int, w: World) -> None:
    """Stop-line crossings and arrivals, at most one per lane and step, appended to ``rec.arrived_out``."""
    p, veh, lanes, edges, rec = w.p, w.veh, w.lanes, w.edges, w.rec
    t = step_no * p.dt_s
    vf, vi, li, counters = veh.vf, veh.vi, lanes.li, rec.counters
    n_out0 = counters[C_N_ARRIVED_OUT]
    for lane in range(li.shape[1]):
        if li[LI_COUNT, lane] == 0 or lanes.go[lane] != GO_CROSS:
            continue
        e = li[LI_EDGE, lane]
        vid = vid_at(lanes, lane, 0)
        over = vf[VF_POS, vid] - edges.length_m[e]
        if over < 0.0:
            continue
        if vi[VI_RPTR, vid] == vi[VI_REND, vid]:
            _arrive(lane, vid, e, over, t, w)
        else:
            _cross(lane, vid, e, over, t, step_no, w)
    counters[C_ARRIVED] += counters[C_N_ARRIVED_OUT] - n_out0


# ----- stage 6: signal clocks ----------------------------------------------------------------
@compiled
def _tick_signals(signals: Signals, dt: float) -> None:
    """Advance every signal's clock of its current stage by ``dt`` (s)."""
    sf = signals.sf
    for s in range(sf.shape[1]):
        sf[SF_ELAPSED, s] += dt


# ----- the step and the call -----------------------------------------------------------------
@compiled
def _step(step_no: int, seed: np.uint64, w: World) -> None:
    """Advance the whole network by one step ``[t, t + dt)`` with ``t = step_no * dt``.

    Stages in order: signals, insertion of waiting departures, lane changes, speeds of every vehicle (from
    the state at ``t``), positions (and emissions, if on), stop-line crossings and arrivals, and the
    signals' clocks.
    """
    _update_signals(w.signals, w.conns.state)
    _insert(step_no, w)
    change_lanes(step_no, w)
    set_speeds(step_no, seed, w)
    _positions(w)
    _crossings(step_no, w)
    _tick_signals(w.signals, w.p.dt_s)


@compiled
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


@compiled
def advance(n_steps: int, step_no: int, seed: np.uint64, w: World) -> None:
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
        w: Every container of the state.
    """
    counters = w.rec.counters
    counters[C_N_ARRIVED_OUT] = 0
    counters[C_N_EVENTS] = 0
    counters[C_STEPS_DONE] = 0
    for s in range(n_steps):
        _release_due((step_no + s) * w.p.dt_s, w.veh, w.deps, counters)
        _step(step_no + s, seed, w)
        counters[C_STEPS_DONE] = s + 1
        if counters[C_N_EVENTS] > 0:
            return


@compiled
def observe_connections(
    horizon_m: float, w: World, queue: np.ndarray, approaching: np.ndarray, waiting_s: np.ndarray
) -> None:
    """Per connection, from the vehicles whose next movement it is.

    Fills ``queue`` (halted vehicles), ``approaching`` (moving vehicles within
    ``horizon_m`` of the stop line) and ``waiting_s`` (their summed halted time on the
    current link, s). Vehicles on their last link belong to no connection.
    """
    queue[:] = 0.0
    approaching[:] = 0.0
    waiting_s[:] = 0.0
    veh, lanes, edges, routes = w.veh, w.lanes, w.edges, w.routes
    vf, li = veh.vf, lanes.li
    for lane in range(li.shape[1]):
        length = edges.length_m[li[LI_EDGE, lane]]
        for i in range(li[LI_COUNT, lane]):
            vid = vid_at(lanes, lane, i)
            c = routes.conn[veh.vi[VI_RPTR, vid]]
            if c < 0:
                continue
            if vf[VF_SPEED, vid] < HALT_MPS:
                queue[c] += 1.0
            elif length - vf[VF_POS, vid] <= horizon_m:
                approaching[c] += 1.0
            waiting_s[c] += vf[VF_LINK_WAIT, vid]
