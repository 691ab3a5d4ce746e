"""citysim sweeps: grids of scenario parameters x seeds, run locally or on Dask, stored crash-safe.

``plan_sweep(sweep_spec_for("scenarios/demo.toml", grid=[parse_grid("demand.scale=0.5,1.0")],
seeds=10))`` validates every combination; :func:`run_sweep` runs what is not finished yet and
writes the runs table and summaries; :func:`load_runs` reads the table back as a DataFrame.
"""

from sim.sweep.definition import (
    GridAxis,
    PlannedRun,
    SweepError,
    SweepPlan,
    SweepSpec,
    load_sweep,
    parse_assignment,
    parse_grid,
    parse_seeds,
    plan_sweep,
    run_key,
    sweep_spec_for,
)
from sim.sweep.progress import SweepCounts
from sim.sweep.run import SweepReport, run_sweep
from sim.sweep.store import ResultStore, load_runs
from sim.sweep.summaries import summarize_runs
from sim.sweep.task import RunOutcome

__all__ = [
    "GridAxis",
    "PlannedRun",
    "ResultStore",
    "RunOutcome",
    "SweepCounts",
    "SweepError",
    "SweepPlan",
    "SweepReport",
    "SweepSpec",
    "load_runs",
    "load_sweep",
    "parse_assignment",
    "parse_grid",
    "parse_seeds",
    "plan_sweep",
    "run_key",
    "run_sweep",
    "summarize_runs",
    "sweep_spec_for",
]
