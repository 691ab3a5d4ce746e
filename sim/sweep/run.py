"""Run a planned sweep: skip finished runs, execute the rest, write the tables and summaries."""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from sim.sweep.definition import SweepPlan
from sim.sweep.progress import SweepCounts, SweepProgress
from sim.sweep.runners import OutcomeHandler, default_jobs, run_dask, run_local
from sim.sweep.store import ResultStore
from sim.sweep.summaries import summarize_runs
from sim.sweep.task import RunOutcome, RunTask

__all__ = ["DEFAULT_DASK_WORKERS", "SweepReport", "run_sweep"]

DEFAULT_DASK_WORKERS = 2
"""Worker processes of a local Dask cluster (``dask="local"``) unless ``jobs`` says otherwise."""


@dataclass(frozen=True, eq=False)
class SweepReport:
    """What a sweep invocation did and what the folder now holds.

    Attributes:
        folder: The sweep folder.
        counts: Runs skipped (finished before), done and failed in this invocation.
        wall_s: Wall time of this invocation (s).
        runs: The runs table (:func:`sim.sweep.store.load_runs`).
        summary: Mean and CI of every metric per combination (``summary.csv``).
        differences: Paired differences against the baseline (``differences.parquet``), or ``None``.
    """

    folder: Path
    counts: SweepCounts
    wall_s: float
    runs: pd.DataFrame
    summary: pd.DataFrame
    differences: pd.DataFrame | None


def run_sweep(
    plan: SweepPlan,
    out: str | os.PathLike[str],
    *,
    jobs: int | None = None,
    dask: Any = None,
    keep_records: bool = True,
    retry_failed: bool = False,
    progress: bool = False,
    on_outcome: OutcomeHandler | None = None,
) -> SweepReport:
    """Run every run of ``plan`` whose record is not in ``out`` yet, then write the tables.

    A sweep killed at any moment loses at most its runs in flight: running it again into the
    same folder skips every finished run. The folder then holds ``runs.parquet``,
    ``summary.parquet`` and, with a baseline, ``differences.parquet``, each also as ``.csv``.

    Args:
        plan: The validated sweep (:func:`sim.sweep.definition.plan_sweep`).
        out: The sweep folder; created if missing.
        jobs: Local worker processes (default: the usable cores), or the workers of a local Dask
            cluster (default :data:`DEFAULT_DASK_WORKERS`); unused with a remote scheduler.
        dask: ``None`` for the local process pool; ``"local"``, ``"tcp://HOST:PORT"`` or a
            ``distributed.Client`` to run on Dask (see :func:`sim.sweep.runners.run_dask`).
        keep_records: Write each run's results folder (needed by the series, map and MFD plots).
        retry_failed: Run again the runs recorded as failed (by default they count as finished).
        progress: Show a progress bar with an ETA and the done, failed and skipped counts.
        on_outcome: Called with each finished run's outcome, in this process.

    Returns:
        The report, with the runs table and summaries.

    Raises:
        SweepError: If the runner cannot run (no dask, unreachable cluster, dying workers).
    """
    t0 = time.perf_counter()
    store = ResultStore(out)
    store.save_plan(plan)
    finished = {"ok"} if retry_failed else {"ok", "failed"}
    statuses = store.statuses()
    todo = [run for run in plan.runs if statuses.get(run.key) not in finished]
    counts = SweepCounts(total=len(plan.runs), skipped=len(plan.runs) - len(todo))
    bar = SweepProgress(counts, progress)

    def handle(outcome: RunOutcome) -> None:
        bar.update(outcome)
        if on_outcome is not None:
            on_outcome(outcome)

    # An absolute folder: Dask workers do not share this process's working directory.
    tasks = [RunTask.of(run, str(store.root.resolve()), keep_records) for run in todo]
    try:
        if tasks and dask is None:
            run_local(tasks, jobs if jobs is not None else default_jobs(), handle)
        elif tasks:
            run_dask(tasks, dask, jobs if jobs is not None else DEFAULT_DASK_WORKERS, handle)
    finally:
        bar.close()
    runs = store.runs_table()
    store.write_table(runs)
    summary, differences = summarize_runs(runs)
    store.write_table(summary, "summary")
    if differences is not None:
        store.write_table(differences, "differences")
    else:
        store.remove_table("differences")
    return SweepReport(store.root, counts, time.perf_counter() - t0, runs, summary, differences)
