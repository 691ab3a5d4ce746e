"""The environments by name: ``gym.make("citysim/Signals-v0", ...)`` and PettingZoo's ``parallel_env``.

Importing this module registers :data:`SIGNALS_ENV_ID` with Gymnasium (Gymnasium 1.x reads no
plugin entry points, so the import is what registers it)::

    import gymnasium as gym
    import sim.rl.envs  # noqa: F401 (registers citysim/Signals-v0)

    env = gym.make("citysim/Signals-v0", scenario="scenarios/train_grid.toml")

``gym.make("sim.rl.envs:citysim/Signals-v0", ...)`` imports it by itself. PettingZoo keeps no
registry: its environments are made by a module's ``parallel_env()``, here
``sim.rl.envs.parallel_env(scenario="scenarios/train_grid.toml")``. Needs the ``rl`` extra
(``pip install citysim[rl]``).
"""

from __future__ import annotations

import os
from collections.abc import Sequence

import gymnasium

from sim.rl.env import SignalEnv, SignalParallelEnv
from sim.rl.simulation import EnvConfig
from sim.scenario import Overrides, Scenario, load_scenario

__all__ = ["SIGNALS_ENV_ID", "parallel_env", "signal_env"]

SIGNALS_ENV_ID = "citysim/Signals-v0"
"""Gymnasium id of :class:`~sim.rl.env.SignalEnv`, made by :func:`signal_env`."""


def _scenario(scenario: Scenario | str | os.PathLike[str], overrides: Overrides) -> Scenario:
    if isinstance(scenario, Scenario):
        return scenario.with_overrides(overrides) if overrides else scenario
    return load_scenario(scenario, overrides)


def signal_env(
    scenario: Scenario | str | os.PathLike[str],
    node: str | None = None,
    config: EnvConfig | None = None,
    overrides: Overrides = (),
) -> SignalEnv:
    """The Gymnasium environment of one intersection (what ``gym.make(SIGNALS_ENV_ID, ...)`` calls).

    Args:
        scenario: A scenario file (or a validated :class:`~sim.scenario.Scenario`).
        node: Node id of the intersection to drive; default: the first signalized one.
        config: Decision interval, episode length and reward; default ``EnvConfig()``.
        overrides: Scenario overrides, e.g. ``{"demand.scale": 1.2}``, validated like ``--set``.

    Raises:
        ScenarioError: If the file or an override is invalid.
        EnvError: If ``node`` is not a signalized intersection or ``config`` does not fit.
    """
    return SignalEnv(_scenario(scenario, overrides), node=node, config=config)


def parallel_env(
    scenario: Scenario | str | os.PathLike[str],
    config: EnvConfig | None = None,
    nodes: Sequence[str] | None = None,
    overrides: Overrides = (),
) -> SignalParallelEnv:
    """The PettingZoo parallel environment: one agent per signalized intersection.

    Args:
        scenario: A scenario file (or a validated :class:`~sim.scenario.Scenario`).
        config: Decision interval, episode length and reward; default ``EnvConfig()``.
        nodes: Node ids of the intersections to drive; default all.
        overrides: Scenario overrides, validated like ``--set``.

    Raises:
        ScenarioError: If the file or an override is invalid.
        EnvError: If a node is not a signalized intersection or ``config`` does not fit.
    """
    return SignalParallelEnv(_scenario(scenario, overrides), config=config, nodes=nodes)


gymnasium.register(id=SIGNALS_ENV_ID, entry_point=signal_env)
