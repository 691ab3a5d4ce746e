"""Vehicle trajectories and signal states along a corridor, sampled from a running model.

Runs do not record positions (the kernel keeps only per-edge aggregates), so a time-space
diagram is made by stepping a model and sampling, after every step, the vehicles on the
corridor's lanes and the signal state of each corridor movement, into a
:class:`~sim.metrics.frames.CorridorTrajectories` that :func:`sim.plots.plot_time_space` draws.
The sampler reads the model only through its public attributes: ``net`` (the compiled network),
``traffic`` (:meth:`~sim.traffic.state.TrafficState.lane_vehicles`, ``positions_m``,
``speeds_mps`` and ``conn_state``), ``time_s``,
``dt_s``, ``running`` and :meth:`~sim.model.CityModel.run`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from sim.metrics.frames import CorridorTrajectories
from sim.network.compile import CompiledNetwork
from sim.probes.lights import SIGNAL_STATES
from sim.traffic.codes import TURN_THROUGH

if TYPE_CHECKING:
    from sim.model import CityModel

__all__ = ["TrajectoryError", "corridor_nodes", "sample_corridor"]

_EPS = 1e-9


class TrajectoryError(ValueError):
    """A corridor that is not a path of the network, or a sampling window outside the run."""


def _through_next(net: CompiledNetwork) -> np.ndarray:
    """Per edge, the edge that continues straight through its end node, or -1."""
    following = np.full(net.n_edges, -1, dtype=np.int64)
    through = np.flatnonzero(net.conn_turn == TURN_THROUGH)
    following[net.conn_from[through]] = net.conn_to[through]
    return following


def corridor_nodes(net: CompiledNetwork, nodes: tuple[str, ...] | list[str] | None = None) -> tuple[str, ...]:
    """Check a corridor, or choose the straight one through the most signalized intersections.

    Args:
        net: The compiled network.
        nodes: Node ids along network edges; ``None`` chooses the longest chain of straight-through
            movements with the most signalized intersections (ties: the longer, then the first
            in edge order), e.g. the main street of an arterial or one row of a grid.

    Raises:
        TrajectoryError: If ``nodes`` has fewer than two nodes or two consecutive nodes are not
            joined by an edge.
    """
    if nodes is not None:
        nodes = tuple(str(node) for node in nodes)
        if len(nodes) < 2:
            raise TrajectoryError(f"a corridor needs at least two nodes, got {list(nodes)}")
        missing = [
            f"{u}->{v}" for u, v in zip(nodes, nodes[1:], strict=False) if (u, v) not in net.edge_index
        ]
        if missing:
            raise TrajectoryError(f"corridor {'->'.join(nodes)}: no network edge {', '.join(missing)}")
        return nodes
    following = _through_next(net)
    entered = set(following[following >= 0].tolist())
    starts = [e for e in range(net.n_edges) if e not in entered] or list(range(net.n_edges))
    signalized = set(net.signal_nodes.tolist())
    best: tuple[Any, ...] | None = None
    for start in starts:
        chain, seen = [start], {start}
        while following[chain[-1]] >= 0 and int(following[chain[-1]]) not in seen:
            chain.append(int(following[chain[-1]]))
            seen.add(chain[-1])
        path = tuple(net.node_ids[net.edge_from[e]] for e in chain) + (net.node_ids[net.edge_to[chain[-1]]],)
        signals = sum(int(net.edge_to[e]) in signalized for e in chain[:-1])
        score = (signals, float(net.edge_length_m[chain].sum()))
        if best is None or score > best[0]:
            best = (score, path)
    if best is None:
        raise TrajectoryError("the network has no edges")
    return best[1]


def sample_corridor(
    model: CityModel,
    nodes: tuple[str, ...] | list[str] | None = None,
    start_s: float = 0.0,
    end_s: float | None = None,
) -> CorridorTrajectories:
    """Step a model from ``start_s`` to ``end_s``, sampling the corridor after every step.

    The model is advanced (not copied): a fresh model starts at 0 s; it stops early when the
    run ends (every trip arrived, or gridlock).

    Args:
        model: The model, at or before ``start_s``.
        nodes: The corridor (see :func:`corridor_nodes`); ``None`` chooses one.
        start_s: Simulated time of the first sample; the model runs there unsampled (s).
        end_s: Simulated time of the last sample; default ``simulation.max_time_s`` (s).

    Returns:
        The trajectories and signal states.

    Raises:
        TrajectoryError: If the corridor is not a path, or ``start_s`` is before the model's
            time or not before ``end_s``.
    """
    net, traffic = model.net, model.traffic
    nodes = corridor_nodes(net, nodes)
    end_s = model.config.simulation.max_time_s if end_s is None else float(end_s)
    if start_s < model.time_s - _EPS or start_s >= end_s:
        raise TrajectoryError(
            f"sampling window [{start_s:g}, {end_s:g}] s must start at or after the model's time "
            f"({model.time_s:g} s) and end after it starts"
        )
    edges = net.route_edges(list(nodes))
    starts_m = np.concatenate([[0.0], np.cumsum(net.edge_length_m[edges])[:-1]])
    lanes = [
        (float(start_m), lane)
        for e, start_m in zip(edges.tolist(), starts_m, strict=True)
        for lane in range(int(net.edge_lane0[e]), int(net.edge_lane0[e] + net.edge_lanes[e]))
    ]
    signalized = set(net.signal_nodes.tolist())
    stops = [
        (nodes[i + 1], float(starts_m[i] + net.edge_length_m[edges[i]]), net.conn_index[(int(a), int(b))])
        for i, (a, b) in enumerate(zip(edges[:-1], edges[1:], strict=True))
        if int(net.edge_to[a]) in signalized and (int(a), int(b)) in net.conn_index
    ]
    model.run(until_s=start_s)
    vehicle_parts: list[tuple[float, np.ndarray, np.ndarray, np.ndarray]] = []
    signal_rows: list[tuple[float, str, float, str]] = []
    while model.running and model.time_s < end_s - _EPS:
        model.run(until_s=model.time_s + model.dt_s)
        now = model.time_s
        for start_m, lane in lanes:
            vids = traffic.lane_vehicles(lane)
            if len(vids):
                vehicle_parts.append(
                    (now, vids, start_m + traffic.positions_m(vids), traffic.speeds_mps(vids))
                )
        signal_rows += [
            (now, node, distance_m, SIGNAL_STATES[int(traffic.conn_state[conn])])
            for node, distance_m, conn in stops
        ]
    vehicles = pd.DataFrame(
        {
            "time_s": np.concatenate([np.full(len(v), t) for t, v, _, _ in vehicle_parts] or [np.zeros(0)]),
            "vehicle": np.concatenate([v for _, v, _, _ in vehicle_parts] or [np.zeros(0, dtype=np.int64)]),
            "distance_m": np.concatenate([d for _, _, d, _ in vehicle_parts] or [np.zeros(0)]),
            "speed_mps": np.concatenate([s for _, _, _, s in vehicle_parts] or [np.zeros(0)]),
        }
    )
    signals = pd.DataFrame(signal_rows, columns=["time_s", "node", "distance_m", "state"])
    return CorridorTrajectories(
        nodes=nodes,
        edge_start_m=starts_m,
        length_m=float(net.edge_length_m[edges].sum()),
        dt_s=float(model.dt_s),
        vehicles=vehicles,
        signals=signals,
        title=f"{model.config.name}, seed {model.seed}: corridor {nodes[0]} -> {nodes[-1]}",
    )
