"""Struct-of-arrays traffic state around the compiled kernel (numpy only).

``TrafficState`` owns every array the kernel reads and writes: vehicles, lanes,
connections, signals, routes, the entry queue and the per-edge accumulators. It takes a
compiled network by duck typing (any object with the array attributes of
``sim.network.compile.CompiledNetwork``), so this package never imports networkx.
"""

from __future__ import annotations

import math
import operator
from collections.abc import Sequence

import numba
import numpy as np

from sim.traffic import kernel
from sim.traffic.codes import (
    GREEN,
    RED,
    ST_ARRIVED,
    ST_ON_NETWORK,
    ST_SCHEDULED,
    ST_WAITING,
    STAGE_GREEN,
)
from sim.traffic.emissions import EmissionRecords, empty_emissions
from sim.traffic.lane_state import LaneReaders
from sim.traffic.layout import (
    C_ARRIVED,
    C_ENTERED,
    C_N_ARRIVED_OUT,
    C_N_EVENTS,
    C_SCHED_PTR,
    C_STEPS_DONE,
    C_WAIT_N,
    F_APPROACH_SENT,
    F_EMERGENCY,
    F_NOTIFY,
    F_STOP_SENT,
    LF_GREEN_WAIT_MAX,
    LF_LAST_CROSS,
    LF_LINE_SINCE,
    LI_CAP,
    LI_COUNT,
    LI_EDGE,
    LI_HEAD,
    LI_OFF,
    PF_ALL_RED,
    PF_MIN_GREEN,
    PF_YELLOW,
    SF_ELAPSED,
    SI_TARGET,
    VF_ARRIVE,
    VF_ENTER,
    VF_LC_LAST,
    VF_MAX_SPEED,
    VF_SPEED,
    VI_FLAGS,
    VI_JCONN,
    VI_LANE,
    VI_REND,
    VI_RPTR,
    VI_STATUS,
    VI_YIELD,
    Departures,
    Edges,
    Lanes,
    Params,
    Recorders,
    Routes,
    Signals,
    Vehicles,
    World,
    drop_stale_machine_code,
)
from sim.traffic.right_of_way import connections, gap_table
from sim.traffic.route_state import RouteWriters
from sim.traffic.signal_state import SignalReaders
from sim.traffic.vehicle_state import VehicleReaders
from sim.traffic.vehicle_types import CarFollowing, VehicleType, VehicleTypes

__all__ = ["CarFollowing", "TrafficState"]


class _InContainer:
    """A ``TrafficState`` array attribute that lives in one of the kernel's containers.

    Reading gives the container's array; assigning replaces the container by a copy with
    the new array, so what the kernel receives always follows (e.g. grown route arrays).
    """

    def __init__(self, container: str, field: str) -> None:
        self.container, self.field = container, field
        self._get = operator.attrgetter(f"{container}.{field}")

    def __get__(self, state: TrafficState | None, owner: type | None = None) -> np.ndarray:
        return self if state is None else self._get(state)

    def __set__(self, state: TrafficState, value: np.ndarray) -> None:
        box = getattr(state, self.container)
        setattr(state, self.container, box._replace(**{self.field: value}))


class TrafficState(VehicleReaders, VehicleTypes, LaneReaders, SignalReaders, RouteWriters, EmissionRecords):
    """All simulation arrays plus the operations that change them between steps.

    The arrays live in the kernel's containers (``vehicles``, ``lanes``, ``edges``,
    ``conns``, ``signals``, ``routes``, ``departures``, ``recorders``; ``params``), passed
    to :func:`sim.traffic.kernel.advance` as they are; the flat attributes below (``vf``,
    ``li``, ``si``, ``r_edge``, ...) read and assign the containers' arrays. Their rows are
    private to ``sim/traffic/``: everything else uses the named readers of the mixins
    (:class:`~sim.traffic.vehicle_state.VehicleReaders`,
    :class:`~sim.traffic.lane_state.LaneReaders`,
    :class:`~sim.traffic.signal_state.SignalReaders`) and the writers below and of
    :class:`~sim.traffic.vehicle_types.VehicleTypes` and
    :class:`~sim.traffic.route_state.RouteWriters`; ``conn_state`` holds each connection's
    ``RED``/``YELLOW``/``GREEN`` of :mod:`sim.traffic.codes`. ``jam_spacing_m`` (m) is the
    shortest front-to-front spacing of standing vehicles of any type that will be added,
    which sizes the lanes' buffers (default: the default vehicle's length plus gap).
    """

    vf = _InContainer("vehicles", "vf")
    vi = _InContainer("vehicles", "vi")
    vnew = _InContainer("vehicles", "vnew")
    lane_buf = _InContainer("lanes", "buf")
    li = _InContainer("lanes", "li")
    lf = _InContainer("lanes", "lf")
    lane_go = _InContainer("lanes", "go")
    lane_target = _InContainer("lanes", "target")
    edge_mark = _InContainer("edges", "mark")
    conn_state = _InContainer("conns", "state")
    si = _InContainer("signals", "si")
    sf = _InContainer("signals", "sf")
    pf = _InContainer("signals", "pf")
    r_edge = _InContainer("routes", "edge")
    r_conn = _InContainer("routes", "conn")
    sched_vid = _InContainer("departures", "vid")
    sched_depart = _InContainer("departures", "depart_s")
    wait_buf = _InContainer("departures", "waiting")
    counters = _InContainer("recorders", "counters")
    arrived_out = _InContainer("recorders", "arrived_out")
    event_out = _InContainer("recorders", "event_out")
    acc = _InContainer("recorders", "acc")

    def __init__(
        self,
        net,
        car_following: CarFollowing,
        dt_s: float,
        seed: int = 0,
        vehicle_capacity: int = 1024,
        jam_spacing_m: float | None = None,
    ) -> None:
        drop_stale_machine_code()
        self.net = net
        self.cf = car_following
        self.dt_s = float(dt_s)
        self.step_no = 0
        self.seed = np.uint64(seed)
        cf = car_following
        values = (
            dt_s,
            cf.turn_speed_mps,
            cf.emergency_pass_speed_mps,
            cf.emergency_crawl_speed_mps,
            net.conn_zone_m.max(initial=0.0),
        )
        self.params = Params(*map(float, values))
        n_lanes, n_edges = len(net.lane_edge), len(net.edge_keys)
        lane_len = net.edge_length_m[net.lane_edge]
        spacing_m = cf.length_m + cf.min_gap_m if jam_spacing_m is None else jam_spacing_m
        cap = np.floor(lane_len / spacing_m).astype(np.int32) + 2
        li = np.zeros((5, n_lanes), dtype=np.int32)
        li[LI_CAP] = cap
        li[LI_OFF, 1:] = np.cumsum(cap)[:-1]
        li[LI_EDGE] = net.lane_edge
        lf = np.full((5, n_lanes), -1.0)
        lf[LF_GREEN_WAIT_MAX] = 0.0
        lf[LF_LAST_CROSS] = -math.inf
        go, target = np.zeros(n_lanes, dtype=np.int8), np.full(n_lanes, -1, dtype=np.int32)
        self.lanes = Lanes(np.full(int(cap.sum()), -1, dtype=np.int32), li, lf, go, target)
        mark = np.full(n_edges, -1.0)
        self.edges = Edges(net.edge_length_m, net.edge_speed_mps, net.edge_lanes, net.edge_lane0, mark)
        gaps = gap_table({**cf.gaps_s, "signal_left": (cf.critical_gap_s, cf.signal_left_follow_up_s)})
        self.conns = connections(net, GREEN, gaps, cf.left_wait_vehicles, cf.length_m + cf.min_gap_m)
        n_sig = len(net.signal_nodes)
        si, sf = np.full((4, n_sig), -1, dtype=np.int32), np.zeros((1, n_sig))
        pf = np.zeros((3, len(net.phase_conn_ptr) - 1))
        self.signals = Signals(si, sf, net.phase_conn_ptr, net.phase_conns, pf)
        self.routes = Routes(np.zeros(0, dtype=np.int32), np.zeros(0, dtype=np.int32))
        # the per-vehicle arrays start empty; _alloc_vehicles gives them their capacity
        self.vehicles = Vehicles(np.zeros((17, 0)), np.zeros((10, 0), dtype=np.int32), np.zeros(0))
        no_vehicles = np.zeros(0, dtype=np.int32)
        self.departures = Departures(no_vehicles, np.zeros(0), no_vehicles)
        counters = np.zeros(8, dtype=np.int64)
        no_events = np.zeros((2, 0), dtype=np.int32)
        self.recorders = Recorders(counters, no_vehicles, no_events, np.zeros((4, n_edges)))
        self.n_vehicles = 0
        self.em = empty_emissions(0, n_edges)
        self._alloc_vehicles(max(16, vehicle_capacity))

    def _alloc_vehicles(self, cap: int) -> None:
        """Give every per-vehicle array room for ``cap`` vehicles, keeping vehicles and entry queue."""
        n, n_wait = self.n_vehicles, self.n_waiting
        vf = np.zeros((17, cap))
        vf[VF_ENTER] = np.nan
        vf[VF_ARRIVE] = np.nan
        vf[VF_LC_LAST] = -math.inf
        vf[:, :n] = self.vf[:, :n]
        vi = np.zeros((10, cap), dtype=np.int32)
        vi[VI_LANE] = -1
        vi[VI_JCONN] = -1
        vi[VI_YIELD] = -1
        vi[:, :n] = self.vi[:, :n]
        self.vehicles = Vehicles(vf, vi, np.zeros(cap))
        wait = np.zeros(cap, dtype=np.int32)
        wait[:n_wait] = self.wait_buf[:n_wait]
        self.wait_buf = wait
        self.arrived_out = np.zeros(cap, dtype=np.int32)
        self.event_out = np.zeros((2, 2 * cap), dtype=np.int32)
        self._grow_emissions(cap)

    # ----- set-up -----------------------------------------------------------------
    def add_route(self, edges: np.ndarray, conns: np.ndarray) -> tuple[int, int]:
        """Append a route (edge indices and the connections between them).

        Returns:
            ``(first, last)`` positions of the route in the flat route arrays.
        """
        first = len(self.r_edge)
        self.r_edge = np.concatenate([self.r_edge, edges.astype(np.int32)])
        self.r_conn = np.concatenate([self.r_conn, conns.astype(np.int32)])
        return first, first + len(edges) - 1

    def add_routes(self, edge_lists: list[np.ndarray], conn_lists: list[np.ndarray]) -> np.ndarray:
        """Append many routes at once; returns an ``(n, 2)`` array of (first, last) positions."""
        lengths = np.array([len(e) for e in edge_lists], dtype=np.int64)
        first = len(self.r_edge) + np.cumsum(lengths) - lengths
        self.r_edge = np.concatenate([self.r_edge, *edge_lists]).astype(np.int32)
        self.r_conn = np.concatenate([self.r_conn, *conn_lists]).astype(np.int32)
        return np.stack([first, first + lengths - 1], axis=1)

    def add_vehicles(self, route_first: np.ndarray, route_last: np.ndarray) -> np.ndarray:
        """Create scheduled vehicles of the default type (``cf``) on the given routes; returns their ids."""
        m = len(route_first)
        n = self.n_vehicles
        if n + m > self.vf.shape[1]:
            self._alloc_vehicles(max(2 * self.vf.shape[1], n + m))
        ids = np.arange(n, n + m)
        self.set_vehicle_type(ids, VehicleType.of(self.cf))
        self.vi[VI_RPTR, ids] = route_first
        self.vi[VI_REND, ids] = route_last
        self.vi[VI_STATUS, ids] = ST_SCHEDULED
        self.n_vehicles = n + m
        return ids

    def release(self, ids: np.ndarray) -> None:
        """Put scheduled vehicles in the entry queue of their first edge, in the given order."""
        n = int(self.counters[C_WAIT_N])
        self.wait_buf[n : n + len(ids)] = ids
        self.counters[C_WAIT_N] = n + len(ids)
        self.vi[VI_STATUS, ids] = ST_WAITING

    # ----- signals ----------------------------------------------------------------
    def set_signal(
        self,
        signal: int,
        phase: int,
        elapsed_s: float,
        yellow_s: float | Sequence[float],
        all_red_s: float | Sequence[float],
        min_green_s: float | Sequence[float],
    ) -> None:
        """Start ``signal`` in the green of global ``phase`` that has already run ``elapsed_s`` (s).

        ``yellow_s``, ``all_red_s`` and ``min_green_s`` give each of the signal's phases, in
        phase order, its yellow, all-red (after its green) and minimum green (s), or one for all.
        """
        net = self.net
        first, end = net.signal_phase_ptr[signal], net.signal_phase_ptr[signal + 1]
        for ph in range(first, end):
            self.conn_state[net.phase_conns[net.phase_conn_ptr[ph] : net.phase_conn_ptr[ph + 1]]] = RED
        a, b = net.phase_conn_ptr[phase], net.phase_conn_ptr[phase + 1]
        self.conn_state[net.phase_conns[a:b]] = GREEN
        self.si[:, signal] = (phase, STAGE_GREEN, -1, -1)
        self.sf[SF_ELAPSED, signal] = elapsed_s
        self.pf[PF_YELLOW, first:end] = yellow_s
        self.pf[PF_ALL_RED, first:end] = all_red_s
        self.pf[PF_MIN_GREEN, first:end] = min_green_s

    def request_phases(self, signals: np.ndarray, phases: np.ndarray) -> None:
        """Ask each of ``signals`` to move to the matching global phase index, once safe."""
        self.si[SI_TARGET, signals] = phases

    def schedule(self, ids: np.ndarray, depart_s: np.ndarray) -> None:
        """Set the departure schedule: ``ids`` leave at ``depart_s`` (sorted ascending, s).

        Each joins the entry queue of its first link at the first step that starts at or
        after its departure time. Replaces any schedule not yet released.
        """
        self.sched_vid = np.ascontiguousarray(ids, dtype=np.int32)
        self.sched_depart = np.ascontiguousarray(depart_s, dtype=np.float64)
        self.counters[C_SCHED_PTR] = 0

    # ----- stepping ---------------------------------------------------------------
    def _world(self) -> World:
        """Every container, as the kernel takes them."""
        return World(
            self.params,
            self.vehicles,
            self.lanes,
            self.edges,
            self.conns,
            self.signals,
            self.routes,
            self.departures,
            self.recorders,
            self.em,
        )

    def _kernel_args(self, n_steps: int) -> tuple:
        return n_steps, self.step_no, self.seed, self._world()

    def warm_up(self) -> None:
        """Load (or compile, once per machine) the kernel for these array types without stepping."""
        kernel.advance.compile(tuple(numba.typeof(a) for a in self._kernel_args(0)))

    def advance(self, n_steps: int = 1) -> int:
        """Run up to ``n_steps`` steps, fewer if an agent's vehicle raises an event.

        Returns:
            The number of steps run; :attr:`arrived` and :attr:`events` list what happened.
        """
        kernel.advance(*self._kernel_args(n_steps))
        done = int(self.counters[C_STEPS_DONE])
        self.step_no += done
        return done

    @property
    def arrived(self) -> np.ndarray:
        """Ids of the vehicles that arrived during the last :meth:`advance`."""
        return self.arrived_out[: self.counters[C_N_ARRIVED_OUT]]

    @property
    def events(self) -> np.ndarray:
        """``(2, n)`` array of (vehicle id, ``EV_*`` kind) raised during the last :meth:`advance`."""
        return self.event_out[:, : self.counters[C_N_EVENTS]]

    # ----- agents' vehicles --------------------------------------------------------
    def set_max_speed(self, vid: int, max_speed_mps: float) -> None:
        """Cap a vehicle's speed below the links' limits (m/s), e.g. a shuttle's operating speed."""
        self.vf[VF_MAX_SPEED, vid] = max_speed_mps

    def set_flags(self, vid: int, *, notify: bool, emergency: bool) -> None:
        """Say whether an agent listens to a vehicle and whether it is an emergency vehicle.

        Args:
            vid: The vehicle.
            notify: It raises ``EV_APPROACH`` near the end of its route and ``EV_STOP`` once
                halted there, instead of arriving (events already sent stay sent).
            emergency: Traffic makes way for it; it crosses a red light at a crawl.
        """
        sent = self.vi[VI_FLAGS, vid] & (F_APPROACH_SENT | F_STOP_SENT)
        self.vi[VI_FLAGS, vid] = (F_NOTIFY if notify else 0) | (F_EMERGENCY if emergency else 0) | sent

    def set_route(self, vid: int, edges: np.ndarray, conns: np.ndarray) -> None:
        """Give a vehicle a new route; the first edge must be the one it is on (or will enter).

        Clears the vehicle's sent-event bits, so it reports the end of the new route.

        Raises:
            ValueError: If the route does not start on the vehicle's current edge.
        """
        current = self.r_edge[self.vi[VI_RPTR, vid]]
        if int(edges[0]) != int(current):
            raise ValueError(f"vehicle {vid}: a new route must start on its current edge {int(current)}")
        first, last = self.add_route(edges, conns)
        self.vi[VI_RPTR, vid] = first
        self.vi[VI_REND, vid] = last
        self.vi[VI_FLAGS, vid] &= ~(F_APPROACH_SENT | F_STOP_SENT)

    def remove_vehicle(self, vid: int) -> None:
        """Take a vehicle off its lane now (it parked, or ended its service); it counts as arrived.

        Raises:
            ValueError: If the vehicle is not on the network.
        """
        lane = int(self.vi[VI_LANE, vid])
        if lane < 0:
            raise ValueError(f"vehicle {vid} is not on the network")
        rest = self.lane_vehicles(lane)
        if rest[0] == vid:
            self.lf[LF_LINE_SINCE, lane] = -1.0  # the next one has not stopped at the line
        rest = rest[rest != vid]
        off = int(self.li[LI_OFF, lane])
        self.lane_buf[off : off + len(rest)] = rest
        self.li[LI_HEAD, lane] = 0
        self.li[LI_COUNT, lane] = len(rest)
        self.vi[VI_LANE, vid] = -1
        self.leave_emissions(vid)
        jconn = int(self.vi[VI_JCONN, vid])
        if jconn >= 0:
            self.conns.inside[jconn] -= 1
            self.vi[VI_JCONN, vid] = -1
        self.vi[VI_STATUS, vid] = ST_ARRIVED
        self.vf[VF_ARRIVE, vid] = self.t_s
        self.counters[C_ARRIVED] += 1

    @property
    def t_s(self) -> float:
        """Simulated time (s) at the end of the last step."""
        return self.step_no * self.dt_s

    @property
    def n_released(self) -> int:
        """Scheduled vehicles released into the entry queues so far."""
        return int(self.counters[C_SCHED_PTR])

    # ----- reading ----------------------------------------------------------------
    @property
    def n_waiting(self) -> int:
        """Vehicles released but still waiting to enter their first link."""
        return int(self.counters[C_WAIT_N])

    def waiting_vehicles(self) -> np.ndarray:
        """Ids of the vehicles in the entry queues, in the order they try to enter (a copy)."""
        return self.wait_buf[: self.n_waiting].copy()

    @property
    def n_entered(self) -> int:
        """Vehicles that have entered the network so far."""
        return int(self.counters[C_ENTERED])

    @property
    def n_arrived(self) -> int:
        """Vehicles that have reached their destination so far."""
        return int(self.counters[C_ARRIVED])

    @property
    def n_on_network(self) -> int:
        """Vehicles currently on a lane."""
        return int(self.li[LI_COUNT].sum())

    def observe_connections(self, horizon_m: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Per connection: halted vehicles, moving ones near the stop line, and waiting time.

        Returns:
            Arrays indexed by connection: halted vehicles, moving vehicles within
            ``horizon_m`` of the stop line, and their summed waiting time on the current
            link (s).
        """
        n = len(self.net.conn_from)
        out = (np.zeros(n), np.zeros(n), np.zeros(n))
        kernel.observe_connections(horizon_m, self._world(), *out)
        return out

    def link_travel_times_s(self, min_speed_mps: float = 0.5) -> np.ndarray:
        """Travel time of every edge at the mean speed of the vehicles on it now (s).

        Empty edges take their free-flow time; speeds are floored at ``min_speed_mps``.
        """
        net = self.net
        on = np.flatnonzero(self.vi[VI_STATUS, : self.n_vehicles] == ST_ON_NETWORK)
        edges = net.lane_edge[self.vi[VI_LANE, on]]
        count = np.bincount(edges, minlength=net.n_edges)
        speed_sum = np.bincount(edges, weights=self.vf[VF_SPEED, on], minlength=net.n_edges)
        speed = np.where(count > 0, speed_sum / np.maximum(count, 1), net.edge_speed_mps)
        return net.edge_length_m / np.maximum(speed, min_speed_mps)

    def jam_spacing_m(self) -> float:
        """Front-to-front spacing of standing vehicles (m)."""
        return self.cf.length_m + self.cf.min_gap_m

    def free_flow_time_s(self, edges: np.ndarray) -> float:
        """Free-flow time of a route (s): the sum of length / speed over its edges."""
        return float(math.fsum(self.net.edge_length_m[edges] / self.net.edge_speed_mps[edges]))
