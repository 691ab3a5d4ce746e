"""``citysim validate --against sumo SCENARIO``: run a scenario in citysim and in SUMO, compare."""

from __future__ import annotations

import argparse
from pathlib import Path

from sim.commands.common import EXIT_OK, add_scenario_arguments, default_results_folder
from sim.interop.agreement import Tolerance, ToleranceError, describe_tolerances, parse_tolerance

__all__ = ["EXIT_DISAGREE", "FIGURE", "PEERS", "register"]

PEERS = ("sumo",)
"""Simulators ``--against`` accepts."""
FIGURE = "link_speeds.png"
EXIT_DISAGREE = 1
"""Exit code when completed vehicles, mean travel time or mean delay falls outside its tolerance."""


def register(commands: argparse._SubParsersAction) -> None:
    """Add ``validate`` to the subcommands."""
    from sim.interop.sumo.binaries import DEFAULT_TELEPORT_S
    from sim.interop.sumo.junctions import JUNCTION_TYPES

    validate = commands.add_parser(
        "validate",
        help="run a scenario in citysim and in SUMO and compare them",
        description=(
            "Export the scenario's network, fixed-time signal plans and routed trips to SUMO (a "
            "scenario made by 'citysim import sumo' runs in SUMO on its original network), run "
            "SUMO (step 1 s) and citysim, and print side by side vehicles completed, mean travel "
            "time, mean delay, mean speed and wall time with their ratios, and the per-link flow "
            "correlation. Then judge three metrics, each printed on its own line with both values, "
            "the difference, the tolerance and a verdict: a metric holds when |citysim - SUMO| <= "
            "max(relative x SUMO, floor); default tolerances: "
            f"{describe_tolerances()}. The last line says 'agreement' only when all three hold, "
            "else 'no agreement' and the failing metrics. Writes the SUMO files, validation.json, "
            f"links.csv, agreement.csv (the verdict) and {FIGURE} (per-link mean speeds, one "
            "simulator against the other) to the output folder. Exit code 0 on agreement, "
            f"{EXIT_DISAGREE} when a judged metric is outside its tolerance, 2 for a usage or input "
            "error. Needs the 'sumo' extra: pip install 'citysim[sumo]'."
        ),
    )
    validate.add_argument("--against", required=True, choices=PEERS, help="the reference simulator")
    validate.add_argument(
        "--tolerance",
        dest="tolerances",
        metavar="NAME=RELATIVE[,FLOOR]",
        type=_tolerance_argument,
        action="append",
        default=[],
        help=(
            "tolerance of a judged metric (completed, travel_time or delay): RELATIVE a share of "
            "SUMO's value from 0 to 1, FLOOR a difference in the metric's unit that always holds "
            "(default: the metric's default floor), e.g. --tolerance delay=0.3 or delay=0.3,10 "
            "(repeatable; the last one of a metric wins)"
        ),
    )
    add_scenario_arguments(validate)
    validate.add_argument(
        "--out",
        type=Path,
        default=None,
        metavar="DIR",
        help="output folder; default: results/<scenario name>-seed<seed>-vs-<simulator>",
    )
    validate.add_argument(
        "--unsignalized",
        choices=JUNCTION_TYPES,
        default="priority",
        help="SUMO junction type of unsignalized intersections (default: priority)",
    )
    validate.add_argument(
        "--teleport-after",
        type=float,
        default=DEFAULT_TELEPORT_S,
        metavar="S",
        help="SUMO's --time-to-teleport: a vehicle stuck S seconds is moved on and counted; "
        f"-1: never, as in citysim (default: SUMO's {DEFAULT_TELEPORT_S:g})",
    )
    validate.add_argument("--no-plots", dest="plots", action="store_false", help="do not draw the figure")
    validate.add_argument("--quiet", action="store_true", help="hide the progress bar")
    validate.set_defaults(handler=_validate)


def _tolerance_argument(text: str) -> tuple[str, Tolerance]:
    """Argparse type of ``--tolerance``: ``NAME=RELATIVE[,FLOOR]`` -> (name, tolerance)."""
    try:
        return parse_tolerance(text)
    except ToleranceError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def _validate(args: argparse.Namespace) -> int:
    # Imported here so that --help need not load mesa and numba.
    from sim.interop.sumo import ExportOptions
    from sim.interop.validate import validate_against_sumo
    from sim.scenario import load_scenario

    scenario = load_scenario(args.scenario, args.overrides)
    seed = scenario.seed if args.seed is None else args.seed
    default = default_results_folder(scenario.name, f"{{name}}-seed{seed}-vs-{args.against}")
    folder = args.out if args.out is not None else default
    folder.mkdir(parents=True, exist_ok=True)
    options = ExportOptions(unsignalized=args.unsignalized)
    validation = validate_against_sumo(
        scenario,
        folder,
        seed=seed,
        options=options,
        progress=not args.quiet,
        tolerances=dict(args.tolerances),
        time_to_teleport_s=args.teleport_after,
    )
    print(validation.table())
    (folder / FIGURE).unlink(missing_ok=True)
    validation.write(folder)
    if args.plots:
        from sim.plots import save_figure
        from sim.plots.validation_figures import plot_link_speeds

        save_figure(plot_link_speeds(validation), folder / FIGURE)
    print(f"results written to {folder}")
    return EXIT_OK if validation.verdict().agrees else EXIT_DISAGREE
