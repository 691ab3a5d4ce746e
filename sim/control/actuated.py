"""Fully actuated signal control: each green ends by gap-out or max-out, as engineers configure it.

Detector model: every movement has one presence detector covering the last
``signals.observation_horizon_m`` metres before the stop line (a long "extended
presence" zone, as used with stop-bar detection). The zone is occupied while a vehicle
whose next movement it is stands anywhere on the approach (``view.queue``: a standing
queue always reaches the stop line) or moves within the zone (``view.approaching``).
A phase *calls* when any of its movements' zones is occupied.

Timing, per green (the usual NEMA fully-actuated phase):

- **Minimum green**: the green runs at least its phase's minimum green (the node's own
  plan's, e.g. SUMO's ``minDur``, else ``signals.min_green_s``; the intersection enforces
  it too).
- **Passage time** (``signals.actuated.passage_time_s``, the unit extension): each scan on which
  the green phase's zones are occupied extends the green; once they have been empty for
  the passage time the phase **gaps out**. With a zone of length ``D`` and vehicles at
  speed ``v`` the largest headway that keeps the green is ``D / v + passage_time_s``
  (about 9 s with the defaults at 50 km/h): shorten the horizon for a snappier
  controller.
- **Maximum green** (its phase's in the node's own plan, e.g. SUMO's ``maxDur``, else
  ``signals.actuated.max_green_s``): timed from the first conflicting call, or from the
  green's start if a call is already waiting when the passage timer starts counting (see
  below); when it runs out the phase **maxes out** even if vehicles still arrive.
- **Rest in green**: a green ends only for a conflicting call, so with no demand elsewhere
  it stays; the next green goes to the next phase in cycle order that calls.

The controller scans every simulation step (``dt_s``) from ``min green - passage time``
into each green (earlier scans could not end it: a gap-out needs the zones empty for the
passage time, and the green cannot end before its minimum), and not at all during the
yellow and all-red after it (its phase's own).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING

import numpy as np

from sim.control.base import Decision, IntersectionView, SignalController, Stage, Start
from sim.schema import Context, number, spec_field

if TYPE_CHECKING:
    from sim.tables import SignalSpec

__all__ = ["ActuatedController", "ActuatedSettings", "phase_calls"]

_EPS = 1e-9


def phase_calls(view: IntersectionView, phase_matrix: np.ndarray) -> np.ndarray:
    """Vehicles occupying each phase's detector zones: halted on the approach or moving in the horizon.

    Args:
        view: The intersection's observation.
        phase_matrix: ``Intersection.phase_movements`` as floats (phase x movement).

    Returns:
        One count per phase (vehicles), in the intersection's phase order.
    """
    return phase_matrix @ (view.queue + view.approaching)


@dataclass(frozen=True)
class ActuatedSettings:
    """``[signals.actuated]`` (times in s).

    Attributes:
        max_green_s: Longest green once a conflicting phase calls, in (0, 600] and
            >= ``signals.min_green_s``.
        passage_time_s: A green whose detector zones stay empty this long gaps out, in [0, 30].
    """

    max_green_s: float = spec_field(60.0, partial(number, gt=0.0, le=600.0))
    passage_time_s: float = spec_field(2.0, partial(number, ge=0.0, le=30.0))

    def validate(self, ctx: Context, key: str, signals: SignalSpec) -> None:
        """Check the maximum green against ``signals.min_green_s``."""
        if self.max_green_s < signals.min_green_s:
            raise ctx.fail(
                f"{key}.max_green_s",
                f"a green >= signals.min_green_s ({signals.min_green_s:g})",
                self.max_green_s,
            )


class ActuatedController(SignalController):
    """Gap-out / max-out control with presence detectors (see the module docstring).

    The minimum greens, maximum greens (where given) and intergreens are the intersection's
    plan's, phase by phase; detectors are scanned every simulation step.
    """

    settings_class = ActuatedSettings
    settings: ActuatedSettings

    def start(self) -> Start:
        """Forget any green seen before; the first green is phase 0, decided at once."""
        n = len(self.intersection.phases)
        self._phase_matrix = self.intersection.phase_movements.astype(float)
        self._cycle_after = [[(p + k) % n for k in range(1, n)] for p in range(n)]
        plan = self.intersection.plan
        self._max_green_s = [self.settings.max_green_s if g is None else g for g in plan.max_green_s]
        self._green: tuple[int, float] | None = None
        self._occupied_s = 0.0
        self._call_s: float | None = None
        return super().start()

    def _first_scan_age_s(self, phase: int) -> float:
        """Green age (s) from which scans of ``phase`` matter: its minimum green less the passage time."""
        return max(self.intersection.plan.min_green_s[phase] - self.settings.passage_time_s, 0.0)

    def decide(self, view: IntersectionView) -> Decision:
        """Scan the detectors; at gap-out or max-out request the next calling phase."""
        now = view.now_s
        scan = Decision(None, now + self.intersection.step_s)
        if view.stage != Stage.GREEN:
            return scan
        age_s = view.stage_age_s
        current = view.phase
        first_scan_age_s = self._first_scan_age_s(current)
        if age_s < first_scan_age_s - _EPS:
            return Decision(None, now + first_scan_age_s - age_s)
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
            return scan
        if self._call_s is None:
            self._call_s = started_s if first_scan else now
        plan = self.intersection.plan
        if age_s < plan.min_green_s[current] - _EPS:
            return scan
        gap_out = now - self._occupied_s >= self.settings.passage_time_s - _EPS
        max_out = now - self._call_s >= self._max_green_s[current] - _EPS
        if not (gap_out or max_out):
            return scan
        after = waiting[0]
        return Decision(after, now + plan.intergreens_s[current] + self._first_scan_age_s(after))
