"""Unsignalized junctions against SUMO 1.28: SUMO's gap acceptance measured, then the issue's comparisons.

Usage::

    pip install -e ".[sumo]"
    python benchmarks/bench_junctions.py                # the tables of docs/junctions_vs_sumo.md
    python benchmarks/bench_junctions.py --quick        # fewer flows and demands, shorter runs
    python benchmarks/bench_junctions.py --skip-helsinki --json out.json

**Step 1, what gap acceptance SUMO's drivers have.** On an isolated crossroads (``grid``
1x1, 200 m legs, one lane, E-W the major road) or the ``roundabout`` network, one movement
that gives way is fed by a saturated queue (a departure every second) against Poisson
conflicting traffic of ``v`` veh/h. After a warm-up, the movement's capacity is its vehicles
arrived per hour, and ``v`` the conflicting vehicles arrived per hour, both measured. The
network and trips go to SUMO through the project's export (``build_net``,
``write_routes``, ``run_sumo``: point junctions, SUMO's default driver, step 1 s, as
``citysim validate`` does), and to citysim from a network JSON and a trips CSV. Harders'
formula ``c = v exp(-v tc / 3600) / (1 - exp(-v tf / 3600))`` is fitted over the flows by
least squares (``scipy.optimize.curve_fit``) for each simulator: the fitted (tc, tf) are the
effective gap acceptance that reproduces its capacities. On citysim with its defaults (the
HCM 2010 gaps) the fit checks the method, and shows how far effective gaps lie from given
ones; citysim is then calibrated to SUMO's capacities (:func:`measure_gaps`). These networks
are not the comparison networks of step 2.

**Step 2, the comparisons.** A 4x4 grid (200 m blocks, one lane, ``junction="priority"``
and ``"allway_stop"``) at several demands, the 4-leg ``roundabout``, Helsinki
(``scenarios/helsinki.toml``) and an isolated fixed-time signal (``grid`` 1x1), each through
``sim.interop.validate.validate_against_sumo`` (what ``citysim validate --against sumo``
does), with citysim's defaults (``HCM``), with SUMO's fitted gaps of step 1 as they are
(``SUMO-fit``) and with the calibrated ones (``calibrated``), passed as
``right_of_way.<class>_gap_s`` / ``_follow_up_s`` overrides. The scenario files and the SUMO
outputs are kept under ``--work-dir``. Exit code 0 if every comparison agrees, else 1.

Prints the load average (``os.getloadavg``) before and after.
"""

from __future__ import annotations

import argparse
import hashlib
import itertools
import json
import os
import subprocess
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from functools import partial
from pathlib import Path

import networkx as nx
import numpy as np
import pandas as pd
from scipy.optimize import curve_fit

from sim.interop.sumo import ExportOptions, RouteTrip, build_net, run_sumo, sumo_edge_ids, write_routes
from sim.interop.validate import Validation, validate_against_sumo
from sim.model import CityModel
from sim.network.builders import grid, roundabout
from sim.network.io import save_network_json
from sim.scenario import load_scenario
from sim.traffic.codes import HCM_GAPS_S

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

import test_gap_acceptance_hcm as hcm  # noqa: E402  (the Harders formula the tests check against)

ROOT = Path(__file__).resolve().parent.parent
MINOR_HEADWAY_S = 1.0
"""Scheduled headway of the saturated movement (s): 3,600 veh/h, above any capacity measured."""
FIT_START = (4.0, 2.5)
FIT_BOUNDS = ((0.1, 0.3), (15.0, 10.0))
GAP_RANGE_S = (0.5, 20.0)
"""Calibrated gaps are kept in this range (s); the scenario accepts [0, 20]."""
CALIBRATION_STEPS = 2
"""Fixed-point steps of citysim's calibration to SUMO's gaps (:func:`measure_gaps`)."""
GOOD_FIT = 0.15
"""A SUMO fit whose relative RMS residual exceeds this is not passed to citysim."""


@dataclass(frozen=True)
class GapCase:
    """One movement that gives way, on an isolated junction.

    Attributes:
        gap_class: Its class, a key of :data:`~sim.traffic.codes.HCM_GAPS_S`.
        network: Builds the junction's network.
        conflicting: Node paths of the conflicting streams (the flow is split evenly among them).
        movement: Node path of the movement measured (saturated).
    """

    gap_class: str
    network: Callable[[], nx.DiGraph]
    conflicting: tuple[tuple[str, ...], ...]
    movement: tuple[str, ...]


def _crossroads(junction: str) -> Callable[[], nx.DiGraph]:
    return lambda: grid(1, 1, junction=junction, name=f"crossroads_{junction}")


_EAST = ("W0", "n0_0", "E0")
_WEST = ("E0", "n0_0", "W0")
_CIRCULATING = ("W", "cW", "cS", "cE", "E")
GAP_CASES = (
    GapCase("minor_right", _crossroads("priority"), (_EAST,), ("S0", "n0_0", "E0")),
    GapCase("minor_through", _crossroads("priority"), (_EAST, _WEST), ("S0", "n0_0", "N0")),
    GapCase("minor_left", _crossroads("priority"), (_EAST, _WEST), ("S0", "n0_0", "W0")),
    GapCase("major_left", _crossroads("priority"), (_EAST,), ("E0", "n0_0", "S0")),
    GapCase("stop_right", _crossroads("stop"), (_EAST,), ("S0", "n0_0", "E0")),
    GapCase("stop_through", _crossroads("stop"), (_EAST, _WEST), ("S0", "n0_0", "N0")),
    GapCase("stop_left", _crossroads("stop"), (_EAST, _WEST), ("S0", "n0_0", "W0")),
    GapCase("roundabout_entry", partial(roundabout, 4), (_CIRCULATING,), ("S", "cS", "cE", "cN", "N")),
)
"""The movements measured. On the crossroads (``grid(1, 1)``: ``n0_0`` with legs to ``W0``,
``E0``, ``S0``, ``N0``) the minor road comes from the south; the major left turn is the
westbound one, against eastbound traffic. At the roundabout (counter-clockwise ring), the
south entry against circulating traffic from the west leg."""
QUICK_CLASSES = ("minor_right", "minor_left", "stop_right", "roundabout_entry")


def _poisson_s(rng: np.random.Generator, rate_vph: float, end_s: float) -> np.ndarray:
    n = int(rate_vph * end_s / 3600.0 * 1.5 + 50)
    times = np.cumsum(rng.exponential(3600.0 / rate_vph, n))
    if times[-1] < end_s:
        raise RuntimeError(f"{n} Poisson headways at {rate_vph} veh/h fell short of {end_s} s")
    return times[times < end_s]


def _gap_trips(case: GapCase, v_vph: float, end_s: float, seed: int) -> pd.DataFrame:
    """Trips of one measurement: Poisson conflicting streams and the saturated movement."""
    rng = np.random.default_rng(seed)
    streams = [(path, _poisson_s(rng, v_vph / len(case.conflicting), end_s)) for path in case.conflicting]
    streams.append((case.movement, np.arange(0.0, end_s, MINOR_HEADWAY_S)))
    rows = [
        (
            f"{'m' if path is case.movement else 'c'}{k}_{i}",
            round(float(t), 2),
            path[0],
            path[-1],
            " ".join(path),
        )
        for k, (path, times) in enumerate(streams)
        for i, t in enumerate(times)
    ]
    frame = pd.DataFrame(rows, columns=["id", "depart_s", "origin", "destination", "route"])
    return frame.sort_values("depart_s", kind="stable").reset_index(drop=True)


Simulator = Callable[[nx.DiGraph, pd.DataFrame, Path, float], pd.DataFrame]
"""Runs a trips table on a network; the trips' ``id`` and ``arrive_s``."""


def _sumo_arrivals(graph: nx.DiGraph, trips: pd.DataFrame, folder: Path, end_s: float) -> pd.DataFrame:
    """SUMO's ``id`` and ``arrive_s`` of ``trips`` on ``graph`` (the export ``citysim validate`` uses)."""
    edge_id = sumo_edge_ids(graph)
    route_trips = [
        RouteTrip(row.id, row.depart_s, tuple(map(edge_id.get, itertools.pairwise(row.route.split()))))
        for row in trips.itertuples()
    ]
    build_net(graph, folder / "net.net.xml", {}, ExportOptions())
    write_routes(folder / "routes.rou.xml", route_trips)
    run = run_sumo(folder / "net.net.xml", folder / "routes.rou.xml", folder / "sumo", end_s, -1.0)
    return run.trips[["id", "arrive_s"]]


def _citysim(overrides: Sequence[str] = ()) -> Simulator:
    """A simulator: citysim's ``id`` and ``arrive_s`` of the trips, its defaults changed by ``overrides``."""

    def simulate(graph: nx.DiGraph, trips: pd.DataFrame, folder: Path, end_s: float) -> pd.DataFrame:
        save_network_json(graph, folder / "network.json")
        trips.to_csv(folder / "trips.csv", index=False)
        scenario = _write_scenario(
            folder / "scenario.toml",
            {
                "name": graph.graph["name"],
                "seed": 1,
                "network": {"type": "file", "path": "network.json"},
                "demand": {"type": "trips", "trips": "trips.csv"},
                "simulation": {"max_time_s": end_s},
            },
        )
        return CityModel(load_scenario(scenario, overrides)).run().results().trips[["id", "arrive_s"]]

    return simulate


def measure_capacity(
    simulate: Simulator,
    case: GapCase,
    v_vph: float,
    folder: Path,
    warm_up_s: float,
    measure_s: float,
    seed: int,
) -> tuple[float, float]:
    """Conflicting flow and capacity of the movement (veh/h), counted from arrivals after the warm-up."""
    end_s = warm_up_s + measure_s
    folder.mkdir(parents=True, exist_ok=True)
    trips = _gap_trips(case, v_vph, end_s, seed)
    arrived = simulate(case.network(), trips, folder, end_s)
    window = arrived["arrive_s"].between(warm_up_s, end_s, inclusive="left")
    minor = arrived["id"].str.startswith("m")
    hours = measure_s / 3600.0
    return float((window & ~minor).sum() / hours), float((window & minor).sum() / hours)


@dataclass(frozen=True)
class GapFit:
    """Harders' formula fitted to one simulator's capacities of one movement.

    Attributes:
        simulator: ``"SUMO"``, or ``"citysim-<step>"`` (step 0: the defaults; see :func:`measure_gaps`).
        gap_class: The movement's class.
        points: (measured conflicting flow, measured capacity) per run (veh/h).
        tc_s, tf_s: Fitted critical gap and follow-up time (s).
        tc_se_s, tf_se_s: Their standard errors (s).
        rms_rel: Root mean square of the relative residuals.
    """

    simulator: str
    gap_class: str
    points: tuple[tuple[float, float], ...]
    tc_s: float
    tf_s: float
    tc_se_s: float
    tf_se_s: float
    rms_rel: float


def fit_gaps(simulator: str, gap_class: str, points: Sequence[tuple[float, float]]) -> GapFit:
    """Least-squares fit of Harders' (tc, tf) to measured (flow, capacity) points, relative errors."""
    v, c = (np.array(column, dtype=float) for column in zip(*points, strict=True))
    params, cov = curve_fit(
        hcm.harders_capacity_vph, v, c, p0=FIT_START, bounds=FIT_BOUNDS, sigma=c, absolute_sigma=False
    )
    (tc_s, tf_s), (tc_se_s, tf_se_s) = params.tolist(), np.sqrt(np.diag(cov)).tolist()
    rms_rel = float(np.sqrt(np.mean((hcm.harders_capacity_vph(v, *params) / c - 1.0) ** 2)))
    return GapFit(simulator, gap_class, tuple(points), tc_s, tf_s, tc_se_s, tf_se_s, rms_rel)


@dataclass(frozen=True)
class GapResult:
    """Step 1 for one movement class.

    Attributes:
        sumo: Harders fitted to SUMO's capacities.
        citysim: Fitted to citysim's, with its default (HCM 2010) gaps.
        calibrated_s: citysim (tc, tf) that reproduce SUMO's capacities (s), see :func:`measure_gaps`.
        citysim_calibrated: Fitted to citysim's capacities with ``calibrated_s``.
    """

    sumo: GapFit
    citysim: GapFit
    calibrated_s: tuple[float, float]
    citysim_calibrated: GapFit


def gap_overrides(gap_class: str, tc_s: float, tf_s: float) -> tuple[str, str]:
    """The ``--set`` overrides giving movement class ``gap_class`` these gaps (s)."""
    return (f"right_of_way.{gap_class}_gap_s={tc_s:.2f}", f"right_of_way.{gap_class}_follow_up_s={tf_s:.2f}")


def capacity_error(ours: GapFit, theirs: GapFit) -> float:
    """Mean absolute relative difference of two simulators' capacities, flow by flow."""
    return float(np.mean([abs(a[1] / b[1] - 1.0) for a, b in zip(ours.points, theirs.points, strict=True)]))


def measure_gaps(
    classes: Sequence[str],
    flows_vph: Sequence[float],
    work: Path,
    warm_up_s: float,
    measure_s: float,
    iterations: int = CALIBRATION_STEPS,
) -> dict[str, GapResult]:
    """Step 1: per movement class, SUMO's and citysim's capacities over ``flows_vph``, and their fits.

    citysim is calibrated to SUMO by fixed-point steps from its defaults (step 0): each step
    runs citysim with gaps (tc, tf), fits Harders to its capacities, and gives the next step
    (tc, tf) shifted by SUMO's fit less that one. Of steps 1 to ``iterations``, the one whose
    capacities are closest to SUMO's (:func:`capacity_error`) is kept. Printed per fit: the
    fitted gaps, their residual, the capacities and, for citysim, the mean difference of its
    capacities from SUMO's.
    """
    results = {}
    for case in (c for c in GAP_CASES if c.gap_class in classes):
        folder = work / case.gap_class

        def fitted(name: str, simulate: Simulator, case: GapCase = case, folder: Path = folder) -> GapFit:
            points = [
                measure_capacity(simulate, case, v, folder / name / f"v{v:.0f}", warm_up_s, measure_s, seed=k)
                for k, v in enumerate(flows_vph)
            ]
            return fit_gaps(name, case.gap_class, points)

        sumo = fitted("SUMO", _sumo_arrivals)
        _print_fit(sumo, None)
        gaps_s = HCM_GAPS_S[case.gap_class]
        fits = []
        for step in range(iterations + 1):
            fit = fitted(f"citysim-{step}", _citysim(gap_overrides(case.gap_class, *gaps_s)))
            _print_fit(fit, sumo, gaps_s)
            fits.append((gaps_s, fit))
            gaps_s = tuple(
                float(np.clip(g + s - f, *GAP_RANGE_S))
                for g, s, f in zip(gaps_s, (sumo.tc_s, sumo.tf_s), (fit.tc_s, fit.tf_s), strict=True)
            )
        best_s, best = min(fits[1:], key=lambda pair: capacity_error(pair[1], sumo))
        results[case.gap_class] = GapResult(sumo, fits[0][1], best_s, best)
    return results


def _print_fit(fit: GapFit, sumo: GapFit | None, gaps_s: tuple[float, float] | None = None) -> None:
    given = f"given {gaps_s[0]:5.2f}/{gaps_s[1]:4.2f}" if gaps_s else " " * 16
    error = f"vs SUMO {capacity_error(fit, sumo):5.1%}" if sumo else " " * 13
    shown = " ".join(f"{vc:4.0f}:{cap:4.0f}" for vc, cap in fit.points)
    print(
        f"{fit.gap_class:17s} {fit.simulator:10s} {given}  fit tc {fit.tc_s:5.2f} ±{fit.tc_se_s:4.2f}"
        f" tf {fit.tf_s:5.2f} ±{fit.tf_se_s:4.2f} rms {fit.rms_rel:5.1%}  {error}  (v:c) {shown}",
        flush=True,
    )


def config_overrides(results: Mapping[str, GapResult]) -> dict[str, tuple[str, ...]]:
    """The configurations of step 2: ``HCM`` (none), ``SUMO-fit`` and ``calibrated``.

    ``SUMO-fit`` gives citysim SUMO's fitted (tc, tf), ``calibrated`` the calibrated ones, of
    every class whose SUMO fit is good (relative RMS residual at most :data:`GOOD_FIT`); the
    others keep their defaults.
    """
    good = {k: r for k, r in results.items() if r.sumo.rms_rel <= GOOD_FIT}
    return {
        "HCM": (),
        "SUMO-fit": tuple(o for k, r in good.items() for o in gap_overrides(k, r.sumo.tc_s, r.sumo.tf_s)),
        "calibrated": tuple(o for k, r in good.items() for o in gap_overrides(k, *r.calibrated_s)),
    }


@dataclass(frozen=True)
class Comparison:
    """One network and demand to validate.

    Attributes:
        network: Label in the table.
        demand_vph: Demand label (veh/h).
        scenario: Scenario tables (written to a TOML file), or ``None`` for ``path``.
        path: An existing scenario file.
        gaps_matter: Whether the right-of-way gaps can change the run (not at signals, nor at
            all-way stops, which are first come, first served).
    """

    network: str
    demand_vph: float
    scenario: Mapping[str, object] | None = None
    path: Path | None = None
    gaps_matter: bool = True


def _synthetic(name: str, network: Mapping[str, object], rate_vph: float) -> Comparison:
    tables = {
        "name": f"{name}_{rate_vph:.0f}",
        "seed": 1,
        "network": network,
        "demand": {"type": "uniform", "rate_vph": rate_vph, "duration_s": 3600.0},
        "signals": {"controller": "fixed_time"},
    }
    gaps_matter = network.get("junction") not in ("traffic_light", "allway_stop")
    return Comparison(name, rate_vph, tables, gaps_matter=gaps_matter)


def comparisons(quick: bool, helsinki: bool) -> list[Comparison]:
    """Step 2's networks and demands."""
    grid_demands = (1800.0, 3600.0) if quick else (1800.0, 2700.0, 3600.0)
    cases = []
    for junction in ("priority", "allway_stop"):
        network = {"type": "grid", "rows": 4, "cols": 4, "block_m": 200.0, "lanes": 1, "junction": junction}
        cases += [_synthetic(f"grid4_{junction}", network, rate) for rate in grid_demands]
    cases += [
        _synthetic("roundabout4", {"type": "roundabout", "n_legs": 4}, rate)
        for rate in ((1200.0,) if quick else (1200.0, 1800.0))
    ]
    signal = {"type": "grid", "rows": 1, "cols": 1, "junction": "traffic_light"}
    cases += [
        _synthetic("signal1", signal, rate) for rate in ((1200.0,) if quick else (600.0, 1200.0, 1800.0))
    ]
    if helsinki:
        cases.append(Comparison("helsinki", 1200.0, path=ROOT / "scenarios" / "helsinki.toml"))
    return cases


def _write_scenario(path: Path, tables: Mapping[str, object]) -> Path:
    """Write scenario tables (top-level scalars, then one level of tables) as TOML."""
    plain = {k: v for k, v in tables.items() if not isinstance(v, Mapping)}
    lines = [f"{k} = {_toml_value(v)}" for k, v in plain.items()]
    for key in (k for k in tables if k not in plain):
        lines += ["", f"[{key}]", *(f"{k} = {_toml_value(v)}" for k, v in tables[key].items())]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _toml_value(value: object) -> str:
    return json.dumps(value) if isinstance(value, str) else repr(value)


def run_comparison(
    case: Comparison, config: str, overrides: Sequence[str], work: Path
) -> tuple[Validation, str]:
    """Validate one case in one configuration; the validation and the equivalent command."""
    folder = work / f"{case.network}_{case.demand_vph:.0f}" / config
    folder.mkdir(parents=True, exist_ok=True)
    path = case.path or _write_scenario(folder.parent / "scenario.toml", case.scenario)
    validation = validate_against_sumo(load_scenario(path, overrides), folder)
    sets = "".join(f" --set {o}" for o in overrides)
    return validation, f"citysim validate {path} --against sumo{sets} --out {folder} --no-plots --quiet"


def _row(case: Comparison, config: str, v: Validation) -> dict[str, object]:
    """One line of the table: each pair is (citysim, SUMO)."""
    ours, sumo, verdict = v.citysim, v.sumo, v.verdict()
    return {
        **{"network": case.network, "demand_vph": case.demand_vph, "config": config, "trips": ours.trips},
        "completed": (ours.completed, sumo.completed),
        "travel_time_s": (ours.mean_travel_time_s, sumo.mean_travel_time_s),
        "delay_s": (ours.mean_delay_s, sumo.mean_delay_s),
        **{"teleports": v.teleports, "failing": list(verdict.failing), "agrees": verdict.agrees},
    }


def _print_row(row: Mapping[str, object]) -> None:
    (ours_n, sumo_n), (ours_t, sumo_t), (ours_d, sumo_d) = (
        row[k] for k in ("completed", "travel_time_s", "delay_s")
    )
    print(
        f"{row['network']:<20}{row['demand_vph']:>7,.0f}  {row['config']:<11}{ours_n:>7,}/{sumo_n:<7,}"
        f"({row['trips']:>6,}){ours_t:>8.1f}/{sumo_t:<7.1f}{ours_t / sumo_t:>6.2f}"
        f"{ours_d:>8.1f}/{sumo_d:<7.1f}{row['teleports']:>5}  "
        f"{'agreement' if row['agrees'] else 'fails: ' + ', '.join(row['failing'])}",
        flush=True,
    )


def _version() -> str:
    """The git commit and a digest of the kernel and conflict model sources (to tell runs apart)."""
    files = sorted((ROOT / "sim" / "traffic").glob("*.py")) + [ROOT / "sim" / "network" / "conflicts.py"]
    digest = hashlib.sha256(b"".join(f.read_bytes() for f in files)).hexdigest()[:12]
    git = subprocess.run(
        ["git", "-C", str(ROOT), "describe", "--always", "--dirty"], capture_output=True, text=True
    )
    return f"git {git.stdout.strip() or 'unknown'}; sim/traffic + sim/network/conflicts.py digest {digest}"


def _load() -> str:
    return "{:.2f} {:.2f} {:.2f}".format(*os.getloadavg())


def main(argv: list[str] | None = None) -> int:
    """Measure SUMO's gaps, run the comparisons, print both tables."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="4 movements x 3 flows, 20 min runs; fewer demands")
    ap.add_argument("--skip-helsinki", action="store_true", help="leave Helsinki out (a few minutes)")
    ap.add_argument("--work-dir", type=Path, default=ROOT / ".bench_cache" / "junctions")
    ap.add_argument("--json", type=Path, help="write the fits and the comparison rows to this file")
    args = ap.parse_args(argv)
    version = _version()
    print(f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC; load average {_load()} on {os.cpu_count()} CPUs")
    print(version, flush=True)
    classes = QUICK_CLASSES if args.quick else tuple(HCM_GAPS_S)
    flows = (300.0, 700.0, 1100.0) if args.quick else (200.0, 400.0, 600.0, 800.0, 1000.0, 1200.0)
    warm_up_s, measure_s = (300.0, 1200.0) if args.quick else (600.0, 3600.0)
    print(f"\n== step 1: Harders' (tc, tf) fitted to capacities, HCM 2010 defaults {dict(HCM_GAPS_S)}")
    gaps = measure_gaps(classes, flows, args.work_dir / "gaps", warm_up_s, measure_s)
    configs = config_overrides(gaps)
    for config, chosen in configs.items():
        print(f"{config}: " + (" ".join(f"--set {o}" for o in chosen) or "(defaults)"))
    print(
        f"\n== step 2: citysim/SUMO\n{'network':<20}{'veh/h':>7}  {'config':<11}{'completed (trips)':>23}"
        f"{'travel time s':>16}{'ratio':>6}{'delay s':>14}{'tele':>6}  verdict"
    )
    rows = []
    for case in comparisons(args.quick, not args.skip_helsinki):
        for config, chosen in configs.items() if case.gaps_matter else [("defaults", ())]:
            validation, command = run_comparison(case, config, chosen, args.work_dir / "compare")
            row = _row(case, config, validation) | {"command": command}
            _print_row(row)
            rows.append(row)
    print(f"\nload average {_load()}")
    if _version() != version:
        print("WARNING: the kernel sources changed during the run; the tables mix two versions")
    if args.json:
        data = {"gaps": {k: asdict(r) for k, r in gaps.items()}, "configs": configs, "comparisons": rows}
        args.json.write_text(json.dumps(data, indent=1) + "\n", encoding="utf-8")
    return 0 if all(row["agrees"] for row in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
