"""Fixed-time signal control: a repeating plan of greens with an offset."""

from __future__ import annotations

from sim.control.base import Decision, IntersectionView, SignalController, Start

__all__ = ["FixedTimeController"]


class FixedTimeController(SignalController):
    """Runs the intersection's plan: phases in order, each for its green and then its own yellow and all-red.

    The cycle is every green plus every phase's intergreen (yellow plus all-red). The offset is the
    time (s) at which the first phase's green starts in the common cycle, for
    coordination; a start that falls in an intergreen begins the next green early (it
    ends on plan). It has no settings of its own.

    Decision times follow the plan, not the steps: the model calls :meth:`decide` at the
    first step at or after the planned time, and the next decision is planned from that
    planned time. Planning it from the step's (rounded-up) time instead would add up to a
    step to every fractional green, so that a planned 30 s cycle ran as 31 s.
    """

    def start(self) -> Start:
        """Phase, elapsed green and first decision at time 0, from the offset."""
        plan = self.intersection.plan
        pos = (-plan.offset_s) % plan.cycle_s
        start = Start(0, 0.0, plan.greens_s[0])
        for i, green in enumerate(plan.greens_s):
            if pos < green:
                start = Start(i, pos, green - pos)
                break
            pos -= green + plan.intergreens_s[i]
            if pos < 0.0:
                # in the intergreen after phase i: the next green starts now and ends on plan
                phase = (i + 1) % len(plan.greens_s)
                start = Start(phase, 0.0, -pos + plan.greens_s[phase])
                break
        # without a break, rounding left the position at the very end of the cycle: phase 0 starts now
        self._phase, self._planned_s = start.phase, start.next_decision_s
        return start

    def decide(self, view: IntersectionView) -> Decision:
        """At the end of a green, request the next phase; it ends after this phase's intergreen and its green.

        The next decision is planned from this one's planned time when the call came within
        one step of it (the model's step rounding), else from now (the controller was
        installed or called late, e.g. by :meth:`~sim.model.CityModel.replace_controller`).
        """
        plan = self.intersection.plan
        ending = self._phase
        self._phase = (ending + 1) % len(plan.greens_s)
        on_plan = view.now_s - self._planned_s < self.intersection.step_s
        planned_s = self._planned_s if on_plan else view.now_s
        self._planned_s = planned_s + plan.intergreens_s[ending] + plan.greens_s[self._phase]
        return Decision(self._phase, self._planned_s)
