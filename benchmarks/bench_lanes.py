"""Lanes and turns against SUMO 1.28: arterials with permitted left turns and heavy turning (issue 17).

Usage::

    pip install -e ".[sumo]"
    python benchmarks/bench_lanes.py                   # arterial6 at both demands, seeds 1-3
    python benchmarks/bench_lanes.py --quick           # seed 1 only
    python benchmarks/bench_lanes.py --held-out        # the held-out networks instead
    python benchmarks/bench_lanes.py --cases clears --seeds 1,2 --json out.json
    python benchmarks/bench_lanes.py --sumo-sweep 3000,3200,3400   # SUMO's side of the demand choice
    python benchmarks/bench_lanes.py --internal-links  # SUMO with junction geometry (see below)

Every run is ``sim.interop.validate.validate_against_sumo`` (what ``citysim validate
--against sumo`` does, with its defaults: point junctions, SUMO step 1 s, teleporting after
300 s): the same network, fixed-time plans, trips and routes in both. The scenario files
(``scenario.toml``, ``matrix.csv``) and SUMO's files are kept under
``--work-dir/h5400/<network>_<demand>/seed<k>`` (the sweep's under ``h7200``); ``citysim
validate <that scenario.toml> --against sumo --seed <k>`` repeats one run.

``--internal-links`` builds SUMO's net with netconvert's junction geometry and internal
links (``ExportOptions(point_junctions=False)``; no ``citysim validate`` option does that).
It matters for left turns: on the isolated signal of ``tests/test_permitted_left_hcm.py``
(saturated left-turn and opposing queues, 30 s green) SUMO with point junctions lets about
one left turner per cycle go at the *start* of the green and none at its end, as citysim's
kernel of git 0a54afd does; with internal links about one per cycle waits inside the
junction and clears at the *end* of the green (the sneakers of the field).

**Networks.** The project's ``arterial`` builder, signalized: a corridor of two lanes per
direction (13.89 m/s) with a one-lane side street (11.11 m/s) at every intersection, and no
``turns``, so a left turn shares the leftmost lane with through traffic and is permitted
(both directions of an axis get green together). The tuning network is ``arterial6``
(6 intersections, 200 m blocks and side streets). ``--held-out`` runs instead networks of
the same structure in other sizes, spacings and lane counts: ``arterial5_b300`` (5
intersections, 300 m blocks, 250 m side streets), ``arterial10_b150`` (10 intersections,
150 m blocks) and ``grid4_l2`` (4x4 grid, 250 m blocks, two lanes everywhere). Signals:
fixed time, 30 s greens, 3 s yellow, 1 s all-red (68 s cycle), no offsets.

**Demand, heavy turning.** One hour of Poisson departures; the compared runs end at 5,400 s
(:data:`HORIZON_S`). On an arterial, an OD matrix between the corridor's ends ``W0``,
``E0`` and the side streets' ends ``S<i>``, ``N<i>`` (:func:`arterial_matrix`): 40 %
through the corridor, 30 % from a corridor end to a side street (half of them left turns
off the corridor), 25 % from a side street onto the corridor towards either end (half left
turns), 5 % across the corridor from one side street to the other; each class split evenly
over its OD pairs. On the grid, uniform demand between fringe nodes (14 of every 15 trips
turn at least once).

**The two demands per network, chosen by running SUMO alone** (``--sumo-sweep``, seeds 1-3,
runs to 7,200 s; only SUMO's figures guide the choice, never citysim's): ``clears`` is the
highest demand, in steps of 200 veh/h, at which SUMO's last trip arrives by 4,200 s on the
mean of the seeds (the hour's demand served within 10 minutes of the hour's end);
``oversaturated`` is 1.4 times that, rounded up to 200 veh/h: there SUMO's last arrival is
past 5,400 s (queues that grow all hour), so it leaves trips unfinished at the horizon and
the completions compare throughput. SUMO's mean last arrival (s) at each demand (veh/h),
the most teleports of a seed in brackets where any (point junctions; the sweep of
2026-12-05 on git 0a54afd)::

    arterial6        2800: 3884  3000: 3914  3200: 4040  3400: 4238  3600: 4373
                     4200: 5071  4400: 5322  4600: 5684  4800: 5829  5000: 6080
                     -> clears 3200, oversaturated 4600 (1.4 x 3200 = 4480)
    arterial5_b300   2800: 3946  3000: 4113  3200: 4169  3400: 4322  3600: 4558
                     4200: 5172  4400: 5463  4600: 5798  4800: 5939  5000: 6235
                     -> clears 3200, oversaturated 4600
    arterial10_b150  2800: 3914  3000: 3917  3200: 3964  3400: 4054  3600: 4342
                     4200: 4909  4400: 5057  4600: 5315  4800: 5576  5000: 5832
                     -> clears 3400, oversaturated 4800 (1.4 x 3400 = 4760)
    grid4_l2         5400: 3885  5600: 3958  5800: 4033  6000: 4337  6200: 4452 (6)
                     7600: 5428 (44)  8000: 5736 (44)  8200: 5926 (51)  8400: 6027 (69)
                     -> clears 5800, oversaturated 8200 (1.4 x 5800 = 8120)

On the 2-lane grid SUMO teleports vehicles stuck for 300 s from 6,200 veh/h up (its
default, as ``citysim validate``'s; citysim never teleports): at 8,200 veh/h its
completions include those moved on.

**Reported per case** (mean over the seeds): completions of all trips by the horizon in
each simulator (and as a share of the trips), mean travel time over *completed* trips (the
validate machinery's definition: arrival less scheduled departure, the wait to enter
included), the citysim/SUMO ratios, SUMO's last arrival and teleports, and the verdict on
the issue's targets, the default tolerances of ``sim.interop.agreement``: completions within
2 %, mean travel time within 15 %. Exit code 0 if every case meets both targets, else 1.
The bench rule: run on a quiet machine (load average under ~1.5); the load average is
printed before and after, with the git commit and a digest of the kernel sources.
"""

from __future__ import annotations

import argparse
import json
import sys
import xml.etree.ElementTree as ET
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from statistics import fmean

from bench_junctions import _load, _version, _write_scenario

from sim.interop.agreement import DEFAULT_TOLERANCES, JUDGED, MetricVerdict
from sim.interop.sumo import ExportOptions
from sim.interop.validate import SUMO_FOLDER, Validation, validate_against_sumo
from sim.scenario import load_scenario

ROOT = Path(__file__).resolve().parent.parent
HOUR_S = 3600.0
HORIZON_S = 5400.0
"""End of the compared runs (s): the hour of demand and half an hour to clear it."""
SWEEP_HORIZON_S = 7200.0
"""End of the sweep's runs (s), so that a last arrival past :data:`HORIZON_S` shows."""
SIGNALS = {"controller": "fixed_time", "timing": "fixed", "green_s": 30.0, "yellow_s": 3.0, "all_red_s": 1.0}
SHARES = {"through": 0.40, "turn_off": 0.30, "turn_on": 0.25, "across": 0.05}
"""Shares of an arterial's demand by class of trip (see the module docstring)."""
CASES = ("clears", "oversaturated")
SEEDS = (1, 2, 3)
TARGETS = ("completed", "travel_time")
"""The judged metrics of ``sim.interop.agreement`` that are the issue's targets."""
TRIPINFO = "tripinfo.xml"


@dataclass(frozen=True)
class Network:
    """A network of the benchmark and its two demands.

    Attributes:
        name: Label (and folder name).
        tables: The scenario's ``[network]`` table.
        demands_vph: Total demand (veh/h) of each of :data:`CASES`, chosen by SUMO (module docstring).
    """

    name: str
    tables: Mapping[str, object]
    demands_vph: Mapping[str, float]


def _arterial(n: int, block_m: float, side_street_m: float) -> dict[str, object]:
    return {"type": "arterial", "n_intersections": n, "block_m": block_m, "side_street_m": side_street_m}


def _demands(clears_vph: float, oversaturated_vph: float) -> dict[str, float]:
    return {"clears": clears_vph, "oversaturated": oversaturated_vph}


NETWORKS = (Network("arterial6", _arterial(6, 200.0, 200.0), _demands(3200.0, 4600.0)),)
HELD_OUT = (
    Network("arterial5_b300", _arterial(5, 300.0, 250.0), _demands(3200.0, 4600.0)),
    Network("arterial10_b150", _arterial(10, 150.0, 200.0), _demands(3400.0, 4800.0)),
    Network(
        "grid4_l2",
        {"type": "grid", "rows": 4, "cols": 4, "block_m": 250.0, "lanes": 2},
        _demands(5800.0, 8200.0),
    ),
)


def arterial_matrix(n_intersections: int, total_vph: float) -> list[tuple[str, str, float]]:
    """OD rows ``(origin, destination, veh/h)`` of an arterial's demand (shares :data:`SHARES`).

    Args:
        n_intersections: Intersections of the arterial (side streets ``S<i>``/``N<i>``, i < n).
        total_vph: Total demand (veh/h).
    """
    ends = ("W0", "E0")
    sides = [f"{side}{i}" for i in range(n_intersections) for side in ("S", "N")]
    pairs = {
        "through": [("W0", "E0"), ("E0", "W0")],
        "turn_off": [(end, side) for end in ends for side in sides],
        "turn_on": [(side, end) for side in sides for end in ends],
        "across": [(f"S{i}", f"N{i}") for i in range(n_intersections)]
        + [(f"N{i}", f"S{i}") for i in range(n_intersections)],
    }
    return [
        (origin, destination, total_vph * SHARES[kind] / len(od))
        for kind, od in pairs.items()
        for origin, destination in od
    ]


def scenario_tables(
    network: Network, total_vph: float, folder: Path, seed: int, horizon_s: float
) -> dict[str, object]:
    """The scenario of one run ending at ``horizon_s`` (s); an arterial's OD matrix goes to ``folder``."""
    demand: dict[str, object] = {"duration_s": HOUR_S}
    if network.tables["type"] == "arterial":
        matrix = folder / "matrix.csv"
        rows = arterial_matrix(int(network.tables["n_intersections"]), total_vph)
        matrix.write_text(
            "origin,destination,rate_vph\n" + "".join(f"{o},{d},{r:.6g}\n" for o, d, r in rows),
            encoding="utf-8",
        )
        demand |= {"type": "matrix", "matrix": str(matrix)}
    else:
        demand |= {"type": "uniform", "rate_vph": total_vph}
    return {
        "name": f"{network.name}_{total_vph:.0f}",
        "seed": seed,
        "network": dict(network.tables),
        "demand": demand,
        "signals": SIGNALS,
        "simulation": {"max_time_s": horizon_s},
    }


def sumo_last_arrival_s(folder: Path) -> float:
    """The time SUMO's last trip arrived (s), from its trip info in a validation's folder."""
    arrivals = [
        float(element.get("arrival", "nan"))
        for _, element in ET.iterparse(folder / SUMO_FOLDER / TRIPINFO)
        if element.tag == "tripinfo"
    ]
    return max(arrivals, default=float("nan"))


@dataclass(frozen=True)
class Run:
    """One validation of one network, demand and seed.

    Attributes:
        network, case: The network's name and the case (one of :data:`CASES`, or ``"sweep"``).
        demand_vph: Total demand (veh/h).
        seed: The seed.
        validation: citysim beside SUMO.
        sumo_last_arrival_s: SUMO's last arrival (s).
        command: The equivalent command line.
    """

    network: str
    case: str
    demand_vph: float
    seed: int
    validation: Validation
    sumo_last_arrival_s: float
    command: str


def run_one(
    network: Network,
    case: str,
    total_vph: float,
    seed: int,
    work: Path,
    options: ExportOptions,
    horizon_s: float = HORIZON_S,
) -> Run:
    """Write the scenario, validate it against SUMO (net built with ``options``), read SUMO's last arrival."""
    folder = work / f"h{horizon_s:.0f}" / f"{network.name}_{total_vph:.0f}"
    folder.mkdir(parents=True, exist_ok=True)
    tables = scenario_tables(network, total_vph, folder, seed, horizon_s)
    path = _write_scenario(folder / "scenario.toml", tables)
    out = folder / (f"seed{seed}" if options.point_junctions else f"seed{seed}_internal")
    validation = validate_against_sumo(load_scenario(path), out, seed=seed, options=options)
    command = f"citysim validate {path} --against sumo --seed {seed} --out {out} --no-plots --quiet"
    if not options.point_junctions:
        command = "no command line (internal links): " + command
    return Run(network.name, case, total_vph, seed, validation, sumo_last_arrival_s(out), command)


def judged(runs: Sequence[Run]) -> dict[str, MetricVerdict]:
    """The targets judged on the means over the seeds' runs of one case."""
    verdicts = {}
    for metric in (m for m in JUDGED if m.name in TARGETS):
        ours = fmean([getattr(r.validation.citysim, metric.key) for r in runs])
        theirs = fmean([getattr(r.validation.sumo, metric.key) for r in runs])
        verdicts[metric.name] = MetricVerdict(metric, ours, theirs, DEFAULT_TOLERANCES[metric.name])
    return verdicts


HEADER = (
    f"{'network':<16}{'case':<14}{'veh/h':>6}{'seed':>6}{'trips':>7}"
    f"{'completed cs/SUMO':>19}{'% of trips':>13}{'ratio':>7}"
    f"{'mean TT s cs/SUMO':>19}{'ratio':>7}{'SUMO last':>10}{'tele':>5}  targets"
)


SWEEP_HEADER = (
    f"{'network':<16}{'veh/h':>7}{'trips':>7}{'SUMO completed':>16}{'mean TT s':>11}"
    + f"{'last arrival s':>16}{'tele':>6}  (last arrival per seed)"
)


def row_line(runs: Sequence[Run]) -> str:
    """One table line: a single run, or the mean of a case's runs (``seed`` shown as ``mean``)."""
    first = runs[0]
    ours, sumo = [r.validation.citysim for r in runs], [r.validation.sumo for r in runs]
    trips = fmean([s.trips for s in ours])
    done = fmean([s.completed for s in ours]), fmean([s.completed for s in sumo])
    travel = fmean([s.mean_travel_time_s for s in ours]), fmean([s.mean_travel_time_s for s in sumo])
    last_s, teleports = (
        fmean([r.sumo_last_arrival_s for r in runs]),
        fmean([r.validation.teleports for r in runs]),
    )
    failing = [name for name, v in judged(runs).items() if not v.agrees]
    return (
        f"{first.network:<16}{first.case:<14}{first.demand_vph:>6.0f}"
        f"{first.seed if len(runs) == 1 else 'mean':>6}{trips:>7.0f}"
        f"{done[0]:>10,.0f}/{done[1]:<8,.0f}{done[0] / trips:>6.1%}/{done[1] / trips:<6.1%}"
        f"{done[0] / done[1]:>7.3f}{travel[0]:>10.1f}/{travel[1]:<8.1f}{travel[0] / travel[1]:>7.3f}"
        f"{last_s:>10.0f}{teleports:>5.0f}  {'met' if not failing else 'fails: ' + ', '.join(failing)}"
    )


def _row_dict(runs: Sequence[Run]) -> dict[str, object]:
    first = runs[0]
    return {
        "network": first.network,
        "case": first.case,
        "demand_vph": first.demand_vph,
        "seeds": [r.seed for r in runs],
        "runs": [
            r.validation.to_dict() | {"sumo_last_arrival_s": r.sumo_last_arrival_s, "command": r.command}
            for r in runs
        ],
        "targets": {name: v.to_dict() for name, v in judged(runs).items()},
    }


def sweep(
    networks: Sequence[Network],
    rates_vph: Sequence[float],
    seeds: Sequence[int],
    work: Path,
    options: ExportOptions,
) -> None:
    """Print SUMO's figures at each demand, means over ``seeds``, runs ending at :data:`SWEEP_HORIZON_S`.

    Per demand: trips, SUMO's completions, mean travel time, last arrival (each seed's
    too) and the most teleports of a seed.
    """
    print(SWEEP_HEADER)
    for network in networks:
        for rate in rates_vph:
            runs = [run_one(network, "sweep", rate, seed, work, options, SWEEP_HORIZON_S) for seed in seeds]
            sumo = [r.validation.sumo for r in runs]
            last_s = [r.sumo_last_arrival_s for r in runs]
            travel_s = fmean([s.mean_travel_time_s for s in sumo])
            print(
                f"{network.name:<16}{rate:>7.0f}{fmean([s.trips for s in sumo]):>7,.0f}"
                f"{fmean([s.completed for s in sumo]):>16,.0f}{travel_s:>11.1f}"
                f"{fmean(last_s):>16.0f}{max(r.validation.teleports for r in runs):>6}"
                f"  ({', '.join(f'{t:.0f}' for t in last_s)})",
                flush=True,
            )


def _comma_list(convert: type[int] | type[float], least: float) -> Callable[[str], list]:
    """An argparse type: a comma-separated list of ``convert`` values, each at least ``least``."""

    def parse(text: str) -> list:
        try:
            values = [convert(item) for item in text.split(",") if item.strip()]
        except ValueError:
            values = []
        if not values or min(values) < least:
            raise argparse.ArgumentTypeError(
                f"expected comma-separated {convert.__name__}s >= {least:g}, got {text!r}"
            )
        return values

    return parse


def _cases(text: str) -> list[str]:
    """An argparse type: comma-separated names of :data:`CASES`."""
    cases = [item.strip() for item in text.split(",") if item.strip()]
    if not cases or not set(cases) <= set(CASES):
        raise argparse.ArgumentTypeError(
            f"expected some of {', '.join(CASES)} (comma-separated), got {text!r}"
        )
    return cases


def main(argv: list[str] | None = None) -> int:
    """Run the cases (or the SUMO sweep), print the table; 1 if a case misses a target."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--held-out", action="store_true", help="run the held-out networks instead of arterial6")
    ap.add_argument(
        "--cases", type=_cases, default=list(CASES), help=f"comma-separated, of {', '.join(CASES)}"
    )
    ap.add_argument("--seeds", type=_comma_list(int, 0), default=list(SEEDS), help="comma-separated seeds")
    ap.add_argument("--quick", action="store_true", help="seed 1 only")
    ap.add_argument(
        "--sumo-sweep",
        type=_comma_list(float, 1.0),
        metavar="VEH_H,...",
        help="only print SUMO's figures at these demands (runs to 7,200 s)",
    )
    ap.add_argument(
        "--internal-links",
        action="store_true",
        help="SUMO net with netconvert's junction geometry and internal links (where its left turners "
        "wait inside the junction) instead of citysim validate's point junctions",
    )
    ap.add_argument("--work-dir", type=Path, default=ROOT / ".bench_cache" / "lanes")
    ap.add_argument("--json", type=Path, help="write every run and the judged means to this file")
    args = ap.parse_args(argv)
    seeds = [1] if args.quick else args.seeds
    networks = HELD_OUT if args.held_out else NETWORKS
    options = ExportOptions(point_junctions=not args.internal_links)
    version = _version()
    print(f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC; load average {_load()}\n{version}", flush=True)
    if args.sumo_sweep:
        sweep(networks, args.sumo_sweep, seeds, args.work_dir, options)
        print(f"load average {_load()}")
        return 0
    print(HEADER, flush=True)
    results = []
    for network in networks:
        for case in args.cases:
            runs = [
                run_one(network, case, network.demands_vph[case], seed, args.work_dir, options)
                for seed in seeds
            ]
            for run in runs if len(runs) > 1 else ():
                print(row_line([run]), flush=True)
            print(row_line(runs), flush=True)
            results.append(runs)
    print(
        f"completed: trips arrived by the horizon ({HORIZON_S:,.0f} s); mean TT: over completed trips; "
        "targets: completed within 2 %, mean travel time within 15 % of SUMO's (means over the seeds)"
    )
    print(f"load average {_load()}")
    if _version() != version:
        print("WARNING: the kernel sources changed during the run; the table mixes two versions")
    if args.json:
        args.json.write_text(json.dumps([_row_dict(r) for r in results], indent=1) + "\n", encoding="utf-8")
    return 0 if all(v.agrees for runs in results for v in judged(runs).values()) else 1


if __name__ == "__main__":
    sys.exit(main())
