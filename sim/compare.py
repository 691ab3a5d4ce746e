"""Controller comparison: every controller on the same seeds, summarized with paired confidence intervals.

Each run is ``CityModel(scenario.with_overrides({"signals.controller": name}), seed=s)``
(plus the controller's own settings, if any). The model draws demand from its own seeded
stream and driver imperfection from a hash of (seed, vehicle, step), so for one seed every
controller sees the same departures and the same drivers: common random numbers.
Differences to the baseline are therefore paired on the seed
(:func:`sim.metrics.stats.paired_differences`), which removes the demand noise that two
independent means would carry.

The metrics of one run (:data:`COMPARE_METRICS`), every trip counted:

- ``mean_delay_all_s``, ``mean_travel_time_all_s``, ``p95_delay_all_s``: over every trip of
  the demand, unfinished ones with their time so far (:func:`sim.metrics.summary.all_trip_metrics`);
- ``unfinished_share`` and ``never_entered``: what the run left unfinished;
- ``max_green_wait_s``: the longest any approach waited for green (starvation);
- ``mean_stops`` and ``mean_delay_completed_s`` (completed trips only, labelled so): from
  :func:`sim.metrics.summary.summarize`;
- ``mean_queue_veh`` and ``max_queue_veh``: the network-wide number of halted vehicles
  (speed < 0.1 m/s, on links; the entry backlog is not included), averaged within each
  reporting interval (the ``queued_vehicles`` series); its mean over the run and its highest
  interval mean. Neither is a queue length: the second is the worst interval of the network;
- the headline metrics of the scenario's optional sections (emergency response times,
  parking search times, shuttle waits), as they declare them.

``throughput_vph`` (completed trips per hour of simulated time) is in the runs table but not
compared: the simulated time ends when the last trip arrives, so a controller that empties the
network sooner scores a higher "throughput" for the very same trips.

- the headline metrics of the scenario's optional sections (emergency response times,
A controller whose mean unfinished share exceeds the baseline's by more than
:data:`UNFINISHED_MARGIN` is flagged: its delay may look better only because the trips it
starved are missing from the finished ones. Delay over time is the mean delay of the trips
that arrived in each reporting interval (completed trips).
"""

from __future__ import annotations

import math
import multiprocessing
import sys
import textwrap
from collections.abc import Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from tqdm.auto import tqdm

from sim.control.envelope import DECISIONS, LOG_COLUMNS
from sim.control.timing import timing_label
from sim.metrics.catalog import SECTION_METRICS_INFO, UNFINISHED_MARGIN, Metric, catalog_of, metric_for
from sim.metrics.stats import group_summary, paired_differences
from sim.metrics.summary import summarize, trip_metrics
from sim.model import CityModel
from sim.network import build_network
from sim.scenario import Overrides, Scenario

__all__ = [
    "BASELINE",
    "COMPARE_METRICS",
    "HALTED_METRICS",
    "CompareError",
    "Comparison",
    "TEXT_WIDTH",
    "RunOutcome",
    "compare_controllers",
    "comparison_table",
    "delay_over_time",
    "flagged_controllers",
    "format_comparison",
    "run_controller",
]

BASELINE = "fixed_time"
"""The controller the others are compared with, when it is among them."""

COMPARE_METRICS: tuple[str, ...] = (
    "mean_delay_all_s",
    "mean_travel_time_all_s",
    "p95_delay_all_s",
    "unfinished_share",
    "never_entered",
    "max_green_wait_s",
    "mean_queue_veh",
    "max_queue_veh",
    "mean_stops",
    "mean_delay_completed_s",
)
"""Metric columns of every comparison, in table order (the scenario's sections add theirs)."""

HALTED_METRICS = (
    Metric("mean_queue_veh", "halted vehicles on the network, run mean (veh)"),
    Metric("max_queue_veh", "halted vehicles on the network, worst interval's mean (veh)"),
)
"""The two metrics of halted vehicles that only comparisons compute."""


TEXT_WIDTH = 100
"""Columns the printed comparison fits in."""

# a change whose CI half-width reaches this (%) is printed without decimals
_COARSE_CHANGE_PCT = 10.0


class CompareError(ValueError):
    """A comparison that cannot be run: no controllers or seeds, or a repeated controller."""


@dataclass(frozen=True)
class RunOutcome:
    """What one run contributes to a comparison.

    Attributes:
        controller: Controller name.
        seed: The run's seed.
        metrics: Every metric of :func:`sim.metrics.summary.summarize` (the sections' too),
            ``mean_queue_veh``, ``max_queue_veh`` and ``gridlocks`` (circular spillbacks found).
        status: How the run ended (see :data:`sim.metrics.results.RUN_STATUSES`).
        declared: The run's section metric declarations (its info's ``section_metrics``).
        delay: Delay over time: ``time_s`` (end of the interval, s), ``arrived`` (trips)
            and ``mean_delay_s`` (s), one row per reporting interval.
        decisions: The run's decision log (``[safety] log = true``; see
            :data:`sim.control.envelope.LOG_COLUMNS`), else empty.
    """

    controller: str
    seed: int
    metrics: dict[str, float]
    status: str
    declared: tuple[dict[str, str], ...]
    delay: pd.DataFrame
    decisions: pd.DataFrame = field(default_factory=pd.DataFrame)


@dataclass(frozen=True)
class Comparison:
    """The outcome of :func:`compare_controllers`.

    Attributes:
        runs: One row per run: ``controller``, ``seed``, ``status`` and the run's metrics.
        table: The comparison table (see :func:`comparison_table`).
        delay: Delay over time of every run: ``controller``, ``seed``, ``time_s``,
            ``arrived``, ``mean_delay_s``.
        baseline: The controller the changes are measured against.
        metrics: The compared metrics by key, in table order.
        baseline_timing: How the baseline's runs time their signals
            (:func:`sim.control.timing.timing_label`: fixed, Webster, coordinated, a plan file).
        decisions: The decision logs of the runs with ``[safety] log = true``: ``seed`` and
            the log's columns (:data:`sim.control.envelope.LOG_COLUMNS`); else empty.
    """

    runs: pd.DataFrame
    table: pd.DataFrame
    delay: pd.DataFrame
    baseline: str
    metrics: dict[str, Metric]
    baseline_timing: str = ""
    decisions: pd.DataFrame = field(default_factory=pd.DataFrame)

    @property
    def flagged(self) -> list[str]:
        """Controllers whose unfinished share exceeds the baseline's by more than the margin."""
        return flagged_controllers(self.table)


def flagged_controllers(table: pd.DataFrame) -> list[str]:
    """The controllers a comparison table flags, in table order."""
    return list(dict.fromkeys(table.loc[table["flagged"], "controller"]))


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
    queued = results.series["queued_vehicles"].to_numpy(dtype=float)
    metrics = {
        **{key: float(value) for key, value in summarize(results).items()},
        "mean_queue_veh": float(np.mean(queued)) if queued.size else math.nan,
        "max_queue_veh": float(np.max(queued)) if queued.size else math.nan,
        "gridlocks": float(len(results.info["gridlock"])),
    }
    delay = delay_over_time(results.trips, scenario.simulation.report_interval_s, model.time_s)
    declared = tuple(results.info[SECTION_METRICS_INFO])
    decisions = results.extras.get(DECISIONS, pd.DataFrame())
    return RunOutcome(scenario.signals.controller, seed, metrics, model.status, declared, delay, decisions)


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
            ``{"max_pressure": {"signals.max_pressure.decision_interval_s": 10.0}}`` (a controller's own
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
    runs = pd.DataFrame(
        [{"controller": o.controller, "seed": o.seed, "status": o.status, **o.metrics} for o in outcomes]
    )
    delay = pd.concat(
        [o.delay.assign(controller=o.controller, seed=o.seed) for o in outcomes], ignore_index=True
    )[["controller", "seed", "time_s", "arrived", "mean_delay_s"]]
    baseline = BASELINE if BASELINE in controllers else controllers[0]
    catalog = catalog_of({SECTION_METRICS_INFO: outcomes[0].declared}) | {m.key: m for m in HALTED_METRICS}
    sections = [entry["key"] for entry in outcomes[0].declared]
    metrics = {key: catalog[key] for key in (*COMPARE_METRICS, *sections)}
    table = comparison_table(runs, controllers, baseline, metrics)
    logs = [o.decisions.assign(seed=o.seed) for o in outcomes if len(o.decisions)]
    decisions = pd.concat(logs, ignore_index=True)[["seed", *LOG_COLUMNS]] if logs else pd.DataFrame()
    graph = build_network(scenario.network.type, scenario.network.kwargs())
    timing = timing_label(specs[baseline].signals, graph)
    return Comparison(runs, table, delay, baseline, metrics, timing, decisions=decisions)


def comparison_table(
    runs: pd.DataFrame, controllers: Sequence[str], baseline: str, metrics: Mapping[str, Metric]
) -> pd.DataFrame:
    """Mean and 95% CI of each metric per controller, the change against the baseline, and flags.

    Args:
        runs: One row per run with ``controller``, ``seed``, ``unfinished_share``,
            ``never_entered`` and the metrics.
        controllers: Controllers in table order.
        baseline: The controller changes are measured against, paired on the seed.
        metrics: The metrics to compare, in table order, with their labels.

    Returns:
        Tidy frame, metrics and controllers in the given order: ``metric``, ``label``,
        ``controller``, ``n``, ``mean``, ``ci_low``, ``ci_high``, ``half_width``, and for the
        other controllers ``mean_diff``, ``diff_ci_low``, ``diff_ci_high``, ``change_pct``
        and ``change_ci_pct`` (the paired difference and its CI half-width relative to the
        baseline mean, %; NaN for the baseline itself); on every row the controller's mean
        ``unfinished_share`` and ``never_entered``, and ``flagged``: whether its unfinished
        share exceeds the baseline's by more than :data:`UNFINISHED_MARGIN`.
    """
    keys = list(metrics)
    means = group_summary(runs, ["controller"], keys)
    diffs = paired_differences(runs, "controller", baseline, keys)
    diffs = diffs.rename(columns={"ci_low": "diff_ci_low", "ci_high": "diff_ci_high"})
    table = means.merge(diffs.drop(columns=["n", "baseline_mean"]), on=["controller", "metric"], how="left")
    table["label"] = table["metric"].map({key: metric.label for key, metric in metrics.items()})
    outcome = runs.groupby("controller")[["unfinished_share", "never_entered"]].mean()
    table = table.join(outcome, on="controller")
    table["flagged"] = (
        table["unfinished_share"] > outcome.loc[baseline, "unfinished_share"] + UNFINISHED_MARGIN
    )
    table["_m"] = table["metric"].map({m: i for i, m in enumerate(keys)})
    table["_c"] = table["controller"].map({c: i for i, c in enumerate(controllers)})
    table = table.sort_values(["_m", "_c"]).drop(columns=["_m", "_c"]).reset_index(drop=True)
    columns = ["metric", "label", "controller", "n", "mean", "ci_low", "ci_high", "half_width", "mean_diff",
               "diff_ci_low", "diff_ci_high", "change_pct", "change_ci_pct", "unfinished_share",
               "never_entered", "flagged"]  # fmt: skip
    return table[columns]


def _change(row: tuple, baseline: str, metric: Metric) -> str:
    """``-53% [-56, -50]``: the paired change and its 95% CI, cut off at -100% for a non-negative metric."""
    if row.controller == baseline:
        return "baseline"
    if not math.isfinite(row.change_pct):
        return "n/a"
    if not math.isfinite(row.change_ci_pct):
        return f"{row.change_pct:+.1f}%"
    low, high = metric.change_bounds_pct(row.change_pct, row.change_ci_pct)
    decimals = 1 if row.change_ci_pct < _COARSE_CHANGE_PCT else 0
    return f"{row.change_pct:+.{decimals}f}% [{low:+.{decimals}f}, {high:+.{decimals}f}]"


def format_comparison(
    table: pd.DataFrame, baseline: str, metrics: Mapping[str, Metric] | None = None, baseline_timing: str = ""
) -> str:
    """Render a comparison table as text: per metric, one line per controller, within 100 columns.

    Each line shows the mean with its 95% CI half-width (precision from the half-width, see
    :meth:`~sim.metrics.catalog.Metric.format_estimate`), the paired change against the
    baseline in percent with its 95% CI (never below -100% for a quantity that cannot be
    negative; ``n/a`` where undefined, e.g. one seed) and the controller's unfinished share; a
    flagged controller is marked ``!`` and a closing line says why.

    Args:
        table: A :func:`comparison_table`.
        baseline: The baseline controller.
        metrics: The metrics by key (:attr:`Comparison.metrics`); ``None`` looks them up by key.
        baseline_timing: How the baseline times its signals (:attr:`Comparison.baseline_timing`),
            stated on a first line ``baseline: <controller>, <timing>``; empty: no such line.
    """
    catalog = {**catalog_of(), **{m.key: m for m in HALTED_METRICS}, **dict(metrics or {})}
    rows = list(table.itertuples())
    described = [metric_for(str(row.metric), catalog) for row in rows]
    means = [
        metric.format_estimate(row.mean, row.half_width) for row, metric in zip(rows, described, strict=True)
    ]
    changes = [_change(row, baseline, metric) for row, metric in zip(rows, described, strict=True)]
    name_width = max(len(str(row.controller)) for row in rows) + 4
    value_width = max(len("mean ± 95% CI"), *(len(mean) for mean in means))
    change_head = f"change vs {baseline} [95% CI]"
    change_width = max(len(change_head), *(len(change) for change in changes))
    header = f"{'mean ± 95% CI':>{value_width}}   {change_head:<{change_width}}   unfinished"
    lines = [textwrap.fill(f"baseline: {baseline}, {baseline_timing}", TEXT_WIDTH)] if baseline_timing else []
    lines.append(f"{'':<{name_width + 2}}{header}")
    previous = None
    for row, mean, change in zip(rows, means, changes, strict=True):
        if row.metric != previous:
            lines.append(str(row.label))
            previous = row.metric
        name = f"{row.controller}{' !' if row.flagged else ''}"
        share = f"{row.unfinished_share:.2%}"
        lines.append(f"  {name:<{name_width}}{mean:>{value_width}}   {change:<{change_width}}   {share}")
    flagged = flagged_controllers(table)
    if flagged:
        base = float(table.loc[table["controller"] == baseline, "unfinished_share"].iloc[0])
        shares = table.drop_duplicates("controller").set_index("controller")["unfinished_share"]
        listed = ", ".join(f"{name} {shares[name]:.2%}" for name in flagged)
        lines.append(
            textwrap.fill(
                f"! unfinished share more than {UNFINISHED_MARGIN:.0%} point above {baseline}'s {base:.2%}: "
                f"{listed}. Its all-trips delay counts those trips' waits; completed-only means would "
                "flatter it.",
                width=TEXT_WIDTH,
            )
        )
    return "\n".join(lines)
