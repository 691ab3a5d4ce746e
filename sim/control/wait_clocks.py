"""How long anyone may have waited for green at an intersection: the safety envelope's clocks.

Movements served by the same phases form a group. Each group has two clocks: the last time
it showed green, and the last time it showed green or was seen without halted vehicles.
Nobody of the group can have waited for green longer than since the second, so it bounds
every wait from above. The clocks are brought up to date from the signal's state at every
decision of the intersection (a green that ended since is dated from the stage ages and the
plan's intergreens). The queues are read only in a long red, at every decision and at least
every ``look_s``: once a group has gone without green for longer than the plan's cycle (but at
most until ``look_s`` before the threshold), so that a vehicle that arrives late in a long red
is not taken for one that waited all along, and a fixed-time plan, which the clocks see green
once a cycle, is not read at all unless its cycle comes close to the threshold. A group is
taken for starved only once a vehicle there has waited at least the threshold less that watch
start.
"""

from __future__ import annotations

import math

import numpy as np

from sim.control.base import Intersection, IntersectionView, Stage

__all__ = ["WaitClocks"]

_EPS = 1e-9


class WaitClocks:
    """The wait clocks of one intersection's movement groups (times in s).

    Args:
        intersection: The intersection.
        threshold_s: A group with halted vehicles whose wait bound reaches this is starved.
        look_s: Longest interval between two readings of the queues in a long red.
    """

    def __init__(self, intersection: Intersection, threshold_s: float, look_s: float) -> None:
        self.plan = intersection.plan
        self.movements = intersection.phase_movements
        groups, member = np.unique(self.movements.T, axis=0, return_inverse=True)
        member = member.ravel()
        self.groups = [tuple(np.flatnonzero(group).tolist()) for group in groups]
        self.members = [np.flatnonzero(member == g) for g in range(len(groups))]
        every = tuple(range(len(groups)))
        self.phase_groups = [
            tuple(g for g in every if p in self.groups[g]) for p in range(len(self.plan.greens_s))
        ]
        self.red_groups = [tuple(g for g in every if g not in served) for served in self.phase_groups]
        self.all_groups = every
        self.threshold_s = threshold_s
        # the clocks see a fixed-time plan green once a cycle (at the end of each green): they read
        # no queue for it, unless its cycle comes close to the threshold
        self.watch_s = max(look_s, min(self.plan.cycle_s + intersection.step_s, threshold_s - look_s))
        self.look_s = look_s
        self.green_s = [0.0] * len(groups)  # every red began at the latest at 0
        self.clear_s = [0.0] * len(groups)  # nobody waited before the run
        self.waiting = [False] * len(groups)  # seen with halted vehicles when read last
        self._seen: int | None = None

    def observe(self, now_s: float, phase: int, stage: Stage, age_s: float) -> tuple[int, ...]:
        """Bring the clocks up to date with the signal's phase, stage and stage age; the groups red now."""
        plan = self.plan
        if stage is not Stage.GREEN:
            self._green(
                self.phase_groups[phase],
                now_s - age_s - (plan.yellow_s[phase] if stage is Stage.ALL_RED else 0.0),
            )
            self._seen = phase
            return self.all_groups
        seen = self._seen
        if seen != phase:
            if seen is not None:
                # the green seen last ended one intergreen before this one began
                self._green(self.phase_groups[seen], now_s - age_s - plan.intergreens_s[seen])
            self._seen = phase
        self._green(self.phase_groups[phase], now_s)
        return self.red_groups[phase]

    def _green(self, groups: tuple[int, ...], time_s: float) -> None:
        """``groups`` showed green at ``time_s``."""
        for g in groups:
            if time_s > self.green_s[g]:
                self.green_s[g] = time_s
                self.clear_s[g] = max(self.clear_s[g], time_s)
                self.waiting[g] = False

    def watch_from_s(self, red: tuple[int, ...]) -> float:
        """When the first of the ``red`` groups enters a long red, whose queues are read (may be past)."""
        green_s, first_s = self.green_s, math.inf
        for g in red:
            first_s = min(first_s, green_s[g])
        return first_s + self.watch_s

    def due_s(self, now_s: float, red: tuple[int, ...]) -> float:
        """When to read the queues next if no decision comes before: a poll, or the start of a long red."""
        due = math.inf
        for g in red:
            if now_s < self.green_s[g] + self.watch_s - _EPS:
                due = min(due, self.green_s[g] + self.watch_s)
            else:
                poll_s = now_s + self.look_s
                due = (
                    min(due, self.clear_s[g] + self.threshold_s, poll_s)
                    if self.waiting[g]
                    else min(due, poll_s)
                )
        return due

    def starved(self, view: IntersectionView, red: tuple[int, ...]) -> tuple[int, float] | None:
        """Read the queues of the groups in a long red; the phase to force and its wait bound, or None.

        A group seen without halted vehicles restarts its wait bound. The starved group is the
        one with halted vehicles whose bound is oldest, once past the threshold; the phase is the
        one of those serving it with the most halted vehicles (the first in phase order on a tie).
        """
        now = view.now_s
        watched = [g for g in red if now >= self.green_s[g] + self.watch_s - _EPS]
        if not watched:
            return None
        queue = view.queue
        for g in watched:
            self.waiting[g] = bool(queue[self.members[g]].sum() > 0)
            if not self.waiting[g]:
                self.clear_s[g] = now
        starved = [g for g in watched if self.waiting[g] and now - self.clear_s[g] >= self.threshold_s - _EPS]
        if not starved:
            return None
        group = min(starved, key=self.clear_s.__getitem__)
        phases = self.groups[group]
        phase = phases[int(np.argmax(self.movements[list(phases)] @ queue))]
        return phase, now - self.clear_s[group]

    def longest_wait_s(self, view: IntersectionView, red: tuple[int, ...]) -> float:
        """The longest any red group with halted vehicles may have waited (0 if none)."""
        now, queue = view.now_s, view.queue
        waits = [now - self.clear_s[g] for g in red if queue[self.members[g]].sum() > 0]
        return max(waits, default=0.0)
