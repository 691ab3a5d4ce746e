"""Emergency benchmark: signal preemption off / local / green wave in the congested downtown.

Usage::

    python benchmarks/bench_emergency.py                  # 10 seeds, 2 processes
    python benchmarks/bench_emergency.py --seeds 3 --jobs 1 --json out.json

Each seed runs ``scenarios/downtown_emergency.toml`` once per preemption mode. The modes
see the same calls (the emergency layer has its own random stream) and the same
private-vehicle demand, so each call's response time is compared with the same call's
under ``off`` (paired over calls), and each run's ordinary-vehicle delay with the same
seed's under ``off`` (paired over seeds). Means carry Student-t 95% confidence intervals
(``sim.metrics.summary.mean_ci``, ``sim.metrics.stats``); the 90th percentile's interval
is a percentile bootstrap over seeds.

Target (issue 5): green-wave preemption cuts the mean response time by >= 15% against no
preemption, while ordinary vehicles' mean delay rises by < 5%.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parent.parent
SCENARIO = ROOT / "scenarios" / "downtown_emergency.toml"
MODES = ("off", "local", "green_wave")
TARGET_RESPONSE_CUT_PCT = 15.0
TARGET_DELAY_RISE_PCT = 5.0
BOOTSTRAP_DRAWS = 2000


def run_one(mode: str, seed: int) -> tuple[pd.DataFrame, dict]:
    """One run: its incident records and its run-level figures."""
    from sim.model import CityModel
    from sim.scenario import load_scenario

    scenario = load_scenario(SCENARIO, {"emergency.preemption": mode})
    model = CityModel(scenario, seed=seed).run()
    results = model.results()
    incidents = results.extras["incidents"].assign(mode=mode, seed=seed)
    info = results.info["emergency"]
    row = {
        "mode": mode,
        "seed": seed,
        "ordinary_delay_s": info["ordinary_mean_delay_s"],
        "mean_response_s": info["mean_response_s"],
        "preemptions": info["preemptions"],
        "mean_hold_s": info["mean_hold_s"],
        "side_street_halted_veh_s": info["side_street_halted_veh_s"],
        "mean_recovery_s": info["mean_recovery_s"],
        "wall_s": model.sim_wall_s,
    }
    return incidents, row


def _p90_ci(incidents: pd.DataFrame, seeds: list[int]) -> tuple[float, float, float]:
    """90th percentile of the response times and its bootstrap 95% interval (resampling seeds)."""
    by_seed = [incidents.loc[incidents["seed"] == s, "response_s"].dropna().to_numpy() for s in seeds]
    point = float(np.percentile(np.concatenate(by_seed), 90))
    rng = np.random.default_rng(0)
    samples = (
        np.concatenate([by_seed[i] for i in rng.integers(0, len(seeds), len(seeds))])
        for _ in range(BOOTSTRAP_DRAWS)
    )
    draws = [np.percentile(sample, 90) for sample in samples if sample.size]
    low, high = np.percentile(draws, [2.5, 97.5])
    return point, float(low), float(high)


def report(incidents: pd.DataFrame, runs: pd.DataFrame) -> dict:
    """Print the comparison and return its figures."""
    from sim.metrics.stats import paired_differences
    from sim.metrics.summary import mean_ci

    seeds = sorted(runs["seed"].unique().tolist())
    out: dict = {"seeds": seeds, "modes": {}}
    base = incidents[incidents["mode"] == "off"].set_index(["seed", "id"])
    delay = paired_differences(runs, "mode", "off", ["ordinary_delay_s"])
    print(f"{len(seeds)} seeds, scenario {SCENARIO.name}")
    header = (
        f"{'mode':<11}{'calls':>6}{'mean resp (s) [95% CI]':>26}{'p90 resp (s) [95% CI]':>26}"
        f"{'travel (s)':>11}{'resp change vs off':>24}{'ordinary delay change':>26}"
    )
    print(header)
    for mode in MODES:
        mine = incidents[(incidents["mode"] == mode) & incidents["response_s"].notna()]
        mean, half = mean_ci(mine["response_s"])
        p90, p90_low, p90_high = _p90_ci(mine, seeds)
        paired = (
            mine.set_index(["seed", "id"])["response_s"]
            .to_frame()
            .join(base["response_s"].rename("off"), how="inner")
        )
        paired = paired.dropna()
        change_pct = change_half_pct = 0.0
        if mode != "off":
            diff_mean, diff_half = mean_ci(paired["response_s"] - paired["off"])
            change_pct = 100.0 * diff_mean / paired["off"].mean()
            change_half_pct = 100.0 * diff_half / paired["off"].mean()
        row = delay[delay["mode"] == mode]
        delay_pct = float(row["change_pct"].iloc[0]) if len(row) else 0.0
        delay_half = float(row["change_ci_pct"].iloc[0]) if len(row) else 0.0
        print(
            f"{mode:<11}{len(mine):>6}{mean:>10.1f} [{mean - half:6.1f},{mean + half:6.1f}]"
            f"{p90:>10.1f} [{p90_low:6.1f},{p90_high:6.1f}]{mine['travel_s'].mean():>11.1f}"
            f"{change_pct:>+14.1f}% ± {change_half_pct:4.1f}%{delay_pct:>+16.2f}% ± {delay_half:4.2f}%"
        )
        mode_runs = runs[runs["mode"] == mode]
        out["modes"][mode] = {
            "calls": len(mine),
            "mean_response_s": mean,
            "mean_response_ci_s": half,
            "p90_response_s": p90,
            "p90_response_ci_s": [p90_low, p90_high],
            "mean_travel_s": float(mine["travel_s"].mean()),
            "response_change_pct": change_pct,
            "response_change_ci_pct": change_half_pct,
            "ordinary_delay_s": float(mode_runs["ordinary_delay_s"].mean()),
            "ordinary_delay_change_pct": delay_pct,
            "ordinary_delay_change_ci_pct": delay_half,
            "preemptions_per_run": float(mode_runs["preemptions"].mean()),
            "mean_hold_s": float(mode_runs["mean_hold_s"].mean()),
            "side_street_halted_veh_s_per_run": float(mode_runs["side_street_halted_veh_s"].mean()),
            "mean_recovery_s": float(mode_runs["mean_recovery_s"].mean()),
        }
    print(
        f"{'mode':<11}{'preemptions/run':>16}{'mean hold (s)':>15}{'side-street halted veh-s/run':>30}"
        f"{'side recovery (s)':>19}"
    )
    for mode in MODES[1:]:
        m = out["modes"][mode]
        print(
            f"{mode:<11}{m['preemptions_per_run']:>16.1f}{m['mean_hold_s']:>15.1f}"
            f"{m['side_street_halted_veh_s_per_run']:>30.0f}{m['mean_recovery_s']:>19.1f}"
        )
    wave = out["modes"]["green_wave"]
    met = (
        -wave["response_change_pct"] >= TARGET_RESPONSE_CUT_PCT
        and wave["ordinary_delay_change_pct"] < TARGET_DELAY_RISE_PCT
    )
    out["target_met"] = met
    print(
        f"target: green wave cuts mean response >= {TARGET_RESPONSE_CUT_PCT:.0f}% "
        f"(measured {-wave['response_change_pct']:.1f}%) with ordinary delay rising "
        f"< {TARGET_DELAY_RISE_PCT:.0f}% (measured {wave['ordinary_delay_change_pct']:+.2f}%): "
        f"{'met' if met else 'NOT met'}"
    )
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=10, help="number of seeds (1..N)")
    parser.add_argument("--jobs", type=int, default=2, help="worker processes")
    parser.add_argument("--json", type=Path, help="also write the figures to this file")
    args = parser.parse_args(argv)
    t0 = time.perf_counter()
    tasks = [(mode, seed) for seed in range(1, args.seeds + 1) for mode in MODES]
    with ProcessPoolExecutor(max_workers=args.jobs) as pool:
        done = list(pool.map(run_one, *zip(*tasks, strict=True)))
    incidents = pd.concat([d[0] for d in done], ignore_index=True)
    runs = pd.DataFrame([d[1] for d in done])
    out = report(incidents, runs)
    out["wall_s"] = time.perf_counter() - t0
    print(f"wall time {out['wall_s']:.0f} s")
    if args.json:
        args.json.write_text(json.dumps(out, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
