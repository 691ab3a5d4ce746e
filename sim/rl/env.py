"""Gymnasium and PettingZoo environments of signal control over a :class:`~sim.model.CityModel`.

:class:`SignalEnv` is a Gymnasium environment for one intersection (the scenario's own
controllers run the others); :class:`SignalParallelEnv` is a PettingZoo ``ParallelEnv``
with one agent per signalized intersection. Both drive a
:class:`~sim.rl.simulation.SignalSimulation` (see there how actions reach the signals);
observations and rewards are those of :mod:`sim.control.learned.features`. An episode ends
(``terminated``) when every trip has arrived or the network stalls in gridlock, and is cut
off (``truncated``) at ``episode_s`` or the scenario's ``simulation.max_time_s``.

``reset(seed=s)`` runs the scenario with model seed ``s`` (the same demand as
``citysim run --seed s``); ``reset()`` without a seed draws the next model seed from the
environment's generator, seeded by the last ``reset(seed=...)`` (or, as in Gymnasium, from
operating-system entropy before any). ``reset(options={"overrides": {...}})`` applies scenario
overrides (e.g. ``{"demand.scale": 1.2}``) for that episode, validated like ``--set``;
other option keys are ignored.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import gymnasium
import numpy as np
from gymnasium import spaces
from pettingzoo import ParallelEnv

from sim.control.learned.features import FEATURE_MAX, observation_size
from sim.rl.simulation import EnvConfig, EnvError, SignalSimulation
from sim.scenario import Scenario

__all__ = ["EnvConfig", "EnvError", "SignalEnv", "SignalParallelEnv"]

_MAX_SEED = 2**31 - 1


def _box(n_phases: int) -> spaces.Box:
    return spaces.Box(0.0, FEATURE_MAX, shape=(observation_size(n_phases),), dtype=np.float32)


def _model_seed(rng: np.random.Generator) -> int:
    return int(rng.integers(_MAX_SEED))


class SignalEnv(gymnasium.Env):
    """Gymnasium environment: one agent drives one intersection of a scenario.

    Observation: ``Box(0, FEATURE_MAX, (P * N_PHASE_FEATURES + N_GLOBAL_FEATURES,), float32)`` for
    an intersection of ``P`` phases; action: ``Discrete(P)``, the phase to request.

    Args:
        scenario: The scenario; its other intersections keep the scenario's controllers.
        node: Node id of the intersection to drive; default: the first signalized one.
        config: Decision interval, episode length and reward; default ``EnvConfig()``.

    Raises:
        EnvError: If ``node`` is not a signalized intersection or ``config`` does not fit.
    """

    metadata = {"render_modes": []}

    def __init__(self, scenario: Scenario, node: str | None = None, config: EnvConfig | None = None) -> None:
        self.scenario = scenario
        self.config = EnvConfig() if config is None else config
        self.config.check(scenario)
        probe = SignalSimulation(scenario, scenario.seed, self.config, None if node is None else [node])
        self.node = probe.agents[0] if node is None else node
        n_phases = len(probe.controllers[self.node].intersection.phases)
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

    metadata = {"render_modes": [], "name": "citysim_signals_v0"}

    def __init__(
        self, scenario: Scenario, config: EnvConfig | None = None, nodes: Sequence[str] | None = None
    ) -> None:
        self.scenario = scenario
        self.config = EnvConfig() if config is None else config
        self.config.check(scenario)
        probe = SignalSimulation(scenario, scenario.seed, self.config, nodes)
        self.possible_agents = probe.agents
        n_phases = {node: len(ctrl.intersection.phases) for node, ctrl in probe.controllers.items()}
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
    """The scenario of one episode: ``scenario`` with ``options["overrides"]``, if any.

    Other option keys are ignored, as Gymnasium and PettingZoo expect of an environment.
    """
    overrides = (options or {}).get("overrides")
    return scenario if not overrides else scenario.with_overrides(overrides)
