"""``citysim assign SCENARIO``: dynamic user equilibrium by iterated runs; writes a route set."""

from __future__ import annotations

import argparse
import math
import tempfile
from pathlib import Path

from sim.commands.common import EXIT_OK, add_scenario_arguments, integer_argument, positive_number

__all__ = ["register"]


def register(commands: argparse._SubParsersAction) -> None:
    """Add ``assign`` to the subcommands."""
    parser = commands.add_parser(
        "assign",
        help="iterate runs towards a dynamic user equilibrium and write the route set",
        description=(
            "Run the scenario, then again and again: after each run every group of trips (same first "
            "link and destination) and departure bin gets the quickest route on the run's link "
            "travel times added to its route set, and trips move to their bin's cheapest route with "
            "the method of successive averages (as SUMO's duaIterate). Stops once the relative gap "
            "(excess experienced travel time over the cheapest routes' times) is at most --gap, or "
            "after --iterations runs. Writes the route set of the last run; use it with "
            '[route_choice] route_set = "FILE".'
        ),
    )
    add_scenario_arguments(parser)
    parser.add_argument(
        "--iterations",
        type=integer_argument(1, 1000),
        default=10,
        metavar="N",
        help="runs at most (default 10)",
    )
    parser.add_argument(
        "--gap",
        type=positive_number,
        default=0.02,
        metavar="G",
        help="relative gap to stop at (default 0.02)",
    )
    parser.add_argument(
        "--bin-s",
        type=positive_number,
        default=900.0,
        metavar="S",
        help="departure bin width (s, default 900)",
    )
    parser.add_argument(
        "--max-routes",
        type=integer_argument(1, 100),
        default=4,
        metavar="K",
        help="routes per group (default 4)",
    )
    parser.add_argument(
        "--out",
        type=Path,
        default=None,
        metavar="FILE",
        help="route set to write (default SCENARIO_routes.json)",
    )
    parser.add_argument("--quiet", action="store_true", help="hide the progress bar")
    parser.set_defaults(handler=_assign)


def _assign(args: argparse.Namespace) -> int:
    # Imported here, not at the top, so that --help need not load mesa and numba.
    from tqdm.auto import tqdm

    from sim.model import CityModel
    from sim.routing.equilibrium import Equilibrium
    from sim.scenario import load_scenario

    scenario = load_scenario(args.scenario, [*args.overrides, "route_choice.equipped_share=0"])
    seed = scenario.seed if args.seed is None else args.seed
    out = args.out or args.scenario.with_name(f"{args.scenario.stem}_routes.json")
    with tempfile.TemporaryDirectory(prefix="citysim-assign-") as tmp:
        current = Path(tmp) / "routes.json"
        model = CityModel(scenario, seed=seed)
        n = len(model.trips)
        equilibrium = Equilibrium(
            model.net,
            list(model.trips.ids),
            [model.traffic.route_ahead(vid).edges for vid in range(n)],
            model.trips.depart_s,
            bin_s=args.bin_s,
            max_routes=args.max_routes,
            seed=seed,
        )
        history = []
        bar = tqdm(total=args.iterations, unit="run", disable=args.quiet)
        for k in range(args.iterations):
            if k > 0:
                model = CityModel(
                    scenario.with_overrides({"route_choice.route_set": str(current)}), seed=seed
                )
            model.run()
            results = model.results()
            stop = math.inf if k == args.iterations - 1 else args.gap
            route_set = equilibrium.route_set({})
            measured = equilibrium.update(results.trips, results.links, model.time_s, stop_gap=stop)
            route_set.meta = {
                "scenario": scenario.name,
                "iterations": k + 1,
                "relative_gap": round(measured.relative_gap, 6),
            }
            done = measured.relative_gap <= stop
            if not done:
                equilibrium.route_set({}).write(current)
            history.append(measured)
            bar.update(1)
            bar.set_postfix(gap=f"{measured.relative_gap:.4f}", mean_tt=f"{measured.mean_travel_time_s:.0f}s")
            if done:
                break
        bar.close()
    route_set.write(out)
    for item in history:
        print(
            f"run {item.iteration + 1}: relative gap {item.relative_gap:.4f}, "
            f"mean travel time {item.mean_travel_time_s:,.1f} s"
        )
    reached = "reached" if history[-1].relative_gap <= args.gap else "not reached"
    print(f"gap target {args.gap:g} {reached} after {len(history)} runs; route set written to {out}")
    print(f'use it with [route_choice] route_set = "{out.resolve()}"')
    return EXIT_OK
