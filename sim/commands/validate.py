"""``citysim validate --against sumo SCENARIO``: run a scenario in citysim and in SUMO, compare."""

from __future__ import annotations

import argparse
from pathlib import Path

from sim.commands.common import EXIT_OK, add_scenario_arguments, default_results_folder

__all__ = ["EXIT_DISAGREE", "FIGURE", "PEERS", "register"]

PEERS = ("sumo",)
"""Simulators ``--against`` accepts."""
FIGURE = "link_speeds.png"
EXIT_DISAGREE = 1
"""Exit code when completed vehicles or mean travel time fall outside the tolerances."""


def register(commands: argparse._SubParsersAction) -> None:
    """Add ``validate`` to the subcommands."""
    from sim.interop.sumo.junctions import JUNCTION_TYPES

    validate = commands.add_parser(
        "validate",
        help="run a scenario in citysim and in SUMO and compare them",
        description=(
            "Export the scenario's network, fixed-time signal plans and routed trips to SUMO, run "
            "SUMO (step 1 s) and citysim, and print side by side vehicles completed, mean travel "
            "time, mean delay, mean speed and wall time with their ratios, and the per-link flow "
            f"correlation. Writes the SUMO files, validation.json, links.csv and {FIGURE} (per-link "
            "mean speeds, one simulator against the other) to the output folder. Exit code 0 when "
            f"completed vehicles agree within 2% and mean travel time within 15%, {EXIT_DISAGREE} "
            "otherwise. Needs the 'sumo' extra: pip install 'citysim[sumo]'."
        ),
    )
    validate.add_argument("--against", required=True, choices=PEERS, help="the reference simulator")
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
    validate.add_argument("--no-plots", dest="plots", action="store_false", help="do not draw the figure")
    validate.add_argument("--quiet", action="store_true", help="hide the progress bar")
    validate.set_defaults(handler=_validate)


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
    validation = validate_against_sumo(scenario, folder, seed=seed, options=options, progress=not args.quiet)
    print(validation.table())
    (folder / FIGURE).unlink(missing_ok=True)
    validation.write(folder)
    if args.plots:
        from sim.plots import save_figure
        from sim.plots.validation_figures import plot_link_speeds

        save_figure(plot_link_speeds(validation), folder / FIGURE)
    print(f"results written to {folder}")
    return EXIT_OK if all(validation.agreement().values()) else EXIT_DISAGREE
