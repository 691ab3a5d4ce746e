"""Transit signal priority: a late shuttle near a signal gets a bounded early or extended green.

Every ``priority_check_s`` the agent looks at each driving shuttle whose link ends at a
signalized junction it will cross, within ``priority_detect_m`` of the stop line, and
later than ``priority_lateness_s`` on its plan (:meth:`AutonomousShuttle.lateness_s`):

* **Green extension.** Its movement is green and the controller's next decision falls
  before the shuttle's planned crossing: the signal is held on that phase (through
  ``model.holds``) until the shuttle crosses, at most ``priority_max_s``. If the
  controller's decision fell inside the hold (its request was dropped), the next phase in
  its cycle is requested on release, so the following green loses at most
  ``priority_max_s``.
* **Red truncation.** Its movement is red and the green now running is due to end (the
  controller's next decision) within ``priority_max_s``: the shuttle's phase is requested
  at once, so the red ends at most ``priority_max_s`` early. The hold ends when the
  shuttle crosses, or ``priority_max_s`` plus the intergreen after it began.

Priority holds are ``Holder.TRANSIT_PRIORITY``: an emergency preemption of the same
signal overrides them, and releasing one never drops the preemption (the signal then
stays with the preemption rather than going back to the controller). The kernel still
runs the minimum green, yellow and all-red of every change, so no priority action can
skip them. A signal serves one request at a time and none for
``priority_recovery_s`` after a release.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import mesa

from sim.control.holds import Holder
from sim.services import Services
from sim.shuttles.shuttle import AutonomousShuttle, ShuttleState
from sim.shuttles.spec import Spec

__all__ = ["SignalPriority"]

EXTEND, TRUNCATE = "extend", "truncate"


@dataclass
class _Hold:
    shuttle: AutonomousShuttle
    mode: str
    approach_edge: int
    phase: int
    start_s: float
    end_by_s: float
    decision_s: float
    row: dict


class SignalPriority(mesa.Agent):
    """Signal priority for late shuttles (see the module docstring for the rule).

    Attributes:
        actions: One dict per priority action (time, shuttle, signal, node, mode,
            lateness, release time).
    """

    def __init__(self, model: Services, spec: Spec, shuttles: Sequence[AutonomousShuttle]) -> None:
        super().__init__(model)
        self.spec = spec
        self.shuttles = tuple(shuttles)
        net = model.net
        self._signal_of_node = {int(node): s for s, node in enumerate(net.signal_nodes.tolist())}
        self._holds: dict[int, _Hold] = {}
        self._free_from_s: dict[int, float] = {}
        self.actions: list[dict] = []

    def start(self) -> None:
        """Begin the periodic checks."""
        self.model.schedule(self.model.time_s, self._check)

    def _active(self) -> bool:
        return self.model.time_s < self.spec.service_end_s or any(
            shuttle.state is not ShuttleState.PARKED for shuttle in self.shuttles
        )

    def _check(self) -> None:
        now = self.model.time_s
        for signal, hold in list(self._holds.items()):
            if self._crossed(hold) or now >= hold.end_by_s - 1e-9:
                self._release(signal, hold)
        for shuttle in self.shuttles:
            if shuttle.state is ShuttleState.DRIVING:
                self._consider(shuttle)
        if self._active() or self._holds:
            self.model.schedule(now + self.spec.priority_check_s, self._check)

    def _crossed(self, hold: _Hold) -> bool:
        shuttle = hold.shuttle
        return shuttle.state is not ShuttleState.DRIVING or shuttle.current_edge() != hold.approach_edge

    def _consider(self, shuttle: AutonomousShuttle) -> None:
        model, spec, now = self.model, self.spec, self.model.time_s
        net, traffic = model.net, model.traffic
        vid = shuttle.vid
        if traffic.lanes_of(vid) < 0 or traffic.on_last_link(vid):
            return
        edge = shuttle.current_edge()
        signal = self._signal_of_node.get(int(net.edge_to[edge]))
        if signal is None or signal in self._holds or now < self._free_from_s.get(signal, -math.inf):
            return
        to_stop_line_m = net.edge_length_m[edge] - traffic.positions_m(vid)
        if to_stop_line_m > spec.priority_detect_m:
            return
        lateness_s = shuttle.lateness_s()
        if lateness_s <= spec.priority_lateness_s:
            return
        conn = int(traffic.next_connections(vid))
        phase = self._phase_of(signal, conn)
        decision_s = model.next_decision_s(signal)
        green = traffic.green_phase(signal)
        crossing_s = shuttle.free_from()[1]
        if green == phase and decision_s < crossing_s:
            mode, end_by_s = EXTEND, now + spec.priority_max_s
        elif green is not None and green != phase and decision_s - now <= spec.priority_max_s:
            mode, end_by_s = TRUNCATE, now + spec.priority_max_s + traffic.intergreen_s(signal)
        else:
            return
        model.holds.hold(signal, phase, Holder.TRANSIT_PRIORITY)
        row = {
            "time_s": now,
            "shuttle": shuttle.index,
            "signal": signal,
            "node": net.node_ids[net.edge_to[edge]],
            "mode": mode,
            "lateness_s": lateness_s,
            "released_s": math.nan,
        }
        self.actions.append(row)
        self._holds[signal] = _Hold(shuttle, mode, edge, phase, now, end_by_s, decision_s, row)

    def _phase_of(self, signal: int, conn: int) -> int:
        net = self.model.net
        for phase in range(net.signal_phase_ptr[signal], net.signal_phase_ptr[signal + 1]):
            if conn in net.phase_conns[net.phase_conn_ptr[phase] : net.phase_conn_ptr[phase + 1]]:
                return phase
        raise ValueError(f"connection {conn} is in no phase of signal {signal}")

    def _release(self, signal: int, hold: _Hold) -> None:
        model, now = self.model, self.model.time_s
        handover = None
        if hold.mode == EXTEND and hold.decision_s <= now:
            # a signal's phases are the range signal_phase_ptr[s]:signal_phase_ptr[s+1], in cycle order
            first, end = (int(p) for p in model.net.signal_phase_ptr[signal : signal + 2])
            handover = first + (hold.phase - first + 1) % (end - first)
        model.holds.release(signal, Holder.TRANSIT_PRIORITY, handover)
        hold.row["released_s"] = now
        del self._holds[signal]
        self._free_from_s[signal] = now + self.spec.priority_recovery_s
