"""Controller comparison: every controller on the same seeds, summarized with paired confidence intervals.

Each run is ``CityModel(scenario.with_overrides({"signals.controller": name}), seed=s)``
(plus the controller's own settings, if any). The model draws demand from its own seeded
stream and driver imperfection from a hash of (seed, vehicle, step), so for one seed every
controller sees the same departures and the same drivers: common random numbers.
Differences to the baseline are therefore paired on the seed
(:func:`sim.metrics.stats.paired_differences`), which removes the demand noise that two
independent means would carry.

The metrics of one run (:data:`COMPARE_METRICS`):

- ``mean_delay_s``, ``mean_travel_time_s``, ``mean_stops`` (stops per vehicle) and
  ``throughput_vph``: from :func:`sim.metrics.summary.summarize`, over completed trips;
- ``mean_queue_veh`` and ``max_queue_veh``: the network-wide number of halted vehicles
  (speed < 0.1 m/s, on links; the entry backlog is not included), averaged within each
  reporting interval (the ``queued_vehicles`` series); its mean and its maximum over the
  run's intervals.

Delay over time is the mean delay of the trips that arrived in each reporting interval.
"""

from __future__ import annotations

import math
import multiprocessing
import sys
from collections.abc import Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass

import numpy as np
import pandas as pd
from tqdm.auto import tqdm

from sim.metrics.stats import group_summary, paired_differences
from sim.metrics.summary import summarize, trip_metrics
from sim.model import CityModel
from sim.scenario import Overrides, Scenario

__all__ = [
    "BASELINE",
    "COMPARE_METRICS",
    "CompareError",
    "Comparison",
    "RunOutcome",
    "compare_controllers",
    "comparison_table",
    "delay_over_time",
    "format_comparison",
    "run_controller",
]

BASELINE = "fixed_time"
"""The controller the others are compared with, when it is among them."""

COMPARE_METRICS: dict[str, str] = {
    "mean_delay_s": "mean delay (s)",
    "mean_travel_time_s": "mean travel time (s)",
    "throughput_vph": "throughput (veh/h)",
    "mean_queue_veh": "mean queue (veh)",
    "max_queue_veh": "max queue (veh)",
    "mean_stops": "stops per vehicle",
}
"""Metric column -> label with unit, in table order."""

_RUN_EXTRAS = ("completion_rate", "completed", "trips", "gridlocks", "stalled")


class CompareError(ValueError):
    """A comparison that cannot be run: no controllers or seeds, or a repeated controller."""


@dataclass(frozen=True)
class RunOutcome:
    """What one run contributes to a comparison.

    Attributes:
        controller: Controller name.
        seed: The run's seed.
        metrics: :data:`COMPARE_METRICS` plus ``completion_rate``, ``completed``, ``trips``,
            ``gridlocks`` (circular spillbacks found) and ``stalled`` (whether the run
            stopped in gridlock).
        delay: Delay over time: ``time_s`` (end of the interval, s), ``arrived`` (trips)
            and ``mean_delay_s`` (s), one row per reporting interval.
    """

    controller: str
    seed: int
    metrics: dict[str, float]
    delay: pd.DataFrame


@dataclass(frozen=True)
class Comparison:
    """The outcome of :func:`compare_controllers`.

    Attributes:
        runs: One row per run: ``controller``, ``seed`` and the run's metrics.
        table: The comparison table (see :func:`comparison_table`).
        delay: Delay over time of every run: ``controller``, ``seed``, ``time_s``,
            ``arrived``, ``mean_delay_s``.
        baseline: The controller the changes are measured against.
    """

    runs: pd.DataFrame
    table: pd.DataFrame
    delay: pd.DataFrame
    baseline: str


def delay_over_time(trips: pd.DataFrame, interval_s: float, end_s: float) -> pd.DataFrame:
    """Mean delay of the trips arriving in each interval ``(t - interval_s, t]``.

    Args:
        trips: Trip records.
        interval_s: Bin width (s).
        end_s: Simulated end time (s); bins run from ``interval_s`` up to it.

    Returns:
        ``time_s`` (bin end, s), ``arrived`` (trips) and ``mean_delay_s`` (s, NaN for an
        empty bin).
    """
    done = trip_metrics(trips).dropna(subset=["arrive_s"])
    n_bins = max(1, math.ceil(end_s / interval_s - 1e-9))
    index = np.clip(np.ceil(done["arrive_s"].to_numpy() / interval_s - 1e-9).astype(int) - 1, 0, n_bins - 1)
    arrived = np.bincount(index, minlength=n_bins)
    total = np.bincount(index, weights=done["delay_s"].to_numpy(), minlength=n_bins)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.where(arrived > 0, total / np.maximum(arrived, 1), np.nan)
    return pd.DataFrame(
        {"time_s": interval_s * np.arange(1, n_bins + 1), "arrived": arrived, "mean_delay_s": mean}
    )


def run_controller(scenario: Scenario, seed: int) -> RunOutcome:
    """Run a scenario to its end with ``seed`` (a process-pool worker); its controller names the run."""
    model = CityModel(scenario, seed=seed).run()
    results = model.results()
    summary = summarize(results)
    queued = results.series["queued_vehicles"].to_numpy(dtype=float)
    metrics = {
        **{key: float(summary[key]) for key in COMPARE_METRICS if key in summary},
        "mean_queue_veh": float(np.mean(queued)) if queued.size else math.nan,
        "max_queue_veh": float(np.max(queued)) if queued.size else math.nan,
        "completion_rate": float(summary["completion_rate"]),
        "completed": float(summary["completed"]),
        "trips": float(summary["trips"]),
        "gridlocks": float(len(results.info["gridlock"])),
        "stalled": float(results.info["stalled_at_s"] is not None),
    }
    delay = delay_over_time(results.trips, scenario.simulation.report_interval_s, model.time_s)
    return RunOutcome(scenario.signals.controller, seed, metrics, delay)


def compare_controllers(
    scenario: Scenario,
    controllers: Sequence[str],
    seeds: Sequence[int],
    jobs: int = 1,
    progress: bool = False,
    settings: Mapping[str, Overrides] | None = None,
) -> Comparison:
    """Run every controller on every seed and compare them.

    Args:
        scenario: The scenario; ``signals.controller`` is overridden per run.
        controllers: Controller names, in table order.
        seeds: Seeds shared by all controllers (common random numbers).
        jobs: Worker processes; 1 runs in this process.
        progress: Show a progress bar over runs.
        settings: Per controller name, overrides applied to its runs only, e.g.
            ``{"max_pressure": {"signals.decision_interval_s": 10.0}}`` (a controller's own
            parameters or sensing; demand and network should stay common).

    Returns:
        The runs, the comparison table against :data:`BASELINE` (or, if it is not among
        ``controllers``, the first controller) and the delay over time of every run.

    Raises:
        CompareError: If there are no controllers or seeds, a repeated one, settings for a
            controller not compared, or ``jobs < 1``.
        ScenarioError: If a controller name or a setting is invalid (checked before any run).
    """
    controllers, seeds = list(controllers), [int(s) for s in seeds]
    settings = dict(settings or {})
    if not controllers or not seeds:
        raise CompareError(f"expected at least one controller and one seed, got {controllers} and {seeds}")
    for name, values in (("controller", controllers), ("seed", seeds)):
        repeated = sorted({str(v) for v in values if values.count(v) > 1})
        if repeated:
            raise CompareError(f"expected each {name} once, got {', '.join(repeated)} more than once")
    stray = sorted(set(settings) - set(controllers))
    if stray:
        raise CompareError(
            f"settings for {', '.join(stray)}, which is not among the controllers {controllers}"
        )
    if jobs < 1:
        raise CompareError(f"expected jobs >= 1, got {jobs}")
    specs = {
        name: scenario.with_overrides(settings.get(name, {})).with_overrides({"signals.controller": name})
        for name in controllers
    }
    tasks = [(name, seed) for name in controllers for seed in seeds]
    bar = tqdm(total=len(tasks), unit="run", disable=not progress, leave=False)
    outcomes: list[RunOutcome] = []
    if jobs == 1:
        for name, seed in tasks:
            outcomes.append(run_controller(specs[name], seed))
            bar.update()
    else:
        # mesa sets the "spawn" start method when imported; forked workers (Linux) start with
        # citysim already imported instead of importing mesa and numba again (seconds each)
        context = multiprocessing.get_context("fork" if sys.platform.startswith("linux") else "spawn")
        with ProcessPoolExecutor(max_workers=min(jobs, len(tasks)), mp_context=context) as pool:
            futures = [pool.submit(run_controller, specs[name], seed) for name, seed in tasks]
            for future in as_completed(futures):
                outcomes.append(future.result())
                bar.update()
    bar.close()
    order = {task: i for i, task in enumerate(tasks)}
    outcomes.sort(key=lambda o: order[(o.controller, o.seed)])
    runs = pd.DataFrame([{"controller": o.controller, "seed": o.seed, **o.metrics} for o in outcomes])
    delay = pd.concat(
        [o.delay.assign(controller=o.controller, seed=o.seed) for o in outcomes], ignore_index=True
    )[["controller", "seed", "time_s", "arrived", "mean_delay_s"]]
    baseline = BASELINE if BASELINE in controllers else controllers[0]
    return Comparison(runs, comparison_table(runs, controllers, baseline), delay, baseline)


def comparison_table(runs: pd.DataFrame, controllers: Sequence[str], baseline: str) -> pd.DataFrame:
    """Mean and 95% CI of each metric per controller, and the change against the baseline.

    Args:
        runs: One row per run with ``controller``, ``seed`` and the :data:`COMPARE_METRICS`.
        controllers: Controllers in table order.
        baseline: The controller changes are measured against, paired on the seed.

    Returns:
        Tidy frame, metrics in :data:`COMPARE_METRICS` order and controllers in the given
        order: ``metric``, ``label``, ``controller``, ``n``, ``mean``, ``ci_low``,
        ``ci_high``, ``half_width``, and for the other controllers ``mean_diff``,
        ``diff_ci_low``, ``diff_ci_high``, ``change_pct`` and ``change_ci_pct`` (the
        paired difference and its CI half-width relative to the baseline mean, %; NaN for
        the baseline itself).
    """
    metrics = list(COMPARE_METRICS)
    means = group_summary(runs, ["controller"], metrics)
    diffs = paired_differences(runs, "controller", baseline, metrics)
    diffs = diffs.rename(columns={"ci_low": "diff_ci_low", "ci_high": "diff_ci_high"})
    table = means.merge(diffs.drop(columns=["n", "baseline_mean"]), on=["controller", "metric"], how="left")
    table["label"] = table["metric"].map(COMPARE_METRICS)
    table["_m"] = table["metric"].map({m: i for i, m in enumerate(metrics)})
    table["_c"] = table["controller"].map({c: i for i, c in enumerate(controllers)})
    table = table.sort_values(["_m", "_c"]).drop(columns=["_m", "_c"]).reset_index(drop=True)
    columns = ["metric", "label", "controller", "n", "mean", "ci_low", "ci_high", "half_width", "mean_diff",
               "diff_ci_low", "diff_ci_high", "change_pct", "change_ci_pct"]  # fmt: skip
    return table[columns]


def _decimals(value: float) -> int:
    """Decimals that show about three significant digits of a table value."""
    size = abs(value) if math.isfinite(value) else 0.0
    return 2 if size < 10 else 1 if size < 1000 else 0


def _number(value: float, decimals: int) -> str:
    return f"{value:,.{decimals}f}" if math.isfinite(value) else "n/a"


def _change(row: tuple, baseline: str) -> str:
    if row.controller == baseline:
        return "baseline"
    if not math.isfinite(row.change_pct):
        return "n/a"
    return f"{row.change_pct:+.1f}% ± {_number(row.change_ci_pct, 1)}%"


def format_comparison(table: pd.DataFrame, baseline: str) -> str:
    """Render a comparison table as text: per metric, one line per controller.

    Each line shows the mean with its 95% CI half-width and the paired change against the
    baseline in percent with its CI half-width (``n/a`` where undefined, e.g. one seed).
    """
    rows = list(table.itertuples())
    largest = table.groupby("metric")["mean"].agg(lambda v: np.nanmax(np.abs(v)) if v.notna().any() else 0.0)
    means = []
    for row in rows:
        decimals = _decimals(float(largest[row.metric]))
        means.append(f"{_number(row.mean, decimals)} ± {_number(row.half_width, decimals)}")
    name_width = max(len(str(row.controller)) for row in rows) + 2
    value_width = max(len("mean ± 95% CI"), *(len(mean) for mean in means))
    lines = [f"{'':<{name_width + 2}}{'mean ± 95% CI':>{value_width}}   change vs {baseline} (95% CI)"]
    previous = None
    for row, mean in zip(rows, means, strict=True):
        if row.metric != previous:
            lines.append(str(row.label))
            previous = row.metric
        lines.append(f"  {row.controller:<{name_width}}{mean:>{value_width}}   {_change(row, baseline)}")
    return "\n".join(lines)
