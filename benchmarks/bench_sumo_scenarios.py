"""Real SUMO scenarios: import each with ``citysim import sumo``, run it in citysim and in SUMO 1.28.

Usage::

    pip install -e ".[sumo]"
    python benchmarks/bench_sumo_scenarios.py                   # every scenario below
    python benchmarks/bench_sumo_scenarios.py --scenarios cross,grid6 --markdown table.md

The scenarios are the test material shipped in the ``eclipse-sumo`` wheel
(``sumo/tools/game/*`` and sumolib's RiLSA examples). Each is imported from its network and
its own route files (the games' traffic-light files are left out: they hold the player's
manual programs, 10,000 s greens that a player switches); the games' flows run 90,000 s, so
departures are cut at ``END_S``. Scenarios without vehicle demand (DRT's is persons and
taxis, RiLSA has none) get the importer's OD demand. Then
``sim.interop.validate.validate_against_sumo`` (what ``citysim validate --against sumo``
does) runs citysim and SUMO (step 1 s) on the *original* network with the same trips and
routes, SUMO without teleporting by default (citysim never moves a stuck vehicle on; with
``--teleport-after 300``, SUMO's default, SUMO counts vehicles it teleported as arrived).
Prints per scenario what the import dropped, completions, mean travel time and the loop
speed ratio, with the load average; SUMO files go to ``.bench_cache/sumo_scenarios``.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

import sumo

from sim.interop.imports import import_sumo
from sim.interop.validate import validate_against_sumo
from sim.scenario import load_scenario

ROOT = Path(__file__).resolve().parent.parent
SUMO_HOME = Path(sumo.SUMO_HOME)
GAME = SUMO_HOME / "tools" / "game"
RILSA = SUMO_HOME / "tools" / "sumolib" / "scenario" / "scenarios"
END_S = 3600.0
"""Last departure second of the games' flows (their own files run to 90,000 s)."""

SCENARIOS: dict[str, tuple[Path, tuple[Path, ...], float | None]] = {
    "A10KW": (GAME / "A10KW.sumocfg", (), None),
    "bs3d": (GAME / "bs3d" / "bs.net.xml", (GAME / "bs3d" / "bs3d.rou.xml",), END_S),
    "fkk_in": (GAME / "fkk_in" / "ingolstadt.net.xml.gz", (GAME / "fkk_in" / "fkk_in.rou.xml",), END_S),
    "square": (GAME / "square" / "square.net.xml", (GAME / "square" / "square.rou.xml",), END_S),
    "cross": (GAME / "cross" / "cross.net.xml", (GAME / "cross" / "cross.rou.xml",), END_S),
    "grid6": (GAME / "grid6" / "grid6.net.xml", (GAME / "grid6" / "grid6.rou.xml",), END_S),
    "corridor": (GAME / "corridor" / "corridor.net.xml", (GAME / "corridor" / "corridor.rou.xml",), END_S),
    "DRT": (GAME / "DRT" / "osm.net.xml", (), None),
    "RiLSA1": (RILSA / "RiLSA1" / "rilsa1.net.xml", (), None),
    **{
        f"RiLSA_example{i}": (RILSA / "RealWorld" / f"RiLSA_example{i}" / f"rilsa{i}.net.xml", (), None)
        for i in range(1, 5)
    },
}
"""Name -> (network or .sumocfg, route files, last departure second or None for the files' own)."""


def main(argv: list[str] | None = None) -> int:
    """Import and run every scenario, print the table; 1 if a scenario fails to import or run."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scenarios", default=",".join(SCENARIOS), help="comma-separated names")
    ap.add_argument("--work-dir", type=Path, default=ROOT / ".bench_cache" / "sumo_scenarios")
    ap.add_argument("--json", type=Path, help="write every comparison to this file")
    ap.add_argument("--markdown", type=Path, help="write the table as Markdown to this file")
    ap.add_argument(
        "--teleport-after",
        type=float,
        default=-1.0,
        help="SUMO's --time-to-teleport (s); default -1: never, as citysim (a stuck vehicle stays stuck)",
    )
    args = ap.parse_args(argv)
    rows, failed = [], 0
    for name in [s for s in args.scenarios.split(",") if s]:
        if name not in SCENARIOS:
            ap.error(f"unknown scenario {name!r}; expected one of {', '.join(SCENARIOS)}")
        net, routes, end_s = SCENARIOS[name]
        work = args.work_dir / name
        try:
            imported = import_sumo(net, work / "scenario", routes, end_s=end_s)
            validation = validate_against_sumo(
                load_scenario(imported.scenario), work / "sumo", time_to_teleport_s=args.teleport_after
            )
        except ValueError as error:
            print(f"\n== {name}: FAILED: {error}")
            failed += 1
            continue
        print(f"\n== {name} ==\n" + "\n".join(imported.report) + "\n" + validation.table())
        rows.append((name, imported, validation))
    load = os.getloadavg()
    table = _table(rows)
    print(f"\nload average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}\n{table}")
    if args.markdown:
        args.markdown.write_text(table + "\n", encoding="utf-8")
    if args.json:
        data = {name: {"import": list(i.report), **v.to_dict()} for name, i, v in rows}
        args.json.write_text(json.dumps(data, indent=1), encoding="utf-8")
    return 1 if failed else 0


def _table(rows: list) -> str:
    lines = [
        "| scenario | trips | completed citysim / SUMO | mean travel time citysim / SUMO (s) | TT ratio "
        "| SUMO teleports | loop speed vs SUMO |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for name, _, v in rows:
        speed = v.sumo.wall_s / v.citysim.wall_s if v.citysim.wall_s > 0 else float("nan")
        lines.append(
            f"| {name} | {v.citysim.trips:,} | {v.citysim.completed:,} / {v.sumo.completed:,} "
            f"| {v.citysim.mean_travel_time_s:,.1f} / {v.sumo.mean_travel_time_s:,.1f} "
            f"| {v.ratio('mean_travel_time_s'):.3f} | {v.teleports} | {speed:.1f}x |"
        )
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
