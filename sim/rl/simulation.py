"""Signals driven from outside a :class:`~sim.model.CityModel`: the core of the RL environments.

A :class:`SignalSimulation` runs one episode: the scenario's model, with the controllers of
chosen intersections replaced by ones that request the phase an agent picked. Every
``decision_interval_s`` each agent picks a phase index, which is requested through the
model's own controller path (:meth:`~sim.control.base.SignalController.decide`), so the kernel enforces
minimum green, yellow and all-red exactly as for any controller, and an action during
yellow or all-red is ignored (:func:`sim.control.learned.features.requested_phase`, as the learned
controller does). Then the model runs ``decision_interval_s`` with
``model.run(until_s=...)``. Observations and rewards are those of :mod:`sim.control.learned.features`.

:func:`evaluate_policy` drives every signal with a numpy policy this way. numpy only: the
Gymnasium and PettingZoo adapters are in :mod:`sim.rl.env`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace

import numpy as np

from sim.control.base import Decision, Intersection, IntersectionView, SignalController
from sim.control.learned.features import REWARDS, observe, requested_phase
from sim.control.learned.policy import Policy
from sim.control.observe import Observation
from sim.metrics.summary import summarize
from sim.model import CityModel
from sim.scenario import Scenario

__all__ = ["EnvConfig", "EnvError", "SignalSimulation", "evaluate_policy"]


class EnvError(ValueError):
    """An environment set up or driven with invalid arguments."""


@dataclass(frozen=True)
class EnvConfig:
    """How an environment drives the model.

    Attributes:
        decision_interval_s: Simulated time between decisions (s), at least the time step.
        episode_s: Simulated time after which an episode is truncated (s).
        reward: A name from :data:`sim.control.learned.features.REWARDS`.
    """

    decision_interval_s: float = 5.0
    episode_s: float = 1800.0
    reward: str = "queue"

    def check(self, scenario: Scenario) -> None:
        """Raise :class:`EnvError` naming the field if a value does not fit ``scenario``."""
        dt_s = scenario.simulation.dt_s
        if not self.decision_interval_s >= dt_s:
            raise EnvError(
                "decision_interval_s: expected >= the time step "
                f"({dt_s:g} s), got {self.decision_interval_s!r}"
            )
        if not self.episode_s >= self.decision_interval_s:
            raise EnvError(
                f"episode_s: expected >= decision_interval_s ({self.decision_interval_s:g} s), "
                f"got {self.episode_s!r}"
            )
        if self.reward not in REWARDS:
            raise EnvError(f"reward: expected one of {', '.join(map(repr, REWARDS))}, got {self.reward!r}")


class _ExternalController(SignalController):
    """Requests the phase its environment set in :attr:`action`, every decision interval.

    Its settings are the environment's :class:`EnvConfig`.
    """

    settings: EnvConfig

    def __init__(self, intersection: Intersection, settings: EnvConfig) -> None:
        super().__init__(intersection, settings)
        self.action: int | None = None

    def decide(self, view: IntersectionView) -> Decision:
        phase = None if self.action is None else requested_phase(view, self.action)
        return Decision(phase, view.now_s + self.settings.decision_interval_s)


class SignalSimulation:
    """One episode: a model whose signals at ``nodes`` are driven by actions, with their features.

    Args:
        scenario: The scenario to run.
        seed: Model seed.
        config: Decision interval, episode length and reward.
        nodes: Node ids of the intersections to drive; None drives every signal.

    Raises:
        EnvError: If a node is not a signalized intersection of the scenario.
    """

    def __init__(
        self, scenario: Scenario, seed: int, config: EnvConfig, nodes: Sequence[str] | None = None
    ) -> None:
        self.config = config
        self.model = CityModel(scenario, seed=seed)
        driven = None if nodes is None else frozenset(nodes)
        agents = {}
        for ctrl in list(self.model.controllers):
            node = ctrl.intersection.node
            if driven is None or node in driven:
                external = _ExternalController(ctrl.intersection, config)
                self.model.replace_controller(external)
                agents[node] = external
        if nodes is not None:
            unknown = [node for node in nodes if node not in agents]
            if unknown:
                raise EnvError(
                    f"nodes: {unknown} are not signalized intersections of {scenario.name!r}; "
                    f"expected some of {sorted(agents)}"
                )
            agents = {node: agents[node] for node in nodes}
        self.controllers: dict[str, _ExternalController] = agents
        self._reward = REWARDS[config.reward]
        self._costs: dict[str, float] = {}
        self._end_s = min(config.episode_s, scenario.simulation.max_time_s)

    @property
    def agents(self) -> list[str]:
        """Node ids of the driven intersections, in signal order."""
        return list(self.controllers)

    def observe(self) -> dict[str, np.ndarray]:
        """Every driven intersection's observation now; remembers their costs for the next reward."""
        obs = Observation(self.model.traffic, self.model.config.signals.observation_horizon_m)
        out = {}
        for node, ctrl in self.controllers.items():
            view = IntersectionView(ctrl.intersection, obs)
            out[node] = observe(view)
            self._costs[node] = self._reward.cost(view)
        return out

    def step(self, actions: Mapping[str, int | None]) -> tuple[dict[str, np.ndarray], dict[str, float]]:
        """Request the phases ``actions`` names, run one decision interval, observe and reward.

        Args:
            actions: Node id -> phase index (None or absent: leave that signal alone).

        Returns:
            Each driven intersection's observation and reward after the interval.

        Raises:
            EnvError: If an action names an unknown node or an invalid phase index.
        """
        for node, action in actions.items():
            ctrl = self.controllers.get(node)
            if ctrl is None:
                raise EnvError(
                    f"actions: {node!r} is not a driven intersection; expected one of {self.agents}"
                )
            n_phases = len(ctrl.intersection.phases)
            if action is not None and not (isinstance(action, int | np.integer) and 0 <= action < n_phases):
                raise EnvError(
                    f"actions[{node!r}]: expected a phase index in 0..{n_phases - 1}, got {action!r}"
                )
        for node, ctrl in self.controllers.items():
            action = actions.get(node)
            ctrl.action = None if action is None else int(action)
        if not self._costs:
            self.observe()
        before = dict(self._costs)
        self.model.run(until_s=self.model.time_s + self.config.decision_interval_s)
        obs = self.observe()
        rewards = {node: self._reward(before[node], self._costs[node]) for node in self.controllers}
        return obs, rewards

    @property
    def terminated(self) -> bool:
        """Whether the model stopped by itself: every trip arrived, or the network stalled."""
        return not self.model.running

    @property
    def truncated(self) -> bool:
        """Whether the episode reached ``episode_s`` or the scenario's ``max_time_s``."""
        return self.model.time_s >= self._end_s - 1e-9


def evaluate_policy(
    policy: Policy, scenario: Scenario, seeds: Sequence[int], config: EnvConfig
) -> list[float]:
    """All-trips mean delay (s) when ``policy`` drives every signal, one value per seed.

    Every trip counts, unfinished ones with their delay so far.

    Each run goes to the scenario's end (``simulation.max_time_s``, every trip arrived, or
    gridlock) with the policy's greedy actions every ``config.decision_interval_s``, through
    the same features and request rule as the learned controller.
    """
    to_end = replace(config, episode_s=scenario.simulation.max_time_s)
    delays = []
    for seed in seeds:
        sim = SignalSimulation(scenario, int(seed), to_end)
        n_phases = {node: len(ctrl.intersection.phases) for node, ctrl in sim.controllers.items()}
        obs = sim.observe()
        while not (sim.terminated or sim.truncated):
            obs, _ = sim.step({node: policy.act(o, n_phases[node]) for node, o in obs.items()})
        delays.append(float(summarize(sim.model.results())["mean_delay_all_s"]))
    return delays
