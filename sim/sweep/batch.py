"""Runs many (scenario, seed) pairs through the sweep's process pool and reads back their metrics.

What ``citysim tune`` and the learned policy's search (:mod:`sim.rl.search`) do at each step:
run a batch of candidate scenarios on a few seeds and score them. Runs go through
:func:`sim.sweep.runners.run_local` into a scratch folder, keyed by :func:`sim.sweep.definition.run_key`,
so a pair met before (the same scenario, the same seed) is not run again. Results come back in the
order asked, whatever order the workers finish in: the caller's search stays deterministic.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from sim.scenario import Scenario
from sim.sweep.definition import run_key
from sim.sweep.runners import run_local
from sim.sweep.store import ResultStore
from sim.sweep.task import RunOutcome, RunTask

__all__ = ["BatchError", "BatchRunner"]


class BatchError(ValueError):
    """A run of a batch failed (the error of the run is in the message)."""


class BatchRunner:
    """Runs (scenario, seed) pairs in a scratch folder; see the module docstring.

    Args:
        folder: Scratch folder for the run records (created if missing).
        jobs: Worker processes.
        on_run: Called once per run finished or found already run (a progress bar's ``update``).
    """

    def __init__(self, folder: Path, jobs: int, on_run: Callable[[], None] = lambda: None) -> None:
        self.folder, self.jobs, self.on_run = folder, jobs, on_run
        self.store = ResultStore(folder)
        self.store.record_path("x").parent.mkdir(parents=True, exist_ok=True)

    def file(self, stem: str, suffix: str, write: Callable[[Path], Any]) -> Path:
        """A file that ``write(path)`` fills, named by its content's digest (so run keys follow content).

        Args:
            stem: Start of the file name.
            suffix: File suffix, with its dot.
            write: Writes the file at the path given.
        """
        draft = self.folder / f"{stem}{suffix}"
        write(draft)
        digest = hashlib.sha256(draft.read_bytes()).hexdigest()[:16]
        return draft.replace(self.folder / f"{stem}-{digest}{suffix}")

    def metrics(self, pairs: Sequence[tuple[Scenario, int]]) -> list[dict[str, float]]:
        """The headline metrics of each (scenario, seed) run, in the order given.

        Raises:
            BatchError: If a run fails.
        """
        keys = [run_key(scenario.key(), seed) for scenario, seed in pairs]
        tasks = {
            key: RunTask(key, (), seed, scenario, str(self.folder), keep_records=False)
            for key, (scenario, seed) in zip(keys, pairs, strict=True)
        }
        pending = [task for key, task in tasks.items() if self.store.read_record(key) is None]
        for _ in range(len(keys) - len(pending)):
            self.on_run()
        run_local(pending, self.jobs, self._reported)
        return [self.store.read_record(key)["metrics"] for key in keys]

    def _reported(self, outcome: RunOutcome) -> None:
        if outcome.status != "ok":
            raise BatchError(f"a run failed: {outcome.error}")
        self.on_run()
