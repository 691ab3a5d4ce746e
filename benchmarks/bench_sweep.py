"""Sweep benchmark: the same 16-run sweep with 1 and with 2 local worker processes.

Usage::

    python benchmarks/bench_sweep.py                     # grid10, green_s x 8 seeds = 32 runs
    python benchmarks/bench_sweep.py --repeat 3 --json out.json

Each configuration runs the whole sweep (``run_sweep``) into a fresh folder, in this process,
alternating 1 and 2 workers ``--repeat`` times; the figures are medians. Reported:

- speedup: wall(1 worker) / wall(2 workers) (target >= 1.8);
- overhead: ``workers x wall - sum of run times``, per run and relative to the run times
  (target < 5%). A run's time is measured in its worker around everything the run does:
  model set-up (the first run of each worker also loads the compiled kernel), simulation,
  summary, writing its results folder and record. The overhead is everything else: starting
  workers, dispatch, progress, idle workers at the end, the runs table and the summaries.

Machines are shared and noisy (other processes compete for the cores): a loaded machine
lowers the speedup. So the benchmark first measures a control, the same CPU-bound pure-Python
loop in 1 and in 2 processes: its speedup is what the machine offers at that moment, and the
sweep's cannot exceed it. Look at it, and at the load average, before reading the speedup.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

from sim.sweep import parse_grid, plan_sweep, run_sweep, sweep_spec_for

ROOT = Path(__file__).resolve().parents[1]
SPEEDUP_TARGET = 1.8
OVERHEAD_TARGET = 0.05
CONTROL_ITERATIONS = 20_000_000


def _burn(iterations: int) -> int:
    total = 0
    for i in range(iterations):
        total += i * i
    return total


def control_speedup() -> float:
    """Wall of two CPU-bound loops one after the other over the wall of the two in 2 processes."""
    with ProcessPoolExecutor(2) as pool:
        list(pool.map(_burn, [1, 1]))  # start the workers first
        t0 = time.perf_counter()
        _burn(CONTROL_ITERATIONS)
        _burn(CONTROL_ITERATIONS)
        serial_s = time.perf_counter() - t0
        t0 = time.perf_counter()
        list(pool.map(_burn, [CONTROL_ITERATIONS] * 2))
        return serial_s / (time.perf_counter() - t0)


def measure(plan, jobs: int, folder: Path) -> dict:
    """Run the sweep with ``jobs`` workers into an empty folder; wall time and run times."""
    t0 = time.perf_counter()
    report = run_sweep(plan, folder, jobs=jobs)
    wall_s = time.perf_counter() - t0
    runs = report.runs
    if (runs["status"] != "ok").any():
        raise RuntimeError(f"runs failed: {runs.loc[runs['status'] != 'ok', 'error'].tolist()}")
    run_s = float(runs["run_wall_s"].sum())
    overhead_s = jobs * wall_s - run_s
    return {
        "jobs": jobs,
        "runs": len(runs),
        "wall_s": wall_s,
        "sum_run_s": run_s,
        "sum_model_s": float((runs["setup_wall_s"] + runs["sim_wall_s"]).sum()),
        "overhead_per_run_s": overhead_s / len(runs),
        "overhead_fraction": overhead_s / run_s,
        "load_average": os.getloadavg()[0],
    }


def _line(figures: dict) -> str:
    return (
        f"  {figures['jobs']} worker(s): wall {figures['wall_s']:6.1f} s, "
        f"runs {figures['sum_run_s']:6.1f} s (model {figures['sum_model_s']:.1f} s), "
        f"overhead {figures['overhead_per_run_s']:+.3f} s/run = {figures['overhead_fraction']:+.1%}, "
        f"load average {figures['load_average']:.1f}"
    )


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and print the figures; returns 1 if a target is missed."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scenario", type=Path, default=ROOT / "scenarios" / "grid10.toml")
    parser.add_argument("--grid", default="signals.green_s=25,30,35,40", help="one grid axis, KEY=V1,V2,...")
    parser.add_argument("--seeds", type=int, default=8)
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--json", type=Path, default=None, help="also write the figures here")
    args = parser.parse_args(argv)

    plan = plan_sweep(sweep_spec_for(args.scenario, grid=[parse_grid(args.grid)], seeds=args.seeds))
    print(
        f"{plan.base.name}: {len(plan.runs)} runs ({args.grid} x {args.seeds} seeds), {os.cpu_count()} cores"
    )
    print(f"control: a CPU-bound loop runs {control_speedup():.2f}x faster in 2 processes than in 1 now")
    samples: dict[int, list[dict]] = {1: [], 2: []}
    with tempfile.TemporaryDirectory(prefix="bench_sweep_") as scratch:
        for repeat in range(args.repeat):
            for jobs in (1, 2):
                figures = measure(plan, jobs, Path(scratch) / f"r{repeat}-j{jobs}")
                samples[jobs].append(figures)
                print(_line(figures))
    median = {
        jobs: {key: statistics.median(s[key] for s in rows) for key in rows[0]}
        for jobs, rows in samples.items()
    }
    speedup = median[1]["wall_s"] / median[2]["wall_s"]
    overhead = max(median[1]["overhead_fraction"], median[2]["overhead_fraction"])
    print(f"speedup 2 vs 1 worker: {speedup:.2f}x (target >= {SPEEDUP_TARGET}x)")
    print(f"overhead: {overhead:.1%} of the run times at worst (target < {OVERHEAD_TARGET:.0%})")
    if args.json is not None:
        args.json.write_text(
            json.dumps({"samples": samples, "speedup": speedup, "overhead": overhead}, indent=1)
        )
    return 0 if speedup >= SPEEDUP_TARGET and overhead < OVERHEAD_TARGET else 1


if __name__ == "__main__":
    sys.exit(main())
