"""``citysim import sumo|osm FILE --out DIR``: a ready scenario folder from a SUMO model or an OSM extract."""

from __future__ import annotations

import argparse
from pathlib import Path

from sim.commands.common import EXIT_OK, positive_number, seed_argument

__all__ = ["register"]


def register(commands: argparse._SubParsersAction) -> None:
    """Add ``import`` and its formats ``sumo`` and ``osm`` to the subcommands."""
    command = commands.add_parser(
        "import",
        help="import a SUMO model or an OpenStreetMap extract as a scenario folder",
        description=(
            "Write a scenario folder (network.json, the demand, scenario.toml) that 'citysim run' "
            "runs as it is, and print what was kept and dropped with counts."
        ),
    )
    formats = command.add_subparsers(title="formats", dest="format", required=True, metavar="FORMAT")
    sumo = formats.add_parser(
        "sumo",
        help="a SUMO network (.net.xml[.gz] or .sumocfg) with its route files",
        description=(
            "Import a SUMO network: the largest strongly connected part open to the vehicle class, "
            "its lanes and lane-to-lane connections (turn restrictions), junction types and "
            "traffic-light programs (the ones SUMO runs by default), and the demand of its route "
            "files (vehicles, trips, flows, routes, route distributions, vehicle types). Trips that "
            "cannot be driven on the imported network are skipped and counted. A .sumocfg brings "
            "its net-file, route-files, additional-files and begin/end. Without route files the "
            "demand is an OD matrix over every drivable pair of fringe nodes (--rate-vph, one hour). "
            "Needs the 'sumo' extra: pip install 'citysim[sumo]'."
        ),
    )
    sumo.add_argument("net", metavar="NET", type=Path, help=".net.xml, .net.xml.gz or .sumocfg file")
    sumo.add_argument(
        "--routes",
        nargs="+",
        type=Path,
        default=[],
        metavar="ROUTES",
        help="SUMO route files (.rou.xml; also additional files holding routes or vTypes)",
    )
    sumo.add_argument(
        "--vclass", default="passenger", help="SUMO vehicle class to import (default: passenger)"
    )
    sumo.add_argument(
        "--begin", type=float, default=None, metavar="S", help="drop departures before S seconds"
    )
    sumo.add_argument(
        "--end", type=float, default=None, metavar="S", help="drop departures at or after S seconds"
    )
    osm = formats.add_parser(
        "osm",
        help="an OpenStreetMap extract (.osm, .osm.pbf)",
        description=(
            "Import the drivable roads of an OpenStreetMap extract (largest strongly connected part, "
            "lanes, speeds, signals) with an OD demand over every drivable pair of fringe nodes. "
            "Needs the 'osm' extra: pip install 'citysim[osm]'."
        ),
    )
    osm.add_argument("net", metavar="FILE", type=Path, help=".osm or .osm.pbf file")
    for parser in (sumo, osm):
        parser.add_argument("--out", type=Path, required=True, metavar="DIR", help="scenario folder to write")
        parser.add_argument("--name", default=None, help="scenario name (default: the file name)")
        parser.add_argument("--seed", type=seed_argument, default=42, help="the scenario's seed (default 42)")
        parser.add_argument(
            "--rate-vph",
            type=positive_number,
            default=None,
            help="departures per hour of the OD demand written when there are no route files (default 1000)",
        )
        parser.set_defaults(handler=_import)


def _import(args: argparse.Namespace) -> int:
    from sim.interop.imports import DEFAULT_RATE_VPH, import_osm, import_sumo

    rate_vph = DEFAULT_RATE_VPH if args.rate_vph is None else args.rate_vph
    if args.format == "sumo":
        imported = import_sumo(
            args.net,
            args.out,
            args.routes,
            name=args.name,
            vclass=args.vclass,
            seed=args.seed,
            begin_s=args.begin,
            end_s=args.end,
            rate_vph=rate_vph,
        )
    else:
        imported = import_osm(args.net, args.out, name=args.name, seed=args.seed, rate_vph=rate_vph)
    print("\n".join(imported.report))
    print(f"scenario written to {imported.scenario}; run it with: citysim run {imported.scenario}")
    return EXIT_OK
