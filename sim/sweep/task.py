"""One run of a sweep, as a worker executes it: simulate, store the results, write the record.

:func:`execute_run` is the only function the runners send to worker processes (local or Dask),
so it takes and returns small picklable values and writes everything to the store itself.
"""

from __future__ import annotations

import socket
import time
import traceback
from dataclasses import dataclass
from typing import Any

from sim import __version__
from sim.metrics.catalog import SECTION_METRICS_INFO
from sim.metrics.results import write_results
from sim.metrics.summary import summarize
from sim.model import CityModel
from sim.scenario import Scenario
from sim.sweep.definition import PlannedRun
from sim.sweep.store import ResultStore

__all__ = ["RunOutcome", "RunTask", "execute_run", "record_failure"]


@dataclass(frozen=True)
class RunTask:
    """What a worker needs for one run.

    Attributes:
        key: The run's store key.
        params: ``(parameter, value)`` pairs of its grid combination.
        seed: The model seed.
        scenario: The validated scenario of the combination.
        root: The sweep folder (on a filesystem the worker can write).
        keep_records: Also write the run's results folder (trips, series, links, network).
    """

    key: str
    params: tuple[tuple[str, Any], ...]
    seed: int
    scenario: Scenario
    root: str
    keep_records: bool = True

    @classmethod
    def of(cls, run: PlannedRun, root: str, keep_records: bool = True) -> RunTask:
        """The task of a planned run."""
        return cls(run.key, run.params, run.seed, run.scenario, root, keep_records)


@dataclass(frozen=True)
class RunOutcome:
    """What a worker reports back.

    Attributes:
        key: The run's store key.
        status: ``"ok"`` or ``"failed"``.
        run_wall_s: Wall time of the run in the worker: model set-up, simulation and storing (s).
        error: ``"<ExceptionType>: <message>"`` of a failed run, else ``None``.
    """

    key: str
    status: str
    run_wall_s: float
    error: str | None = None


def execute_run(task: RunTask) -> RunOutcome:
    """Run one task and store its results and record; a run that raises is recorded as failed.

    A run whose ``ok`` record already exists is not run again (a Dask task may be re-executed
    after its worker died having written it). An error writing the record itself (a full disk)
    is not caught: it stops the sweep.

    Returns:
        The outcome, as recorded.
    """
    store = ResultStore(task.root)
    existing = store.read_record(task.key)
    if existing is not None and existing["status"] == "ok":
        return RunOutcome(task.key, "ok", float(existing["run_wall_s"]))
    t0 = time.perf_counter()
    record = _new_record(task)
    try:
        model = CityModel(task.scenario, seed=task.seed)
        model.run()
        results = model.results()
        record["metrics"] = summarize(results)
        info = results.info
        record["info"] = {
            "sim_time_s": info["sim_time_s"],
            "setup_wall_s": info["setup_wall_s"],
            "sim_wall_s": info["sim_wall_s"],
            "vehicle_steps": info["vehicle_steps"],
            "gridlocks": len(info.get("gridlock") or []),
            "stalled_at_s": info.get("stalled_at_s"),
            "status": info["status"],
            "status_message": info["status_message"],
            SECTION_METRICS_INFO: info[SECTION_METRICS_INFO],
        }
        if task.keep_records:
            write_results(results, store.results_path(task.key))
            record["records"] = True
        record["status"] = "ok"
    except Exception as error:  # whatever one run raises is that run's failure, not the sweep's
        record["status"] = "failed"
        record["error"] = f"{type(error).__name__}: {error}"
        record["traceback"] = traceback.format_exc()
    record["run_wall_s"] = time.perf_counter() - t0
    store.write_record(record)
    return RunOutcome(task.key, record["status"], record["run_wall_s"], record["error"])


def record_failure(task: RunTask, error: str) -> RunOutcome:
    """Record a run as failed with ``error`` without running it (e.g. its task killed its workers)."""
    record = _new_record(task) | {"status": "failed", "error": error, "run_wall_s": None}
    ResultStore(task.root).write_record(record)
    return RunOutcome(task.key, "failed", 0.0, error)


def _new_record(task: RunTask) -> dict[str, Any]:
    """The record of a run before it ran: provenance, no metrics, no error."""
    return {
        "key": task.key,
        "params": dict(task.params),
        "seed": task.seed,
        "scenario_key": task.scenario.key(),
        "version": __version__,
        "scenario": task.scenario.to_dict(),
        "host": socket.gethostname(),
        "records": False,
        "metrics": {},
        "info": {},
        "error": None,
        "traceback": None,
    }
