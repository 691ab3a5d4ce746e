"""Gap acceptance against the HCM: the table of ``docs/right_of_way.md``.

Usage::

    python benchmarks/bench_gap_acceptance.py              # short major vehicles, dt 1 s
    python benchmarks/bench_gap_acceptance.py --cars       # default 5 m cars as the major stream
    python benchmarks/bench_gap_acceptance.py --dt 0.2

Prints, per junction (two-way-stop T, roundabout entry) and major flow, Harders' and
Siegloch's capacity, the measured capacity, the HCM control delay and the measured delay.
The networks, measurements and formulas are those of ``tests/test_gap_acceptance_hcm.py``
(imported from there, so the test and this table cannot drift apart).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

import test_gap_acceptance_hcm as hcm  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cars", action="store_true", help="a major stream of default cars")
    parser.add_argument("--dt", type=float, default=hcm.DT_S, help="time step (s)")
    args = parser.parse_args()
    hcm.DT_S = args.dt
    major_type = None if args.cars else hcm.MAJOR_TYPE
    print("junction            v_c  Harders  Siegloch  capacity        HCM delay  delay")
    for case in hcm.CASES:
        for v_c in hcm.MAJOR_FLOWS_VPH:
            harders = hcm.harders_capacity_vph(v_c, *case.gaps_s)
            siegloch = hcm.siegloch_capacity_vph(v_c, *case.gaps_s)
            capacity = hcm.measured_capacity_vph(case, v_c, major_type=major_type)
            theory = case.hcm_delay_s(harders, hcm.DELAY_X, hcm.DELAY_HOURS)
            try:
                delay = hcm.measured_delay_s(case, v_c, hcm.DELAY_X * harders, major_type=major_type)
            except AssertionError:
                delay = float("inf")  # the queue never cleared: the approach is over capacity
            print(
                f"{case.name:17s} {v_c:5.0f} {harders:8.0f} {siegloch:9.0f} "
                f"{capacity:8.0f} ({capacity / harders - 1.0:+4.0%}) {theory:9.1f} {delay:6.1f} "
                f"({delay / theory - 1.0:+.0%})",
                flush=True,
            )


if __name__ == "__main__":
    main()
