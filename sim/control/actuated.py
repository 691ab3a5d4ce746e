"""Fully actuated signal control: each green ends by gap-out or max-out, as engineers configure it.

Detector model: every movement has one presence detector covering the last
``signals.observation_horizon_m`` metres before the stop line (a long "extended
presence" zone, as used with stop-bar detection). The zone is occupied while a vehicle
whose next movement it is stands anywhere on the approach (``view.queue``: a standing
queue always reaches the stop line) or moves within the zone (``view.approaching``).
A phase *calls* when any of its movements' zones is occupied.

Timing, per green (the usual NEMA fully-actuated phase):

- **Minimum green**: the green runs at least ``signals.min_green_s`` (the intersection
  enforces it too).
- **Passage time** (``signals.passage_time_s``, the unit extension): each scan on which
  the green phase's zones are occupied extends the green; once they have been empty for
  the passage time the phase **gaps out**. With a zone of length ``D`` and vehicles at
  speed ``v`` the largest headway that keeps the green is ``D / v + passage_time_s``
  (about 9 s with the defaults at 50 km/h): shorten the horizon for a snappier
  controller.
- **Maximum green** (``signals.max_green_s``): timed from the first conflicting call, or
  from the green's start if a call is already waiting when the passage timer starts
  counting (see below); when it runs out the phase **maxes out** even if vehicles still
  arrive.
- **Rest in green**: a green ends only for a conflicting call, so with no demand elsewhere
  it stays; the next green goes to the next phase in cycle order that calls.

The controller scans every simulation step (``dt_s``) from ``min green - passage time``
into each green (earlier scans could not end it: a gap-out needs the zones empty for the
passage time, and the green cannot end before its minimum), and not at all during yellow
and all-red.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import mesa
import numpy as np

from sim.control.base import IntersectionView, SignalController, Stage

if TYPE_CHECKING:
    from sim.control.registry import SignalPlan
    from sim.scenario import SignalSpec

__all__ = ["ActuatedController", "phase_calls"]

_EPS = 1e-9


def phase_calls(view: IntersectionView, phase_matrix: np.ndarray) -> np.ndarray:
    """Vehicles occupying each phase's detector zones: halted on the approach or moving in the horizon.

    Args:
        view: The intersection's observation.
        phase_matrix: ``SignalController.phase_movements`` as floats (phase x movement).

    Returns:
        One count per phase (vehicles), in the controller's phase order.
    """
    return phase_matrix @ (view.queue + view.approaching)


class ActuatedController(SignalController):
    """Gap-out / max-out control with presence detectors (see the module docstring).

    Args:
        model: The model (its compiled network names the movements).
        signal: Index of the signal in the compiled network.
        node: Node id of the intersection.
        phases: Global phase indices of the intersection, in cycle order.
        min_green_s: Minimum green (s).
        max_green_s: Maximum green after a conflicting call (s), >= ``min_green_s``.
        passage_time_s: Empty-zone time that ends a green (gap-out) (s).
        intergreen_s: Yellow plus all-red (s).
        scan_s: Interval between detector scans (s), normally the simulation step.
    """

    def __init__(
        self,
        model: mesa.Model,
        signal: int,
        node: str,
        phases: tuple[int, ...],
        min_green_s: float,
        max_green_s: float,
        passage_time_s: float,
        intergreen_s: float,
        scan_s: float,
    ) -> None:
        super().__init__(model, signal, node, phases)
        self.min_green_s = float(min_green_s)
        self.max_green_s = float(max_green_s)
        self.passage_time_s = float(passage_time_s)
        self.intergreen_s = float(intergreen_s)
        self.scan_s = float(scan_s)
        self._phase_matrix = self.phase_movements.astype(float)
        n = len(phases)
        self._cycle_after = [[(p + k) % n for k in range(1, n)] for p in range(n)]
        self._green: tuple[int, float] | None = None
        self._occupied_s = 0.0
        self._call_s: float | None = None

    @classmethod
    def from_plan(
        cls,
        model: mesa.Model,
        signal: int,
        node: str,
        phases: tuple[int, ...],
        plan: SignalPlan,
        spec: SignalSpec,
    ) -> ActuatedController:
        """Take the timing from ``signals.min_green_s``, ``max_green_s`` and ``passage_time_s``."""
        return cls(
            model,
            signal,
            node,
            phases,
            spec.min_green_s,
            spec.max_green_s,
            spec.passage_time_s,
            plan.intergreen_s,
            model.dt_s,
        )

    @property
    def _first_scan_age_s(self) -> float:
        """Green age (s) from which scans matter: minimum green less the passage time."""
        return max(self.min_green_s - self.passage_time_s, 0.0)

    def decide(self, view: IntersectionView) -> int | None:
        """Scan the detectors; at gap-out or max-out request the next calling phase."""
        now = view.now_s
        self.next_decision_s = now + self.scan_s
        if view.stage != Stage.GREEN:
            return None
        age_s = view.stage_age_s
        if age_s < self._first_scan_age_s - _EPS:
            self.next_decision_s = now + self._first_scan_age_s - age_s
            return None
        current = view.phase
        started_s = now - age_s
        # the start is recomputed from the stage age at each scan: compare with a tolerance
        green = self._green
        first_scan = green is None or green[0] != current or abs(green[1] - started_s) > 1e-6
        if first_scan:
            self._green = (current, started_s)
            self._occupied_s = started_s
            self._call_s = None
        calls = phase_calls(view, self._phase_matrix)
        if calls[current] > 0:
            self._occupied_s = now
        waiting = [p for p in self._cycle_after[current] if calls[p] > 0]
        if not waiting:
            return None
        if self._call_s is None:
            self._call_s = started_s if first_scan else now
        if age_s < self.min_green_s - _EPS:
            return None
        gap_out = now - self._occupied_s >= self.passage_time_s - _EPS
        max_out = now - self._call_s >= self.max_green_s - _EPS
        if not (gap_out or max_out):
            return None
        self.next_decision_s = now + self.intergreen_s + self._first_scan_age_s
        return waiting[0]
