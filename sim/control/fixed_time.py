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
    coordination; a start that falls in an intergreen begins the next green early (it
    ends on plan).

    Decision times follow the plan, not the steps: the model calls :meth:`decide` at the
    first step at or after :attr:`next_decision_s`, and the next decision is planned from
    that planned time. Planning it from the step's (rounded-up) time instead would add up
    to a step to every fractional green, so that a planned 30 s cycle ran as 31 s.
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
        for i, green in enumerate(self.greens_s):
            if pos < green:
                self._phase = i
                self.next_decision_s = green - pos
                return i, pos
            pos -= green + self.intergreen_s
            if pos < 0.0:
                # in the intergreen after phase i: the next green starts now and ends on plan
                self._phase = (i + 1) % len(self.greens_s)
                self.next_decision_s = -pos + self.greens_s[self._phase]
                return self._phase, 0.0
        # rounding left the position at the very end of the cycle: phase 0 starts now
        self._phase = 0
        self.next_decision_s = self.greens_s[0]
        return 0, 0.0

    def decide(self, view: IntersectionView) -> int | None:
        """At the end of a green, request the next phase; its green ends one intergreen plus green later.

        The next decision is planned from this one's planned time when the call came within
        one step of it (the model's step rounding), else from now (the controller was
        installed or called late, e.g. by :meth:`~sim.model.CityModel.replace_controller`).
        """
        self._phase = (self._phase + 1) % len(self.greens_s)
        on_plan = view.now_s - self.next_decision_s < self.model.dt_s
        planned_s = self.next_decision_s if on_plan else view.now_s
        self.next_decision_s = planned_s + self.intergreen_s + self.greens_s[self._phase]
        return self._phase
