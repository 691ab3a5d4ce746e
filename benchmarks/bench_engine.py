"""Engine benchmark: citysim beside SUMO 1.28 and UXsim 1.15 on the gridN scenarios, in one call.

Usage::

    pip install -e ".[bench]"
    python benchmarks/bench_engine.py                    # grid5, grid10, grid20_r12000, grid20
    python benchmarks/bench_engine.py --sizes grid10 --repeat 5 --json out.json

Each citysim run happens in a fresh subprocess (so peak memory is that run's own), with
the loop wall time taken from the model (`sim_wall_s`: the simulation loop alone, no
imports, network loading or kernel loading). SUMO's loop wall is its own reported
duration; UXsim's is `exec_simulation`'s wall time. Machines are shared and noisy:
compare the ratios printed here, measured in the same call, not absolute times from
different runs. Medians over `--repeat` runs.

Mean travel time and delay are over completed trips for every simulator: SUMO's tripinfo
and UXsim's ended vehicles give nothing else, so citysim's completed-only metrics
(`mean_travel_time_completed_s`, `mean_delay_completed_s`) are the ones compared, and the
completions column shows what each left unfinished. citysim's all-trips mean delay and
unfinished share are kept in the JSON (`mean_delay_all_s`, `unfinished_share`).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
DATA = ROOT / "sim" / "data" / "bench"
SCENARIOS = {
    "grid5": "grid5",
    "grid10": "grid10",
    "grid20_r12000": "grid20_R12000",
    "grid20": "grid20",
}
# SUMO needs ~5 minutes on grid20 at 20,000 veh/h (it gridlocks and teleports); opt in.
SUMO_DEFAULT = ("grid5", "grid10", "grid20_r12000")
TARGETS = {"grid10": (30.0, True), "grid20_r12000": (50.0, True)}
MAX_MEMORY_MB = 2048.0


def _child(scenario: str) -> dict:
    """Run one citysim scenario in this process and return its figures (called in a subprocess)."""
    import resource

    from sim.metrics.summary import summarize
    from sim.model import CityModel
    from sim.scenario import load_scenario

    model = CityModel(load_scenario(ROOT / "scenarios" / f"{scenario}.toml"))
    model.run()
    results = model.results()
    metrics = summarize(results)
    return {
        "sim": "citysim",
        "loop_wall_s": model.sim_wall_s,
        "setup_wall_s": model.setup_wall_s,
        "vehicle_steps": model.recorder.vehicle_steps,
        "completed": int(metrics["completed"]),
        "trips": int(metrics["trips"]),
        # completed trips only, as the peers report them
        "mean_tt_s": metrics["mean_travel_time_completed_s"],
        "mean_delay_s": metrics["mean_delay_completed_s"],
        "mean_delay_all_s": metrics["mean_delay_all_s"],
        "unfinished_share": metrics["unfinished_share"],
        "peak_memory_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0,
        "gridlocks": len(model.recorder.gridlock),
        "stalled_at_s": model.recorder.stalled_at_s,
        "sim_time_s": model.time_s,
    }


def _in_subprocess(*args: str) -> dict:
    out = subprocess.run(
        [sys.executable, str(Path(__file__).resolve()), *args], check=True, capture_output=True, text=True
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def _median_run(runs: list[dict]) -> dict:
    best = sorted(runs, key=lambda r: r["loop_wall_s"])[len(runs) // 2]
    return {**best, "loop_wall_runs_s": [round(r["loop_wall_s"], 4) for r in runs]}


def _pct(a: float | None, b: float | None) -> float | None:
    return None if a is None or b is None or not b else 100.0 * (a - b) / b


def _fmt(x: float | None, spec: str = ".3f") -> str:
    return "-" if x is None else format(x, spec)


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and print the table; returns 1 if a target is missed."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default=",".join(SCENARIOS), help="comma-separated scenario names")
    ap.add_argument("--repeat", type=int, default=3, help="runs per simulator and size (median)")
    ap.add_argument("--sumo-sizes", default=",".join(SUMO_DEFAULT), help="sizes to run SUMO on ('' for none)")
    ap.add_argument(
        "--uxsim-sizes", default=",".join(SCENARIOS), help="sizes to run UXsim C++ on ('' for none)"
    )
    ap.add_argument("--json", type=Path, help="write all figures to this file")
    ap.add_argument("--child", help=argparse.SUPPRESS)
    ap.add_argument("--child-peer", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.child:
        print(json.dumps(_child(args.child)))
        return 0
    if args.child_peer:
        sys.path.insert(0, str(HERE))
        from peers import run_sumo, run_uxsim

        sim, name = args.child_peer.split(":")
        scen_dir = DATA / SCENARIOS[name]
        res = (
            run_sumo(scen_dir, work_dir=ROOT / ".bench_cache" / "sumo")
            if sim == "sumo"
            else run_uxsim(scen_dir)
        )
        print(json.dumps(res))
        return 0

    sizes = [s for s in args.sizes.split(",") if s]
    sumo_sizes = {s for s in args.sumo_sizes.split(",") if s}
    uxsim_sizes = {s for s in args.uxsim_sizes.split(",") if s}
    unknown = [s for s in sizes if s not in SCENARIOS]
    if unknown:
        ap.error(f"unknown size(s) {unknown}; choose from {sorted(SCENARIOS)}")
    table: dict[str, dict[str, dict]] = {}
    ok = True
    for size in sizes:
        row: dict[str, dict] = {}
        # interleave the simulators run by run, so that machine noise hits them alike
        runs: dict[str, list[dict]] = {"citysim": [], "sumo": [], "uxsim": []}
        for _ in range(args.repeat):
            runs["citysim"].append(_in_subprocess("--child", size))
            if size in sumo_sizes:
                runs["sumo"].append(_in_subprocess("--child-peer", f"sumo:{size}"))
            if size in uxsim_sizes:
                runs["uxsim"].append(_in_subprocess("--child-peer", f"uxsim:{size}"))
        row = {sim: _median_run(r) for sim, r in runs.items() if r}
        table[size] = row
        cs = row["citysim"]
        print(f"\n== {size}: {cs['trips']} trips (travel time and delay: completed trips) ==")
        print(
            f"{'simulator':<22}{'loop wall s':>12}{'veh-steps/s':>14}{'completed':>11}"
            f"{'mean TT s':>11}{'delay s':>9}{'peak MB':>9}"
        )
        for sim, r in row.items():
            vps = r.get("vehicle_steps")
            rate = vps / r["loop_wall_s"] if vps and r["loop_wall_s"] else None
            print(
                f"{r.get('sim', sim):<22}{r['loop_wall_s']:>12.3f}{_fmt(rate, ',.0f'):>14}"
                f"{r['completed']:>11}{_fmt(r.get('mean_tt_s'), '.1f'):>11}"
                f"{_fmt(r.get('mean_delay_s'), '.1f'):>9}{_fmt(r.get('peak_memory_mb'), '.0f'):>9}"
            )
        if cs["gridlocks"] or cs["stalled_at_s"]:
            print(f"citysim: {cs['gridlocks']} gridlock(s); stalled at {cs['stalled_at_s']}")
        for peer in ("sumo", "uxsim"):
            if peer not in row:
                continue
            p = row[peer]
            speedup = p["loop_wall_s"] / cs["loop_wall_s"]
            dtt = _pct(cs["mean_tt_s"], p.get("mean_tt_s"))
            dcomp = _pct(cs["completed"], p.get("completed"))
            cs[f"speedup_vs_{peer}"] = speedup
            cs[f"tt_diff_vs_{peer}_pct"] = dtt
            print(
                f"vs {p.get('sim', peer)}: citysim loop {speedup:.1f}x faster; mean travel time "
                f"{_fmt(dtt, '+.1f')}%; completions {_fmt(dcomp, '+.2f')}%"
            )
        if size in TARGETS and "sumo" in row:
            need, _ = TARGETS[size]
            p = row["sumo"]
            checks = {
                f">= {need:.0f}x SUMO": cs["speedup_vs_sumo"] >= need,
                "faster than UXsim C++": "uxsim" in row and cs["speedup_vs_uxsim"] > 1.0,
                "completions within 2% of SUMO": abs(_pct(cs["completed"], p["completed"])) <= 2.0,
                "mean TT within 15% of SUMO": abs(cs["tt_diff_vs_sumo_pct"]) <= 15.0,
            }
            for name, passed in checks.items():
                print(f"  target {name}: {'met' if passed else 'MISSED'}")
                ok &= passed
        if size == "grid20":
            done = cs["completed"] == cs["trips"] or cs["gridlocks"] > 0
            mem = cs["peak_memory_mb"] < MAX_MEMORY_MB
            print(f"  target completes or reports gridlock: {'met' if done else 'MISSED'}")
            print(f"  target peak memory < {MAX_MEMORY_MB:.0f} MB: {'met' if mem else 'MISSED'}")
            ok &= done and mem
    if args.json:
        args.json.write_text(json.dumps(table, indent=1))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
