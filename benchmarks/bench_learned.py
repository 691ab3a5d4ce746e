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

Every controller runs the same seeds (common random numbers: identical demand). Fixed-time
is Webster-timed. The learned policy runs through :func:`sim.rl.simulation.evaluate_policy`,
the learned controller's own features and request rule (tests check the two agree). The
machine is shared: wall times are indicative only.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

from sim.metrics.summary import mean_ci, summarize
from sim.model import CityModel
from sim.rl.policy import BUILTIN, BUILTIN_POLICY, load_policy
from sim.rl.simulation import EnvConfig, evaluate_policy
from sim.scenario import Scenario, load_scenario

ROOT = Path(__file__).resolve().parents[1]
TRAIN = ROOT / "scenarios" / "train_grid.toml"
BASELINES = ("fixed_time", "actuated", "max_pressure")
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


def _delays(scenario: Scenario, controller: str, seeds: list[int]) -> list[float]:
    spec = scenario.with_overrides({"signals.controller": controller})
    return [summarize(CityModel(spec, seed=seed).run().results())["mean_delay_s"] for seed in seeds]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--policy", default=BUILTIN, help="policy file (.npz); default: the shipped one")
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--cases", default="train,peak,heavy,grid5")
    parser.add_argument("--json", type=Path, default=None, help="also write the figures here")
    args = parser.parse_args()

    policy = load_policy(args.policy)
    config = EnvConfig(decision_interval_s=policy.decision_interval_s)
    seeds = list(range(SEED_BASE, SEED_BASE + args.seeds))
    cases = _cases()
    out: dict[str, dict] = {}
    sidecar = (BUILTIN_POLICY if args.policy == BUILTIN else Path(args.policy)).with_suffix(".json")
    if sidecar.is_file():
        training = json.loads(sidecar.read_text())["training"]
        print(f"policy trained {training['episodes']} episodes in {training['wall_s'] / 60:.1f} min")
    print(f"mean delay (s) over {len(seeds)} seeds, 95% CI half-width; change against fixed-time")
    for name in args.cases.split(","):
        label, scenario = cases[name]
        rows = {c: _delays(scenario, c, seeds) for c in BASELINES}
        started = time.perf_counter()
        rows["learned"] = evaluate_policy(policy, scenario, seeds, config)
        learned_wall_s = time.perf_counter() - started
        fixed = float(np.mean(rows["fixed_time"]))
        print(f"\n{name}: {label}")
        for controller, values in rows.items():
            mean, half = mean_ci(values)
            print(f"  {controller:<13} {mean:8.1f} ± {half:5.1f}   {100 * (mean / fixed - 1):+6.1f}%")
        ratio = float(np.mean(rows["learned"]) / np.mean(rows["max_pressure"]))
        print(f"  learned / max_pressure = {ratio:.3f}   (learned runs took {learned_wall_s:.0f} s)")
        out[name] = {"seeds": seeds, "mean_delay_s": rows, "learned_over_max_pressure": ratio}
    if args.json is not None:
        args.json.write_text(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
