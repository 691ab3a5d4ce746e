"""Signal preemption for responding emergency vehicles: a layer over any signal controller.

At each 1 s poll, every signal ahead on a responding vehicle's route is checked, the one
at the scene included (the queue before it stands between the vehicle and the scene).
Once its preemption is due, the signal is held (``model.holds``, as
``Holder.EMERGENCY_PREEMPTION``, above transit priority and the controller) on the phase
that serves the vehicle's movement (at the scene: its approach); the kernel still runs
the yellow and all-red before that phase, so no clearance is skipped. The hold lasts
until every vehicle it serves has crossed or reached its scene (or ``max_hold_s``), then
the signal goes back to the next hold, or to its own controller.

Modes (``emergency.preemption``):

* ``local``: due when the vehicle is within ``detection_m`` of the stop line, or expected
  there within ``horizon_s`` at free-flow speed (a detector at each signal).
* ``green_wave``: due when the vehicle's free-flow arrival time is within the time the
  signal needs to turn green for it (the kernel's own count of the rest of the minimum
  green, yellow and all-red: ``TrafficState.time_to_green_s``; if green for it already,
  or changing to another phase, a whole switch away and back) plus the time to flush the
  vehicles ahead of it on the approach (``discharge_headway_s`` per vehicle in the
  fullest lane) plus ``lead_margin_s``: every signal along the route is cleared ahead of
  the vehicle.

Each preemption is recorded (columns ``PREEMPTION_COLUMNS`` of
:mod:`sim.emergency.metrics`): signal node, vehicle, incident, mode, ``request_s``,
``eta_s`` (free-flow arrival estimate at the request), ``lead_s`` (green-wave lead; NaN
for local), ``already_green``, ``green_s`` (when the vehicle's movement showed green),
``release_s``, ``hold_s``, ``crossed`` (False: given up after ``max_hold_s``); and the
side streets (the signal's approaches not served by the held phase): halted vehicles
when the preemption began (``side_baseline_veh``), their peak and vehicle-seconds halted
during the hold, and ``recovery_s``: time from the release until their halted count is
back to the baseline (NaN if not within ``recovery_window_s``).
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, field

import numpy as np

from sim.control.holds import Holder
from sim.emergency.metrics import EmergencyLog
from sim.emergency.spec import Spec
from sim.emergency.vehicles import EmergencyVehicle
from sim.services import Services
from sim.traffic.codes import GREEN, HALT_MPS

__all__ = ["Preemption"]

_Key = tuple[str, int]  # (vehicle name, drive number)


@dataclass
class _Hold:
    """A signal held for one or more vehicles; ``holders`` maps each to its approach's route position."""

    signal: int
    phase: int
    conn: int
    side_lanes: np.ndarray
    record: dict
    polled_s: float
    holders: dict[_Key, int] = field(default_factory=dict)


@dataclass
class _Recovery:
    lanes: np.ndarray
    record: dict


class Preemption:
    """Preempts the signals ahead of responding vehicles and records each preemption.

    Args:
        model: The model (its network, traffic state and signal ``holds``).
        spec: The ``[emergency]`` table.
        log: Where preemption records go.
    """

    def __init__(self, model: Services, spec: Spec, log: EmergencyLog) -> None:
        self.model = model
        self.spec = spec
        self._log = log
        net = model.net
        self._node_signal = np.full(len(net.node_ids), -1, dtype=np.int64)
        self._node_signal[net.signal_nodes] = np.arange(net.n_signals)
        self._conn_phase = np.full(len(net.conn_from), -1, dtype=np.int64)
        for phase in range(len(net.phase_conn_ptr) - 1):
            self._conn_phase[net.phase_conns[net.phase_conn_ptr[phase] : net.phase_conn_ptr[phase + 1]]] = (
                phase
            )
        # a connection out of each edge, for the last link of a route (its movements share a phase)
        self._edge_conn = np.full(net.n_edges, -1, dtype=np.int64)
        edges, first_conn = np.unique(net.conn_from, return_index=True)
        self._edge_conn[edges] = first_conn
        self._holds: dict[int, _Hold] = {}
        self._done: set[tuple[str, int, int]] = set()
        self._recoveries: list[_Recovery] = []

    @property
    def active(self) -> bool:
        """Whether a signal is held or a side street's recovery is being watched."""
        return bool(self._holds or self._recoveries)

    def update(self, responding: Iterable[EmergencyVehicle]) -> None:
        """One poll: request the preemptions that are due, release the finished ones.

        Args:
            responding: The vehicles driving to a scene now (each with a kernel vehicle).
        """
        now = self.model.time_s
        if self.spec.preemption == "off":
            return
        positions: dict[_Key, int] = {}
        for vehicle in responding:
            key = (vehicle.name, vehicle.trip_no)
            positions[key] = int(self.model.traffic.route_positions(vehicle.vid))
            self._request_due(vehicle, key)
        for hold in list(self._holds.values()):
            self._update_hold(hold, positions, now)
        self._watch_recoveries(now)

    # ----- requests ------------------------------------------------------------------
    def _request_due(self, vehicle: EmergencyVehicle, key: _Key) -> None:
        traffic, net = self.model.traffic, self.model.net
        vid = vehicle.vid
        route = traffic.route_ahead(vid)
        last = len(route.edges) - 1
        on_lane = traffic.lanes_of(vid) >= 0  # else still in the entry queue of its first link
        position_m = float(traffic.positions_m(vid)) if on_lane else 0.0
        distance_m = eta_s = 0.0
        for j, (edge, next_conn) in enumerate(zip(route.edges.tolist(), route.conns.tolist(), strict=True)):
            ahead_m = float(net.edge_length_m[edge]) - (position_m if j == 0 else 0.0)
            distance_m += ahead_m
            eta_s += ahead_m / float(net.edge_speed_mps[edge])
            if eta_s > self.spec.max_hold_s:
                return
            signal = int(self._node_signal[net.edge_to[edge]])
            if signal < 0 or (*key, signal) in self._done:
                continue
            hold = self._holds.get(signal)
            if hold is not None and key in hold.holders:
                continue
            conn = next_conn if j < last else int(self._edge_conn[edge])
            if conn < 0:
                continue
            lead_s = self._lead_s(signal, conn, edge, position_m if j == 0 and on_lane else -1.0)
            if self.spec.preemption == "local":
                due = distance_m <= self.spec.detection_m or eta_s <= self.spec.horizon_s
            else:
                due = eta_s <= lead_s
            if not due:
                continue
            phase = int(self._conn_phase[conn])
            if hold is None:
                hold = self._start_hold(signal, phase, conn, vehicle, eta_s, lead_s)
            elif hold.phase != phase:
                continue  # held for another vehicle's movement: wait for its release
            hold.holders[key] = route.position + j

    def _lead_s(self, signal: int, conn: int, edge: int, behind_m: float) -> float:
        """Green-wave lead (s): time until ``conn`` can show green plus the time to flush the approach."""
        if self.spec.preemption != "green_wave":
            return math.nan
        traffic = self.model.traffic
        phase = int(self._conn_phase[conn])
        green_now = traffic.green_phase(signal) == phase
        if green_now or traffic.next_phase(signal) not in (None, phase):
            # green now, but the controller may switch away at any moment; or changing to
            # another phase: hold it early enough to cover a whole switch away and back
            to_green = 2 * traffic.intergreen_s(signal) + traffic.min_green_s(signal)
        else:
            to_green = traffic.time_to_green_s(signal, phase)
        # the vehicles ahead on the approach must clear the stop line first: at a red every
        # one of them will have stopped; at a green only those standing need flushing
        net = self.model.net
        queue = 0
        for lane in range(net.edge_lane0[edge], net.edge_lane0[edge] + net.edge_lanes[edge]):
            vids = traffic.lane_vehicles(lane)
            ahead = vids[traffic.positions_m(vids) > behind_m]
            if green_now:
                ahead = ahead[traffic.speeds_mps(ahead) < HALT_MPS]
            queue = max(queue, len(ahead))
        return to_green + queue * self.spec.discharge_headway_s + self.spec.lead_margin_s

    def _start_hold(
        self, signal: int, phase: int, conn: int, vehicle: EmergencyVehicle, eta_s: float, lead_s: float
    ) -> _Hold:
        model, net = self.model, self.model.net
        side_lanes = self._side_lanes(signal, phase)
        baseline = self._halted(side_lanes)
        now = model.time_s
        green = bool(model.traffic.conn_state[conn] == GREEN)
        record = {
            "signal_node": net.node_ids[net.signal_nodes[signal]],
            "vehicle": vehicle.name,
            "incident": vehicle.incident.id,
            "mode": self.spec.preemption,
            "request_s": now,
            "eta_s": eta_s,
            "lead_s": lead_s,
            "already_green": green,
            "green_s": now if green else math.nan,
            "release_s": math.nan,
            "hold_s": math.nan,
            "crossed": False,
            "side_baseline_veh": baseline,
            "side_peak_veh": baseline,
            "side_halted_veh_s": 0.0,
            "recovery_s": math.nan,
        }
        self._log.preemptions.append(record)
        model.holds.hold(signal, phase, Holder.EMERGENCY_PREEMPTION)
        hold = _Hold(signal, phase, conn, side_lanes, record, polled_s=now)
        self._holds[signal] = hold
        return hold

    def _side_lanes(self, signal: int, phase: int) -> np.ndarray:
        """Lanes of the signal's approaches that ``phase`` does not serve (the side streets)."""
        net = self.model.net
        ptr, conns = net.phase_conn_ptr, net.phase_conns
        first, end = net.signal_phase_ptr[signal], net.signal_phase_ptr[signal + 1]
        approaches = net.conn_from[conns[ptr[first] : ptr[end]]]
        side = np.setdiff1d(approaches, net.conn_from[conns[ptr[phase] : ptr[phase + 1]]])
        lanes = [np.arange(net.edge_lane0[e], net.edge_lane0[e] + net.edge_lanes[e]) for e in side.tolist()]
        return np.concatenate(lanes) if lanes else np.zeros(0, dtype=np.int64)

    # ----- holds and releases ----------------------------------------------------------
    def _update_hold(self, hold: _Hold, positions: dict[_Key, int], now: float) -> None:
        record = hold.record
        for key, route_pos in list(hold.holders.items()):
            if key not in positions or positions[key] > route_pos:
                del hold.holders[key]
                self._done.add((*key, hold.signal))
        if math.isnan(record["green_s"]) and self.model.traffic.conn_state[hold.conn] == GREEN:
            record["green_s"] = now
        halted = self._halted(hold.side_lanes)
        record["side_peak_veh"] = max(record["side_peak_veh"], halted)
        record["side_halted_veh_s"] += halted * (now - hold.polled_s)
        hold.polled_s = now
        timed_out = now - record["request_s"] >= self.spec.max_hold_s
        if hold.holders and not timed_out:
            return
        for key in hold.holders:
            self._done.add((*key, hold.signal))
        record.update(release_s=now, hold_s=now - record["request_s"], crossed=not hold.holders)
        self.model.holds.release(hold.signal, Holder.EMERGENCY_PREEMPTION)
        del self._holds[hold.signal]
        self._recoveries.append(_Recovery(hold.side_lanes, record))

    def _watch_recoveries(self, now: float) -> None:
        watching = []
        for recovery in self._recoveries:
            record = recovery.record
            if self._halted(recovery.lanes) <= record["side_baseline_veh"]:
                record["recovery_s"] = now - record["release_s"]
            elif now - record["release_s"] < self.spec.recovery_window_s:
                watching.append(recovery)
        self._recoveries = watching

    def _halted(self, lanes: np.ndarray) -> int:
        traffic = self.model.traffic
        count = 0
        for lane in lanes.tolist():
            vids = traffic.lane_vehicles(lane)
            count += int(np.count_nonzero(traffic.speeds_mps(vids) < HALT_MPS))
        return count
