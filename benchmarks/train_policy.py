"""Learn the shipped signal policy: augmented random search over the training family, three seeds.

Usage::

    pip install -e ".[sumo]"                       # the family includes imported SUMO scenarios
    python benchmarks/train_policy.py              # seeds 0,1,2; writes sim/data/policies/builtin.*
    python benchmarks/train_policy.py --seeds 0 --iterations 4 --out /tmp/policy   # a quick try

Each training seed runs :func:`sim.rl.search.search_policy` on ``signal_family.training()`` with
checkpoints chosen on ``signal_family.validation()`` (see those modules). The policy of the seed
with the best validation score is the one shipped (``<out>.npz``), rewritten after every seed;
the record (``<out>.json``) holds, for every seed, the chosen
weights, every checkpoint's validation results and the training curve, so
``benchmarks/bench_signals.py --learned-seeds`` can judge every seed's policy on the test set.
A search is deterministic for its seed: running this again gives the same files (wall times aside).
The learning curves of every seed go to ``<out>.png`` (``--figure-only`` redraws them from the record).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

from signal_family import training, validation

from sim import __version__
from sim.control.learned.features import FEATURES_VERSION, PHASE_FEATURES
from sim.control.learned.policy import BUILTIN_POLICY, save_policy
from sim.rl.files import atomic_open
from sim.rl.search import TRAINING_SEED_BASE, VALIDATION_SEEDS, SearchConfig, search_policy


def figure(record: dict, path: Path) -> None:
    """Each seed's training score per iteration and validation score per checkpoint."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4))
    for i, search in enumerate(record["searches"]):
        color = f"C{i}"
        train = search["training_log_delay"]
        ax.plot(
            range(1, len(train) + 1), train, color=color, alpha=0.5, label=f"seed {search['seed']}: training"
        )
        points = [(c["iteration"], c["validation_log_delay"]) for c in search["checkpoints"]]
        ax.plot(*zip(*points, strict=True), "o-", color=color, label=f"seed {search['seed']}: validation")
        best = search["best"]
        ax.plot(best["iteration"], best["validation_log_delay"], "*", color=color, markersize=14)
    ax.set_xlabel("iteration")
    ax.set_ylabel("mean log(1 + all-trips delay / s)  (lower is better)")
    ax.set_title("Learned signal policy: augmented random search (star: chosen checkpoint)")
    ax.legend(fontsize=7, ncol=2)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def _record(out: Path, shipped_seed: int, searches: list[dict]) -> dict:
    """The policy's record: how it was learned, every search so far, the seed shipped (best validation)."""
    return {
        "policy": out.with_suffix(".npz").name,
        "citysim_version": __version__,
        "features_version": FEATURES_VERSION,
        "algorithm": "augmented random search (ARS V1-t, Mania, Guy & Recht 2018), linear phase scorer",
        "recipe": "python benchmarks/train_policy.py (sim/rl/search.py, benchmarks/signal_family.py)",
        "training_seeds": f"{TRAINING_SEED_BASE} + iteration",
        "validation_seeds": list(VALIDATION_SEEDS),
        "test": "benchmarks/bench_signals.py: its cases and seeds 0-9 are in no training or validation run",
        "shipped_seed": shipped_seed,
        "figure": out.with_suffix(".png").name,
        "machine": {
            "cpus": os.cpu_count(),
            "platform": platform.platform(),
            "load_average": os.getloadavg()[0],
        },
        "finished_utc": datetime.now(UTC).isoformat(timespec="seconds"),
        "searches": searches,
    }


def main(argv: list[str] | None = None) -> int:
    """Run the searches, write the policy and its record."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", default="0,1,2", help="comma-separated search seeds; the first is shipped")
    parser.add_argument("--iterations", type=int, default=SearchConfig.iterations)
    parser.add_argument("--jobs", type=int, default=2, help="worker processes (default 2)")
    parser.add_argument(
        "--out", type=Path, default=BUILTIN_POLICY.with_suffix(""), help="output path without suffix"
    )
    parser.add_argument("--figure-only", action="store_true", help="redraw <out>.png from <out>.json")
    args = parser.parse_args(argv)
    if args.figure_only:
        figure(
            json.loads(args.out.with_suffix(".json").read_text(encoding="utf-8")),
            args.out.with_suffix(".png"),
        )
        return 0
    seeds = [int(seed) for seed in args.seeds.split(",") if seed]
    train, validate = training(), validation()
    searches, reports = [], []
    for seed in seeds:
        started = time.perf_counter()
        config = SearchConfig(iterations=args.iterations, seed=seed)
        report = search_policy(train, validate, config, jobs=args.jobs, progress=True)
        wall_s = time.perf_counter() - started
        best = report.best
        weights = ", ".join(f"{name} {w:+.3f}" for name, w in zip(PHASE_FEATURES, best.weights, strict=True))
        print(
            f"seed {seed}: best checkpoint at iteration {best.iteration}, validation log-delay "
            f"{best.validation_log_delay:.3f} (start {report.checkpoints[0].validation_log_delay:.3f}), "
            f"{report.runs} runs, {wall_s:.0f} s\n  weights: {weights}"
        )
        for name, delay_s, completion in zip(
            report.validation, best.validation_delay_s, best.validation_completion, strict=True
        ):
            print(f"  {name:<28} all-trips delay {delay_s:7.1f} s, completed {completion:.1%}")
        searches.append({"seed": seed, "wall_s": round(wall_s, 1), **report.to_dict()})
        reports.append(report)
        # written after every seed: an interrupted run keeps the seeds it finished
        chosen = min(range(len(reports)), key=lambda i: reports[i].best.validation_log_delay)
        save_policy(reports[chosen].policy, args.out.with_suffix(".npz"))
        record = _record(args.out, seeds[chosen], searches)
        with atomic_open(args.out.with_suffix(".json")) as handle:
            handle.write(json.dumps(record, indent=1).encode())
        figure(record, args.out.with_suffix(".png"))
    load = os.getloadavg()
    print(f"wrote {args.out.with_suffix('.npz')}, its record and figure (load average {load[0]:.2f})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
