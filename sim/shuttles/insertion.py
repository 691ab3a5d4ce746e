"""The on-demand insertion heuristic, free of the simulation (pure functions).

A shuttle's plan is an ordered list of :class:`Task` (pick up or drop off a rider at a
node). Consecutive tasks at one node form one *visit*: the shuttle halts once, riders
alight, then board, and it dwells ``door_s + board_s * boarding + alight_s * alighting``.
Each task's time is its visit's arrival time; a rider's wait ends at the pickup visit's
arrival and the ride lasts until the dropoff visit's arrival.

A new request is tried at every pickup position ``i`` and dropoff position ``j >= i`` of
every shuttle's plan (Jaw et al.'s insertion; MATSim's DRT does the same). An insertion
is feasible when the load never exceeds the capacity, the new rider's pickup is no later
than its latest pickup and its ride no longer than its maximum ride time, and every rider
already planned keeps its own limits. A rider whose plan is already beyond a limit
(traffic was slower than planned) may not be delayed further, but is not a reason to
reject. Among feasible insertions the cheapest wins: the planned time it adds to the plan
(MATSim's cost), plus, if asked, a weight times the new rider's planned wait.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

from sim.shuttles.legs import Position

__all__ = [
    "Dwell",
    "Insertion",
    "LegTime",
    "Rider",
    "Task",
    "Timeline",
    "best_insertion",
    "better",
    "timeline",
]

LegTime = Callable[[Position, str], tuple[float, Position]]
"""Planned time (s) from a position to a halt at a node, and the position on arrival."""


@dataclass(frozen=True)
class Task:
    """Pick up (``pickup``) or drop off rider ``rider`` (``persons`` people) at ``node``."""

    node: str
    rider: int
    pickup: bool
    persons: int


@dataclass(frozen=True)
class Rider:
    """A rider's limits (s, absolute times).

    Attributes:
        latest_pickup_s: Latest planned pickup (request time + maximum wait).
        max_ride_s: Longest planned ride (alpha * direct ride time + beta).
        board_s: When it boarded, once on board (its pickup task is then done).
    """

    latest_pickup_s: float
    max_ride_s: float
    board_s: float | None = None


@dataclass(frozen=True)
class Dwell:
    """Dwell times (s): per visit with anyone boarding or alighting, per boarding and per alighting person."""

    door_s: float
    board_s: float
    alight_s: float

    def visit_s(self, boarding: int, alighting: int) -> float:
        """Dwell of a visit where ``boarding`` people board and ``alighting`` alight (s)."""
        if boarding == 0 and alighting == 0:
            return 0.0
        return self.door_s + self.board_s * boarding + self.alight_s * alighting


@dataclass(frozen=True)
class Timeline:
    """A plan's planned times.

    Attributes:
        task_s: Arrival time of each task's visit (s).
        end_s: When the last visit's dwell ends (s).
        loads: People on board after each task's visit.
    """

    task_s: tuple[float, ...]
    end_s: float
    loads: tuple[int, ...]


@dataclass(frozen=True)
class Insertion:
    """The chosen insertion (times in s).

    Attributes:
        plan: The new plan.
        added_s: Planned time it adds to the plan.
        cost_s: ``added_s + wait_weight * (pickup_s - request time)``: what insertions compete on.
        pickup_s, dropoff_s: The new rider's planned times.
    """

    plan: tuple[Task, ...]
    added_s: float
    cost_s: float
    pickup_s: float
    dropoff_s: float


@dataclass
class _Walk:
    """A plan driven from a state: its task times, loads and end, or where it broke a limit."""

    task_s: list[float]
    loads: list[int]
    end_s: float
    starts: dict[int, tuple[Position, float, int]] = field(default_factory=dict)
    failed_at: int = -1
    late: bool = False


@dataclass(frozen=True)
class _Limits:
    """What a walk checks: per rider (allowed pickup time, allowed ride) and the capacity."""

    riders: Mapping[int, Rider]
    allowed: Mapping[int, tuple[float, float]]
    pickups: Mapping[int, float]
    capacity: int


def _walk(
    plan: Sequence[Task],
    first: int,
    state: tuple[Position, float, int],
    legs: LegTime,
    dwell: Dwell,
    limits: _Limits | None = None,
) -> _Walk:
    """Drive ``plan[first:]`` from ``state`` = (position, time, load) at the start of task ``first``'s visit.

    ``starts`` records that state at the start of every visit (by its first task). With
    ``limits``, stop at the first task that breaks one: ``failed_at`` is its index and
    ``late`` says whether a time limit (not the capacity) was broken. Pickup times of tasks
    before ``first`` come from ``limits.pickups``.
    """
    position, now, load = state
    walk = _Walk([], [], now)
    pickups = dict(limits.pickups) if limits is not None else {}
    i = first
    while i < len(plan):
        walk.starts[i] = (position, now, load)
        node = plan[i].node
        drive_s, position = legs(position, node)
        now += drive_s
        j = i
        boarding = alighting = 0
        while j < len(plan) and plan[j].node == node:
            task = plan[j]
            if task.pickup:
                boarding += task.persons
                pickups[task.rider] = now
            else:
                alighting += task.persons
            if limits is not None and _late(task, now, pickups, limits):
                walk.failed_at, walk.late = j, True
                return walk
            j += 1
        load += boarding - alighting
        if limits is not None and load > limits.capacity:
            walk.failed_at = i
            return walk
        walk.task_s.extend([now] * (j - i))
        walk.loads.extend([load] * (j - i))
        now += dwell.visit_s(boarding, alighting)
        i = j
    walk.end_s = now
    return walk


def _late(task: Task, time_s: float, pickups: Mapping[int, float], limits: _Limits) -> bool:
    latest_pickup_s, max_ride_s = limits.allowed[task.rider]
    if task.pickup:
        return time_s > latest_pickup_s + 1e-9
    board_s = limits.riders[task.rider].board_s
    begin = board_s if board_s is not None else pickups[task.rider]
    return time_s - begin > max_ride_s + 1e-9


def timeline(
    plan: Sequence[Task], start: Position, start_s: float, load: int, legs: LegTime, dwell: Dwell
) -> Timeline:
    """Planned times of a plan driven from ``start``, free from ``start_s``, with ``load`` people on board."""
    walk = _walk(plan, 0, (start, start_s, load), legs, dwell)
    return Timeline(tuple(walk.task_s), walk.end_s, tuple(walk.loads))


def _allowed(
    plan: Sequence[Task], times: Timeline, riders: Mapping[int, Rider]
) -> dict[int, tuple[float, float]]:
    """Per rider in a plan: (allowed pickup time, allowed ride), each its limit or, if later, its plan now."""
    pickups = {t.rider: s for t, s in zip(plan, times.task_s, strict=True) if t.pickup}
    allowed = {}
    for task, time_s in zip(plan, times.task_s, strict=True):
        if task.pickup:
            continue
        rider = riders[task.rider]
        begin = rider.board_s if rider.board_s is not None else pickups[task.rider]
        pickup_ok = max(rider.latest_pickup_s, pickups.get(task.rider, -math.inf))
        allowed[task.rider] = (pickup_ok, max(rider.max_ride_s, time_s - begin))
    return allowed


def best_insertion(
    plan: Sequence[Task],
    start: Position,
    start_s: float,
    load: int,
    capacity: int,
    riders: Mapping[int, Rider],
    new_rider: int,
    pickup: Task,
    dropoff: Task,
    legs: LegTime,
    dwell: Dwell,
    request_s: float,
    wait_weight: float = 0.0,
) -> Insertion | None:
    """The cheapest feasible insertion of a new rider's pickup and dropoff into one shuttle's plan.

    The cost of an insertion is the planned time it adds to the plan (the operator's
    cost, as in MATSim's DRT) plus ``wait_weight`` times the new rider's planned wait.

    Each candidate is driven from the unchanged start of the visit before its pickup; a
    candidate whose pickup is too late rules out every dropoff position for that pickup,
    and one that is late before its dropoff rules out every later dropoff position.

    Args:
        plan: The shuttle's current plan (tasks of riders in ``riders``).
        start: Where the shuttle is free to drive its plan from.
        start_s: From when (s).
        load: People on board now.
        capacity: Most people on board.
        riders: Limits of every rider in the plan and of the new one.
        new_rider: The new rider's id (its limits in ``riders``).
        pickup: Its pickup task.
        dropoff: Its dropoff task.
        legs: Planned leg times.
        dwell: Dwell times.
        request_s: When the new rider asked (s).
        wait_weight: Weight of the new rider's wait against the added plan time.

    Returns:
        The insertion of least cost (ties: earliest pickup, then the first positions), or
        None if none is feasible.
    """
    n = len(plan)
    base_walk = _walk(plan, 0, (start, start_s, load), legs, dwell)
    base = Timeline(tuple(base_walk.task_s), base_walk.end_s, tuple(base_walk.loads))
    allowed = _allowed(plan, base, riders)
    new = riders[new_rider]
    allowed[new_rider] = (new.latest_pickup_s, new.max_ride_s)
    starts = {0: (start, start_s, load), **base_walk.starts}
    pickups = {task.rider: time_s for task, time_s in zip(plan, base.task_s, strict=True) if task.pickup}
    limits = _Limits(riders, allowed, pickups, capacity)
    best: Insertion | None = None
    for i in range(n + 1):
        first = max(t for t in starts if t < i) if i else 0
        for j in range(i, n + 1):
            candidate = (*plan[:i], pickup, *plan[i:j], dropoff, *plan[j:])
            walk = _walk(candidate, first, starts[first], legs, dwell, limits)
            if walk.failed_at >= 0:
                if walk.late and walk.failed_at <= j:
                    break
                continue
            times = (*base.task_s[:first], *walk.task_s)
            added_s = walk.end_s - base.end_s
            cost_s = added_s + wait_weight * (times[i] - request_s)
            insertion = Insertion(candidate, added_s, cost_s, times[i], times[j + 1])
            if best is None or better(insertion, best):
                best = insertion
    return best


def better(a: Insertion, b: Insertion) -> bool:
    """Whether ``a`` beats ``b``: a lower cost (to 1 ms), then an earlier pickup."""
    if abs(a.cost_s - b.cost_s) > 1e-3:
        return a.cost_s < b.cost_s
    return a.pickup_s < b.pickup_s - 1e-3
