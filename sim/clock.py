"""One clock for every timed event of a run: reports, agents' timers and controller decisions.

An event runs at the start of the first step at or after its time. Events sit in one heap
ordered by that step's time, then by kind (:class:`EventKind`: at the same step the report
that closes the interval comes first, then agents' timers, then controller decisions), then
by their own time and the order they were scheduled. So two runs that schedule the same
events take the same actions in the same order, in any process.
"""

from __future__ import annotations

import heapq
import itertools
import math
from collections.abc import Callable, Collection, Iterator
from enum import IntEnum

__all__ = ["Clock", "EventKind"]

_EPS = 1e-9


class EventKind(IntEnum):
    """What an event is; at the same step the lower value runs first."""

    REPORT = 0
    TIMER = 1
    DECISION = 2


class Clock:
    """A heap of timed events on a grid of steps.

    Args:
        step_s: The simulation step (s); events run at step boundaries.
    """

    def __init__(self, step_s: float) -> None:
        self.step_s = float(step_s)
        self._heap: list[tuple[float, EventKind, float, int, Callable[[], None]]] = []
        self._order = itertools.count()

    def step_time_s(self, time_s: float) -> float:
        """The start (s) of the first step at or after ``time_s``."""
        return math.ceil(time_s / self.step_s - _EPS) * self.step_s if math.isfinite(time_s) else time_s

    def schedule(self, time_s: float, kind: EventKind, action: Callable[[], None]) -> None:
        """Run ``action()`` at the start of the first step at or after ``time_s`` (s)."""
        entry = (self.step_time_s(time_s), kind, float(time_s), next(self._order), action)
        heapq.heappush(self._heap, entry)

    def peek(self, kind: EventKind | None = None) -> float:
        """Step time (s) of the next event (of ``kind`` if given); infinity if there is none."""
        if kind is None:
            return self._heap[0][0] if self._heap else math.inf
        return min((entry[0] for entry in self._heap if entry[1] is kind), default=math.inf)

    def due(
        self, now_s: float, kinds: Collection[EventKind] = tuple(EventKind)
    ) -> Iterator[Callable[[], None]]:
        """Pop and yield, in order, the actions of the events due at ``now_s`` (s) or before.

        Stops at the first due event whose kind is not among ``kinds`` (it stays for a later
        pass). Events an action schedules for ``now_s`` or earlier are yielded in the same pass.
        """
        while self._heap and self._heap[0][0] <= now_s + _EPS and self._heap[0][1] in kinds:
            yield heapq.heappop(self._heap)[4]

    def __len__(self) -> int:
        return len(self._heap)
