"""Learned signal control against fixed-time, actuated and max-pressure, seen and unseen demand.

Usage::

    python benchmarks/bench_learned.py                       # the shipped policy, 5 seeds
    python benchmarks/bench_learned.py --policy my.npz --seeds 10 --cases train,peak

Cases (all on the 4x4 grid of ``scenarios/train_grid.toml`` unless said):

- ``train``: the training scenario itself (3,600 veh/h uniform for 30 min);
- ``peak``: an unseen demand pattern, a morning peak: 0.6x for 10 min, 1.4x (5,040 veh/h)
  for 10 min, 0.8x for 10 min;
- ``heavy``: 4,500 veh/h throughout (the top of the training range);
- ``grid5``: an unseen network and trip table, the shared benchmark grid5 (5x5, 1,500 veh/h),
  with the training scenario's signal timings (yellow 3 s, all-red 1 s, Webster);
- ``grid10``: the shared benchmark grid10 (10x10, 6,000 veh/h), its own yellow 3 s and no
  all-red (unseen intergreen too), Webster; not run by default (minutes per seed).

Every controller runs the same seeds (common random numbers: identical demand) through
:func:`sim.compare.compare_controllers`; changes against fixed-time are paired on the seed.
Fixed-time is Webster-timed. The learned policy runs as the ``learned`` controller with
``signals.learned.policy`` set to the policy file and ``signals.learned.decision_interval_s`` to the interval
it was trained at (:func:`sim.rl.simulation.evaluate_policy`, the RL evaluation, takes the
same decisions; tests check the two agree).

Delay counts every trip of the demand (``mean_delay_all_s``: a trip unfinished at the end
counts its delay so far). Beside each mean the unfinished share and the vehicles that never
entered the network are printed (means over seeds); a controller whose unfinished share is
more than 1 point above fixed-time's is flagged ``!``: it starved some movement, and its
delay is not comparable. The machine is shared: wall times are indicative only.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Any

from sim.compare import Comparison, compare_controllers
from sim.control.learned.policy import BUILTIN, BUILTIN_POLICY, load_policy
from sim.metrics.catalog import UNFINISHED_MARGIN
from sim.scenario import Scenario, load_scenario

ROOT = Path(__file__).resolve().parents[1]
TRAIN = ROOT / "scenarios" / "train_grid.toml"
CONTROLLERS = ("fixed_time", "actuated", "max_pressure", "learned")
PER_SEED = ("mean_delay_all_s", "unfinished_share", "never_entered")
SEED_BASE = 1_000  # apart from the training and evaluation seeds of sim.rl.train


def _cases() -> dict[str, tuple[str, Scenario]]:
    """Case name -> (label, scenario)."""
    signals = {"signals.timing": "webster", "signals.yellow_s": 3.0, "signals.all_red_s": 1.0}
    peak = {"demand.profile": [[0.0, 0.6], [600.0, 1.4], [1200.0, 0.8]]}
    return {
        "train": ("training scenario, 3,600 veh/h uniform", load_scenario(TRAIN)),
        "peak": ("unseen: a peak, 0.6x / 1.4x / 0.8x for 10 min each", load_scenario(TRAIN, peak)),
        "heavy": ("4,500 veh/h uniform", load_scenario(TRAIN, {"demand.rate_vph": 4500.0})),
        "grid5": (
            "unseen network and trips: benchmark grid5, Webster, all-red 1 s",
            load_scenario(ROOT / "scenarios" / "grid5.toml", signals),
        ),
        "grid10": (
            "unseen network and trips: benchmark grid10 (6,000 veh/h), Webster, all-red 0 s",
            load_scenario(ROOT / "scenarios" / "grid10.toml", {"signals.timing": "webster"}),
        ),
    }


def _report(comparison: Comparison) -> tuple[list[str], dict[str, Any]]:
    """Printed lines and JSON figures of one case: all-trips delay, unfinished, never entered, flag."""
    table = comparison.table
    delay = table[table["metric"] == "mean_delay_all_s"].set_index("controller")
    lines = []
    for controller, row in delay.iterrows():
        change = "baseline" if controller == comparison.baseline else f"{row['change_pct']:+6.1f}%"
        flag = "!" if row["flagged"] else ""
        lines.append(
            f"  {controller:<13} {row['mean']:8.1f} ± {row['half_width']:5.1f}   {change:>8}"
            f"   {row['unfinished_share']:8.2%}   {row['never_entered']:8,.0f}   {flag}"
        )
    if comparison.flagged:
        lines.append(f"  ! unfinished share more than {UNFINISHED_MARGIN * 100:g} point above fixed_time's")
    ratio = float(delay.loc["learned", "mean"] / delay.loc["max_pressure", "mean"])
    lines.append(f"  learned / max_pressure mean delay (all trips) = {ratio:.3f}")
    runs = comparison.runs
    figures = {
        metric: {c: runs.loc[runs["controller"] == c, metric].tolist() for c in CONTROLLERS}
        for metric in PER_SEED
    }
    return lines, {**figures, "flagged": comparison.flagged, "learned_over_max_pressure": ratio}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--policy", default=BUILTIN, help="policy file (.npz); default: the shipped one")
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--cases", default="train,peak,heavy,grid5")
    parser.add_argument("--jobs", type=int, default=2, help="worker processes (default 2)")
    parser.add_argument("--json", type=Path, default=None, help="also write the figures here")
    args = parser.parse_args()

    policy = load_policy(args.policy)
    source = BUILTIN if args.policy == BUILTIN else str(Path(args.policy).resolve())
    learned = {
        "signals.learned.policy": source,
        "signals.learned.decision_interval_s": policy.decision_interval_s,
    }
    seeds = list(range(SEED_BASE, SEED_BASE + args.seeds))
    cases = _cases()
    out: dict[str, dict] = {}
    sidecar = (BUILTIN_POLICY if args.policy == BUILTIN else Path(args.policy)).with_suffix(".json")
    if sidecar.is_file():
        training = json.loads(sidecar.read_text())["training"]
        print(f"policy trained {training['episodes']} episodes in {training['wall_s'] / 60:.1f} min")
    print(
        f"per controller over {len(seeds)} seeds: mean delay, all trips (s) ± 95% CI half-width; paired "
        "change against fixed-time; unfinished share; vehicles never entered; flag"
    )
    for name in args.cases.split(","):
        label, scenario = cases[name]
        started = time.perf_counter()
        comparison = compare_controllers(
            scenario, CONTROLLERS, seeds, jobs=args.jobs, settings={"learned": learned}
        )
        wall_s = time.perf_counter() - started
        lines, out[name] = _report(comparison)
        print(f"\n{name}: {label}  ({wall_s:.0f} s wall)")
        print("\n".join(lines))
        out[name]["seeds"] = seeds
    if args.json is not None:
        args.json.write_text(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
