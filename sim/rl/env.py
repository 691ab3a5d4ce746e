"""Reinforcement-learning environments over a :class:`~sim.model.CityModel`.

:class:`SignalEnv` is a Gymnasium environment for one intersection (the scenario's own
controllers run the others); :class:`SignalParallelEnv` is a PettingZoo ``ParallelEnv``
with one agent per signalized intersection. Both drive the same :class:`SignalSimulation`:
every ``decision_interval_s`` each agent picks a phase index, which is requested through
the model's own controller path (:meth:`SignalController.decide`), so the kernel enforces
minimum green, yellow and all-red exactly as for any controller, and an action during
yellow or all-red is ignored (:func:`sim.rl.features.requested_phase`). Then the model
runs ``decision_interval_s`` with ``model.run(until_s=...)``.

Observations and rewards are those of :mod:`sim.rl.features`. An episode ends
(``terminated``) when every trip has arrived or the network stalls in gridlock, and is cut
off (``truncated``) at ``episode_s`` or the scenario's ``simulation.max_time_s``.

``reset(seed=s)`` runs the scenario with model seed ``s`` (the same demand as
``citysim run --seed s``); ``reset()`` without a seed draws the next model seed from the
environment's generator. ``reset(options={"overrides": {...}})`` applies scenario
overrides (e.g. ``{"demand.scale": 1.2}``) for that episode, validated like ``--set``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import gymnasium
import numpy as np
from gymnasium import spaces
from pettingzoo import ParallelEnv

from sim.control.base import IntersectionView, SignalController
from sim.control.observe import Observation
from sim.model import CityModel
from sim.rl.features import REWARDS, observation_size, observe, requested_phase
from sim.scenario import Scenario

__all__ = ["EnvConfig", "EnvError", "SignalEnv", "SignalParallelEnv", "SignalSimulation"]

_MAX_SEED = 2**31 - 1


class EnvError(ValueError):
    """An environment set up or driven with invalid arguments."""


@dataclass(frozen=True)
class EnvConfig:
    """How an environment drives the model.

    Attributes:
        decision_interval_s: Simulated time between decisions (s), at least the time step.
        episode_s: Simulated time after which an episode is truncated (s).
        reward: A name from :data:`sim.rl.features.REWARDS`.
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
    """Requests the phase its environment set in :attr:`action`, every decision interval."""

    def __init__(
        self, model: CityModel, signal: int, node: str, phases: tuple[int, ...], interval_s: float
    ) -> None:
        super().__init__(model, signal, node, phases)
        self.interval_s = interval_s
        self.action: int | None = None

    def decide(self, view: IntersectionView) -> int | None:
        self.next_decision_s = view.now_s + self.interval_s
        return None if self.action is None else requested_phase(view, self.action)


class _ExternalModel(CityModel):
    """A CityModel whose signals at ``nodes`` take their phases from outside.

    The scenario's controllers are built as usual (they set each signal's starting phase),
    then those of ``nodes`` are replaced by :class:`_ExternalController` agents.
    """

    def __init__(
        self, scenario: Scenario, seed: int, nodes: frozenset[str] | None, interval_s: float
    ) -> None:
        self._external_nodes = nodes
        self._external_interval_s = interval_s
        super().__init__(scenario, seed=seed)

    def _make_controllers(self) -> list[SignalController]:
        controllers = super()._make_controllers()
        for i, ctrl in enumerate(controllers):
            if self._external_nodes is None or ctrl.node in self._external_nodes:
                controllers[i] = _ExternalController(
                    self, ctrl.signal, ctrl.node, ctrl.phases, self._external_interval_s
                )
                ctrl.remove()
        return controllers


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
        self.model = _ExternalModel(
            scenario, seed, None if nodes is None else frozenset(nodes), config.decision_interval_s
        )
        agents = {c.node: c for c in self.model.controllers if isinstance(c, _ExternalController)}
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
        obs = Observation(self.model.traffic, self.model.scenario.signals.observation_horizon_m)
        out = {}
        for node, ctrl in self.controllers.items():
            view = IntersectionView(ctrl, obs)
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
            n_phases = len(ctrl.phases)
            if action is not None and not (isinstance(action, int | np.integer) and 0 <= action < n_phases):
                raise EnvError(
                    f"actions[{node!r}]: expected a phase index in 0..{n_phases - 1}, got {action!r}"
                )
        for node, ctrl in self.controllers.items():
            action = actions.get(node)
            ctrl.action = None if action is None else int(action)
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


def _box(n_phases: int) -> spaces.Box:
    return spaces.Box(0.0, np.inf, shape=(observation_size(n_phases),), dtype=np.float32)


def _model_seed(rng: np.random.Generator) -> int:
    return int(rng.integers(_MAX_SEED))


class SignalEnv(gymnasium.Env):
    """Gymnasium environment: one agent drives one intersection of a scenario.

    Observation: ``Box(0, inf, (P * N_PHASE_FEATURES + N_GLOBAL_FEATURES,), float32)`` for
    an intersection of ``P`` phases; action: ``Discrete(P)``, the phase to request.

    Args:
        scenario: The scenario; its other intersections keep the scenario's controllers.
        node: Node id of the intersection to drive; default: the first signalized one.
        config: Decision interval, episode length and reward; default ``EnvConfig()``.

    Raises:
        EnvError: If ``node`` is not a signalized intersection or ``config`` does not fit.
    """

    metadata = {"render_modes": []}  # noqa: RUF012 (gymnasium's class attribute)

    def __init__(self, scenario: Scenario, node: str | None = None, config: EnvConfig | None = None) -> None:
        self.scenario = scenario
        self.config = EnvConfig() if config is None else config
        self.config.check(scenario)
        probe = SignalSimulation(scenario, scenario.seed, self.config, None if node is None else [node])
        self.node = probe.agents[0] if node is None else node
        n_phases = len(probe.controllers[self.node].phases)
        self.observation_space = _box(n_phases)
        self.action_space = spaces.Discrete(n_phases)
        self.sim: SignalSimulation | None = None

    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[np.ndarray, dict[str, Any]]:
        """Start an episode (see the module docstring for ``seed`` and ``options``)."""
        super().reset(seed=seed)
        model_seed = seed if seed is not None else _model_seed(self.np_random)
        self.sim = SignalSimulation(_scenario(self.scenario, options), model_seed, self.config, [self.node])
        obs = self.sim.observe()[self.node]
        return obs, {"time_s": self.sim.model.time_s, "seed": model_seed}

    def step(self, action: int) -> tuple[np.ndarray, float, bool, bool, dict[str, Any]]:
        """Request phase ``action``, run one decision interval, return the standard 5-tuple."""
        if self.sim is None:
            raise EnvError("step() called before reset()")
        obs, rewards = self.sim.step({self.node: action})
        info = {"time_s": self.sim.model.time_s}
        terminated = self.sim.terminated
        return obs[self.node], rewards[self.node], terminated, self.sim.truncated and not terminated, info


class SignalParallelEnv(ParallelEnv):
    """PettingZoo parallel environment: one agent per signalized intersection of a scenario.

    Agents are the intersections' node ids. Each agent's observation space is the Box of
    :class:`SignalEnv` for its number of phases, its action space ``Discrete(P)``.

    Args:
        scenario: The scenario.
        config: Decision interval, episode length and reward; default ``EnvConfig()``.
        nodes: Node ids of the intersections to drive; default all (the scenario's own
            controllers run the others).

    Raises:
        EnvError: If a node is not a signalized intersection or ``config`` does not fit.
    """

    metadata = {"render_modes": [], "name": "citysim_signals_v0"}  # noqa: RUF012

    def __init__(
        self, scenario: Scenario, config: EnvConfig | None = None, nodes: Sequence[str] | None = None
    ) -> None:
        self.scenario = scenario
        self.config = EnvConfig() if config is None else config
        self.config.check(scenario)
        probe = SignalSimulation(scenario, scenario.seed, self.config, nodes)
        self.possible_agents = probe.agents
        n_phases = {node: len(ctrl.phases) for node, ctrl in probe.controllers.items()}
        self._observation_spaces = {node: _box(n) for node, n in n_phases.items()}
        self._action_spaces = {node: spaces.Discrete(n) for node, n in n_phases.items()}
        self.agents: list[str] = []
        self.sim: SignalSimulation | None = None
        self._rng = np.random.default_rng()
        self._nodes = None if nodes is None else list(nodes)

    def observation_space(self, agent: str) -> spaces.Box:
        """The observation space of ``agent`` (the same object on every call)."""
        return self._observation_spaces[agent]

    def action_space(self, agent: str) -> spaces.Discrete:
        """The action space of ``agent``, the phase index to request (the same object on every call)."""
        return self._action_spaces[agent]

    def reset(
        self, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[dict[str, np.ndarray], dict[str, dict[str, Any]]]:
        """Start an episode (see the module docstring for ``seed`` and ``options``)."""
        if seed is not None:
            self._rng = np.random.default_rng(seed)
        model_seed = seed if seed is not None else _model_seed(self._rng)
        self.sim = SignalSimulation(_scenario(self.scenario, options), model_seed, self.config, self._nodes)
        self.agents = list(self.possible_agents)
        info = {"time_s": self.sim.model.time_s, "seed": model_seed}
        return self.sim.observe(), {agent: dict(info) for agent in self.agents}

    def step(
        self, actions: Mapping[str, int]
    ) -> tuple[
        dict[str, np.ndarray],
        dict[str, float],
        dict[str, bool],
        dict[str, bool],
        dict[str, dict[str, Any]],
    ]:
        """Request every agent's phase, run one decision interval, return the standard 5 dicts."""
        if self.sim is None or not self.agents:
            raise EnvError("step() called before reset() or after the episode ended")
        obs, rewards = self.sim.step(actions)
        terminated, truncated = self.sim.terminated, self.sim.truncated
        agents = self.agents
        info = {"time_s": self.sim.model.time_s}
        result = (
            obs,
            rewards,
            {agent: terminated for agent in agents},
            {agent: truncated and not terminated for agent in agents},
            {agent: dict(info) for agent in agents},
        )
        if terminated or truncated:
            self.agents = []
        return result


def _scenario(scenario: Scenario, options: Mapping[str, Any] | None) -> Scenario:
    """The scenario of one episode: ``scenario`` with ``options["overrides"]``, if any."""
    if not options:
        return scenario
    unknown = sorted(set(options) - {"overrides"})
    if unknown:
        raise EnvError(f"reset options: unknown key(s) {unknown}; expected 'overrides'")
    return scenario.with_overrides(options["overrides"])
