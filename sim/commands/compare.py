"""``citysim compare SCENARIO``: every controller on the same seeds, a table with CIs, and two figures."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING

from sim.commands.common import (
    EXIT_OK,
    add_scenario_arguments,
    default_results_folder,
    integer_argument,
    output_folder,
)

if TYPE_CHECKING:
    from sim.compare import Comparison

__all__ = ["BARS_FIGURE", "DECISIONS_FILE", "DELAY_FIGURE", "register"]

BARS_FIGURE = "compare_bars.png"
DELAY_FIGURE = "delay_over_time.png"
DECISIONS_FILE = "decisions.csv"


def _names(text: str) -> list[str]:
    """Argparse type of ``--controllers``: comma-separated names, none empty."""
    names = [name.strip() for name in text.split(",")]
    if not all(names):
        raise argparse.ArgumentTypeError(f"expected comma-separated controller names, got {text!r}")
    return names


def _setting(text: str) -> tuple[str, str]:
    """Argparse type of ``--set-for``: ``NAME:KEY=VALUE`` -> (name, ``KEY=VALUE``).

    The controller name may itself hold a colon (``package.module:Class``): the split is at the
    last colon before the ``=``.
    """
    head, equals, value = text.partition("=")
    name, sep, key = head.rpartition(":")
    if not equals or not sep or not name.strip() or not key.strip():
        raise argparse.ArgumentTypeError(f"expected CONTROLLER:KEY=VALUE, got {text!r}")
    return name.strip(), f"{key}={value}"


def register(commands: argparse._SubParsersAction) -> None:
    """Add ``compare`` to the subcommands."""
    compare = commands.add_parser(
        "compare",
        help="run several signal controllers on the same seeds and compare them",
        description=(
            "Run every controller on the same seeds (common random numbers: identical demand), "
            "print mean delay and travel time over all trips (unfinished ones with their time so "
            "far), the unfinished share, the longest wait for green, halted vehicles, stops and "
            "the scenario's feature metrics with 95% confidence intervals and the paired change "
            "against fixed_time, flag controllers that leave more than 1 point more trips "
            "unfinished than fixed_time, and write "
            f"runs.csv, comparison.csv, delay_over_time.csv, {BARS_FIGURE} and {DELAY_FIGURE} "
            f"(and {DECISIONS_FILE}, every run's signal decisions, with --set safety.log=true)."
        ),
    )
    add_scenario_arguments(compare)
    compare.add_argument(
        "--controllers",
        type=_names,
        default=None,
        metavar="A,B,...",
        help="controllers to compare, e.g. fixed_time,max_pressure (default: every registered one)",
    )
    compare.add_argument(
        "--set-for",
        dest="settings",
        type=_setting,
        action="append",
        default=[],
        metavar="CONTROLLER:KEY=VALUE",
        help="override a key for one controller's runs only, e.g. "
        "--set-for max_pressure:signals.max_pressure.decision_interval_s=10 (repeatable)",
    )
    compare.add_argument(
        "--seeds",
        type=integer_argument(1),
        default=10,
        metavar="N",
        help="seeds per controller: SEED, SEED+1, ... (default 10)",
    )
    compare.add_argument(
        "--jobs",
        type=integer_argument(1),
        default=None,
        metavar="N",
        help="worker processes (default: the cores this process may use)",
    )
    compare.add_argument(
        "--out",
        type=Path,
        default=None,
        metavar="DIR",
        help="output folder; default: results/compare-<scenario name> in the current directory",
    )
    compare.add_argument("--no-plots", dest="plots", action="store_false", help="do not draw the figures")
    compare.add_argument("--quiet", action="store_true", help="hide the progress bar")
    compare.set_defaults(handler=_compare)


def _compare(args: argparse.Namespace) -> int:
    # Imported here, not at the top, so that --help need not load mesa and numba.
    from sim.compare import compare_controllers, format_comparison
    from sim.control.registry import controller_names
    from sim.scenario import load_scenario
    from sim.sweep.runners import default_jobs

    scenario = load_scenario(args.scenario, args.overrides)
    first_seed = scenario.seed if args.seed is None else args.seed
    seeds = range(first_seed, first_seed + args.seeds)
    folder = args.out if args.out is not None else default_results_folder(scenario.name, "compare-{name}")
    jobs = args.jobs if args.jobs is not None else default_jobs()

    controllers = args.controllers if args.controllers is not None else list(controller_names())
    settings: dict[str, list[str]] = {}
    for name, override in args.settings:
        settings.setdefault(name, []).append(override)
    with output_folder(folder):
        comparison = compare_controllers(
            scenario, controllers, seeds, jobs=jobs, progress=not args.quiet, settings=settings
        )

    print(f"{scenario.name}: {len(controllers)} controllers, seeds {seeds[0]}..{seeds[-1]}")
    for name, overrides in settings.items():
        print(f"  {name} only: {', '.join(overrides)}")
    print(
        format_comparison(
            comparison.table, comparison.baseline, comparison.metrics, comparison.baseline_timing
        )
    )
    warning = _incomplete_runs(comparison)
    if warning:
        print(warning)
    for name in (BARS_FIGURE, DELAY_FIGURE):
        (folder / name).unlink(missing_ok=True)
    comparison.runs.to_csv(folder / "runs.csv", index=False)
    comparison.table.to_csv(folder / "comparison.csv", index=False)
    comparison.delay.to_csv(folder / "delay_over_time.csv", index=False)
    (folder / DECISIONS_FILE).unlink(missing_ok=True)
    if len(comparison.decisions):
        comparison.decisions.to_csv(folder / DECISIONS_FILE, index=False)
    if args.plots:
        _write_figures(comparison, folder)
    print(f"results written to {folder}")
    return EXIT_OK


def _incomplete_runs(comparison: Comparison) -> str:
    """A note on the runs that did not complete every trip, by how they ended; empty if none."""
    runs = comparison.runs
    bad = runs[runs["status"] != "completed"]
    if bad.empty:
        return ""
    listed = ", ".join(
        f"{row.controller} seed {row.seed} ({row.status}: {row.unfinished:,.0f} unfinished, "
        f"{row.never_entered:,.0f} never entered)"
        for row in bad.itertuples()
    )
    return f"runs that left trips unfinished (counted in the all-trips metrics): {listed}"


def _write_figures(comparison: Comparison, folder: Path) -> None:
    from sim.plots import save_figure
    from sim.plots.compare_figures import plot_comparison_bars, plot_delay_over_time

    save_figure(plot_comparison_bars(comparison.table), folder / BARS_FIGURE)
    save_figure(plot_delay_over_time(comparison.delay), folder / DELAY_FIGURE)
