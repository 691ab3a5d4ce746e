"""``citysim sweep SCENARIO``: run a grid of scenario parameters x seeds, resumably, and summarize it."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from sim.commands.common import EXIT_OK, default_results_folder, integer_argument

if TYPE_CHECKING:
    from sim.sweep import SweepPlan, SweepReport

__all__ = ["EXIT_RUNS_FAILED", "register"]

EXIT_RUNS_FAILED = 1
"""Exit code when the sweep finished but some of its runs failed (their errors are recorded)."""

_MAX_LISTED_FAILURES = 10


def register(commands: argparse._SubParsersAction) -> None:
    """Add ``sweep`` to the subcommands."""
    sweep = commands.add_parser(
        "sweep",
        help="run a grid of scenario parameters x seeds, resumably, with confidence intervals",
        description=(
            "Run every combination of the --grid values for every seed, in parallel, and summarize "
            "the metrics (mean and 95% CI per combination; paired differences against --baseline). "
            "Every combination is validated first. Each run is stored as soon as it finishes, so "
            "running the same command again resumes an interrupted sweep."
        ),
    )
    sweep.add_argument(
        "definition",
        metavar="SCENARIO",
        type=Path,
        help="scenario TOML, or a sweep TOML (top-level keys scenario, seeds, baseline, [set], [grid])",
    )
    sweep.add_argument(
        "--grid",
        metavar="KEY=V1,V2,...",
        action="append",
        default=[],
        help="a grid axis, e.g. --grid demand.scale=0.5,1.0,1.5 (values as TOML; repeatable)",
    )
    sweep.add_argument(
        "--set",
        dest="overrides",
        metavar="KEY=VALUE",
        action="append",
        default=[],
        help="override a key of the base scenario (value as TOML; repeatable)",
    )
    sweep.add_argument(
        "--seeds",
        metavar="N|S1,S2,...",
        default=None,
        help="N seeds from the scenario's seed on, or a list (default: the sweep file's, else 1)",
    )
    sweep.add_argument(
        "--baseline",
        metavar="KEY=VALUE",
        default=None,
        help="grid value to compare the others with on the same seeds, e.g. signals.controller=fixed_time",
    )
    sweep.add_argument(
        "--jobs",
        type=integer_argument(1),
        default=None,
        metavar="N",
        help="worker processes (default: the cores; with --dask local: its workers, default 2)",
    )
    sweep.add_argument(
        "--dask",
        metavar="ADDRESS",
        default=None,
        help="run on Dask: tcp://HOST:PORT of a scheduler, or 'local' to start a local cluster",
    )
    sweep.add_argument(
        "--out",
        type=Path,
        default=None,
        metavar="DIR",
        help="sweep folder; default: results/<scenario name>-sweep",
    )
    sweep.add_argument(
        "--no-records",
        dest="keep_records",
        action="store_false",
        help="keep only each run's metrics, not its trips, series, links (no series, map, mfd plots)",
    )
    sweep.add_argument("--retry-failed", action="store_true", help="run again the runs recorded as failed")
    sweep.add_argument("--dry-run", action="store_true", help="validate and count the runs, run nothing")
    sweep.add_argument("--quiet", action="store_true", help="hide the progress bar")
    sweep.set_defaults(handler=_sweep)


def _sweep(args: argparse.Namespace) -> int:
    # Imported here, not at the top, so that --help need not load mesa and numba.
    from sim.sweep import (
        ResultStore,
        SweepError,
        parse_assignment,
        parse_grid,
        parse_seeds,
        plan_sweep,
        run_sweep,
        sweep_spec_for,
    )
    from sim.sweep.runners import DASK_LOCAL

    if args.jobs is not None and args.dask not in (None, DASK_LOCAL):
        raise SweepError("<command line>", "--jobs", "the workers of a Dask scheduler are started with it")
    spec = sweep_spec_for(
        args.definition,
        grid=[parse_grid(text) for text in args.grid],
        overrides=[parse_assignment(text) for text in args.overrides],
        seeds=parse_seeds(args.seeds) if args.seeds is not None else None,
        baseline=parse_assignment(args.baseline, "--baseline") if args.baseline is not None else None,
    )
    plan = plan_sweep(spec)
    out = args.out if args.out is not None else default_results_folder(plan.base.name, "{name}-sweep")
    combinations = len(plan.runs) // len(plan.seeds)
    finished = ResultStore(out).statuses()
    already = sum(run.key in finished for run in plan.runs)
    print(
        f"sweep of {plan.base.name}: {len(plan.runs)} runs ({combinations} combination(s) x "
        f"{len(plan.seeds)} seed(s)), {already} already finished in {out}"
    )
    if args.dry_run:
        return EXIT_OK
    report = run_sweep(
        plan,
        out,
        jobs=args.jobs,
        dask=args.dask,
        keep_records=args.keep_records,
        retry_failed=args.retry_failed,
        progress=not args.quiet,
    )
    _print_report(plan, report)
    return EXIT_RUNS_FAILED if (report.runs["status"] == "failed").any() else EXIT_OK


def _print_report(plan: SweepPlan, report: SweepReport) -> None:
    from sim.sweep.summaries import format_differences, format_summary_table, printed_metrics

    counts = report.counts
    print(
        f"{counts.total} runs: {counts.done} done, {counts.failed} failed, {counts.skipped} skipped "
        f"(finished before) in {report.wall_s:,.1f} s"
    )
    print("\nmean ± 95% CI half-width over seeds:")
    metrics = printed_metrics(report.runs)
    print(format_summary_table(report.summary, plan.parameters, metrics))
    if report.differences is not None and plan.baseline is not None:
        key, value = plan.baseline
        print(f"\npaired differences against {key}={value!r} on the same seeds: mean [95% CI] (change):")
        print(format_differences(report.differences, key, metrics))
    failed = report.runs[report.runs["status"] == "failed"]
    if len(failed):
        print(
            f"\n{len(failed)} failed run(s) (errors recorded in {report.folder / 'runs'}/<key>.json):",
            file=sys.stderr,
        )
        for _, row in failed.head(_MAX_LISTED_FAILURES).iterrows():
            params = ", ".join(f"{name}={row[name]!r}" for name in plan.parameters)
            print(f"  {row['key']} ({params}, seed {row['seed']}): {row['error']}", file=sys.stderr)
    names = ("runs.csv", "runs.parquet", "summary.csv", "differences.csv")
    tables = [name for name in names if (report.folder / name).is_file()]
    print(f"\nwritten to {report.folder}: {', '.join(tables)}")
