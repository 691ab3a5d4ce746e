"""Signal plans optimized by simulation (``citysim tune``), written as a plan file.

The objective is the all-trips mean delay (``mean_delay_all_s`` of
:func:`sim.metrics.summary.summarize`: unfinished trips count with their delay so far), averaged
over the tuning seeds. Every candidate runs on the same seeds (common random numbers), so two
candidates differ by their plans, not by their demand draws. The default tuning seeds,
:data:`TUNING_SEEDS`, are held apart from the seeds results are reported on: ``citysim compare``
runs the scenario's seed and the nine after it (1 to 51 for the shipped scenarios) and the
benchmarks seeds 0 to 9, so a tuned plan is judged on demand it was not tuned on.

The search is a (1 + λ) evolution strategy (Rechenberg 1973; Beyer & Schwefel 2002) with
λ = :data:`OFFSPRING`: each generation mutates the best plan so far into λ candidates (each gene
with probability 2/n, at least one, by a normal step scaled per kind of gene and by a global
step size that grows by 1.5 after a generation that improves and shrinks by 0.8 after one that
does not), and keeps the best candidate if it beats its parent. The first generation probes the
main axes instead (see below). It is deterministic for a search seed: λ does not depend on the
worker processes, and runs are reported in candidate order. Runs go through the sweep's process
pool (:class:`sim.sweep.batch.BatchRunner`); a candidate met before is not run again (its plan
file and so its run key are the same).

What is tuned, starting from the coordinated plan (:func:`sim.control.timing.coordinated_plans`,
on the mean of the flows of the tuning seeds' demands):

- ``fixed_time``: the common cycle (a factor on the coordinated cycle, within [30, 180] s; the
  coordinated plan is rebuilt on it: Webster greens and progression offsets), each phase's share
  of the green time beyond the minimum greens, and each signal's offset (a shift). First
  generation: the cycle at 0.8 and 1.25 times, and alternating offsets (half a cycle apart
  between linked signals, by the parity of a breadth-first search from the busiest signal).
- ``actuated``: a factor on every maximum green, one per phase, the passage time (0.5-8 s) and a
  shift of every minimum green (at least 3 s or the scenario's, at most the coordinated green).
  It starts from the better of the scenario's own settings and maximum greens 1.5 times the
  coordinated greens (the usual rule of thumb: 1.25-1.5 times the green the cycle needs). First
  generation: maximum greens at 0.7 and 1.4 times, passage time 1 s shorter and longer.

Each candidate's plan covers every signal, so the scenario's own timing does not matter to it;
the actuated candidates also set ``signals.actuated.passage_time_s``, which the plan file cannot
hold: ``citysim tune`` prints it. The tuned plans can overfit the tuning seeds: compare them on
the evaluation seeds.
"""

from __future__ import annotations

import math
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
from tqdm.auto import tqdm

from sim.control.base import SignalPlan
from sim.control.coordination import signal_links
from sim.control.plans import NodePlan, write_plan_file
from sim.control.timing import MAX_CYCLE_S, MIN_CYCLE_S, DemandFlows, coordinated_plans, signal_plans
from sim.model import CityModel
from sim.scenario import Scenario
from sim.sweep.batch import BatchError, BatchRunner

__all__ = [
    "DEFAULT_BUDGET",
    "OFFSPRING",
    "START_NAMES",
    "TUNABLE",
    "TUNING_SEEDS",
    "Score",
    "TuneError",
    "TuneResult",
    "tune",
]

TUNING_SEEDS = (1001, 1002, 1003)
"""Default tuning seeds: not compare's (the scenario's seed and nine after it), nor the benchmarks' (0-9)."""
DEFAULT_BUDGET = 100
"""Default number of candidate plans to run, each on every tuning seed: minutes for grid5 on 2 cores."""
OFFSPRING = 4
"""Candidates per generation (λ)."""
TUNABLE = ("fixed_time", "actuated")
"""The controllers whose plans ``tune`` optimizes."""
START_NAMES = {
    "fixed_time": ("coordinated plan",),
    "actuated": ("the scenario's maximum greens", "maximum greens 1.5 x the coordinated greens"),
}
"""Per controller, the starts of the search, in the order they are run."""
_STEP_GROWTH, _STEP_SHRINK = 1.5, 0.8
_SHARE_FLOOR = 0.05  # a phase with no share beyond its minimum can still gain one
_MIN_GREEN_FLOOR_S = 3.0
_PASSAGE_RANGE_S = (0.5, 8.0)
_START_MAX_FACTOR = 1.5


class TuneError(ValueError):
    """A tuning that cannot run: an unknown controller, no seeds, a budget below 1, a failed run."""


@dataclass(frozen=True)
class Score:
    """One candidate over the tuning seeds.

    Attributes:
        delay_s: Mean over the seeds of the all-trips mean delay (s).
        completion: Mean over the seeds of the share of trips completed.
    """

    delay_s: float
    completion: float


@dataclass(frozen=True)
class TuneResult:
    """What :func:`tune` found.

    Attributes:
        controller: The controller tuned.
        seeds: The tuning seeds.
        plans: ``(node id, plan)`` of every signal, in signal order: the plan file's content.
        passage_time_s: The tuned ``signals.actuated.passage_time_s`` (actuated), else None.
        cycle_s: The tuned common cycle (fixed_time), else None.
        before: The scenario as it is, run by ``controller``.
        start_name: Which start the search took (:data:`START_NAMES`).
        start: The start: the coordinated plan (fixed_time) or the better actuated start.
        tuned: The tuned plans.
        evaluations: Candidate plans run (each on every seed), the starts included.
    """

    controller: str
    seeds: tuple[int, ...]
    plans: tuple[tuple[str, NodePlan], ...]
    passage_time_s: float | None
    cycle_s: float | None
    before: Score
    start_name: str
    start: Score
    tuned: Score
    evaluations: int

    def record(self, scenario: Scenario, budget: int, search_seed: int) -> dict[str, Any]:
        """The plan file's ``[tuning]`` table: what was tuned, how, and the scores (s, shares)."""
        scores = {f"{name}_{key}": getattr(getattr(self, name), field)
                  for name in ("before", "start", "tuned")
                  for key, field in (("delay_s", "delay_s"), ("completion", "completion"))}  # fmt: skip
        extra = {"passage_time_s": self.passage_time_s} if self.passage_time_s is not None else {}
        return {
            "scenario": scenario.name,
            "controller": self.controller,
            "objective": "mean_delay_all_s",
            "seeds": list(self.seeds),
            "budget": budget,
            "search_seed": search_seed,
            "evaluations": self.evaluations,
            "start": self.start_name,
            **{key: round(value, 4) for key, value in scores.items()},
            **extra,
        }


@dataclass(frozen=True)
class _Candidate:
    """A decoded genome: every signal's plan, and the passage time (actuated)."""

    plans: tuple[tuple[str, NodePlan], ...]
    passage_time_s: float | None = None


class _Space:
    """The plans a genome stands for (see the module docstring), built once per tuning.

    Args:
        scenario: The scenario with the tuned controller.
        controller: ``"fixed_time"`` or ``"actuated"``.
        seeds: The tuning seeds: the flows the coordinated plans use are their mean.
    """

    def __init__(self, scenario: Scenario, controller: str, seeds: Sequence[int]) -> None:
        models = [CityModel(scenario, seed=seed) for seed in seeds]
        flows = [DemandFlows.of(model.router, model.trips) for model in models]
        self.flows = DemandFlows(*(np.mean(arrays, axis=0) for arrays in zip(*flows, strict=True)))
        model = models[0]
        self.net, self.signals, self.controller = model.net, scenario.signals, controller
        self.nodes = [model.net.node_ids[node] for node in model.net.signal_nodes.tolist()]
        # every signal's phases, intergreens, minimum and maximum greens, before any timing
        untimed = replace(scenario.signals, timing="fixed", plan_file=None)
        self.pre = signal_plans(untimed, model.graph, model.net, None)
        self.graph = model.graph
        self.start_plans = coordinated_plans(self.signals, self.graph, self.net, self.flows, self.pre)
        self.cycle_s = self.start_plans[0].cycle_s if self.start_plans else MIN_CYCLE_S
        self.phases = [len(plan.greens_s) for plan in self.pre]
        self._split = np.cumsum([0, *self.phases])
        self._cache: dict[float, list[SignalPlan]] = {self.cycle_s: self.start_plans}
        n_phases, n_signals = int(self._split[-1]), len(self.pre)
        if controller == "fixed_time":
            self.scale = np.array([0.15] + [0.3] * n_phases + [0.15 * self.cycle_s] * n_signals)
        else:
            self.scale = np.array([0.2, 0.5, 1.0] + [0.2] * n_phases)
            settings = scenario.signals.settings_of("actuated")
            self.passage_time_s = settings.passage_time_s
            own = [[settings.max_green_s if g is None else g for g in plan.max_green_s] for plan in self.pre]
            factor = [[_START_MAX_FACTOR * g for g in plan.greens_s] for plan in self.start_plans]
            self.max_bases = [own, factor]
            self.max_base = own

    def starts(self) -> list[_Candidate]:
        """The start candidates: the coordinated plan (actuated: the scenario's maximum greens, then 1.5x)."""
        if self.controller == "fixed_time":
            return [self.decode(np.zeros(len(self.scale)))]
        starts = []
        for base in self.max_bases:
            self.max_base = base
            starts.append(self.decode(np.zeros(len(self.scale))))
        return starts

    def choose_start(self, index: int) -> None:
        """Search from start ``index`` of :meth:`starts` (the genome of zeros decodes to it)."""
        if self.controller == "actuated":
            self.max_base = self.max_bases[index]

    def coordinated(self, cycle_s: float) -> list[SignalPlan]:
        """The coordinated plans on cycle ``cycle_s`` (s), remembered."""
        if cycle_s not in self._cache:
            self._cache[cycle_s] = coordinated_plans(
                self.signals, self.graph, self.net, self.flows, self.pre, cycle_s
            )
        return self._cache[cycle_s]

    def decode(self, x: np.ndarray) -> _Candidate:
        """The candidate of genome ``x`` (all zeros: the start)."""
        if self.controller == "fixed_time":
            return self._fixed_time(x)
        return self._actuated(x)

    def _fixed_time(self, x: np.ndarray) -> _Candidate:
        lowest = max([MIN_CYCLE_S, *(sum(p.min_green_s) + sum(p.intergreens_s) for p in self.pre)])
        cycle_s = (
            self.cycle_s
            if x[0] == 0.0
            else float(np.clip(self.cycle_s * math.exp(x[0]), lowest, MAX_CYCLE_S))
        )
        base = self.coordinated(cycle_s)
        split = x[1 : 1 + self._split[-1]]
        shifts = x[1 + self._split[-1] :]
        plans = []
        for s, plan in enumerate(base):
            genes = split[self._split[s] : self._split[s + 1]]
            free_s = plan.cycle_s - sum(plan.intergreens_s) - sum(plan.min_green_s)
            extra = np.subtract(plan.greens_s, plan.min_green_s)
            shares = extra / free_s if free_s > 0.0 else np.zeros(len(extra))
            weights = np.maximum((shares + _SHARE_FLOOR) * np.exp(genes) - _SHARE_FLOOR, 0.0)
            if free_s > 0.0 and weights.sum() > 0.0:
                greens = np.add(plan.min_green_s, free_s * weights / weights.sum())
            else:
                greens = np.array(plan.greens_s)
            planned = NodePlan.of(greens.tolist(), plan.intergreens_s, plan.offset_s + shifts[s])
            plans.append((self.nodes[s], planned))
        return _Candidate(tuple(plans))

    def _actuated(self, x: np.ndarray) -> _Candidate:
        passage_s = float(np.clip(self.passage_time_s + x[1], *_PASSAGE_RANGE_S))
        tweaks = x[3:]
        plans = []
        for s, (pre, plan) in enumerate(zip(self.pre, self.start_plans, strict=True)):
            genes = tweaks[self._split[s] : self._split[s + 1]]
            floors = [min(g, _MIN_GREEN_FLOOR_S) for g in pre.min_green_s]
            mins = np.clip(np.add(pre.min_green_s, x[2]), floors, plan.greens_s)
            maxes = np.maximum(np.multiply(self.max_base[s], np.exp(x[0] + genes)), mins)
            planned = NodePlan.of(
                plan.greens_s, plan.intergreens_s, plan.offset_s, mins.tolist(), maxes.tolist()
            )
            plans.append((self.nodes[s], planned))
        return _Candidate(tuple(plans), passage_s)

    def probes(self) -> list[np.ndarray]:
        """The first generation's genomes: the main axes (see the module docstring)."""
        n = len(self.scale)
        probes = []
        if self.controller == "fixed_time":
            for factor in (0.8, 1.25):
                probes.append(np.zeros(n))
                probes[-1][0] = math.log(factor)
            probes.append(np.zeros(n))
            alternating = self._alternating_offsets_s() - [plan.offset_s for plan in self.start_plans]
            probes[-1][1 + self._split[-1] :] = alternating
        else:
            for axis, value in ((0, math.log(0.7)), (0, math.log(1.4)), (1, -1.0), (1, 1.0)):
                probes.append(np.zeros(n))
                probes[-1][axis] = value
        return probes[:OFFSPRING]

    def _alternating_offsets_s(self) -> np.ndarray:
        """Offsets half a cycle apart between linked signals: the parity of a breadth-first search."""
        links = signal_links(self.net, self.flows.connection_vph)
        neighbours: list[set[int]] = [set() for _ in self.pre]
        strength = np.zeros(len(self.pre))
        for link in links:
            neighbours[link.up].add(link.down)
            neighbours[link.down].add(link.up)
            strength[[link.up, link.down]] += link.flow_vph
        depth = np.full(len(self.pre), -1)
        for root in np.argsort(-strength, kind="stable").tolist():
            if depth[root] >= 0:
                continue
            depth[root], frontier = 0, [root]
            while frontier:
                s = frontier.pop(0)
                for other in sorted(neighbours[s]):
                    if depth[other] < 0:
                        depth[other] = depth[s] + 1
                        frontier.append(other)
        return (depth % 2) * self.cycle_s / 2.0


class _Runner:
    """Runs candidates on the tuning seeds through the sweep pool (:class:`BatchRunner`)."""

    def __init__(self, scenario: Scenario, seeds: Sequence[int], batch: BatchRunner) -> None:
        self.scenario, self.seeds, self.batch = scenario, seeds, batch

    def scenario_of(self, candidate: _Candidate | None) -> Scenario:
        """The scenario a candidate runs (None: the scenario as it is)."""
        if candidate is None:
            return self.scenario
        path = self.batch.file("plan", ".toml", lambda target: write_plan_file(target, candidate.plans))
        overrides: dict[str, Any] = {"signals.plan_file": str(path)}
        if candidate.passage_time_s is not None:
            overrides["signals.actuated.passage_time_s"] = candidate.passage_time_s
        return self.scenario.with_overrides(overrides)

    def scores(self, candidates: Sequence[_Candidate | None]) -> list[Score]:
        """Each candidate's score, in order.

        Raises:
            TuneError: If a run fails.
        """
        pairs = [(self.scenario_of(candidate), seed) for candidate in candidates for seed in self.seeds]
        try:
            metrics = self.batch.metrics(pairs)
        except BatchError as error:
            raise TuneError(f"a tuning run failed: {error}") from None
        n = len(self.seeds)
        return [
            Score(
                float(np.mean([m["mean_delay_all_s"] for m in metrics[i : i + n]])),
                float(np.mean([m["completion_rate"] for m in metrics[i : i + n]])),
            )
            for i in range(0, len(metrics), n)
        ]


def tune(
    scenario: Scenario,
    controller: str,
    seeds: Sequence[int] = TUNING_SEEDS,
    budget: int = DEFAULT_BUDGET,
    search_seed: int = 0,
    jobs: int = 1,
    progress: bool = False,
) -> TuneResult:
    """Optimize a controller's plans on a scenario by simulation (see the module docstring).

    Args:
        scenario: The scenario.
        controller: ``"fixed_time"`` or ``"actuated"``.
        seeds: The tuning seeds.
        budget: Candidate plans to run, each on every seed, the starts included (>= 1).
        search_seed: Seed of the search's random mutations.
        jobs: Worker processes.
        progress: Show a progress bar over runs, with the best delay so far.

    Raises:
        TuneError: If the controller is not tunable, there are no seeds or a repeated one, the
            budget or jobs is below 1, the network has no signal, or a run fails.
    """
    seeds = tuple(int(seed) for seed in seeds)
    if controller not in TUNABLE:
        raise TuneError(f"expected a controller among {', '.join(TUNABLE)}, got {controller!r}")
    if not seeds or len(set(seeds)) != len(seeds):
        raise TuneError(f"expected distinct tuning seeds, got {list(seeds)}")
    if budget < 1 or jobs < 1:
        raise TuneError(f"expected a budget and jobs >= 1, got {budget} and {jobs}")
    scenario = scenario.with_overrides({"signals.controller": controller})
    space = _Space(scenario, controller, seeds)
    if not space.nodes:
        raise TuneError(f"{scenario.source}: the network has no signalized node to tune")
    rng = np.random.default_rng(search_seed)
    starts = space.starts()
    runs = max(budget, 1 + len(starts)) * len(seeds)
    bar = tqdm(total=runs, unit="run", disable=not progress, leave=False)
    with tempfile.TemporaryDirectory(prefix="citysim-tune-") as scratch:
        runner = _Runner(scenario, seeds, BatchRunner(Path(scratch), jobs, bar.update))
        before, *outcomes = runner.scores([None, *starts])
        chosen = int(np.argmin([outcome.delay_s for outcome in outcomes]))
        space.choose_start(chosen)
        evaluations = 1 + len(starts)
        parent, start, step = np.zeros(len(space.scale)), outcomes[chosen], 1.0
        start_name = START_NAMES[controller][chosen]
        best = start
        bar.set_postfix(best_delay_s=f"{best.delay_s:.1f}")
        generation = space.probes()
        while evaluations < budget:
            children = generation[: budget - evaluations]
            scores = runner.scores([space.decode(child) for child in children])
            evaluations += len(children)
            winner = int(np.argmin([score.delay_s for score in scores]))
            improved = scores[winner].delay_s < best.delay_s
            if improved:
                parent, best = children[winner], scores[winner]
            step = float(np.clip(step * (_STEP_GROWTH if improved else _STEP_SHRINK), 0.05, 4.0))
            bar.set_postfix(best_delay_s=f"{best.delay_s:.1f}")
            generation = [_mutate(parent, space.scale * step, rng) for _ in range(OFFSPRING)]
        bar.close()
    tuned = space.decode(parent)
    cycle_s = tuned.plans[0][1].cycle_s if controller == "fixed_time" else None
    return TuneResult(
        controller,
        seeds,
        tuned.plans,
        tuned.passage_time_s,
        cycle_s,
        before,
        start_name,
        start,
        best,
        evaluations,
    )


def _mutate(parent: np.ndarray, sigma: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A child of ``parent``: each gene with probability 2/n (at least one) moved by a step N(0, sigma)."""
    n = len(parent)
    chosen = rng.random(n) < min(1.0, 2.0 / n)
    if not chosen.any():
        chosen[rng.integers(n)] = True
    return parent + np.where(chosen, rng.normal(0.0, 1.0, n) * sigma, 0.0)
