"""The progress of a sweep: counts of done, failed and skipped runs, and a bar with an ETA."""

from __future__ import annotations

from dataclasses import dataclass

from tqdm.auto import tqdm

from sim.sweep.task import RunOutcome

__all__ = ["SweepCounts", "SweepProgress"]


class _Bar(tqdm):
    # No monitor thread: the local runner may fork worker processes while the bar is open,
    # and a process must not fork while other threads run.
    monitor_interval = 0


@dataclass
class SweepCounts:
    """Runs of one sweep invocation.

    Attributes:
        total: Runs in the plan.
        skipped: Finished before this invocation (their records exist), not run again.
        done: Run now and succeeded.
        failed: Run now and failed (their errors are recorded).
    """

    total: int
    skipped: int
    done: int = 0
    failed: int = 0

    def add(self, outcome: RunOutcome) -> None:
        """Count one finished run."""
        if outcome.status == "ok":
            self.done += 1
        else:
            self.failed += 1


class SweepProgress:
    """A progress bar over the runs of a sweep, on stderr; the ETA counts only runs done now.

    Args:
        counts: The counts to show (updated by :meth:`update`).
        enabled: Draw the bar; the counts are kept either way.
    """

    def __init__(self, counts: SweepCounts, enabled: bool) -> None:
        self.counts = counts
        self._bar = _Bar(
            total=counts.total,
            initial=counts.skipped,
            unit="run",
            desc="sweep",
            disable=not enabled,
            smoothing=0.1,
        )
        self._show()

    def update(self, outcome: RunOutcome) -> None:
        """Count a finished run and advance the bar."""
        self.counts.add(outcome)
        self._show()
        self._bar.update(1)

    def close(self) -> None:
        """Remove the bar from the terminal."""
        self._bar.close()

    def _show(self) -> None:
        counts = self.counts
        self._bar.set_postfix_str(
            f"done {counts.done}, failed {counts.failed}, skipped {counts.skipped}", refresh=False
        )
