"""Learned ("AI") signal control: a trained policy run with numpy alone.

The policy (see :mod:`sim.control.learned.policy`) scores each phase from the intersection's features
(:func:`sim.control.learned.features.observe`, the same code the training environments use) and the
controller requests the best one every decision interval. Like every controller it only
requests: the kernel enforces minimum green, yellow and all-red.

A policy that records the phase counts it was trained on (the shipped one: two) runs only at
intersections of at most that many phases: the shipped policy keeps a served phase green while
the queues of three others grow, so on plans with left-turn phases (``signals.left_turns``) it
would strand trips; :meth:`LearnedController.start` says so instead. A policy file that does
not record its phase counts (as ``citysim train`` writes them today) runs anywhere.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial
from pathlib import Path, PurePath
from typing import Any

from sim.control.base import Decision, IntersectionView, SignalController, Start
from sim.control.learned.features import observe, requested_phase
from sim.control.learned.policy import BUILTIN, PolicyError, load_policy
from sim.schema import Context, number, path, spec_field

__all__ = ["LearnedController", "LearnedSettings"]


def _policy(ctx: Context, key: str, value: Any) -> str | Path:
    if value == BUILTIN:
        return value
    if not isinstance(value, str | PurePath):
        raise ctx.fail(key, f"{BUILTIN!r} or the path of a .npz policy file", value)
    return path(ctx, key, value, suffixes=(".npz",))


@dataclass(frozen=True)
class LearnedSettings:
    """``[signals.learned]``.

    Attributes:
        decision_interval_s: Time between decisions (s), in (0, 600].
        policy: ``"builtin"`` (the policy shipped in the package) or a ``.npz`` policy file,
            resolved like other scenario paths.
    """

    decision_interval_s: float = spec_field(5.0, partial(number, gt=0.0, le=600.0))
    policy: str | Path = spec_field(BUILTIN, _policy)


class LearnedController(SignalController):
    """Requests the phase a trained policy values most, every ``decision_interval_s``.

    Attributes:
        policy: The trained policy (loaded by :meth:`start`; every intersection of a process
            shares one copy of each policy file).
    """

    settings_class = LearnedSettings
    settings: LearnedSettings

    def start(self) -> Start:
        """Load the policy; the first decision is at once.

        Raises:
            PolicyError: If the policy file is missing or does not fit the current features, or
                it was trained on intersections of fewer phases than this one has.
        """
        self.policy = load_policy(self.settings.policy)
        counts, n_phases = self.policy.phase_counts, len(self.intersection.phases)
        if counts is not None and n_phases > max(counts):
            trained = " or ".join(map(str, counts))
            raise PolicyError(
                self.settings.policy,
                f"this signals.learned.policy was trained on intersections of {trained} phases and does "
                f"not serve the {n_phases} phases of signalized node {self.intersection.node!r} (left-turn "
                "phases of signals.left_turns, or the node's own signal_plan); use signals.left_turns = "
                '"permitted", another controller, or a policy trained on such plans',
            )
        return super().start()

    def decide(self, view: IntersectionView) -> Decision:
        """Request the greedy phase of the policy; nothing during yellow and all-red."""
        action = self.policy.act(observe(view), len(self.intersection.phases))
        return Decision(requested_phase(view, action), view.now_s + self.settings.decision_interval_s)
