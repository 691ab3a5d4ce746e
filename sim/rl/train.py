"""Training a shared signal policy with double DQN on every intersection of a scenario.

Each episode runs the scenario's :class:`~sim.rl.env.SignalParallelEnv` for
``env.episode_s`` with a fresh model seed and, for generated demand, a demand multiplier
drawn from ``demand_scale`` (so the policy sees light and heavy traffic) and a value of
each of ``variants`` (e.g. ``signals.all_red_s`` in ``(0, 1)``); every agent acts
epsilon-greedily on the one shared network and learns from the shared replay memory.
Every ``eval_every`` episodes the greedy numpy policy (exactly what the learned controller
runs) is evaluated on the full scenario with each of ``eval_seeds`` at each demand
multiplier of ``eval_scales``; the policy with the lowest mean delay so far is the one
written. A trip table is replayed as given: train on it with :meth:`TrainConfig.for_scenario`.

After every episode a checkpoint (``POLICY.ckpt`` beside the policy) is written
atomically; running the same training again resumes from it, so a crash loses at most one
episode. It is deleted once the policy, its JSON sidecar (``POLICY.json``: what it was
trained on, for how long, the learning curve) and the learning curve figure (``POLICY.png``)
are written.
"""

from __future__ import annotations

import json
import logging
import math
import os
import platform
import time
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch
from tqdm.auto import tqdm

from sim import __version__
from sim.control.learned.features import FEATURES_VERSION
from sim.control.learned.policy import Policy, save_policy
from sim.metrics.summary import all_trip_metrics
from sim.plots.rl_figures import plot_learning_curve
from sim.rl.dqn import DoubleDQN, DQNConfig, NStepReturns
from sim.rl.env import SignalParallelEnv
from sim.rl.files import atomic_open
from sim.rl.simulation import EnvConfig, evaluate_policy
from sim.scenario import Scenario

__all__ = ["TrainConfig", "TrainError", "TrainReport", "train"]

_log = logging.getLogger(__name__)


class TrainError(ValueError):
    """Training that cannot start: a bad setting or a checkpoint of another training."""


@dataclass(frozen=True)
class TrainConfig:
    """What and how long to train.

    Attributes:
        episodes: Training episodes (>= 1).
        seed: Seeds the network, exploration, replay sampling and episode model seeds.
        env: Decision interval, episode length and reward of the training environment.
        dqn: Network and learning hyper-parameters.
        epsilon_start, epsilon_end: Exploration rate at the first episode and after decay.
        epsilon_decay: Fraction of the episodes over which epsilon decays linearly.
        demand_scale: Range of the per-episode multiplier of ``demand.scale`` (uniform);
            ``(1.0, 1.0)`` keeps the scenario's demand (required for trip tables).
        variants: Scenario keys varied per episode: ``(dotted key, values)`` pairs, one value
            of each drawn uniformly per episode and applied as an override. Evaluations run
            the scenario as given.
        learn_every: Decision steps (of all agents at once) per gradient step.
        eval_every: Episodes between greedy evaluations (the last episode is always one).
        eval_seeds: Model seeds of the evaluation runs; keep them apart from benchmark seeds.
        eval_scales: Multipliers of ``demand.scale`` of the evaluation runs (each with every
            seed); a policy is selected by its mean delay over all of them, so include a heavy
            demand: that is where policies differ most.
        torch_threads: PyTorch intra-op threads; 1 is fastest for these small networks.
    """

    episodes: int = 80
    seed: int = 0
    env: EnvConfig = EnvConfig()
    dqn: DQNConfig = DQNConfig()
    epsilon_start: float = 1.0
    epsilon_end: float = 0.05
    epsilon_decay: float = 0.4
    demand_scale: tuple[float, float] = (0.3, 1.3)
    variants: tuple[tuple[str, tuple[Any, ...]], ...] = ()
    learn_every: int = 1
    eval_every: int = 5
    eval_seeds: tuple[int, ...] = (100_001, 100_002)
    eval_scales: tuple[float, ...] = (0.5, 1.0, 1.3)
    torch_threads: int = 1

    @classmethod
    def for_scenario(cls, scenario: Scenario, **settings: Any) -> TrainConfig:
        """The default settings for ``scenario``, updated with ``settings``.

        A trip table cannot be scaled, so its demand and evaluation multipliers are 1.
        """
        if scenario.demand.type == "trips":
            settings = {"demand_scale": (1.0, 1.0), "eval_scales": (1.0,)} | settings
        return cls(**settings)

    def check(self, scenario: Scenario) -> None:
        """Raise :class:`TrainError` naming the setting if a value is out of range for ``scenario``."""
        if self.episodes < 1:
            raise TrainError(f"episodes: expected an integer >= 1, got {self.episodes!r}")
        low, high = self.demand_scale
        if not 0.0 < low <= high:
            raise TrainError(f"demand_scale: expected 0 < low <= high, got {self.demand_scale!r}")
        if scenario.demand.type == "trips" and self.demand_scale != (1.0, 1.0):
            raise TrainError(
                f"demand_scale: a trip table ({scenario.source}) is replayed as given; "
                f"expected (1.0, 1.0), got {self.demand_scale!r}"
            )
        for key, values in self.variants:
            if not values:
                raise TrainError(f"variants: expected one or more values for {key!r}, got none")
            for value in values:
                scenario.with_overrides({key: value})  # a ScenarioError names the key and value
        if not self.eval_seeds:
            raise TrainError("eval_seeds: expected at least one seed")
        if not self.eval_scales or min(self.eval_scales) <= 0.0:
            raise TrainError(f"eval_scales: expected one or more multipliers > 0, got {self.eval_scales!r}")
        if scenario.demand.type == "trips" and set(self.eval_scales) != {1.0}:
            raise TrainError(
                f"eval_scales: a trip table ({scenario.source}) is replayed as given; "
                f"expected (1.0,), got {self.eval_scales!r}"
            )
        self.env.check(scenario)

    def epsilon(self, episode: int) -> float:
        """Exploration rate of ``episode`` (0-based)."""
        span = max(self.epsilon_decay * self.episodes, 1.0)
        frac = min(episode / span, 1.0)
        return self.epsilon_start + frac * (self.epsilon_end - self.epsilon_start)


@dataclass(frozen=True)
class TrainReport:
    """What a training wrote and how it went.

    Attributes:
        policy: The policy file.
        sidecar: Its JSON description.
        figure: The learning curve PNG.
        wall_s: Wall-clock training time over all sessions (s), evaluations included.
        best_episode: Episode (1-based) after which the written policy was evaluated.
        best_eval_delay_s: Its mean delay over the evaluation seeds (s).
        curve: One row per episode (see :func:`train`).
    """

    policy: Path
    sidecar: Path
    figure: Path
    wall_s: float
    best_episode: int
    best_eval_delay_s: float
    curve: pd.DataFrame = field(repr=False)


def train(
    scenario: Scenario,
    out: str | os.PathLike[str],
    config: TrainConfig,
    *,
    fresh: bool = False,
    progress: bool = True,
) -> TrainReport:
    """Train a shared policy on ``scenario`` and write it with its sidecar and learning curve.

    Args:
        scenario: The training scenario (generated demand, unless ``demand_scale`` is 1).
        out: The policy file to write (``.npz``); ``.json``, ``.png`` and, while training,
            ``.ckpt`` files are written beside it with the same stem.
        config: What and how long to train.
        fresh: Ignore (and overwrite) an existing checkpoint instead of resuming from it.
        progress: Show a progress bar over episodes.

    Returns:
        The report. Its ``curve`` has per episode: ``episode`` (1-based), ``seed``,
        ``demand_scale``, ``epsilon``, ``mean_reward`` (per agent and decision),
        ``mean_loss``, ``train_delay_s`` (mean delay of every trip due within the episode,
        unfinished ones with their time so far), ``eval_delay_s`` (greedy evaluation, all-trips
        mean over ``eval_seeds`` and ``eval_scales``; NaN between evaluations), ``wall_s``.

    Raises:
        TrainError: If a setting is invalid, ``out`` is not a ``.npz`` path, or a checkpoint
            of a different training is in the way (and ``fresh`` is False).
    """
    target = Path(out)
    if target.suffix != ".npz":
        raise TrainError(f"{target}: expected a policy file name ending in .npz")
    config.check(scenario)
    target.parent.mkdir(parents=True, exist_ok=True)
    checkpoint = target.with_suffix(".ckpt")
    torch.set_num_threads(config.torch_threads)
    learner = DoubleDQN(config.dqn, config.seed)
    rng = np.random.default_rng(config.seed)
    state = _Progress()
    identity = _identity(scenario, config)
    if checkpoint.exists() and not fresh:
        state = _resume(checkpoint, identity, learner, rng)
        _log.info("resuming %s at episode %d", checkpoint, state.episode + 1)

    env = SignalParallelEnv(scenario, config.env)
    groups = _agents_by_phases(env)
    bar = tqdm(
        total=config.episodes, initial=state.episode, unit="episode", disable=not progress, desc="training"
    )
    for episode in range(state.episode, config.episodes):
        started = time.perf_counter()
        row = _run_episode(env, scenario, learner, rng, groups, config, episode)
        last = episode == config.episodes - 1
        if (episode + 1) % config.eval_every == 0 or last:
            policy = learner.online.to_policy(config.env.decision_interval_s)
            delay_s = _evaluate(policy, scenario, config)
            row["eval_delay_s"] = delay_s
            if state.improves(delay_s):
                state.best = (policy, episode + 1, delay_s)
        state.wall_s += time.perf_counter() - started
        row["wall_s"] = state.wall_s
        state.curve.append(row)
        state.episode = episode + 1
        _save_checkpoint(checkpoint, identity, learner, rng, state)
        bar.set_postfix(
            reward=f"{row['mean_reward']:.3f}",
            delay=f"{row['train_delay_s']:.0f}s",
            eps=f"{row['epsilon']:.2f}",
        )
        bar.update(1)
    bar.close()
    report = _write_outputs(target, scenario, config, state)
    checkpoint.unlink(missing_ok=True)
    return report


def _evaluate(policy: Policy, scenario: Scenario, config: TrainConfig) -> float:
    """Mean delay (s) over the evaluation seeds and demand multipliers."""
    delays = []
    for scale in config.eval_scales:
        scaled = (
            scenario
            if scale == 1.0
            else scenario.with_overrides({"demand.scale": scenario.demand.scale * scale})
        )
        delays += evaluate_policy(policy, scaled, config.eval_seeds, config.env)
    return float(np.mean(delays))


# ----- one episode ----------------------------------------------------------------------
def _agents_by_phases(env: SignalParallelEnv) -> dict[int, list[str]]:
    groups: dict[int, list[str]] = {}
    for agent in env.possible_agents:
        groups.setdefault(int(env.action_space(agent).n), []).append(agent)
    return groups


def _run_episode(
    env: SignalParallelEnv,
    scenario: Scenario,
    learner: DoubleDQN,
    rng: np.random.Generator,
    groups: dict[int, list[str]],
    config: TrainConfig,
    episode: int,
) -> dict[str, float]:
    epsilon = config.epsilon(episode)
    scale = float(rng.uniform(*config.demand_scale))
    seed = int(rng.integers(2**31 - 1))
    overrides: dict[str, Any] = {
        key: values[int(rng.integers(len(values)))] for key, values in config.variants
    }
    if config.demand_scale != (1.0, 1.0):
        overrides["demand.scale"] = scenario.demand.scale * scale
    obs, _ = env.reset(seed=seed, options={"overrides": overrides})
    returns = {n: NStepReturns(config.dqn.n_step, config.dqn.gamma) for n in groups}
    rewards_sum, decisions, losses, step = 0.0, 0, [], 0
    while env.agents:
        actions: dict[str, int] = {}
        taken = {}
        for n_phases, agents in groups.items():
            x = np.stack([obs[a] for a in agents])
            greedy = learner.q_values(x, n_phases).argmax(axis=1)
            explore = rng.random(len(agents)) < epsilon
            chosen = np.where(explore, rng.integers(n_phases, size=len(agents)), greedy)
            actions.update(zip(agents, chosen.tolist(), strict=True))
            taken[n_phases] = (x, chosen)
        obs, rewards, terminations, truncations, _ = env.step(actions)
        for n_phases, agents in groups.items():
            x, chosen = taken[n_phases]
            r = np.array([rewards[a] for a in agents], dtype=np.float32)
            x_next = np.stack([obs[a] for a in agents])
            done = [terminations[a] for a in agents]
            complete = returns[n_phases].push(x, chosen, r, x_next, terminated=all(done))
            if any(truncations[a] for a in agents):
                complete += returns[n_phases].flush(x_next)
            for batch in complete:
                learner.remember(n_phases, batch)
            rewards_sum += float(r.sum())
            decisions += len(agents)
        step += 1
        if step % config.learn_every == 0:
            loss = learner.learn()
            if loss is not None:
                losses.append(loss)
    model = env.sim.model
    delay_s = all_trip_metrics(model.trip_records(), model.time_s)["delay_s"].mean()
    return {
        "episode": episode + 1,
        "seed": seed,
        "demand_scale": scale if "demand.scale" in overrides else 1.0,
        **{key: overrides[key] for key, _ in config.variants},
        "epsilon": epsilon,
        "mean_reward": rewards_sum / max(decisions, 1),
        "mean_loss": float(np.mean(losses)) if losses else math.nan,
        "train_delay_s": float(delay_s),
        "eval_delay_s": math.nan,
    }


# ----- checkpoints ----------------------------------------------------------------------
@dataclass
class _Progress:
    """The mutable state of a training between episodes."""

    episode: int = 0
    wall_s: float = 0.0
    curve: list[dict[str, float]] = field(default_factory=list)
    best: tuple[Policy, int, float] | None = None

    def improves(self, delay_s: float) -> bool:
        """Whether an evaluation's mean delay beats the best so far (NaN, no trip done, only beats none)."""
        if self.best is None:
            return True
        best_s = self.best[2]
        return math.isfinite(delay_s) and (not math.isfinite(best_s) or delay_s < best_s)


def _identity(scenario: Scenario, config: TrainConfig) -> dict[str, Any]:
    """What a checkpoint must match to be resumed: the scenario and every setting."""
    return {
        "scenario_key": scenario.key(),
        "config": _jsonable(asdict(config)),
        "features_version": FEATURES_VERSION,
    }


def _save_checkpoint(
    path: Path, identity: dict[str, Any], learner: DoubleDQN, rng: np.random.Generator, state: _Progress
) -> None:
    best = None
    if state.best is not None:
        policy, episode, delay_s = state.best
        best = {
            "weights": policy.weights,
            "interval_s": policy.decision_interval_s,
            "episode": episode,
            "delay_s": delay_s,
        }
    payload = {
        "identity": identity,
        "learner": learner.state(),
        "rng": rng.bit_generator.state,
        "episode": state.episode,
        "wall_s": state.wall_s,
        "curve": state.curve,
        "best": best,
    }
    with atomic_open(path) as handle:
        torch.save(payload, handle)


def _resume(path: Path, identity: dict[str, Any], learner: DoubleDQN, rng: np.random.Generator) -> _Progress:
    try:
        # Our own checkpoint: it holds numpy arrays and dicts, which weights_only refuses.
        payload = torch.load(path, weights_only=False)
    except Exception as exc:  # unpickling fails in many ways; each gets the same advice
        raise TrainError(
            f"{path}: cannot read the checkpoint ({exc}); delete it or train with --fresh"
        ) from None
    if payload.get("identity") != identity:
        raise TrainError(
            f"{path}: the checkpoint belongs to a training with another scenario or settings; "
            "delete it or train with --fresh"
        )
    learner.restore(payload["learner"])
    rng.bit_generator.state = payload["rng"]
    best = payload["best"]
    return _Progress(
        episode=int(payload["episode"]),
        wall_s=float(payload["wall_s"]),
        curve=list(payload["curve"]),
        best=None
        if best is None
        else (
            Policy(tuple(best["weights"]), best["interval_s"]),
            int(best["episode"]),
            float(best["delay_s"]),
        ),
    )


# ----- outputs --------------------------------------------------------------------------
def _write_outputs(target: Path, scenario: Scenario, config: TrainConfig, state: _Progress) -> TrainReport:
    from sim.plots import save_figure

    if state.best is None:
        raise TrainError(f"{target}: no policy was evaluated; the last episode always is, so this is a bug")
    policy, best_episode, best_delay_s = state.best
    save_policy(policy, target)
    curve = pd.DataFrame(state.curve)
    figure = save_figure(
        plot_learning_curve(curve, title=f"{scenario.name}: double DQN"), target.with_suffix(".png")
    )
    sidecar = target.with_suffix(".json")
    description = {
        "policy": target.name,
        "citysim_version": __version__,
        "features_version": FEATURES_VERSION,
        "algorithm": "double DQN, shared phase scorer, target network (Polyak), experience replay",
        "trained_on": {
            "scenario": scenario.name,
            "scenario_key": scenario.key(),
            "scenario_file": Path(scenario.source).name,
            "scenario_tables": scenario.to_dict(),
        },
        "config": _jsonable(asdict(config)),
        "training": {
            "episodes": state.episode,
            "simulated_s_per_episode": config.env.episode_s,
            "wall_s": round(state.wall_s, 1),
            "finished_utc": datetime.now(UTC).isoformat(timespec="seconds"),
            "machine": {"cpus": os.cpu_count(), "platform": platform.platform(), "torch": torch.__version__},
        },
        "selected": {"episode": best_episode, "eval_mean_delay_s": round(best_delay_s, 2)},
        "learning_curve_figure": figure.name,
        "learning_curve": _jsonable(curve.round(4).to_dict(orient="list")),
    }
    with atomic_open(sidecar) as handle:
        handle.write((json.dumps(description, indent=2, allow_nan=False) + "\n").encode("utf-8"))
    return TrainReport(target, sidecar, figure, state.wall_s, best_episode, best_delay_s, curve)


def _jsonable(value: Any) -> Any:
    """Tuples as lists, paths as strings, NaN as None: what ``json.dumps(allow_nan=False)`` takes."""
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, np.generic):
        return _jsonable(value.item())
    if isinstance(value, os.PathLike):
        return str(value)
    return value
