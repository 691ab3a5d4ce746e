"""Routing benchmark: grid20 at 20,000 veh/h with static routes, en-route rerouting and the equilibrium.

Usage::

    python benchmarks/bench_routing.py                      # citysim variants only
    python benchmarks/bench_routing.py --sumo               # and SUMO 1.28 with its rerouting device
    python benchmarks/bench_routing.py --route-set grid20_routes.json   # and the equilibrium's routes

Variants (each citysim run in a fresh subprocess): ``static`` (the benchmark's routes),
``reroute_all`` (every driver re-plans every 120 s, as SUMO's ``--device.rerouting.probability 1
--device.rerouting.period 120``), ``reroute_10pct`` (10% re-plan every 5 minutes: its loop time
against ``static``'s is the cost of rerouting), and ``equilibrium`` with ``--route-set`` (write it
with ``citysim assign scenarios/grid20.toml``). SUMO runs with the rerouting device on every
vehicle through an additional file that gives SUMO's default vehicle type the device. Peers
come from ``benchmarks/peers.py`` (its scenario loader, net cache and summaries).

Mean travel time is over completed trips for every simulator, as in ``bench_engine.py``. The
machine is shared: the load average is printed with the timings; compare ratios from one call.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
SCENARIO = ROOT / "scenarios" / "grid20.toml"
DATA = ROOT / "sim" / "data" / "bench" / "grid20"
VARIANTS = {
    "static": {},
    "reroute_all": {"route_choice.equipped_share": 1.0, "route_choice.reroute_period_s": 120.0},
    "reroute_10pct": {"route_choice.equipped_share": 0.1, "route_choice.reroute_period_s": 300.0},
}
SUMO_REROUTE_PERIOD_S = 120
UXSIM_DUO_MEAN_TT_S = 496.0
"""UXsim 1.15 with its default dynamic route choice on grid20, as issue 19 reports it (not run here)."""


def _child(overrides: dict) -> dict:
    """Run grid20 with ``overrides`` in this process and return its figures."""
    from sim.metrics.summary import summarize
    from sim.model import CityModel

    model = CityModel.from_file(SCENARIO, overrides=overrides)
    model.run()
    metrics = summarize(model.results())
    routing = model.features.get("route_choice")
    return {
        "loop_wall_s": model.sim_wall_s,
        "routing_wall_s": routing.navigation.wall_s if routing else 0.0,
        "completed": int(metrics["completed"]),
        "trips": int(metrics["trips"]),
        "mean_tt_s": metrics["mean_travel_time_completed_s"],
        "gridlocks": len(model.recorder.gridlock),
        "stalled_at_s": model.recorder.stalled_at_s,
        "end_s": model.time_s,
        "rerouted_share": routing.summary()["rerouted_share"] if routing else 0.0,
    }


def _run_child(overrides: dict) -> dict:
    out = subprocess.run(
        [sys.executable, __file__, "--child", json.dumps(overrides)],
        check=True,
        capture_output=True,
        text=True,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def _sumo_rerouting() -> dict:
    """SUMO 1.28 on grid20 with the rerouting device on every vehicle (period 120 s)."""
    sys.path.insert(0, str(HERE))
    from peers import HORIZON_S, _cached_net, _summarize, load_scenario

    from sim.interop.sumo.export import RouteTrip, write_routes
    from sim.interop.sumo.run import run_sumo

    scenario = load_scenario(DATA)
    work = ROOT / ".bench_cache" / "sumo"
    work.mkdir(parents=True, exist_ok=True)
    net = _cached_net(scenario, work)
    with tempfile.TemporaryDirectory(dir=work, prefix="grid20-reroute-") as tmp:
        routes = Path(tmp) / "routes.rou.xml"
        write_routes(routes, [RouteTrip(t.trip_id, t.depart_s, t.edge_ids) for t in scenario.trips])
        device = Path(tmp) / "rerouting.add.xml"
        device.write_text(
            '<additional>\n  <vType id="DEFAULT_VEHTYPE">\n'
            '    <param key="has.rerouting.device" value="true"/>\n'
            f'    <param key="device.rerouting.period" value="{SUMO_REROUTE_PERIOD_S}"/>\n'
            "  </vType>\n</additional>\n",
            encoding="utf-8",
        )
        run = run_sumo(net, routes, Path(tmp), HORIZON_S, additional=(device,))
    arrive = dict(zip(run.trips["id"], run.trips["arrive_s"], strict=True))
    records = [
        (arrive[t.trip_id] - t.depart_s, t.free_flow_s)
        for t in scenario.trips
        if not math.isnan(arrive.get(t.trip_id, math.nan))
    ]
    return {
        "loop_wall_s": run.loop_wall_s,
        "teleports": run.teleports,
        "end_s": run.end_s,
        **_summarize(records),
    }


def _stuck(row: dict) -> str:
    """citysim's gridlock reports, or SUMO's teleports in brackets."""
    return f"({row['teleports']})" if "teleports" in row else str(row["gridlocks"])


def main(argv: list[str] | None = None) -> int:
    """Run the variants and print one table."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sumo", action="store_true", help="also run SUMO with rerouting (several minutes)")
    ap.add_argument("--route-set", type=Path, help="the equilibrium's route set (citysim assign)")
    ap.add_argument("--repeat", type=int, default=3, help="citysim runs per variant (the fastest is kept)")
    ap.add_argument("--json", type=Path, help="write the figures to this file")
    ap.add_argument("--child", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.child:
        print(json.dumps(_child(json.loads(args.child))))
        return 0
    variants = dict(VARIANTS)
    if args.route_set:
        variants["equilibrium"] = {"route_choice.route_set": str(args.route_set.resolve())}
    # the fastest of --repeat runs: on a shared machine the others measure the neighbours too
    rows = {
        name: min((_run_child(overrides) for _ in range(args.repeat)), key=lambda row: row["loop_wall_s"])
        for name, overrides in variants.items()
    }
    if args.sumo:
        rows["sumo_reroute"] = _sumo_rerouting()
    print(f"load average {os.getloadavg()[0]:.2f} (1 min) on {os.cpu_count()} cores, at the end of the runs")
    print(
        f"{'variant':<14} {'mean tt (s)':>11} {'completed':>10} {'gridlocks (teleports)':>21} "
        f"{'loop (s)':>9} {'routing (s)':>11}"
    )
    for name, row in rows.items():
        print(
            f"{name:<14} {row['mean_tt_s']:>11.1f} {row['completed']:>10,} {_stuck(row):>21} "
            f"{row['loop_wall_s']:>9.2f} {row.get('routing_wall_s', 0.0):>11.2f}"
        )
    print(f"UXsim 1.15 with dynamic route choice (issue 19): {UXSIM_DUO_MEAN_TT_S:.0f} s (not run here)")
    static, tenth = rows["static"], rows["reroute_10pct"]
    share = tenth["routing_wall_s"] / static["loop_wall_s"]
    ratio = tenth["loop_wall_s"] / static["loop_wall_s"]
    print(f"rerouting 10% every 5 min: routing {share:.1%} of the static loop; loop {ratio:.2f}x static")
    if "sumo_reroute" in rows:
        sumo = rows["sumo_reroute"]
        best = rows["reroute_all"]
        print(
            f"reroute_all vs SUMO with rerouting: mean tt {best['mean_tt_s'] / sumo['mean_tt_s'] - 1:+.1%}, "
            f"loop {sumo['loop_wall_s'] / best['loop_wall_s']:.1f}x faster"
        )
    if args.json:
        args.json.write_text(json.dumps(rows, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
