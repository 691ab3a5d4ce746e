"""Emissions benchmark: citysim's emission model beside SUMO 1.28's, and what it costs the loop.

Usage::

    python benchmarks/bench_emissions.py            # (a) cycles, (b) grid10 vs SUMO, (c) loop cost
    python benchmarks/bench_emissions.py --skip-sumo-grid --repeat 15

(a) One vehicle through a fixed speed profile (idling, acceleration, cruise, stop-and-go,
braking to a stop) in citysim (:func:`sim.emissions.drive_cycle`) and in SUMO's
``emissionsDrivingCycle`` with a vType of the class's vehicle class: totals per pollutant
(target: within 2%) and the largest per-step difference, for several classes.
(b) grid10 simulated by both: citysim with ``[emissions] enabled`` against SUMO's
per-edge emission output (``edgeData type="emissions"``) of the same network and trips
(``peers.py``'s net and routes), both with SUMO's default class HBEFA4/PC_petrol_Euro-4
(target: total CO2 and fuel within 10%). (c) citysim's grid10 loop with emissions on and off,
alternating in this process (target: at most 10% slower). Load average printed with timings.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))

CLASSES = {
    "HBEFA4/PC_petrol_Euro-4": "passenger",
    "HBEFA4/PC_diesel_Euro-6d": "passenger",
    "HBEFA4/LCV_diesel_N1-III_Euro-6d": "delivery",
    "HBEFA4/RT_gt12-14t_Euro-VI_A-C": "truck",
    "HBEFA4/TT_AT_gt34-40t_Euro-VI_A-C": "trailer",
    "HBEFA4/UBus_Std_gt15-18t_Euro-VI_A-C": "bus",
    "HBEFA4/PC_BEV": "passenger",
    "Energy/default": "passenger",
}
# emissionsDrivingCycle's output columns after time;speed;accel;slope
SUMO_COLUMNS = {"co_g": 4, "co2_g": 5, "hc_g": 6, "pm10_g": 7, "nox_g": 8, "fuel_g": 9, "electricity_wh": 10}


def speed_profile() -> np.ndarray:
    """Idle 20 s, accelerate to 14 m/s, cruise, stop-and-go, brake to a stop, idle (m/s, 1 s steps)."""
    go = np.linspace(0.0, 14.0, 12)
    stop_and_go = np.tile(np.concatenate([np.linspace(6.0, 1.0, 6), np.linspace(1.0, 6.0, 6)]), 4)
    parts = [
        np.zeros(20),
        go,
        np.full(40, 14.0),
        np.linspace(14.0, 6.0, 8),
        stop_and_go,
        np.linspace(6.0, 0.0, 4),
    ]
    return np.concatenate([*parts, np.zeros(15)])


def sumo_cycle(
    emission_class: str, vclass: str, speed: np.ndarray, accel: np.ndarray, work: Path
) -> np.ndarray:
    """SUMO's per-step values (mg, Wh) of the cycle from ``emissionsDrivingCycle``."""
    tool = Path(sys.prefix) / "bin" / "emissionsDrivingCycle"
    cycle, vtype, out = work / "cycle.csv", work / "vtype.add.xml", work / "out.csv"
    cycle.write_text(
        "".join(f"{t};{float(v)!r};{float(a)!r}\n" for t, (v, a) in enumerate(zip(speed, accel, strict=True)))
    )
    vtype.write_text(
        f'<additional><vType id="t" vClass="{vclass}" emissionClass="{emission_class}"/></additional>'
    )
    args = [str(tool), "-t", str(cycle), "--additional-files", str(vtype), "--vtype", "t", "-o", str(out)]
    subprocess.run(args, check=True, capture_output=True)
    return np.loadtxt(out, delimiter=";")


def part_a() -> None:
    from sim.emissions import drive_cycle

    speed = speed_profile()
    accel = np.diff(speed, prepend=0.0)
    print(f"(a) driving cycle, {len(speed)} s: totals citysim vs SUMO 1.28 emissionsDrivingCycle (target 2%)")
    with tempfile.TemporaryDirectory() as tmp:
        for emission_class, vclass in CLASSES.items():
            sumo = sumo_cycle(emission_class, vclass, speed, accel, Path(tmp))
            ours = drive_cycle(emission_class, speed, accel)
            cells, worst = [], 0.0
            for column, index in SUMO_COLUMNS.items():
                theirs = sumo[:, index] * (1.0 if column == "electricity_wh" else 1e-3)
                if not np.abs(theirs).sum():
                    continue
                diff = (ours[column].sum() - theirs.sum()) / abs(theirs.sum())
                worst = max(worst, abs(diff))
                cells.append(f"{column.split('_')[0]} {diff:+.2%}")
                step = np.abs(ours[column].to_numpy() - theirs).max() / max(np.abs(theirs).max(), 1e-12)
                cells[-1] += f" (step {step:.1%})"
            verdict = "met" if worst <= 0.02 else "NOT met"
            print(f"  {emission_class:38s} {verdict}: " + ", ".join(cells))


def part_b() -> None:
    from peers import _cached_net, load_scenario

    from sim.interop.sumo.export import RouteTrip, write_routes
    from sim.interop.sumo.run import run_sumo
    from sim.model import CityModel
    from sim.scenario import load_scenario as load_citysim

    model = CityModel(load_citysim(ROOT / "scenarios" / "grid10.toml", {"emissions.enabled": True}))
    model.run()
    summary = model.results().summary()
    ours = {"co2": summary["emissions_co2_kg"], "fuel": summary["emissions_fuel_kg"]}
    scenario = load_scenario(ROOT / "sim" / "data" / "bench" / "grid10")
    work = Path(tempfile.gettempdir()) / "citysim-peers-sumo"
    work.mkdir(parents=True, exist_ok=True)
    net = _cached_net(scenario, work)
    with tempfile.TemporaryDirectory(dir=work) as tmp:
        routes = Path(tmp) / "routes.rou.xml"
        write_routes(routes, [RouteTrip(t.trip_id, t.depart_s, t.edge_ids) for t in scenario.trips])
        extra = Path(tmp) / "emissions.add.xml"
        extra.write_text(
            '<additional><edgeData id="em" type="emissions" file="edge_emissions.xml"/></additional>'
        )
        run_sumo(net, routes, Path(tmp), 7200, additional=(extra,))
        root = ET.parse(Path(tmp) / "edge_emissions.xml").getroot()
        sums = {
            key: sum(float(e.get(f"{key}_abs", 0.0)) for e in root.iter("edge")) / 1e6
            for key in ("CO2", "fuel")
        }
    print("(b) grid10, both simulating, SUMO's default class HBEFA4/PC_petrol_Euro-4 (target 10%)")
    for key, theirs in (("co2", sums["CO2"]), ("fuel", sums["fuel"])):
        diff = ours[key] / theirs - 1.0
        print(f"  {key}: citysim {ours[key]:,.1f} kg, SUMO {theirs:,.1f} kg, {diff:+.1%} "
              f"({'met' if abs(diff) <= 0.10 else 'NOT met'})")  # fmt: skip


def part_c(repeat: int) -> None:
    from sim.model import CityModel
    from sim.scenario import load_scenario

    path = ROOT / "scenarios" / "grid10.toml"
    scenarios = {"off": load_scenario(path), "on": load_scenario(path, {"emissions.enabled": True})}
    walls: dict[str, list[float]] = {"off": [], "on": []}
    for _ in range(repeat):
        for name, scenario in scenarios.items():
            model = CityModel(scenario)
            model.run()
            walls[name].append(model.sim_wall_s)
    off, on = statistics.median(walls["off"]), statistics.median(walls["on"])
    cost = on / off - 1.0
    verdict = "met" if cost <= 0.10 else "NOT met"
    low, high = _cost_interval(np.array(walls["off"]), np.array(walls["on"]))
    print(
        f"(c) grid10 loop, median of {repeat} alternating runs: off {off:.3f} s, on {on:.3f} s, {cost:+.1%}"
        f" (95% bootstrap interval {low:+.1%} to {high:+.1%})"
    )
    print(f"  {verdict} (target +10%); load average {os.getloadavg()}")


def _cost_interval(off: np.ndarray, on: np.ndarray) -> tuple[float, float]:
    """95% bootstrap interval of the loop cost (ratio of the medians, pairs of runs resampled)."""
    from scipy.stats import bootstrap

    def cost(off_runs: np.ndarray, on_runs: np.ndarray, axis: int = -1) -> np.ndarray:
        return np.median(on_runs, axis=axis) / np.median(off_runs, axis=axis) - 1.0

    result = bootstrap((off, on), cost, paired=True, vectorized=True, random_state=0, method="percentile")
    return float(result.confidence_interval.low), float(result.confidence_interval.high)


def main(argv: list[str] | None = None) -> None:
    """Run the three parts and print their figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--repeat", type=int, default=41, help="runs per setting of (c); fewer leave a wide interval"
    )
    parser.add_argument("--skip-sumo-grid", action="store_true", help="leave out (b)")
    args = parser.parse_args(argv)
    part_a()
    if not args.skip_sumo_grid:
        part_b()
    part_c(args.repeat)


if __name__ == "__main__":
    main()
