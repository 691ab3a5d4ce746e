"""Shuttle benchmark: fleet size sweep for fixed-route and on-demand service in the district.

Usage::

    python benchmarks/bench_shuttles.py                       # fleets 2..12, 10 seeds, both services
    python benchmarks/bench_shuttles.py --fleets 2 6 --seeds 3 --out /tmp/shuttles

Runs ``scenarios/district_shuttles.toml`` for every (service, fleet size, seed) in a process
pool and prints, per service and fleet size, the mean over seeds with a 95% Student-t
confidence interval of: mean and 95th-percentile wait, rejection rate (fixed route: the
share of passengers who gave up waiting, since a loop never refuses anyone; on demand:
requests refused at once plus those who gave up), detour factor and occupancy. Writes the
runs table (``shuttle_runs.csv``) and the wait-vs-fleet figure (``wait_vs_fleet.png``).
"""

from __future__ import annotations

import argparse
import os
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import pandas as pd

from sim.metrics.stats import group_summary
from sim.model import CityModel
from sim.plots.figures import save_figure
from sim.plots.shuttle_figures import plot_wait_vs_fleet
from sim.scenario import load_scenario

ROOT = Path(__file__).resolve().parents[1]
SCENARIO = ROOT / "scenarios" / "district_shuttles.toml"
METRICS = {
    "wait_mean_s": ("mean wait", "s", 1.0),
    "wait_p95_s": ("p95 wait", "s", 1.0),
    "unserved_rate": ("rejected", "%", 100.0),
    "detour_factor_mean": ("detour", "x", 1.0),
    "occupancy_mean": ("occupancy", "%", 100.0),
}


def run_one(job: tuple[str, str, int, int]) -> dict:
    """Run one (scenario, service, fleet size, seed) and return its shuttle summary."""
    scenario_path, service, fleet, seed = job
    scenario = load_scenario(scenario_path, {"shuttles.service": service, "shuttles.fleet_size": fleet})
    t0 = time.perf_counter()
    model = CityModel(scenario, seed=seed)
    model.run()
    summary = model.features["shuttles"].summary()
    summary.pop("rejection_reasons", None)
    return {"seed": seed, "wall_s": time.perf_counter() - t0, "sim_time_s": model.time_s, **summary}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scenario", default=str(SCENARIO))
    parser.add_argument("--fleets", type=int, nargs="+", default=[2, 4, 6, 8, 10, 12])
    parser.add_argument("--seeds", type=int, default=10)
    parser.add_argument("--services", nargs="+", default=["fixed_route", "on_demand"])
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--out", type=Path, default=ROOT / "results" / "bench_shuttles")
    args = parser.parse_args()

    jobs = [
        (args.scenario, service, fleet, seed)
        for service in args.services
        for fleet in args.fleets
        for seed in range(1, args.seeds + 1)
    ]
    t0 = time.perf_counter()
    with ProcessPoolExecutor(max_workers=args.workers) as pool:
        runs = pd.DataFrame(list(pool.map(run_one, jobs)))
    wall_s = time.perf_counter() - t0
    args.out.mkdir(parents=True, exist_ok=True)
    runs.to_csv(args.out / "shuttle_runs.csv", index=False)
    summary = group_summary(runs, ["service", "fleet_size"], list(METRICS))
    print(f"{len(runs)} runs of {Path(args.scenario).name} in {wall_s:.0f} s ({args.workers} workers)")
    print(f"requests per run: {runs['requests'].mean():.0f} on average; values: mean ± 95% CI half-width")
    header = f"{'service':<12}{'fleet':>6}" + "".join(f"{f'{n} ({u})':>20}" for n, u, _ in METRICS.values())
    print(header)
    for (service, fleet), rows in summary.groupby(["service", "fleet_size"], sort=True):
        cells = []
        for metric, (_, _, scale) in METRICS.items():
            row = rows[rows["metric"] == metric].iloc[0]
            cells.append(f"{row['mean'] * scale:>11.2f} ± {row['half_width'] * scale:<6.2f}")
        print(f"{service:<12}{fleet:>6}" + "".join(f"{cell:>20}" for cell in cells))
    figure = plot_wait_vs_fleet(runs)
    print(f"wrote {save_figure(figure, args.out / 'wait_vs_fleet.png')}")
    print(f"wrote {args.out / 'shuttle_runs.csv'}")


if __name__ == "__main__":
    main()
