"""Fixed-time signal control: a repeating plan of greens with an offset."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import mesa

from sim.control.base import IntersectionView, SignalController

if TYPE_CHECKING:
    from sim.control.registry import SignalPlan
    from sim.scenario import SignalSpec

__all__ = ["FixedTimeController"]


class FixedTimeController(SignalController):
    """Runs phases in order, each for its green, with yellow and all-red between them.

    The cycle is ``sum(greens) + len(greens) * (yellow_s + all_red_s)``. The offset is the
    time (s) at which the first phase's green starts in the common cycle, for
    coordination; a start that falls in an intergreen begins the next green early.
    """

    observes = False

    def __init__(
        self,
        model: mesa.Model,
        signal: int,
        node: str,
        phases: tuple[int, ...],
        greens_s: Sequence[float],
        intergreen_s: float,
        offset_s: float = 0.0,
    ) -> None:
        super().__init__(model, signal, node, phases)
        self.greens_s = tuple(float(g) for g in greens_s)
        self.intergreen_s = float(intergreen_s)
        self.offset_s = float(offset_s)
        self._phase = 0

    @classmethod
    def from_plan(
        cls,
        model: mesa.Model,
        signal: int,
        node: str,
        phases: tuple[int, ...],
        plan: SignalPlan,
        spec: SignalSpec,
    ) -> FixedTimeController:
        """Run the scenario's plan as it is."""
        return cls(model, signal, node, phases, plan.greens_s, plan.intergreen_s, plan.offset_s)

    @property
    def cycle_s(self) -> float:
        """Cycle length (s)."""
        return sum(self.greens_s) + len(self.greens_s) * self.intergreen_s

    def start(self) -> tuple[int, float]:
        """Phase and elapsed green at time 0, from the offset."""
        pos = (-self.offset_s) % self.cycle_s
        i = 0
        for i, green in enumerate(self.greens_s):
            if pos < green:
                self._phase = i
                self.next_decision_s = green - pos
                return i, pos
            pos -= green + self.intergreen_s
            if pos < 0 or i == len(self.greens_s) - 1:
                break
        nxt = (i + 1) % len(self.greens_s)
        self._phase = nxt
        self.next_decision_s = self.greens_s[nxt]
        return nxt, 0.0

    def decide(self, view: IntersectionView) -> int | None:
        """At the end of a green, request the next phase; its green ends one intergreen plus green later."""
        self._phase = (self._phase + 1) % len(self.greens_s)
        self.next_decision_s = view.now_s + self.intergreen_s + self.greens_s[self._phase]
        return self._phase
