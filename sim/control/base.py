"""The signal controller interface: one Mesa agent per signalized intersection.

A controller sees a read-only :class:`IntersectionView` of its intersection and requests
the next phase. The intersection itself (the kernel) enforces minimum green, yellow and
all-red, so no controller can make an unsafe or too-fast switch: a request during yellow
or all-red, or before the minimum green, simply waits.
"""

from __future__ import annotations

from enum import IntEnum
from typing import TYPE_CHECKING, ClassVar

import mesa
import numpy as np

if TYPE_CHECKING:
    from sim.control.observe import Observation

__all__ = ["IntersectionView", "SignalController", "Stage"]


class Stage(IntEnum):
    """Where a signal is in its phase change."""

    GREEN = 0
    YELLOW = 1
    ALL_RED = 2


class IntersectionView:
    """What one controller may see of its intersection at a decision time (read-only).

    Movement arrays follow :attr:`SignalController.movements`; every array is a fresh
    copy, computed on first access from one network-wide observation per decision time.

    Attributes:
        now_s: Simulated time (s).
    """

    __slots__ = ("_ctrl", "_obs", "_state", "now_s")

    def __init__(self, ctrl: SignalController, obs: Observation) -> None:
        self._ctrl = ctrl
        self._obs = obs
        self._state = obs.signal_state(ctrl.signal)
        self.now_s = obs.now_s

    @property
    def phase(self) -> int:
        """Index into the controller's phases of the phase now green (or ending, in yellow/all-red)."""
        return self._ctrl.phases.index(self._state[0])

    @property
    def stage(self) -> Stage:
        """Where the signal is in its phase change."""
        return Stage(self._state[1])

    @property
    def next_phase(self) -> int | None:
        """During yellow and all-red, the phase that comes next; else None."""
        nxt = self._state[2]
        return self._ctrl.phases.index(nxt) if nxt >= 0 else None

    @property
    def stage_age_s(self) -> float:
        """How long the current stage has run (s)."""
        return self._state[3]

    @property
    def min_green_s(self) -> float:
        """The intersection's minimum green (s)."""
        return self._state[4]

    @property
    def queue(self) -> np.ndarray:
        """Halted vehicles (speed < 0.1 m/s) per movement."""
        return self._obs.queue[self._ctrl.movements]

    @property
    def approaching(self) -> np.ndarray:
        """Moving vehicles within the observation horizon of the stop line, per movement."""
        return self._obs.approaching[self._ctrl.movements]

    @property
    def waiting_s(self) -> np.ndarray:
        """Summed waiting time on the approach link of the vehicles of each movement (s)."""
        return self._obs.waiting_s[self._ctrl.movements]

    @property
    def downstream_occupancy(self) -> np.ndarray:
        """Occupancy (vehicles / jam capacity, 0..1) of each movement's exit link."""
        return self._obs.edge_occupancy[self._ctrl.movement_out_edges]

    @property
    def upstream_occupancy(self) -> np.ndarray:
        """Occupancy (vehicles / jam capacity, 0..1) of each movement's approach link."""
        return self._obs.edge_occupancy[self._ctrl.movement_in_edges]

    @property
    def phase_movements(self) -> np.ndarray:
        """Boolean matrix (phase x movement): which movements each phase gives green."""
        return self._ctrl.phase_movements.copy()


class SignalController(mesa.Agent):
    """Chooses the phases of one signalized intersection.

    The model calls :meth:`decide` when the simulated time reaches
    :attr:`next_decision_s`; subclasses set that time again in :meth:`decide`.

    Attributes:
        signal: Index of the signal in the compiled network.
        node: Node id of the intersection.
        phases: Global phase indices of this intersection, in cycle order.
        movements: Connection indices of the intersection's movements (sorted).
        movement_in_edges, movement_out_edges: Approach and exit edge of each movement.
        phase_movements: Boolean matrix (phase x movement) of the movements each phase serves.
        next_decision_s: Simulated time (s) of the next call to :meth:`decide`.
        observes: Whether :meth:`decide` reads queues and arrivals; controllers that do
            not (fixed-time) save the model the network-wide observation.
    """

    observes: ClassVar[bool] = True

    def __init__(self, model: mesa.Model, signal: int, node: str, phases: tuple[int, ...]) -> None:
        super().__init__(model)
        net = model.net
        self.signal = signal
        self.node = node
        self.phases = phases
        members = [net.phase_conns[net.phase_conn_ptr[p] : net.phase_conn_ptr[p + 1]] for p in phases]
        self.movements = np.unique(np.concatenate(members)) if members else np.zeros(0, dtype=np.int32)
        self.movement_in_edges = net.conn_from[self.movements]
        self.movement_out_edges = net.conn_to[self.movements]
        self.phase_movements = np.array([np.isin(self.movements, m) for m in members], dtype=bool)
        self.next_decision_s = 0.0

    def start(self) -> tuple[int, float]:
        """The phase to start with (index into :attr:`phases`) and how long it has run (s)."""
        return 0, 0.0

    def decide(self, view: IntersectionView) -> int | None:
        """Return the index into :attr:`phases` to request, or None to keep the current one.

        Implementations also set :attr:`next_decision_s`.
        """
        raise NotImplementedError
