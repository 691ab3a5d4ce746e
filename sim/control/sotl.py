"""Self-organizing traffic lights: Gershenson's (2005) ``sotl-platoon`` method.

Each red phase keeps a counter ``κ`` of vehicle-seconds of demand: every scan it adds the
vehicles on its movements that are halted on the approach or moving within
``signals.observation_horizon_m`` of the stop line (Gershenson's "cars approaching or
waiting at the red light"), times the time since the previous scan. A phase's counter
restarts at zero whenever it is green. The current green is switched to the red phase of
largest ``κ`` when

1. ``κ >= θ`` (``signals.sotl.threshold_veh_s``), and
2. the green has run at least ``φ_min`` (its phase's minimum green: the node's own plan's,
   else ``signals.min_green_s``; the ``sotl-phase`` rule),

unless (the ``sotl-platoon`` restriction) a platoon is about to cross: at least one and at
most ``μ`` (``signals.sotl.platoon_veh``) vehicles are moving towards the green within
``ω``. Then the switch waits, so the tail of a platoon is not cut; more than ``μ``
approaching vehicles do not hold the green, so long platoons can be split. A green that
has run its phase's maximum (where the intersection's plan gives one, e.g. SUMO's
``maxDur``) switches to the red phase of largest ``κ`` as soon as that ``κ`` is above
zero, whatever ``θ`` and the platoon. Gershenson
measures ``ω`` in cells; here ``ω`` is the observation horizon (the distance within which
the view counts approaching vehicles), and halted vehicles on the green do not count as
crossing (they may be held by a full exit link).

The controller scans every simulation step (``dt_s``) during greens, as Gershenson's
lights do every tick; the counters rest during yellow and all-red.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial

import numpy as np

from sim.control.actuated import phase_calls
from sim.control.base import Decision, IntersectionView, SignalController, Stage, Start
from sim.schema import integer, number, spec_field

__all__ = ["SotlController", "SotlSettings"]


@dataclass(frozen=True)
class SotlSettings:
    """``[signals.sotl]``.

    Attributes:
        threshold_veh_s: The red phase's accumulated demand that asks for a switch
            (Gershenson's ``θ``; vehicle-seconds), in (0, 100000].
        platoon_veh: At most this many vehicles (and at least one) approaching the green keep
            it (Gershenson's ``μ``; vehicles), in [0, 100].
    """

    threshold_veh_s: float = spec_field(40.0, partial(number, gt=0.0, le=100_000.0))
    platoon_veh: int = spec_field(3, partial(integer, ge=0, le=100))


class SotlController(SignalController):
    """Switches when the red phases' accumulated demand passes a threshold (see the module docstring).

    Attributes:
        kappa_veh_s: The counter ``κ`` of each phase (vehicle-seconds); zero for the green one.
    """

    settings_class = SotlSettings
    settings: SotlSettings

    def start(self) -> Start:
        """Zero the counters; the first scan is at once."""
        self._phase_matrix = self.intersection.phase_movements.astype(float)
        self.kappa_veh_s = np.zeros(len(self.intersection.phases))
        self._last_scan_s: float | None = None
        return super().start()

    def decide(self, view: IntersectionView) -> Decision:
        """Add the scan's demand to the red counters; switch when the rules allow it."""
        now = view.now_s
        scan = Decision(None, now + self.intersection.step_s)
        if view.stage != Stage.GREEN:
            self._last_scan_s = None
            return scan
        elapsed_s = 0.0 if self._last_scan_s is None else now - self._last_scan_s
        self._last_scan_s = now
        current = view.phase
        self.kappa_veh_s += phase_calls(view, self._phase_matrix) * elapsed_s
        self.kappa_veh_s[current] = 0.0
        plan, settings = self.intersection.plan, self.settings
        if view.stage_age_s < plan.min_green_s[current] - 1e-9:
            return scan
        best = int(np.argmax(self.kappa_veh_s))
        maxed_out = plan.maxed_out(current, view.stage_age_s)
        if not (maxed_out and self.kappa_veh_s[best] > 0.0):
            if self.kappa_veh_s[best] < settings.threshold_veh_s:
                return scan
            crossing = float(self._phase_matrix[current] @ view.approaching)
            if 0 < crossing <= settings.platoon_veh:
                return scan
        self._last_scan_s = None
        return Decision(best, now + plan.intergreens_s[current])
