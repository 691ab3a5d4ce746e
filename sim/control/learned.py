"""Learned ("AI") signal control: a trained policy run with numpy alone.

The policy (see :mod:`sim.rl.policy`) scores each phase from the intersection's features
(:func:`sim.rl.features.observe`, the same code the training environments use) and the
controller requests the best one every decision interval. Like every controller it only
requests: the kernel enforces minimum green, yellow and all-red.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

import mesa

from sim.control.base import IntersectionView, SignalController
from sim.rl.features import observe, requested_phase
from sim.rl.policy import Policy, load_policy

if TYPE_CHECKING:
    from sim.control.registry import SignalPlan
    from sim.scenario import SignalSpec

__all__ = ["LearnedController"]


class LearnedController(SignalController):
    """Requests the phase a trained policy values most, every ``decision_interval_s``.

    Args:
        model: The model.
        signal: Index of the signal in the compiled network.
        node: Node id of the intersection.
        phases: Global phase indices of the intersection, in cycle order.
        policy: The trained policy (shared by every intersection of a model).
        decision_interval_s: Time between decisions (s), > 0.

    Raises:
        ValueError: If ``decision_interval_s`` is not positive.
    """

    def __init__(
        self,
        model: mesa.Model,
        signal: int,
        node: str,
        phases: tuple[int, ...],
        policy: Policy,
        decision_interval_s: float,
    ) -> None:
        if not decision_interval_s > 0.0:
            raise ValueError(
                f"LearnedController at {node}: expected decision_interval_s > 0, got {decision_interval_s}"
            )
        super().__init__(model, signal, node, phases)
        self.policy = policy
        self.decision_interval_s = float(decision_interval_s)

    @classmethod
    def from_plan(
        cls,
        model: mesa.Model,
        signal: int,
        node: str,
        phases: tuple[int, ...],
        plan: SignalPlan,
        spec: SignalSpec,
    ) -> LearnedController:
        """Load ``signals.policy`` (``"builtin"`` or a ``.npz`` file) for ``signals.decision_interval_s``.

        Raises:
            PolicyError: If the policy file is missing or does not fit the current features.
        """
        policy_source: str | os.PathLike[str] = spec.policy
        return cls(model, signal, node, phases, load_policy(policy_source), spec.decision_interval_s)

    def decide(self, view: IntersectionView) -> int | None:
        """Request the greedy phase of the policy; nothing during yellow and all-red."""
        self.next_decision_s = view.now_s + self.decision_interval_s
        return requested_phase(view, self.policy.act(observe(view), len(self.phases)))
