"""Max-pressure signal control (Varaiya 2013), decided every ``signals.decision_interval_s``.

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
decision during a green that has run its minimum, the controller keeps the current phase
if its pressure is the largest (ties keep it) and otherwise requests the phase of largest
pressure (the first in cycle order among equals). After a switch it next decides when the
new green has run ``max(min green, decision interval)``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import mesa
import numpy as np

from sim.control.base import IntersectionView, SignalController, Stage

if TYPE_CHECKING:
    from sim.control.registry import SignalPlan
    from sim.scenario import SignalSpec

__all__ = ["MaxPressureController"]


class MaxPressureController(SignalController):
    """Serves the phase of largest pressure (see the module docstring).

    Args:
        model: The model (its compiled network names the movements and links).
        signal: Index of the signal in the compiled network.
        node: Node id of the intersection.
        phases: Global phase indices of the intersection, in cycle order.
        decision_interval_s: Time between decisions while a green continues (s).
        min_green_s: Minimum green (s); no decision is taken before it has run.
        intergreen_s: Yellow plus all-red (s).
        jam_spacing_m: Front-to-front spacing of standing vehicles (m), for the exit links'
            jam capacity.

    Attributes:
        exit_capacity_veh: Jam capacity of each movement's exit link (vehicles).
        turn_share: Assumed turning ratio onward from each movement's exit link.
        movement_lanes: Approach lanes serving each movement.
    """

    def __init__(
        self,
        model: mesa.Model,
        signal: int,
        node: str,
        phases: tuple[int, ...],
        decision_interval_s: float,
        min_green_s: float,
        intergreen_s: float,
        jam_spacing_m: float,
    ) -> None:
        super().__init__(model, signal, node, phases)
        net = model.net
        self.decision_interval_s = float(decision_interval_s)
        self.min_green_s = float(min_green_s)
        self.intergreen_s = float(intergreen_s)
        exits = self.movement_out_edges
        per_lane = np.floor(net.edge_length_m[exits] / jam_spacing_m)
        self.exit_capacity_veh = per_lane * net.edge_lanes[exits]
        onward = np.bincount(net.conn_from, minlength=net.n_edges)[exits]
        self.turn_share = 1.0 / np.maximum(onward, 1)
        moves = self.movements
        self.movement_lanes = (net.conn_lane_hi[moves] - net.conn_lane_lo[moves] + 1).astype(float)
        self._phase_matrix = self.phase_movements.astype(float)

    @classmethod
    def from_plan(
        cls,
        model: mesa.Model,
        signal: int,
        node: str,
        phases: tuple[int, ...],
        plan: SignalPlan,
        spec: SignalSpec,
    ) -> MaxPressureController:
        """Take the decision interval and minimum green from the signals, jam spacing from the vehicles."""
        vehicles = model.config.vehicles
        return cls(
            model,
            signal,
            node,
            phases,
            spec.decision_interval_s,
            spec.min_green_s,
            plan.intergreen_s,
            vehicles.length_m + vehicles.min_gap_m,
        )

    def pressures(self, view: IntersectionView) -> np.ndarray:
        """Pressure of each phase (vehicle-lanes), in the controller's phase order."""
        upstream = view.queue + view.approaching
        downstream = view.downstream_occupancy * self.exit_capacity_veh * self.turn_share
        weighted = self.movement_lanes * (upstream - downstream)
        return self._phase_matrix @ weighted

    def decide(self, view: IntersectionView) -> int | None:
        """Keep the phase of largest pressure or request it; wait out minimum greens and clearances."""
        now = view.now_s
        if view.stage != Stage.GREEN:
            self.next_decision_s = now + self.decision_interval_s
            return None
        if view.stage_age_s < self.min_green_s - 1e-9:
            self.next_decision_s = now + self.min_green_s - view.stage_age_s
            return None
        pressure = self.pressures(view)
        current = view.phase
        best = int(np.argmax(pressure))
        if pressure[best] <= pressure[current]:
            self.next_decision_s = now + self.decision_interval_s
            return None
        self.next_decision_s = now + self.intergreen_s + max(self.min_green_s, self.decision_interval_s)
        return best
