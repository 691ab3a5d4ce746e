"""Max-pressure signal control (Varaiya 2013), decided every ``signals.max_pressure.decision_interval_s``.

Varaiya's controller gives green to the phase of largest pressure
``γ_s = Σ_{(l,m) ∈ s} w(l,m) c(l,m)``, where ``w(l,m) = x(l,m) - Σ_p r(m,p) x(m,p)`` is the
queue for movement ``l → m`` minus the queue it feeds downstream, and ``c(l,m)`` the
movement's saturation flow. Here, per movement ``i`` of the intersection:

- upstream ``x_i`` (vehicles): the vehicles whose next movement is ``i``, halted anywhere
  on the approach (``view.queue``) or moving within ``signals.observation_horizon_m`` of
  the stop line (``view.approaching``);
- downstream (vehicles): Varaiya's ``Σ_p r(m,p) x(m,p)``, the vehicles on the exit link ``m``
  bound for each movement ``p`` leaving it at its far end, measured like the upstream ones
  (halted on ``m``, or moving within the horizon of its far end:
  ``view.downstream_vehicles``), with the turning ratios ``r(m,p)``, which the controller does not
  know, taken equal: ``1 / (number of movements leaving m)``. An exit that leaves the network
  has no downstream queue (Varaiya's sink). An earlier version counted every vehicle on the
  exit link as queued (store and forward): on real SUMO networks, whose exits are 500 m links
  leaving the network, vehicles driving away weighed against every movement (RiLSA example 3,
  one seed: 78 s of all-trips delay against fixed time's 28 s; 12 s with this measure);
- downstream capacity: a movement whose exit link is full (occupancy at least
  :data:`sim.control.base.FULL_OCCUPANCY`) has a pressure of at most zero: its green would move
  nobody (the capacity-aware variant of Gregoire et al. 2015 in its simplest form);
- spillback: the downstream vehicles weigh ``1 + k q_i``, where ``q_i`` is the standing queue on
  the exit link over its jam capacity (``view.downstream_queue_occupancy``) and ``k`` the
  ``spillback_weight`` (default 30; 0 gives Varaiya's pressure). Varaiya's controller assumes
  links that never fill; on a network near capacity a green into a link whose queue is building
  spills that queue back into the junction upstream, and the blockage spreads (the gridlock
  mechanism). With ``k = 0`` max-pressure lost to tuned fixed time near gridlock on the benchmark
  grid (10x10, one lane, 9,100 veh/h: +47% all-trips delay over 3 seeds); ``k`` = 15 / 30 / 60 /
  120 gave +10% / +4% / +3% / +9%; over 10 seeds ``k = 30`` gave +6% (from +45%) and moved the
  other benchmark cases (lighter grids, arterial, irregular grid, Helsinki, four SUMO
  scenarios) by 0-2 points. Counting the whole exit occupancy instead of its standing queue did
  better near gridlock (-6% with a weight of 6) but cost 20 points on SUMO's ``cross``, whose
  short exit links are often occupied by moving vehicles;
- entry metering: the upstream vehicles of a movement whose approach link enters the network
  (it starts at a dead end on the network's edge, where trips start:
  ``Intersection.movement_enters``) weigh ``e_i = (1 - o_i) ** m``, where ``o_i`` is the
  occupancy of the movement's exit link and ``m`` the ``entry_metering`` exponent (default 2;
  0: they weigh 1, as every other vehicle). Serving a movement inside the network moves
  vehicles that already take room in it; serving one that enters adds vehicles, and once the
  links they enter fill, every vehicle let in slows the ones already inside (past the critical
  density of the network's fundamental diagram its throughput falls: the case for perimeter
  control, Geroliminis, Haddad & Ramezani 2013). A vehicle kept at the edge waits as long as
  it would inside, without blocking anyone. On the benchmark grid near gridlock (10x10, 9,100
  veh/h, 3 seeds) the exponent took max-pressure from 729 s of all-trips delay to 541 s
  (tuned fixed time 699 s); at 5,000 and 7,000 veh/h, on the arterial, the irregular grid,
  Helsinki and SUMO's square, fkk_in, RiLSA1 and cross it moved the delay by -3% to +2%. An
  exponent of 1 gave 608 s near gridlock, 4 gave 548 s but +12% at 7,000 veh/h; a constant
  weight of 0.25 for entering vehicles (whatever the occupancy) gave 501 s near gridlock but
  +26% and +28% at 5,000 and 7,000 veh/h and +49% on the arterial: metering has to follow how
  full the network is;
- weight ``c_i``: the number of approach lanes that serve the movement (saturation flow
  in units of one lane).

So ``pressure(phase) = Σ_{i ∈ phase} c_i (e_i x_i - d_i (1 + k q_i))`` in vehicle-lanes
(:meth:`sim.control.base.Intersection.pressure`). At each decision during a green that has run
its phase's minimum, the controller keeps the current phase if its pressure is the largest
(ties keep it) and otherwise requests the phase of largest pressure (the first in phase order
among equals), over whatever phases the plan has: two, with protected lefts, or an imported
multi-phase program (its own minimum and maximum greens and intergreens). A green that has run
its phase's maximum (where the intersection's plan gives one, e.g. SUMO's ``maxDur``) is kept
only while no other phase has a positive pressure; else the other phase of largest pressure
is requested. After a switch it next decides when the new green has run
``max(its min green, decision interval, its clearing time)``, and never later than its maximum
green. The clearing time (:meth:`sim.control.base.Intersection.clearing_s`) is what the vehicles that
won the green need to cross at saturation flow: without it a switch chosen for a long queue
could be undone one interval later, the queue still standing, and every switch costs an
intergreen. On the benchmark (``bench_signals.py``, 3 seeds, 5 s interval) it took max-pressure
on grid10 at 7,000 veh/h from +23% to -45% against tuned fixed time, and near gridlock from
+87% (7% of trips unfinished) to +47% (all finished); on the arterial from -8% to -14%.

The decision interval (``decision_interval_s``, default 5 s) trades reaction for lost time:
every switch costs an intergreen (4 s on the benchmark grids) in which nobody moves, and a
decision every interval allows a switch every interval. With the clearing time holding the
greens that long queues need, a short interval costs little at high demand and serves light
demand promptly: on the benchmark grid at 5,000 veh/h a 10 s interval left max-pressure level
with tuned fixed time where 5 s beat it by a fifth, and gained a few points only near gridlock.

The horizon (``signals.observation_horizon_m``, default 100 m) is the reach of the
detectors that count approaching vehicles: about 7 s of travel at 50 km/h, so a platoon about to
arrive counts before it stops.
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
        spillback_weight: How much more a movement's downstream vehicles weigh per unit of its
            exit link's standing queue over the link's jam capacity (0: Varaiya's pressure),
            in [0, 1000].
        entry_metering: The vehicles of a movement that enters the network weigh ``(1 - its
            exit link's occupancy) ** entry_metering`` (0: as every other vehicle), in [0, 10].
    """

    decision_interval_s: float = spec_field(5.0, partial(number, gt=0.0, le=600.0))
    spillback_weight: float = spec_field(30.0, partial(number, ge=0.0, le=1000.0))
    entry_metering: float = spec_field(2.0, partial(number, ge=0.0, le=10.0))


class MaxPressureController(SignalController):
    """Serves the phase of largest pressure (see the module docstring).

    No decision is taken before the phase's minimum green has run; the exit links' jam
    capacity (the intersection's ``exit_capacity_veh``) counts them as full. The per-movement
    pressure is :meth:`Intersection.pressure`.
    """

    settings_class = MaxPressureSettings
    settings: MaxPressureSettings

    def start(self) -> Start:
        """Keep the phase matrix as floats; the first decision is at once."""
        self._phase_matrix = self.intersection.phase_movements.astype(float)
        return super().start()

    def pressures(self, view: IntersectionView) -> np.ndarray:
        """Pressure of each phase (vehicle-lanes), in the controller's phase order."""
        settings = self.settings
        spillback = settings.spillback_weight * view.downstream_queue_occupancy
        return self._phase_matrix @ self.intersection.pressure(
            view.queue,
            view.approaching,
            view.downstream_vehicles,
            view.downstream_occupancy,
            spillback,
            settings.entry_metering,
        )

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
        vehicles = view.queue + view.approaching
        return Decision(best, now + self.intersection.next_decision_s(current, best, vehicles, interval_s))
