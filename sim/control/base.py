"""The signal controller interface: an intersection, an observation of it, a decision.

A controller is built from an :class:`Intersection` (a frozen value: its phases as
movements, its timing plan and the geometry a controller may need) and its own typed
settings (the table ``[signals.<controller>]``); it never sees the model. At each decision
time it reads a read-only :class:`IntersectionView` and returns a :class:`Decision`: the
phase to request and when to decide next. The intersection itself (the kernel) enforces
each phase's minimum green and the yellow and all-red after it, so no controller can make
an unsafe or too-fast switch: a request during yellow or all-red, or before the minimum
green, simply waits.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import IntEnum
from typing import TYPE_CHECKING, Any, ClassVar, NamedTuple

import numpy as np

from sim.network.graph import per_phase

if TYPE_CHECKING:
    from sim.control.observe import Observation
    from sim.network.compile import CompiledNetwork

__all__ = [
    "FULL_OCCUPANCY",
    "SATURATION_HEADWAY_S",
    "Decision",
    "Intersection",
    "IntersectionView",
    "NoSettings",
    "SignalController",
    "SignalPlan",
    "Stage",
    "Start",
    "entry_weight",
]


SATURATION_HEADWAY_S = 2.0
"""Seconds per vehicle and lane of a queue discharging at a green: 1,800 veh/h/lane, near
HCM's base saturation flow (1,900 pc/h/ln) less the start-up loss of a short green."""
FULL_OCCUPANCY = 0.9
"""Occupancy (vehicles / jam capacity) from which an exit link counts as full: a green moves nobody in."""


class Stage(IntEnum):
    """Where a signal is in its phase change."""

    GREEN = 0
    YELLOW = 1
    ALL_RED = 2


class Decision(NamedTuple):
    """What a controller decided at one decision time.

    Attributes:
        phase: Index into the intersection's phases to request, or None to keep the current one.
        next_decision_s: Simulated time of the next decision (s), later than now.
    """

    phase: int | None
    next_decision_s: float


class Start(NamedTuple):
    """How a controller starts its signal at time 0.

    Attributes:
        phase: Index into the intersection's phases of the first green.
        elapsed_s: How long that green has already run (s).
        next_decision_s: Simulated time of the first decision (s).
    """

    phase: int
    elapsed_s: float
    next_decision_s: float


@dataclass(frozen=True)
class SignalPlan:
    """The timing an intersection runs: the scenario's (fixed or Webster greens) or its own.

    Every per-phase field holds one value per phase, in phase order; the constructor also
    takes one number for every phase (as the scenario's plans give), and stores it per phase.

    Attributes:
        greens_s: Green per phase (s).
        yellow_s: Yellow after each phase's green (s).
        all_red_s: All-red after each phase's yellow (s).
        offset_s: Start of the first phase's green in the common cycle (s).
        min_green_s: Shortest green of each phase (s); the intersection enforces it.
        max_green_s: Longest green of each phase for the controllers that extend greens (s),
            or None where the plan gives none (the controller's own setting applies).
        intergreens_s: Yellow plus all-red after each phase (s), derived.
    """

    greens_s: tuple[float, ...]
    yellow_s: tuple[float, ...]
    all_red_s: tuple[float, ...]
    offset_s: float
    min_green_s: tuple[float, ...]
    max_green_s: tuple[float | None, ...] = None  # one None: none for every phase
    # derived once: controllers read it at every decision
    intergreens_s: tuple[float, ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        n = len(self.greens_s)
        for name in ("yellow_s", "all_red_s", "min_green_s", "max_green_s"):
            value = getattr(self, name)
            values = per_phase(value, n)
            if len(values) != n:
                raise ValueError(f"SignalPlan.{name}: expected one value per phase ({n}), got {value!r}")
            object.__setattr__(self, name, values)
        intergreens = tuple(y + r for y, r in zip(self.yellow_s, self.all_red_s, strict=True))
        object.__setattr__(self, "intergreens_s", intergreens)

    def maxed_out(self, phase: int, age_s: float) -> bool:
        """Whether a green of ``phase`` that has run ``age_s`` seconds reached its maximum (if any)."""
        max_green_s = self.max_green_s[phase]
        return max_green_s is not None and age_s >= max_green_s - 1e-9

    @property
    def cycle_s(self) -> float:
        """Cycle length: every green and every intergreen (s)."""
        return sum(self.greens_s) + sum(self.intergreens_s)


@dataclass(frozen=True, eq=False)
class Intersection:
    """One signalized intersection as its controller knows it (arrays are read-only).

    Movement arrays follow :attr:`movements`; phase arrays follow :attr:`phases`.

    Attributes:
        signal: Index of the signal in the compiled network.
        node: Node id of the intersection.
        phases: Global phase indices of the intersection, in cycle order.
        movements: Connection indices of its movements (sorted).
        movement_in_edges: Approach edge of each movement.
        movement_out_edges: Exit edge of each movement.
        phase_movements: Boolean matrix (phase x movement) of the movements each phase serves.
        movement_lanes: Approach lanes that serve each movement.
        exit_capacity_veh: Jam capacity of each movement's exit link: lanes times
            ``floor(length / jam spacing)`` (vehicles).
        movement_enters: Whether each movement's approach link enters the network: it starts at
            a node that no link reaches but from this intersection (a dead end at the network's
            edge, where trips start), so serving the movement adds vehicles to the network.
        onward_movement: For each connection leaving a movement's exit link at its far end, the
            movement (index into :attr:`movements`); with :attr:`onward_conns`.
        onward_conns: Those connections (indices into the network's connections).
        onward_share: Each one's assumed turning ratio: 1 / the connections leaving that exit link.
        plan: The timing the intersection runs.
        step_s: Time step of the simulation (s): the finest interval between decisions.
    """

    signal: int
    node: str
    phases: tuple[int, ...]
    movements: np.ndarray
    movement_in_edges: np.ndarray
    movement_out_edges: np.ndarray
    phase_movements: np.ndarray
    movement_lanes: np.ndarray
    exit_capacity_veh: np.ndarray
    movement_enters: np.ndarray
    onward_movement: np.ndarray
    onward_conns: np.ndarray
    onward_share: np.ndarray
    plan: SignalPlan
    step_s: float

    @classmethod
    def of(
        cls, net: CompiledNetwork, signal: int, plan: SignalPlan, jam_spacing_m: float, step_s: float
    ) -> Intersection:
        """The intersection of signal ``signal`` of a compiled network.

        Args:
            net: The compiled network.
            signal: Index of the signal.
            plan: The timing it runs.
            jam_spacing_m: Front-to-front spacing of standing vehicles (m), for the exit links'
                jam capacity.
            step_s: Time step of the simulation (s).
        """
        phases = tuple(range(net.signal_phase_ptr[signal], net.signal_phase_ptr[signal + 1]))
        members = [net.phase_conns[net.phase_conn_ptr[p] : net.phase_conn_ptr[p + 1]] for p in phases]
        movements = np.unique(np.concatenate(members)) if members else np.zeros(0, dtype=np.int32)
        exits = net.conn_to[movements]
        arrays = {
            "movements": movements,
            "movement_in_edges": net.conn_from[movements],
            "movement_out_edges": exits,
            "phase_movements": np.array([np.isin(movements, m) for m in members], dtype=bool),
            "movement_lanes": net.conn_lane_hi[movements] - net.conn_lane_lo[movements] + 1,
            "exit_capacity_veh": np.floor(net.edge_length_m[exits] / jam_spacing_m) * net.edge_lanes[exits],
            "movement_enters": np.array(
                [
                    np.all(net.edge_from[net.edge_to == net.edge_from[approach]] == net.edge_to[approach])
                    for approach in net.conn_from[movements].tolist()
                ],
                dtype=bool,
            ),
        }
        leaving = [np.flatnonzero(net.conn_from == exit_edge) for exit_edge in exits.tolist()]
        counts = [len(conns) for conns in leaving]
        arrays["onward_movement"] = np.repeat(np.arange(len(exits)), counts)
        arrays["onward_conns"] = np.concatenate([np.zeros(0, dtype=np.int64), *leaving])
        arrays["onward_share"] = 1.0 / np.repeat(np.maximum(counts, 1), counts)
        for array in arrays.values():
            array.flags.writeable = False
        node = net.node_ids[net.signal_nodes[signal]]
        return cls(signal, node, phases, **arrays, plan=plan, step_s=step_s)

    def clearing_s(self, phase: int, vehicles: np.ndarray) -> float:
        """Time (s) a green of ``phase`` needs to let ``vehicles`` (per movement) cross at saturation flow.

        Per approach, the vehicles of the phase's movements over the most lanes one of those
        movements uses (movements may share lanes), times :data:`SATURATION_HEADWAY_S`; the
        largest over the phase's approaches.
        """
        served = self.phase_movements[phase]
        approach, at = np.unique(self.movement_in_edges[served], return_inverse=True)
        if not len(approach):
            return 0.0
        per_approach = np.bincount(at, vehicles[served], len(approach))
        lanes = np.zeros(len(approach))
        np.maximum.at(lanes, at, self.movement_lanes[served])
        return SATURATION_HEADWAY_S * float((per_approach / lanes).max())

    def next_decision_s(self, current: int, phase: int, vehicles: np.ndarray, interval_s: float) -> float:
        """When to decide next after requesting ``phase`` from ``current``'s green (s from now).

        After a switch: once the new green has run ``max(its min green, interval_s, its
        clearing time for vehicles)``, never later than its maximum green, after the
        intergreen; keeping the phase: after ``interval_s``. A switch chosen for a long queue is
        thus not undone before the queue could cross, each switch costing an intergreen.
        """
        if phase == current:
            return interval_s
        plan = self.plan
        green_s = max(plan.min_green_s[phase], interval_s, self.clearing_s(phase, vehicles))
        if plan.max_green_s[phase] is not None:
            green_s = min(green_s, plan.max_green_s[phase])
        return plan.intergreens_s[current] + green_s

    def pressure(
        self,
        queue: np.ndarray,
        approaching: np.ndarray,
        downstream_veh: np.ndarray,
        downstream_occupancy: np.ndarray,
        spillback: np.ndarray | float = 0.0,
        metering: float = 0.0,
    ) -> np.ndarray:
        """Max-pressure weight of each movement (vehicle-lanes), as in :mod:`sim.control.max_pressure`.

        The movement's approach lanes times its vehicles (halted on the approach or moving within
        the observation horizon) less the vehicles it feeds downstream
        (:attr:`IntersectionView.downstream_vehicles`) times ``1 + spillback``; at most zero while
        its exit link is full (:data:`FULL_OCCUPANCY`): a green there moves nobody.

        Args:
            queue: Halted vehicles per movement.
            approaching: Moving vehicles within the observation horizon per movement.
            downstream_veh: Vehicles downstream of each movement (see above).
            downstream_occupancy: Occupancy (0..1) of each movement's exit link.
            spillback: How much more the downstream vehicles weigh, per movement (0: Varaiya's
                pressure; max-pressure's is its ``spillback_weight`` times
                :attr:`IntersectionView.downstream_queue_occupancy`).
            metering: The vehicles of a movement that enters the network (:attr:`movement_enters`)
                weigh ``(1 - its exit's occupancy) ** metering`` (0: all weigh 1).
        """
        upstream = (queue + approaching) * entry_weight(self.movement_enters, downstream_occupancy, metering)
        weight = self.movement_lanes * (upstream - downstream_veh * (1.0 + spillback))
        return np.where(downstream_occupancy >= FULL_OCCUPANCY, np.minimum(weight, 0.0), weight)


def entry_weight(enters: np.ndarray, downstream_occupancy: np.ndarray, metering: float) -> np.ndarray:
    """How much the vehicles of each movement weigh in its pressure under entry metering.

    ``(1 - occupancy of its exit link) ** metering`` for a movement that enters the network
    (:attr:`Intersection.movement_enters`), 1 for the others: a vehicle let into a filling network
    takes room the vehicles already in it need, one kept waiting at its edge does not.

    Args:
        enters: Whether each movement enters the network.
        downstream_occupancy: Occupancy (0..1) of each movement's exit link.
        metering: The exponent (0: every vehicle weighs 1).
    """
    free = np.clip(1.0 - downstream_occupancy, 0.0, 1.0)
    return np.where(enters, free**metering, 1.0)


class IntersectionView:
    """What one controller may see of its intersection at a decision time (read-only).

    Movement arrays follow :attr:`Intersection.movements`; every array is a fresh copy,
    computed on first access from one network-wide observation per decision time.

    Attributes:
        now_s: Simulated time (s).
    """

    __slots__ = ("_crossing", "_obs", "_state", "now_s")

    def __init__(self, intersection: Intersection, obs: Observation) -> None:
        self._crossing = intersection
        self._obs = obs
        self._state = obs.signal_state(intersection.signal)
        self.now_s = obs.now_s

    @property
    def phase(self) -> int:
        """Index into the intersection's phases of the phase now green (or ending, in yellow/all-red)."""
        return self._crossing.phases.index(self._state[0])

    @property
    def stage(self) -> Stage:
        """Where the signal is in its phase change."""
        return Stage(self._state[1])

    @property
    def next_phase(self) -> int | None:
        """During yellow and all-red, the phase that comes next; else None."""
        nxt = self._state[2]
        return self._crossing.phases.index(nxt) if nxt >= 0 else None

    @property
    def stage_age_s(self) -> float:
        """How long the current stage has run (s)."""
        return self._state[3]

    @property
    def min_green_s(self) -> float:
        """The minimum green of the phase now green (or ending) (s)."""
        return self._state[4]

    @property
    def queue(self) -> np.ndarray:
        """Halted vehicles (speed < 0.1 m/s) per movement."""
        return self._obs.queue[self._crossing.movements]

    @property
    def approaching(self) -> np.ndarray:
        """Moving vehicles within the observation horizon of the stop line, per movement."""
        return self._obs.approaching[self._crossing.movements]

    @property
    def waiting_s(self) -> np.ndarray:
        """Summed waiting time on the approach link of the vehicles of each movement (s)."""
        return self._obs.waiting_s[self._crossing.movements]

    @property
    def downstream_occupancy(self) -> np.ndarray:
        """Occupancy (vehicles / jam capacity, 0..1) of each movement's exit link."""
        return self._obs.edge_occupancy[self._crossing.movement_out_edges]

    @property
    def upstream_occupancy(self) -> np.ndarray:
        """Occupancy (vehicles / jam capacity, 0..1) of each movement's approach link."""
        return self._obs.edge_occupancy[self._crossing.movement_in_edges]

    @property
    def phase_movements(self) -> np.ndarray:
        """Boolean matrix (phase x movement): which movements each phase gives green."""
        return self._crossing.phase_movements.copy()

    @property
    def movement_lanes(self) -> np.ndarray:
        """Approach lanes that serve each movement."""
        return self._crossing.movement_lanes.copy()

    @property
    def movement_enters(self) -> np.ndarray:
        """Whether each movement's approach link enters the network (:attr:`Intersection.movement_enters`)."""
        return self._crossing.movement_enters.copy()

    @property
    def downstream_queue_occupancy(self) -> np.ndarray:
        """The standing queue on each movement's exit link over the link's jam capacity (0..1).

        The vehicles halted on the link, bound for any connection leaving it; 0 where the exit
        leaves the network; a link too short to hold one vehicle counts as holding one.
        """
        crossing = self._crossing
        halted = np.bincount(
            crossing.onward_movement,
            weights=self._obs.queue[crossing.onward_conns],
            minlength=len(crossing.movements),
        )
        return halted / np.maximum(crossing.exit_capacity_veh, 1.0)

    @property
    def downstream_vehicles(self) -> np.ndarray:
        """Vehicles each movement feeds downstream (see :mod:`sim.control.max_pressure`).

        Those halted on its exit link or moving within the horizon of the link's far end, per
        connection leaving the link (turning ratios taken equal); 0 where the exit leaves the network.
        """
        crossing = self._crossing
        ahead = self._obs.queue[crossing.onward_conns] + self._obs.approaching[crossing.onward_conns]
        return np.bincount(
            crossing.onward_movement, weights=ahead * crossing.onward_share, minlength=len(crossing.movements)
        )

    @property
    def pressure(self) -> np.ndarray:
        """Max-pressure weight of each movement (vehicle-lanes): :meth:`Intersection.pressure` now."""
        return self._crossing.pressure(
            self.queue, self.approaching, self.downstream_vehicles, self.downstream_occupancy
        )


@dataclass(frozen=True)
class NoSettings:
    """The settings of a controller that has none of its own (an empty ``[signals.<name>]`` table)."""


class SignalController:
    """Chooses the phases of one signalized intersection.

    The constructor only stores its arguments. The model calls :meth:`start` once, before the
    first decision (it resets whatever the controller keeps between decisions), then
    :meth:`decide` at every decision time the previous :class:`Decision` named.

    Subclasses name their settings class in :attr:`settings_class`: a frozen dataclass
    declared with :func:`sim.schema.spec_field`, read from ``[signals.<controller name>]``.
    It may define ``validate(ctx, key, signals)`` for checks against the shared
    ``[signals]`` keys (raise ``ctx.fail(...)``; ``key`` is the table's dotted name).

    Args:
        intersection: The intersection it controls.
        settings: Its settings, an instance of :attr:`settings_class`.
    """

    settings_class: ClassVar[type] = NoSettings

    def __init__(self, intersection: Intersection, settings: Any) -> None:
        self.intersection = intersection
        self.settings = settings

    def start(self) -> Start:
        """Reset the controller's state; the first green, its age and the first decision time."""
        return Start(0, 0.0, 0.0)

    def decide(self, view: IntersectionView) -> Decision:
        """The phase to request (index into the intersection's phases, or None) and the next decision time."""
        raise NotImplementedError
