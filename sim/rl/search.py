"""A signal policy learned by augmented random search over a family of scenarios.

The policy is the learned controller's phase scorer (:mod:`sim.control.learned.policy`) with one
linear layer over a phase's own features (:data:`sim.control.learned.features.PHASE_FEATURES`): a
phase's score is a weighted sum of the features of the movements it serves, with the same weights
at every intersection, whatever its phases (two-phase, protected lefts, imported multi-phase
programs). The weights of the other phases' mean and of the global features stay zero: they add
the same amount to every phase's score, so a linear scorer's choice cannot depend on them. Only
the ranking of the scores matters, so the weights are kept at unit length.

Search: augmented random search (ARS V1-t, Mania, Guy & Recht 2018). Each iteration draws
``directions`` Gaussian directions ``δ``, runs the policy at ``θ ± noise δ`` on every training
scenario with the iteration's seed (common random numbers: each pair of runs differs only by its
weights), and moves ``θ`` by ``step / (top σ_R) Σ (r₊ - r₋) δ`` over the ``top`` directions whose
better run is best (``σ_R`` the standard deviation of those runs' rewards). The reward of a run is
``-log(1 + all-trips mean delay)`` (every trip counts, unfinished ones with their delay so far),
averaged over the training scenarios: a relative measure, so that a busy network does not outweigh
a quiet one.

Checkpoints: the weights are scored on the validation scenarios (their own seeds,
:data:`VALIDATION_SEEDS`) at the start and every ``validate_every`` iterations; the weights of the
best validation score are the search's result. Training seeds (``TRAINING_SEED_BASE +
iteration``), validation seeds, ``citysim tune``'s seeds (1001-1003) and the benchmarks' seeds
(0-9) are all distinct. Every run goes through the sweep's process pool
(:class:`sim.sweep.batch.BatchRunner`) and every random draw comes from one generator seeded with
``seed``: a search is deterministic for its seed, whatever the number of worker processes.
"""

from __future__ import annotations

import math
import tempfile
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
from tqdm.auto import tqdm

from sim.control.learned.features import N_PHASE_FEATURES, N_PHASE_INPUTS, PHASE_FEATURES
from sim.control.learned.policy import Policy, save_policy
from sim.model import CityModel
from sim.scenario import Scenario
from sim.sweep.batch import BatchRunner

__all__ = [
    "START_WEIGHTS",
    "TRAINING_SEED_BASE",
    "VALIDATION_SEEDS",
    "Checkpoint",
    "SearchConfig",
    "SearchError",
    "SearchReport",
    "linear_policy",
    "phase_counts",
    "search_policy",
]

TRAINING_SEED_BASE = 2000
"""Iteration ``i`` runs every training scenario with seed ``TRAINING_SEED_BASE + i``."""
VALIDATION_SEEDS = (3001, 3002)
"""Seeds of every validation run."""
START_WEIGHTS = {"pressure": 1.0, "spillback": -1.0, "metered": -1.0}
"""The starting weights (unnamed features 0): max-pressure's rule with its spillback weight and
entry metering (:mod:`sim.control.max_pressure`), the phase of largest
``pressure - spillback - metered``."""


class SearchError(ValueError):
    """A search that cannot run: no training or validation scenario, a setting out of range."""


@dataclass(frozen=True)
class SearchConfig:
    """Settings of a search (see the module docstring).

    Attributes:
        iterations: ARS iterations (>= 1).
        directions: Random directions per iteration (>= 1).
        top: Directions used in each update (1..directions).
        step: Step size on the unit sphere of weights (> 0).
        noise: Length of the exploration step along each direction (> 0).
        validate_every: Iterations between validation checkpoints (>= 1).
        decision_interval_s: Decision interval of the controller (s).
        seed: Seed of the random directions.
    """

    iterations: int = 24
    directions: int = 6
    top: int = 3
    step: float = 0.15
    noise: float = 0.2
    validate_every: int = 2
    decision_interval_s: float = 2.0
    seed: int = 0

    def check(self) -> None:
        """Raise :class:`SearchError` for a setting out of range."""
        if min(self.iterations, self.directions, self.validate_every) < 1:
            raise SearchError("expected iterations, directions and validate_every >= 1")
        if not 1 <= self.top <= self.directions:
            raise SearchError(f"expected 1 <= top <= directions ({self.directions}), got {self.top}")
        if not (self.step > 0.0 and self.noise > 0.0 and self.decision_interval_s > 0.0):
            raise SearchError("expected step, noise and decision_interval_s > 0")


@dataclass(frozen=True)
class Checkpoint:
    """The weights after an iteration, scored on the validation scenarios.

    Attributes:
        iteration: Iterations done (0: the start).
        weights: One weight per phase feature (unit length), in :data:`PHASE_FEATURES` order.
        validation_log_delay: Mean over validation runs of ``log(1 + all-trips mean delay)``.
        validation_delay_s: All-trips mean delay of each validation scenario (s), mean over seeds.
        validation_completion: Share of trips completed of each validation scenario, mean over seeds.
    """

    iteration: int
    weights: tuple[float, ...]
    validation_log_delay: float
    validation_delay_s: tuple[float, ...]
    validation_completion: tuple[float, ...]


@dataclass(frozen=True)
class SearchReport:
    """What a search found.

    Attributes:
        config: Its settings.
        training: Names of the training scenarios.
        validation: Names of the validation scenarios.
        phase_counts: Numbers of phases of the intersections trained on.
        training_log_delay: Per iteration, the mean training score of its runs (lower is better).
        checkpoints: Every validation checkpoint, in order.
        best: The checkpoint of the best validation score (the result).
        runs: Simulation runs done.
    """

    config: SearchConfig
    training: tuple[str, ...]
    validation: tuple[str, ...]
    phase_counts: tuple[int, ...]
    training_log_delay: tuple[float, ...]
    checkpoints: tuple[Checkpoint, ...]
    best: Checkpoint
    runs: int

    @property
    def policy(self) -> Policy:
        """The chosen weights as a policy.

        It records no phase counts: a linear scorer of each phase's own features ranks the phases
        of any intersection by the same rule (:attr:`phase_counts` says which it was trained on).
        """
        return linear_policy(self.best.weights, self.config.decision_interval_s)

    def to_dict(self) -> dict:
        """JSON-ready description (the policy record's ``search`` entry)."""
        data = asdict(self)
        data["features"] = list(PHASE_FEATURES)
        return data


def linear_policy(weights: Sequence[float], decision_interval_s: float) -> Policy:
    """A one-layer phase scorer over a phase's own features (the others' weights zero).

    Args:
        weights: One weight per phase feature, in :data:`PHASE_FEATURES` order.
        decision_interval_s: The controller's decision interval (s).
    """
    w = np.zeros((N_PHASE_INPUTS, 1), dtype=np.float32)
    w[:N_PHASE_FEATURES, 0] = weights
    return Policy(((w, np.zeros(1, dtype=np.float32)),), decision_interval_s)


def phase_counts(scenarios: Sequence[Scenario]) -> tuple[int, ...]:
    """The distinct numbers of phases of the signals of ``scenarios`` (built with each one's seed)."""
    counts: set[int] = set()
    for scenario in scenarios:
        net = CityModel(scenario, seed=scenario.seed).net
        counts.update(np.diff(net.signal_phase_ptr).tolist())
    return tuple(sorted(counts))


class _Scorer:
    """Runs weights on scenarios and seeds; a run's score is ``log(1 + all-trips mean delay)``."""

    def __init__(self, batch: BatchRunner, interval_s: float) -> None:
        self.batch, self.interval_s = batch, interval_s

    def overrides(self, weights: np.ndarray) -> dict[str, object]:
        """The scenario keys that run ``weights`` (their policy file written once, named by content)."""
        path = self.batch.file(
            "policy", ".npz", lambda target: save_policy(linear_policy(weights, self.interval_s), target)
        )
        return {
            "signals.controller": "learned",
            "signals.learned.policy": str(path),
            "signals.learned.decision_interval_s": self.interval_s,
        }

    def runs(self, weights: Sequence[np.ndarray], cases: Sequence[tuple[Scenario, int]]) -> np.ndarray:
        """Metrics of every weights x case run: (log delay, delay s, completion), shape (w, cases, 3)."""
        keys = [self.overrides(w) for w in weights]
        pairs = [(base.with_overrides(k), seed) for k in keys for base, seed in cases]
        metrics = self.batch.metrics(pairs)
        values = [
            (math.log1p(m["mean_delay_all_s"]), m["mean_delay_all_s"], m["completion_rate"]) for m in metrics
        ]
        return np.array(values).reshape(len(weights), len(cases), 3)


def search_policy(
    training: Sequence[Scenario],
    validation: Sequence[Scenario],
    config: SearchConfig = SearchConfig(),
    jobs: int = 1,
    progress: bool = False,
) -> SearchReport:
    """Learn the weights of a linear phase scorer (see the module docstring).

    Args:
        training: Training scenarios (each run with the iteration's seed).
        validation: Validation scenarios (each run with every :data:`VALIDATION_SEEDS`).
        config: The search's settings.
        jobs: Worker processes.
        progress: Show a progress bar over runs with the scores so far.

    Raises:
        SearchError: If a list is empty or a setting is out of range.
        sim.sweep.batch.BatchError: If a run fails.
    """
    config.check()
    if not training or not validation:
        raise SearchError("expected at least one training and one validation scenario")
    rng = np.random.default_rng(config.seed)
    theta = np.array([START_WEIGHTS.get(name, 0.0) for name in PHASE_FEATURES])
    theta /= np.linalg.norm(theta)
    n_validations = 1 + math.ceil(config.iterations / config.validate_every)
    per_iteration = 2 * config.directions * len(training)
    total = config.iterations * per_iteration + n_validations * len(validation) * len(VALIDATION_SEEDS)
    bar = tqdm(total=total, unit="run", disable=not progress, leave=False)
    validation_cases = [(scenario, seed) for scenario in validation for seed in VALIDATION_SEEDS]
    checkpoints: list[Checkpoint] = []
    training_scores: list[float] = []
    with tempfile.TemporaryDirectory(prefix="citysim-search-") as scratch:
        runs_done = [0]

        def on_run() -> None:
            runs_done[0] += 1
            bar.update()

        scorer = _Scorer(BatchRunner(Path(scratch), jobs, on_run), config.decision_interval_s)

        def checkpoint(iteration: int) -> None:
            runs = scorer.runs([theta], validation_cases)[0].reshape(
                len(validation), len(VALIDATION_SEEDS), 3
            )
            checkpoints.append(
                Checkpoint(
                    iteration,
                    tuple(float(x) for x in theta),
                    float(runs[..., 0].mean()),
                    tuple(float(x) for x in runs[..., 1].mean(axis=1)),
                    tuple(float(x) for x in runs[..., 2].mean(axis=1)),
                )
            )
            best = min(checkpoints, key=lambda c: c.validation_log_delay)
            bar.set_postfix(validation=f"{checkpoints[-1].validation_log_delay:.3f}", best=best.iteration)

        checkpoint(0)
        for iteration in range(1, config.iterations + 1):
            cases = [(scenario, TRAINING_SEED_BASE + iteration) for scenario in training]
            deltas = rng.standard_normal((config.directions, len(theta)))
            candidates = [theta + sign * config.noise * d for d in deltas for sign in (1.0, -1.0)]
            rewards = -scorer.runs(candidates, cases)[..., 0].mean(axis=1).reshape(config.directions, 2)
            training_scores.append(float(-rewards.mean()))
            order = np.argsort(-rewards.max(axis=1), kind="stable")[: config.top]
            spread = float(rewards[order].std()) or 1.0
            theta = theta + config.step / (config.top * spread) * (
                (rewards[order, 0] - rewards[order, 1]) @ deltas[order]
            )
            theta /= np.linalg.norm(theta)
            if iteration % config.validate_every == 0 or iteration == config.iterations:
                checkpoint(iteration)
        bar.close()
    best = min(checkpoints, key=lambda c: c.validation_log_delay)
    return SearchReport(
        config,
        tuple(s.name for s in training),
        tuple(s.name for s in validation),
        phase_counts([*training, *validation]),
        tuple(training_scores),
        tuple(checkpoints),
        best,
        runs_done[0],
    )
