"""The kernel's data layout: its containers, their row constants and how it compiles (private).

The names here are for ``sim/traffic/`` only: everything else reads and writes the state
through the named readers and writers of :class:`sim.traffic.state.TrafficState`, and the
codes found in its arrays live in :mod:`sim.traffic.codes`.

The arrays come in a few named containers (``typing.NamedTuple``s, which numba passes as
they are): :class:`Params`, :class:`Vehicles`, :class:`Lanes`, :class:`Edges`,
:class:`Connections`, :class:`Signals`, :class:`Routes`, :class:`Departures` and
:class:`Recorders`. Row layouts (constants below): ``vf`` float rows and ``vi`` int rows per
vehicle, ``li`` int rows and ``lf`` float rows per lane, ``si``/``sf`` per signal, ``pf`` per
signal phase, ``acc`` per edge, ``counters`` the run's counts.

numba's cache keys each compiled function on its own file only, while the stages inline
helpers and constants from the other files of this package: :func:`drop_stale_machine_code`
(called before the first compile) throws the cache away when any of them changed.
"""

from __future__ import annotations

import functools
import os
from pathlib import Path
from typing import NamedTuple

import numpy as np
from numba import njit

__all__ = [
    "Connections",
    "drop_stale_machine_code",
    "Departures",
    "Edges",
    "Emissions",
    "Lanes",
    "Params",
    "Recorders",
    "Routes",
    "Signals",
    "Vehicles",
    "World",
    "ACC_EXITS",
    "ACC_HALTED",
    "ACC_SPEED_SUM",
    "ACC_VEH_STEPS",
    "C_ARRIVED",
    "C_ENTERED",
    "C_LANE_CHANGES",
    "C_N_ARRIVED_OUT",
    "C_N_EVENTS",
    "C_SCHED_PTR",
    "C_STEPS_DONE",
    "C_WAIT_N",
    "F_APPROACH_SENT",
    "F_EMERGENCY",
    "LF_LAST_CROSS",
    "LF_LINE_SINCE",
    "F_NOTIFY",
    "F_STOP_SENT",
    "GO_CROSS",
    "GO_HOLD",
    "GO_WAIT_INSIDE",
    "LF_BLOCKED_SINCE",
    "LF_GREEN_WAIT_MAX",
    "LF_GREEN_WAIT_SINCE",
    "LI_CAP",
    "LI_COUNT",
    "LI_EDGE",
    "LI_HEAD",
    "LI_OFF",
    "PF_ALL_RED",
    "PF_MIN_GREEN",
    "PF_YELLOW",
    "SF_ELAPSED",
    "SI_NEXT",
    "SI_PHASE",
    "SI_STAGE",
    "SI_TARGET",
    "VF_ACCEL",
    "VF_ARRIVE",
    "VF_DECEL",
    "VF_DIST",
    "VF_ENTER",
    "VF_LC_LAST",
    "VF_LEN",
    "VF_LINK_WAIT",
    "VF_MAX_LINK_WAIT",
    "VF_MAX_SPEED",
    "VF_MIN_GAP",
    "VF_POS",
    "VF_SIGMA",
    "VF_SPEED",
    "VF_SPEED_FACTOR",
    "VF_TAU",
    "VF_WAIT",
    "VI_FLAGS",
    "VI_HALTED",
    "VI_JCONN",
    "VI_LANE",
    "VI_LC",
    "VI_REND",
    "VI_RPTR",
    "VI_STATUS",
    "VI_STOPS",
    "VI_YIELD",
    "compiled",
    "inline",
]

# vehicle float rows
# (VF_MAX_LINK_WAIT: the longest halted time on one link of the links it has left, s; from
# VF_LEN on, the vehicle's type, set once when it is added: length, own speed cap, standstill
# gap, acceleration, deceleration, reaction time, imperfection, and its desired-speed factor
# on the speed limit; VF_LC_LAST: when it last changed lanes, s)
(
    VF_POS,
    VF_SPEED,
    VF_ENTER,
    VF_ARRIVE,
    VF_DIST,
    VF_WAIT,
    VF_LINK_WAIT,
    VF_MAX_LINK_WAIT,
    VF_LEN,
    VF_MAX_SPEED,
    VF_MIN_GAP,
    VF_ACCEL,
    VF_DECEL,
    VF_TAU,
    VF_SIGMA,
    VF_SPEED_FACTOR,
    VF_LC_LAST,
) = range(17)
# vehicle int rows (VI_JCONN: the connection whose conflict zone the vehicle is in, -1 none;
# VI_YIELD: a vehicle on a neighbouring lane it keeps a safe distance behind this step, so that
# one of the two can change lanes, -1 none; VI_LC: its lane changes)
VI_LANE, VI_RPTR, VI_REND, VI_STATUS, VI_STOPS, VI_HALTED, VI_FLAGS, VI_JCONN, VI_YIELD, VI_LC = range(10)
# vehicle flags: notify Python near and at the route end (instead of arriving); emergency
# vehicle; events already sent for the current route
F_NOTIFY, F_EMERGENCY, F_APPROACH_SENT, F_STOP_SENT = 1, 2, 4, 8
# what a lane's first vehicle may do this step (Lanes.go)
GO_HOLD, GO_CROSS, GO_WAIT_INSIDE = range(3)
# lane int rows and float rows
LI_OFF, LI_CAP, LI_HEAD, LI_COUNT, LI_EDGE = range(5)
# LF_GREEN_WAIT_SINCE: since when the first vehicle has stood at the stop line without green
# (-1: not waiting); LF_GREEN_WAIT_MAX: the longest such wait that ended since the last read;
# LF_LINE_SINCE: since when the first vehicle has stood at the stop line, whatever held it
# (-1: not standing there); LF_LAST_CROSS: when a vehicle last crossed the lane's stop line
LF_BLOCKED_SINCE, LF_GREEN_WAIT_SINCE, LF_GREEN_WAIT_MAX, LF_LINE_SINCE, LF_LAST_CROSS = range(5)
# signal int rows and float rows; phase float rows: the yellow and all-red after the phase's
# green and its minimum green
SI_PHASE, SI_STAGE, SI_TARGET, SI_NEXT = range(4)
SF_ELAPSED = 0
PF_YELLOW, PF_ALL_RED, PF_MIN_GREEN = range(3)
# per-edge accumulators
ACC_VEH_STEPS, ACC_SPEED_SUM, ACC_HALTED, ACC_EXITS = range(4)
# counters
C_WAIT_N, C_N_ARRIVED_OUT, C_ENTERED, C_ARRIVED, C_SCHED_PTR, C_N_EVENTS, C_STEPS_DONE, C_LANE_CHANGES = (
    range(8)
)


class Params(NamedTuple):
    """Junction parameters shared by all vehicles (car following is each vehicle's: ``VF_*`` rows).

    Attributes:
        dt_s: Step length (s).
        turn_speed_mps: Speed at the stop line for turns (m/s).
        pass_speed_mps: Speed at which an emergency vehicle passes those making way (m/s).
        crawl_speed_mps: Speed at which an emergency vehicle crosses against the signal (m/s).
        zone_max_m: The longest conflict zone of any connection (m): a vehicle whose rear is
            further into its link is in none.
    """

    dt_s: float
    turn_speed_mps: float
    pass_speed_mps: float
    crawl_speed_mps: float
    zone_max_m: float


class Vehicles(NamedTuple):
    """Per-vehicle state, one column per vehicle id.

    Attributes:
        vf: ``(17, n)`` float rows ``VF_*`` (m, m/s, m/s^2, s; the speed factor and
            imperfection are ratios).
        vi: ``(10, n)`` int32 rows ``VI_*``.
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
        lf: ``(5, n_lanes)`` float rows ``LF_*`` (s; -1 when not held).
        go: ``(n_lanes,)`` int8, what the first vehicle may do this step: ``GO_HOLD`` stop at the
            line, ``GO_CROSS`` cross it, ``GO_WAIT_INSIDE`` drive into the junction up to its
            connection's ``wait_m`` and wait there.
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
    """Movements from an in-edge to an out-edge through a junction, and their right of way.

    Attributes:
        state: ``RED``, ``YELLOW`` or ``GREEN`` per connection (int8).
        turn: Turn kind per connection (``TURN_*`` of :mod:`sim.traffic.codes`).
        lane_lo: Lowest in-edge lane (within the edge) that serves it.
        lane_hi: Highest in-edge lane (within the edge) that serves it.
        frm, to: Its in-edge and out-edge.
        rule: ``RULE_*`` (:mod:`sim.traffic.codes`): how it passes the junction.
        tc, tf: Critical gap and follow-up time of a movement that gives way (s).
        zone_m: Length of the out-edge it occupies after the stop line (m; 0: no zone).
        wait_m: How far past the stop line a permitted turn may drive to wait in the junction
            for a gap (m; 0: at the line).
        foe_ptr, foes, foe_kind: The connections it conflicts with and their ``FOE_*`` kinds,
            ``foes[foe_ptr[c]:foe_ptr[c + 1]]``.
        into_ptr, into: The connections onto edge ``e``, ``into[into_ptr[e]:into_ptr[e + 1]]``.
        inside: Vehicles in each connection's conflict zone now.
        stamp: The last step in which a vehicle crossed into each connection.
    """

    state: np.ndarray
    turn: np.ndarray
    lane_lo: np.ndarray
    lane_hi: np.ndarray
    frm: np.ndarray
    to: np.ndarray
    rule: np.ndarray
    tc: np.ndarray
    tf: np.ndarray
    zone_m: np.ndarray
    wait_m: np.ndarray
    foe_ptr: np.ndarray
    foes: np.ndarray
    foe_kind: np.ndarray
    into_ptr: np.ndarray
    into: np.ndarray
    inside: np.ndarray
    stamp: np.ndarray


class Signals(NamedTuple):
    """Signal controllers' state machines and their phases.

    Attributes:
        si: ``(4, n_signals)`` int32 rows ``SI_*``.
        sf: ``(1, n_signals)`` float rows ``SF_*`` (s).
        phase_conn_ptr: Phase ``p`` gives green to ``phase_conns[phase_conn_ptr[p]:phase_conn_ptr[p + 1]]``.
        phase_conns: Connection indices of every phase, concatenated.
        pf: ``(3, n_phases)`` float rows ``PF_*`` (s): each phase's own intergreen and minimum green.
    """

    si: np.ndarray
    sf: np.ndarray
    phase_conn_ptr: np.ndarray
    phase_conns: np.ndarray
    pf: np.ndarray


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


class Emissions(NamedTuple):
    """Emissions and energy per vehicle-step (:mod:`sim.traffic.emissions`); no classes: switched off.

    Attributes:
        veh_class: ``(n,)`` int32 emission class of each vehicle (an index of the class table).
        coef: ``(n_classes, 7, 7)`` per class and output, the polynomial's coefficients (mg/s, Wh/s).
        cls: ``(n_classes, 10)`` per class, its model and vehicle (:mod:`sim.traffic.emissions`).
        coast: ``(n_classes, 2)`` per class, its coasting terms ``incl`` and ``base``
            (:func:`~sim.traffic.emission_codes.coasting_terms`; ``base`` -1e30 when it burns
            no fuel, whose engine always runs).
        linear: ``(n_classes,)`` bool, whether the class's steps are added up as terms
            (:func:`sim.traffic.emissions.linear_classes`).
        cut_below: ``(n_classes, n_bins)`` per class and speed bin, the acceleration (m/s^2)
            from which no pollutant's rate is below 0 (the highest of ``cut_each``).
        cut_each: ``(n_classes, 6, n_bins)`` the same per pollutant
            (:func:`sim.traffic.emissions.cut_below`).
        sin_slope: ``(n_edges,)`` sine of each edge's road slope (uphill positive).
        veh_edge: ``(n,)`` int32 the edge each vehicle is on, that of its added-up terms (-1:
            off the network; kept by :func:`sim.traffic.emissions.to_edge`).
        veh: ``(n, 16)`` per vehicle: its polynomial terms ``1, v, a, v^2, v^3, a v, a v^2``
            added up since they were last turned into amounts, its last step's acceleration,
            and its totals (mg; Wh) (:mod:`sim.traffic.emissions`).
        edge_sum: ``(n_edges, 7)`` each edge's sums since they were last taken (mg; Wh).
        cut_vid: ``(n,)`` int32 the vehicles of the step's steps whose rates may be cut to 0.
        cut_n: ``(1,)`` int64 how many there are (:func:`sim.traffic.emissions.settle_cuts`).
    """

    veh_class: np.ndarray
    coef: np.ndarray
    cls: np.ndarray
    coast: np.ndarray
    linear: np.ndarray
    cut_below: np.ndarray
    cut_each: np.ndarray
    sin_slope: np.ndarray
    veh_edge: np.ndarray
    veh: np.ndarray
    edge_sum: np.ndarray
    cut_vid: np.ndarray
    cut_n: np.ndarray


class World(NamedTuple):
    """Every container of the kernel, passed to a stage as one argument."""

    p: Params
    veh: Vehicles
    lanes: Lanes
    edges: Edges
    conns: Connections
    signals: Signals
    routes: Routes
    deps: Departures
    rec: Recorders
    em: Emissions


_STAMP = "citysim-kernel.stamp"
_PACKAGE = Path(__file__).resolve().parent


@functools.cache
def drop_stale_machine_code(folder: Path = _PACKAGE) -> None:
    """Delete numba's cached machine code of this package if any of its source files changed.

    numba checks only the compiled function's own file, so a changed constant in this file or
    a changed helper in ``buffers.py`` / ``speeds.py`` would leave the stages of ``kernel.py``
    with stale code. The stamp is every source file's name, size and modification time.
    Runs once per process and folder.

    Args:
        folder: The package folder (its ``__pycache__`` holds the cache).
    """
    cache = folder / "__pycache__"
    stamp = "\n".join(
        f"{path.name} {path.stat().st_size} {path.stat().st_mtime_ns}" for path in sorted(folder.glob("*.py"))
    )
    marker = cache / _STAMP
    if marker.is_file() and marker.read_text() == stamp:
        return
    cache.mkdir(exist_ok=True)
    for compiled_file in [*cache.glob("*.nbi"), *cache.glob("*.nbc")]:
        compiled_file.unlink(missing_ok=True)
    temp = cache / f"{_STAMP}.{os.getpid()}"
    temp.write_text(stamp)
    os.replace(temp, marker)


# Every array the kernel touches is allocated by TrafficState, which holds it across the
# call, so the kernel runs without numba's reference counting (NRT): with it, each call or
# inlined helper increfs and decrefs every array of every container it is passed, which made
# a step 4.7 times slower (grid10); without it, passing a container costs nothing. An
# allocation added to the kernel then fails to compile instead of leaking.
compiled = njit(cache=True, _nrt=False)
"""Decorator of a compiled stage (a function the step calls)."""
inline = njit(cache=True, _nrt=False, inline="always")
"""Decorator of a per-lane or per-vehicle helper, inlined into its callers (as calls they cost 3x)."""
