"""Validation benchmark: citysim against SUMO 1.28 on grid5, grid10 and Helsinki, in one call.

Usage::

    pip install -e ".[sumo]"
    python benchmarks/bench_validate.py                        # grid5, grid10, helsinki
    python benchmarks/bench_validate.py --scenarios helsinki --json out.json

Each scenario runs through ``sim.interop.validate.validate_against_sumo`` (what
``citysim validate --against sumo`` does): the same network, fixed-time plans and routed
trips in both simulators, SUMO with step 1 s. The SUMO files and outputs go to
``.bench_cache/validate/<scenario>``. Prints each comparison and a summary table; exits 1
if a scenario's verdict is not agreement (completed, mean travel time and mean delay each
within its default tolerance, see ``sim.interop.agreement``).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from sim.interop.validate import validate_against_sumo
from sim.scenario import load_scenario

ROOT = Path(__file__).resolve().parent.parent
SCENARIOS = ("grid5", "grid10", "helsinki")


def main(argv: list[str] | None = None) -> int:
    """Run the validations, print the tables; 1 if a scenario does not agree."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scenarios", default=",".join(SCENARIOS), help="comma-separated names under scenarios/")
    ap.add_argument("--work-dir", type=Path, default=ROOT / ".bench_cache" / "validate")
    ap.add_argument("--json", type=Path, help="write every comparison to this file")
    args = ap.parse_args(argv)
    results = {}
    for name in [s for s in args.scenarios.split(",") if s]:
        validation = validate_against_sumo(
            load_scenario(ROOT / "scenarios" / f"{name}.toml"), args.work_dir / name
        )
        print(f"\n== {name} ==\n{validation.table()}")
        results[name] = validation
    print(
        f"\n{'scenario':<10}{'trips':>7}{'completed':>16}{'mean TT s':>18}"
        f"{'TT ratio':>10}{'mean delay s':>18}{'delay ratio':>13}{'flow r':>8}  failing"
    )
    ok = True
    for name, v in results.items():
        verdict = v.verdict()
        ok &= verdict.agrees
        print(
            f"{name:<10}{v.citysim.trips:>7,}{v.citysim.completed:>8,}/{v.sumo.completed:<7,}"
            f"{v.citysim.mean_travel_time_s:>9.1f}/{v.sumo.mean_travel_time_s:<8.1f}"
            f"{v.ratio('mean_travel_time_s'):>10.3f}"
            f"{v.citysim.mean_delay_s:>9.1f}/{v.sumo.mean_delay_s:<8.1f}{v.ratio('mean_delay_s'):>13.3f}"
            f"{v.flow_correlation:>8.3f}  {', '.join(verdict.failing) or 'none'}"
        )
    if args.json:
        args.json.write_text(json.dumps({name: v.to_dict() for name, v in results.items()}, indent=1))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
