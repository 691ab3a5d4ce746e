"""Self-organizing traffic lights: Gershenson's (2005) ``sotl-platoon`` method.

Each red phase keeps a counter ``κ`` of vehicle-seconds of demand: every scan it adds the
vehicles on its movements that are halted on the approach or moving within
``signals.observation_horizon_m`` of the stop line (Gershenson's "cars approaching or
waiting at the red light"), times the time since the previous scan. A phase's counter
restarts at zero whenever it is green. The current green is switched to the red phase of
largest ``κ`` when

1. ``κ >= θ`` (``signals.sotl_threshold_veh_s``), and
2. the green has run at least ``φ_min`` (``signals.min_green_s``; the ``sotl-phase`` rule),

unless (the ``sotl-platoon`` restriction) a platoon is about to cross: at least one and at
most ``μ`` (``signals.sotl_platoon_veh``) vehicles are moving towards the green within
``ω``. Then the switch waits, so the tail of a platoon is not cut; more than ``μ``
approaching vehicles do not hold the green, so long platoons can be split. Gershenson
measures ``ω`` in cells; here ``ω`` is the observation horizon (the distance within which
the view counts approaching vehicles), and halted vehicles on the green do not count as
crossing (they may be held by a full exit link).

The controller scans every simulation step (``dt_s``) during greens, as Gershenson's
lights do every tick; the counters rest during yellow and all-red.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import mesa
import numpy as np

from sim.control.actuated import phase_calls
from sim.control.base import IntersectionView, SignalController, Stage

if TYPE_CHECKING:
    from sim.control.registry import SignalPlan
    from sim.scenario import SignalSpec

__all__ = ["SotlController"]


class SotlController(SignalController):
    """Switches when the red phases' accumulated demand passes a threshold (see the module docstring).

    Args:
        model: The model (its compiled network names the movements).
        signal: Index of the signal in the compiled network.
        node: Node id of the intersection.
        phases: Global phase indices of the intersection, in cycle order.
        min_green_s: Minimum green ``φ_min`` (s).
        threshold_veh_s: Threshold ``θ`` of the red phases' counters (vehicle-seconds).
        platoon_veh: ``μ``: at most this many vehicles approaching the green hold it (vehicles).
        intergreen_s: Yellow plus all-red (s).
        scan_s: Interval between scans (s), normally the simulation step.

    Attributes:
        kappa_veh_s: The counter ``κ`` of each phase (vehicle-seconds); zero for the green one.
    """

    def __init__(
        self,
        model: mesa.Model,
        signal: int,
        node: str,
        phases: tuple[int, ...],
        min_green_s: float,
        threshold_veh_s: float,
        platoon_veh: int,
        intergreen_s: float,
        scan_s: float,
    ) -> None:
        super().__init__(model, signal, node, phases)
        self.min_green_s = float(min_green_s)
        self.threshold_veh_s = float(threshold_veh_s)
        self.platoon_veh = int(platoon_veh)
        self.intergreen_s = float(intergreen_s)
        self.scan_s = float(scan_s)
        self._phase_matrix = self.phase_movements.astype(float)
        self.kappa_veh_s = np.zeros(len(phases))
        self._last_scan_s: float | None = None

    @classmethod
    def from_plan(
        cls,
        model: mesa.Model,
        signal: int,
        node: str,
        phases: tuple[int, ...],
        plan: SignalPlan,
        spec: SignalSpec,
    ) -> SotlController:
        """Take ``φ_min``, ``θ`` and ``μ`` from the signal spec."""
        return cls(
            model,
            signal,
            node,
            phases,
            spec.min_green_s,
            spec.sotl_threshold_veh_s,
            spec.sotl_platoon_veh,
            plan.intergreen_s,
            model.dt_s,
        )

    def decide(self, view: IntersectionView) -> int | None:
        """Add the scan's demand to the red counters; switch when the rules allow it."""
        now = view.now_s
        self.next_decision_s = now + self.scan_s
        if view.stage != Stage.GREEN:
            self._last_scan_s = None
            return None
        elapsed_s = 0.0 if self._last_scan_s is None else now - self._last_scan_s
        self._last_scan_s = now
        current = view.phase
        self.kappa_veh_s += phase_calls(view, self._phase_matrix) * elapsed_s
        self.kappa_veh_s[current] = 0.0
        if view.stage_age_s < self.min_green_s - 1e-9:
            return None
        best = int(np.argmax(self.kappa_veh_s))
        if self.kappa_veh_s[best] < self.threshold_veh_s:
            return None
        crossing = float(self._phase_matrix[current] @ view.approaching)
        if 0 < crossing <= self.platoon_veh:
            return None
        self._last_scan_s = None
        self.next_decision_s = now + self.intergreen_s
        return best
