"""Where the runs of a sweep execute: a local process pool, or a Dask distributed cluster.

Both runners send the same function, :func:`sim.sweep.task.execute_run`, which writes each run's
results and record to the sweep folder itself; the runner only reports each outcome. There is
no distribution logic here beyond what ``concurrent.futures`` and Dask provide.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import signal
import sys
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from concurrent.futures.process import BrokenProcessPool
from contextlib import ExitStack
from typing import Any

from sim import __version__
from sim.model import CityModel
from sim.sweep.definition import SweepError
from sim.sweep.task import RunOutcome, RunTask, execute_run, record_failure

__all__ = ["DASK_LOCAL", "MAX_POOL_RESTARTS", "OutcomeHandler", "default_jobs", "run_dask", "run_local"]

OutcomeHandler = Callable[[RunOutcome], None]
"""Called in the sweep's process with each finished run's outcome."""

MAX_POOL_RESTARTS = 2
"""How often the local pool is rebuilt after a worker process died (out of memory, killed)."""

DASK_LOCAL = "local"
"""The ``--dask`` address that starts a local cluster for the sweep."""

_PARENT_POLL_S = 0.5
_WORKER_WAIT_S = 60.0
_CONNECT_TIMEOUT = "20s"
_KERNEL_LOADED = threading.Event()
"""Set once this process has loaded the kernel (see :func:`_load_kernel`)."""


def default_jobs() -> int:
    """The cores this process may use (its CPU affinity where the platform tells it)."""
    if hasattr(os, "sched_getaffinity"):
        return max(1, len(os.sched_getaffinity(0)))
    return max(1, os.cpu_count() or 1)


# ----- local process pool --------------------------------------------------------------
def run_local(tasks: Sequence[RunTask], jobs: int, on_outcome: OutcomeHandler) -> None:
    """Execute tasks in a pool of ``jobs`` worker processes, reporting each outcome as it arrives.

    On Linux workers are forked, so they start with citysim already imported; elsewhere they
    are spawned. Workers ignore Ctrl-C: an interrupted sweep finishes its runs in flight and
    stops. A worker exits when the sweep process dies, even by SIGKILL. If a worker dies
    (killed, out of memory), the pool is rebuilt and the runs not reported yet are submitted
    again (a run whose record exists returns at once), at most :data:`MAX_POOL_RESTARTS` times.

    Raises:
        SweepError: If worker processes keep dying.
    """
    pending = {task.key: task for task in tasks}
    for attempt in range(MAX_POOL_RESTARTS + 1):
        try:
            _run_pool(pending, jobs, on_outcome)
            return
        except BrokenProcessPool:
            if attempt == MAX_POOL_RESTARTS:
                raise SweepError(
                    "<sweep>",
                    "",
                    f"worker processes died {attempt + 1} times (out of memory? killed?); "
                    f"{len(pending)} run(s) not finished; run the sweep again to resume",
                ) from None


def _run_pool(pending: dict[str, RunTask], jobs: int, on_outcome: OutcomeHandler) -> None:
    """Run the pending tasks in one pool, removing each from ``pending`` as its outcome arrives."""
    workers = max(1, min(jobs, len(pending)))
    if workers > 1 and _context().get_start_method() == "fork":
        _load_kernel(next(iter(pending.values())))
    with ProcessPoolExecutor(
        max_workers=workers, mp_context=_context(), initializer=_init_worker, initargs=(os.getpid(),)
    ) as pool:
        futures = [pool.submit(execute_run, task) for task in pending.values()]
        try:
            for future in as_completed(futures):
                outcome = future.result()
                del pending[outcome.key]
                on_outcome(outcome)
        except BaseException:
            pool.shutdown(wait=False, cancel_futures=True)
            raise


def _load_kernel(task: RunTask) -> None:
    """Load (or compile) the kernel in this process once, before forking workers.

    Forked workers inherit it: otherwise each worker of each pool loads it from numba's cache
    (a second or so), or compiles it (tens of seconds) when the cache is stale.
    """
    if not _KERNEL_LOADED.is_set():
        CityModel(task.scenario, seed=task.seed)
        _KERNEL_LOADED.set()


def _context() -> Any:
    """Fork on Linux (workers start with citysim imported and cost nothing to start), else spawn.

    Fork is the platform's default start method up to Python 3.13. A spawned or forkserver
    worker would import mesa and numba again (seconds each), which a sweep of short runs feels.
    """
    return multiprocessing.get_context("fork" if sys.platform.startswith("linux") else "spawn")


def _init_worker(parent_pid: int) -> None:
    """Ignore Ctrl-C (the sweep process decides), quiet per-run warnings, exit with the parent."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    # Gridlock warnings of single runs would scroll over the progress bar; the records keep them.
    logging.getLogger("sim").setLevel(logging.ERROR)
    threading.Thread(
        target=_exit_with_parent, args=(parent_pid,), name="citysim-parent-watch", daemon=True
    ).start()


def _exit_with_parent(parent_pid: int) -> None:
    """Exit this worker once its parent is gone: a killed sweep must not leave workers behind."""
    while os.getppid() == parent_pid:
        time.sleep(_PARENT_POLL_S)
    os._exit(1)


# ----- Dask distributed ----------------------------------------------------------------
def run_dask(tasks: Sequence[RunTask], address: Any, workers: int, on_outcome: OutcomeHandler) -> None:
    """Execute tasks on a Dask distributed cluster, reporting each outcome as it arrives.

    Workers write to the sweep folder themselves, so it must be on a filesystem they share at
    the same path (checked first, with the citysim version of every worker). Start remote
    workers with one thread each (``dask worker ADDRESS --nthreads 1``): a run holds the GIL.
    A task whose worker died is run again by Dask; one that killed
    ``distributed.scheduler.allowed-failures`` workers is recorded as failed.

    Args:
        tasks: The runs.
        address: ``"local"`` (start a local cluster of ``workers`` single-threaded worker
            processes), a scheduler address ``"tcp://HOST:PORT"``, or a connected
            ``distributed.Client``.
        workers: Worker processes of a local cluster.
        on_outcome: Called with each outcome.

    Raises:
        SweepError: If dask is not installed, the scheduler cannot be reached, no worker joins,
            or a worker cannot write the sweep folder or runs another citysim version.
    """
    try:
        import distributed
    except ImportError:
        raise SweepError(
            "<command line>", "--dask", "needs the optional dask extra: pip install 'citysim[dask]'"
        ) from None
    with ExitStack() as stack:
        client = _client(distributed, stack, address, workers)
        if tasks:
            _check_workers(client, tasks[0].root)
        by_key = {f"citysim-run-{task.key}": task for task in tasks}
        futures = [client.submit(execute_run, task, key=key, pure=False) for key, task in by_key.items()]
        try:
            for future in distributed.as_completed(futures):
                try:
                    outcome = future.result()
                except distributed.KilledWorker as error:
                    outcome = record_failure(by_key[future.key], f"{type(error).__name__}: {error}")
                on_outcome(outcome)
        except BaseException:
            client.cancel(futures)
            raise


def _client(distributed: Any, stack: ExitStack, address: Any, workers: int) -> Any:
    if isinstance(address, distributed.Client):
        return address
    if address == DASK_LOCAL:
        cluster = stack.enter_context(
            distributed.LocalCluster(
                n_workers=workers,
                threads_per_worker=1,
                processes=True,
                dashboard_address=None,
                silence_logs=logging.ERROR,
            )
        )
        return stack.enter_context(distributed.Client(cluster))
    try:
        client = stack.enter_context(distributed.Client(address, timeout=_CONNECT_TIMEOUT))
    except (OSError, TimeoutError, ValueError) as error:
        raise SweepError(
            "<command line>", "--dask", f"cannot reach a Dask scheduler at {address!r}: {error}"
        ) from None
    try:
        client.wait_for_workers(1, timeout=_WORKER_WAIT_S)
    except TimeoutError:
        raise SweepError(
            "<command line>",
            "--dask",
            f"no worker joined the scheduler at {address!r} in {_WORKER_WAIT_S:g} s",
        ) from None
    return client


def _probe(root: str) -> tuple[str, bool]:
    """On a worker: its citysim version and whether it can write the sweep folder."""
    return __version__, os.access(root, os.W_OK)


def _check_workers(client: Any, root: str) -> None:
    try:
        answers = client.run(_probe, root)
    except Exception as error:  # a worker without citysim fails to unpickle the probe
        raise SweepError("<command line>", "--dask", f"a worker cannot run citysim: {error!r}") from None
    for worker, (version, writable) in sorted(answers.items()):
        if version != __version__:
            raise SweepError(
                "<command line>",
                "--dask",
                f"worker {worker} runs citysim {version}; this sweep uses {__version__}",
            )
        if not writable:
            raise SweepError(
                "<command line>",
                "--dask",
                f"worker {worker} cannot write the sweep folder {root}; it must be on a shared filesystem",
            )
