"""Learned ("AI") signal control: a trained policy run with numpy alone.

The policy (see :mod:`sim.control.learned.policy`) scores each phase from the intersection's features
(:func:`sim.control.learned.features.observe`, the same code the training environments use) and the
controller requests the best one every decision interval. Like every controller it only
requests: the kernel enforces minimum green, yellow and all-red.

The shipped policy (``builtin``) scores each phase from the summed features of the movements it
serves with weights shared by every phase and intersection, so it runs any phase plan: two
phases, protected lefts, an imported multi-phase program. It was learned on a family of networks
and demands (:mod:`sim.rl.search`, ``benchmarks/train_policy.py``); its record
(``sim/data/policies/builtin.json``) names the training, validation and test sets.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial
from pathlib import Path, PurePath
from typing import Any

from sim.control.base import Decision, IntersectionView, SignalController, Start
from sim.control.learned.features import observe, requested_phase
from sim.control.learned.policy import BUILTIN, load_policy
from sim.schema import Context, flag, number, path, spec_field

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
        decision_interval_s: Time between decisions (s), in (0, 600]. Default 2 s, the interval
            the shipped policy was trained at (an earlier policy, trained at 5 s, did better
            deciding every 2 s on 8 of the 10 benchmark cases: it reacts sooner to a gap in
            traffic; docs/adaptive_signals.md).
        policy: ``"builtin"`` (the policy shipped in the package) or a ``.npz`` policy file,
            resolved like other scenario paths.
        clearing_hold: Whether a green it switches to runs its clearing time before the next
            decision (:meth:`sim.control.base.Intersection.next_decision_s`, as max-pressure's);
            false: a decision every interval, as the agents of the RL environments
            (:mod:`sim.rl.envs`) take them.
    """

    decision_interval_s: float = spec_field(2.0, partial(number, gt=0.0, le=600.0))
    policy: str | Path = spec_field(BUILTIN, _policy)
    clearing_hold: bool = spec_field(True, flag)


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
            PolicyError: If the policy file is missing or does not fit the current features.
        """
        self.policy = load_policy(self.settings.policy)
        return super().start()

    def decide(self, view: IntersectionView) -> Decision:
        """Request the greedy phase of the policy; nothing during yellow and all-red.

        With ``clearing_hold``, a green it switches to runs at least its clearing time before
        the next decision, as max-pressure's (:meth:`sim.control.base.Intersection.next_decision_s`).
        """
        action = self.policy.act(observe(view), len(self.intersection.phases))
        phase, interval_s = requested_phase(view, action), self.settings.decision_interval_s
        if phase is None or not self.settings.clearing_hold:
            return Decision(phase, view.now_s + interval_s)
        vehicles = view.queue + view.approaching
        return Decision(
            phase, view.now_s + self.intersection.next_decision_s(view.phase, phase, vehicles, interval_s)
        )
