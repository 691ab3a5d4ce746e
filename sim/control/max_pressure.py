"""Max-pressure signal control (Varaiya 2013), decided every ``signals.max_pressure.decision_interval_s``.

Varaiya's controller gives green to the phase of largest pressure
``γ_s = Σ_{(l,m) ∈ s} w(l,m) c(l,m)``, where ``w(l,m) = x(l,m) - Σ_p r(m,p) x(m,p)`` is the
queue for movement ``l → m`` minus the queue it feeds downstream, and ``c(l,m)`` the
movement's saturation flow. Here, per movement ``i`` of the intersection:

- upstream ``x_i`` (vehicles): the vehicles whose next movement is ``i``, halted anywhere
  on the approach (``view.queue``) or moving within ``signals.observation_horizon_m`` of
  the stop line (``view.approaching``);
- downstream (vehicles): Varaiya's store-and-forward queue ``Σ_p r(m,p) x(m,p)`` with
  every vehicle on the exit link ``m`` counted as queued (``view.downstream_occupancy``
  times the link's jam capacity ``lanes * floor(length / (vehicle length + min gap))``)
  and the turning ratios ``r(m,p)``, which the controller does not know, taken equal:
  ``1 / (number of movements leaving m)``. Counting the whole exit link instead (no
  turning ratios) over-weights downstream traffic threefold on a grid and made the
  controller worse than fixed-time on grid10 at high demand;
- weight ``c_i``: the number of approach lanes that serve the movement (saturation flow
  in units of one lane).

So ``pressure(phase) = Σ_{i ∈ phase} c_i (x_i - n_out(i) / k_out(i))`` in vehicle-lanes, with
``n_out`` the vehicles on the exit link and ``k_out`` the movements leaving it. At each
decision during a green that has run its phase's minimum, the controller keeps the current
phase if its pressure is the largest (ties keep it) and otherwise requests the phase of
largest pressure (the first in cycle order among equals). A green that has run its phase's
maximum (where the intersection's plan gives one, e.g. SUMO's ``maxDur``) is kept only
while no other phase has a positive pressure; else the other phase of largest pressure
is requested. After a switch it next decides when the new green has run
``max(its min green, decision interval)``, and never later than its maximum green.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial

import numpy as np

from sim.control.base import Decision, IntersectionView, SignalController, Stage, Start
from sim.schema import number, spec_field

__all__ = ["MaxPressureController", "MaxPressureSettings"]


@dataclass(frozen=True)
class MaxPressureSettings:
    """``[signals.max_pressure]``.

    Attributes:
        decision_interval_s: Time between decisions while a green continues (s), in (0, 600].
    """

    decision_interval_s: float = spec_field(5.0, partial(number, gt=0.0, le=600.0))


class MaxPressureController(SignalController):
    """Serves the phase of largest pressure (see the module docstring).

    No decision is taken before the phase's minimum green has run; the exit links' jam
    capacity (the intersection's ``exit_capacity_veh``) counts them as full.

    Attributes:
        turn_share: Assumed turning ratio onward from each movement's exit link.
    """

    settings_class = MaxPressureSettings
    settings: MaxPressureSettings

    def start(self) -> Start:
        """Derive the turning ratios and weights; the first decision is at once."""
        crossing = self.intersection
        self.turn_share = 1.0 / np.maximum(crossing.exit_onward, 1)
        self._lanes = crossing.movement_lanes.astype(float)
        self._phase_matrix = crossing.phase_movements.astype(float)
        return super().start()

    def pressures(self, view: IntersectionView) -> np.ndarray:
        """Pressure of each phase (vehicle-lanes), in the controller's phase order."""
        upstream = view.queue + view.approaching
        downstream = view.downstream_occupancy * self.intersection.exit_capacity_veh * self.turn_share
        weighted = self._lanes * (upstream - downstream)
        return self._phase_matrix @ weighted

    def decide(self, view: IntersectionView) -> Decision:
        """Keep the phase of largest pressure or request it; wait out minimum greens and clearances."""
        now = view.now_s
        plan, interval_s = self.intersection.plan, self.settings.decision_interval_s
        if view.stage != Stage.GREEN:
            return Decision(None, now + interval_s)
        current, age_s = view.phase, view.stage_age_s
        if age_s < plan.min_green_s[current] - 1e-9:
            return Decision(None, now + plan.min_green_s[current] - age_s)
        pressure = self.pressures(view)
        max_green_s = plan.max_green_s[current]
        maxed_out = plan.maxed_out(current, age_s)
        if maxed_out:
            pressure[current] = -np.inf
        best = int(np.argmax(pressure))
        if pressure[best] <= (0.0 if maxed_out else pressure[current]):
            keep_s = interval_s if max_green_s is None or maxed_out else min(interval_s, max_green_s - age_s)
            return Decision(None, now + keep_s)
        next_s = max(plan.min_green_s[best], interval_s)
        if plan.max_green_s[best] is not None:
            next_s = min(next_s, plan.max_green_s[best])
        return Decision(best, now + plan.intergreens_s[current] + next_s)
