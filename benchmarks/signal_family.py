"""The scenarios signal control is learned and judged on: training, validation and test sets.

Used by ``benchmarks/train_policy.py`` (which learns the shipped policy on ``training``, picks its
checkpoint on ``validation``) and ``benchmarks/bench_signals.py`` (which judges every controller on
``test``). The three sets share no network and no demand: the test set's grids are larger, its
arterial longer, its irregular grid drawn with another seed, and its real networks (Helsinki from
OpenStreetMap, four SUMO scenarios of the ``eclipse-sumo`` wheel) appear nowhere else.

- **Generated grids** (one lane each way, 200 m blocks, Webster timing): training 3x3 at
  light to oversaturated demand and 6x6 near capacity (8,000 veh/h for 40 minutes, where
  max-pressure and Webster fixed time are level), validation 4x4 at heavy demand and 5x5 near
  capacity; test: the bench's 10x10 grid.
- **Left-turn bays with protected left phases** (four-phase plans): a 2x3 grid (training) and an
  arterial (validation).
- **Arterials** (two lanes each way on the main road, one on the side streets).
- **Irregular grids** (:func:`irregular_grid`): a grid whose intersections are moved, whose block
  lengths vary, with some streets removed and some widened; so intersections have three or four
  legs, one or two lanes, and blocks from about 100 to 300 m.
- **Real SUMO scenarios** of the wheel (``sumo/tools/game`` and sumolib's RiLSA examples),
  imported with ``citysim import sumo`` (:func:`sim.interop.imports.import_sumo`) with their own
  signal programs (multi-phase, their own intergreens and minimum/maximum greens) and route
  files, into ``.bench_cache/sumo_scenarios`` (the same folders ``bench_sumo_scenarios.py``
  uses).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import networkx as nx
import numpy as np

from sim.network import grid
from sim.network.io import save_network_json
from sim.scenario import Scenario, load_scenario, scenario_from_dict

ROOT = Path(__file__).resolve().parent.parent
CACHE = ROOT / ".bench_cache"
_SIGNALS = {"timing": "webster", "yellow_s": 3.0, "all_red_s": 1.0, "min_green_s": 5.0}


def generated(
    name: str, network: dict[str, Any], rate_vph: float, duration_s: float, **signals: Any
) -> Scenario:
    """A scenario on a generated (or file) network with uniform fringe-to-fringe demand, Webster timing.

    Runs end when every trip has arrived, at most an hour after demand ends.
    """
    return scenario_from_dict(
        {
            "name": name,
            "seed": 0,
            "network": network,
            "demand": {"type": "uniform", "rate_vph": rate_vph, "duration_s": duration_s},
            "signals": {**_SIGNALS, **signals},
            "simulation": {"max_time_s": duration_s + 3600.0},
        }
    )


def irregular_grid(rows: int, cols: int, seed: int) -> Path:
    """An irregular grid's network file (cached): see the module docstring.

    From ``grid(rows, cols)``: every intersection moves by up to 30 % of a block in x and y (links
    keep straight-line lengths), one in four streets (both directions) gets two lanes, and about
    one interior street in eight is removed where both its ends keep three legs and the network
    stays strongly connected.
    """
    path = CACHE / "irregular" / f"irregular{rows}x{cols}-{seed}.json"
    if path.is_file():
        return path
    rng = np.random.default_rng(seed)
    graph = grid(rows, cols, name=f"irregular{rows}x{cols}-{seed}")
    for node, data in graph.nodes(data=True):
        if node.startswith("n"):
            data["x"] += float(rng.uniform(-60.0, 60.0))
            data["y"] += float(rng.uniform(-60.0, 60.0))
    streets = sorted({tuple(sorted(edge)) for edge in graph.edges})
    for a, b in streets:
        length_m = float(
            np.hypot(graph.nodes[a]["x"] - graph.nodes[b]["x"], graph.nodes[a]["y"] - graph.nodes[b]["y"])
        )
        lanes = 2 if rng.random() < 0.25 else 1
        for u, v in ((a, b), (b, a)):
            graph.edges[u, v]["length_m"] = round(length_m, 1)
            graph.edges[u, v]["lanes"] = lanes
    interior = [(a, b) for a, b in streets if a.startswith("n") and b.startswith("n")]
    for a, b in interior:
        if rng.random() >= 0.125 or graph.out_degree(a) <= 3 or graph.out_degree(b) <= 3:
            continue
        trial = graph.copy()
        trial.remove_edges_from([(a, b), (b, a)])
        if nx.is_strongly_connected(trial):
            graph = trial
    path.parent.mkdir(parents=True, exist_ok=True)
    save_network_json(graph, path)
    return path


def imported(name: str) -> Scenario:
    """A real SUMO scenario of the wheel, imported with its own signal programs (cached)."""
    from bench_sumo_scenarios import SCENARIOS

    from sim.interop.imports import import_sumo

    folder = CACHE / "sumo_scenarios" / name / "scenario"
    if not (folder / "scenario.toml").is_file():
        net, routes, end_s = SCENARIOS[name]
        import_sumo(net, folder, routes, end_s=end_s)
    return load_scenario(folder / "scenario.toml")


def _grid(rows: int, cols: int, **extra: Any) -> dict[str, Any]:
    return {"type": "grid", "rows": rows, "cols": cols, "block_m": 200.0, "lanes": 1, **extra}


def _arterial(n: int, **extra: Any) -> dict[str, Any]:
    return {
        "type": "arterial",
        "n_intersections": n,
        "block_m": 250.0,
        "lanes_main": 2,
        "lanes_side": 1,
        **extra,
    }


def _file(path: Path) -> dict[str, Any]:
    return {"type": "file", "path": str(path)}


_BAYS = {"left_bay_m": 50.0}
_PROTECTED = {"left_turns": "protected"}


def training() -> list[Scenario]:
    """The training set (seconds per run)."""
    return [
        generated("train-grid3-light", _grid(3, 3), 1500.0, 1200.0),
        generated("train-grid3-heavy", _grid(3, 3), 3000.0, 1200.0),
        generated("train-grid3-oversaturated", _grid(3, 3), 4200.0, 1200.0),
        generated("train-grid6-near-capacity", _grid(6, 6), 8000.0, 2400.0),
        generated("train-bays-grid2x3", _grid(2, 3, **_BAYS), 2400.0, 1200.0, **_PROTECTED),
        generated("train-arterial4", _arterial(4), 2400.0, 1200.0),
        generated("train-irregular4", _file(irregular_grid(4, 4, seed=1)), 3000.0, 1200.0),
        imported("RiLSA_example2"),
        imported("RiLSA_example3"),
    ]


def validation() -> list[Scenario]:
    """The validation set: checkpoints are chosen on it."""
    return [
        generated("validation-grid4-heavy", _grid(4, 4), 4200.0, 1200.0),
        generated("validation-grid5-near-capacity", _grid(5, 5), 7000.0, 2400.0),
        generated("validation-bays-arterial5", _arterial(5, **_BAYS), 3000.0, 1200.0, **_PROTECTED),
        generated("validation-irregular5", _file(irregular_grid(5, 5, seed=2)), 3600.0, 1200.0),
        imported("RiLSA_example4"),
    ]
