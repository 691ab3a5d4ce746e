"""``citysim run SCENARIO``: run one scenario, print its summary, write its results folder."""

from __future__ import annotations

import argparse
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from sim.commands.common import (
    EXIT_STALLED,
    EXIT_UNFINISHED,
    RUN_EXIT_CODES,
    add_scenario_arguments,
    default_results_folder,
    output_folder,
)

__all__ = ["gridlock_report", "register"]

_MAX_GRIDLOCK_LINES = 10


def register(commands: argparse._SubParsersAction) -> None:
    """Add ``run`` to the subcommands."""
    run = commands.add_parser(
        "run",
        help="run one scenario and write its results folder",
        description=(
            "Run one scenario, print its summary and write trips.csv, series.csv, links.csv, "
            "network.json, summary.json and the figures series.png and map_speed.png to the results folder."
        ),
        epilog=(
            f"exit codes: 0 every trip arrived; 2 bad input (nothing is run); {EXIT_UNFINISHED} the run "
            f"reached simulation.max_time_s with trips unfinished; {EXIT_STALLED} the run stopped early in "
            "gridlock. Results are written in every case but bad input."
        ),
    )
    add_scenario_arguments(run)
    run.add_argument(
        "--out",
        type=Path,
        default=None,
        metavar="DIR",
        help="results folder; default: results/<scenario name>-seed<seed> in the current directory",
    )
    run.add_argument("--no-plots", dest="plots", action="store_false", help="do not draw the figures")
    run.add_argument("--quiet", action="store_true", help="hide the progress bar")
    run.set_defaults(handler=_run)


def _run(args: argparse.Namespace) -> int:
    # Imported here, not at the top, so that --help and --version need not load mesa and numba.
    from sim.metrics.summary import format_summary
    from sim.model import CityModel
    from sim.routing import ROUTING_INFO, skipped_text
    from sim.scenario import load_scenario

    scenario = load_scenario(args.scenario, args.overrides)
    seed = scenario.seed if args.seed is None else args.seed
    default = default_results_folder(scenario.name, f"{{name}}-seed{seed}")
    with output_folder(args.out if args.out is not None else default) as folder:
        model = CityModel(scenario, seed=seed)
        model.run(progress=not args.quiet)
        results = model.results()

        print(f"{scenario.name}, seed {seed}: simulated {model.time_s:,.0f} s")
        print(format_summary(results.summary() | _performance(results.info), results.info))
        print(_longest_green_wait(results.info))
        gridlock = gridlock_report(results.info)
        if gridlock:
            print(gridlock)
        print(("" if model.status == "completed" else "warning: run ") + model.status_message())
        if ROUTING_INFO in results.info:
            print("warning: " + skipped_text(results.info[ROUTING_INFO]))
        results.save(folder, figures=args.plots)
    print(f"results written to {folder}")
    return RUN_EXIT_CODES.get(model.status, EXIT_UNFINISHED)


def _longest_green_wait(info: Mapping[str, Any]) -> str:
    """Which approach waited longest for green, and how long."""
    longest = info["longest_green_wait"]
    if longest["approach"] is None:
        return "no vehicle waited at a red signal"
    return f"longest wait for green: {longest['wait_s']:,.0f} s on approach {longest['approach']}"


def _performance(info: Mapping[str, Any]) -> dict[str, str]:
    """Wall-clock rows for the summary table, already formatted."""
    sim_wall_s = float(info["sim_wall_s"])
    steps = int(info["vehicle_steps"])
    rate = f"{steps / sim_wall_s:,.0f}" if sim_wall_s > 0 else "n/a"
    return {
        "set-up wall time (s)": f"{float(info['setup_wall_s']):.2f}",
        "simulation wall time (s)": f"{sim_wall_s:.2f}",
        "vehicle-steps per second": rate,
    }


def gridlock_report(info: Mapping[str, Any]) -> str:
    """Lines naming each circular spillback (gridlock) and whether the run stalled; empty if none."""
    cycles = info.get("gridlock") or []
    stalled_at_s = info.get("stalled_at_s")
    if not cycles and stalled_at_s is None:
        return ""
    lines = [f"gridlock: {len(cycles)} circular spillback(s)"]
    for report in cycles[:_MAX_GRIDLOCK_LINES]:
        lines.append(
            f"  since t = {report['since_s']:,.0f} s (reported at t = {report['detected_s']:,.0f} s): "
            + " | ".join(report["edges"])
        )
    if len(cycles) > _MAX_GRIDLOCK_LINES:
        lines.append(f"  ... and {len(cycles) - _MAX_GRIDLOCK_LINES} more")
    if stalled_at_s is not None:
        lines.append(f"network stalled: the run stopped at t = {stalled_at_s:,.0f} s")
    return "\n".join(lines)
