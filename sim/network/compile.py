"""Compile a road graph once into the integer-indexed arrays the traffic kernel runs on.

Nothing in the simulation loop touches networkx: edges, lanes, connections (the turning
movements from an in-edge to an out-edge at a node) and signal phases become flat numpy
arrays here, and routes become sequences of edge indices.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import NamedTuple

import networkx as nx
import numpy as np

from sim.network.conflicts import conflict_model
from sim.network.graph import PLAN_PHASE_KEYS, SIGNAL_PLAN, TURNS, NetworkError, per_phase
from sim.network.phasing import LeftTurnPhasing, geometric_phases
from sim.traffic.codes import TURN_LEFT, TURN_RIGHT, TURN_THROUGH, TURN_UTURN

__all__ = ["CompiledNetwork", "compile_network", "movements"]

_THROUGH_COS = math.cos(math.radians(45.0))
_UTURN_COS = math.cos(math.radians(150.0))


@dataclass(frozen=True, eq=False)
class CompiledNetwork:
    """The road graph as flat arrays.

    Attributes:
        node_ids: Node ids in index order.
        node_x, node_y: Node coordinates (m).
        edge_keys: ``(u, v)`` per edge index.
        edge_from, edge_to: Node index at each end of an edge.
        edge_length_m, edge_speed_mps: Length (m) and speed limit (m/s) per edge.
        edge_lanes: Lane count per edge; ``edge_lane0`` is the index of its lane 0 (rightmost).
        lane_edge: Edge index per lane.
        conn_from, conn_to: In-edge and out-edge of each connection (turning movement).
        conn_turn: Turn kind, ``TURN_THROUGH``, ``TURN_RIGHT``, ``TURN_LEFT`` or ``TURN_UTURN``
            (:mod:`sim.traffic.codes`).
        conn_lane_lo, conn_lane_hi: Range of in-edge lanes (within the edge) that serve it.
        conn_rule, conn_gap_class, conn_zone_m, conn_wait_n: Each connection's right of way,
            critical-gap class, conflict zone (m) and vehicles that may wait in the junction,
            and ``conn_foe_ptr``, ``conn_foes``, ``conn_foe_kind`` its conflicting connections
            (:class:`~sim.network.conflicts.ConflictModel`).
        signal_nodes: Node index of each signalized intersection.
        signal_phase_ptr: Signal ``s`` owns phases ``signal_phase_ptr[s]:signal_phase_ptr[s+1]``.
        phase_conn_ptr, phase_conns: Phase ``p`` gives green to connections
            ``phase_conns[phase_conn_ptr[p]:phase_conn_ptr[p+1]]``.
        phase_axis: ``"NS"`` or ``"EW"`` per geometric phase (the approach bearing it serves),
            ``"NS-left"`` or ``"EW-left"`` per left-turn phase (:mod:`sim.network.phasing`),
            ``"plan"`` per phase taken from a node's ``signal_plan``.
        phase_yellow_s, phase_all_red_s: Yellow and all-red (s) after each phase, from its node's
            ``signal_plan``; NaN where the node has none (use the scenario's value).
        phase_min_green_s, phase_max_green_s: Shortest and longest green (s) of each phase, from
            its node's ``signal_plan``; NaN where the plan (or the node) has none.
        conn_index: ``(in_edge, out_edge) -> connection`` lookup for building routes.
        edge_index: ``(u, v) -> edge`` lookup.
    """

    node_ids: tuple[str, ...]
    node_x: np.ndarray
    node_y: np.ndarray
    edge_keys: tuple[tuple[str, str], ...]
    edge_from: np.ndarray
    edge_to: np.ndarray
    edge_length_m: np.ndarray
    edge_speed_mps: np.ndarray
    edge_lanes: np.ndarray
    edge_lane0: np.ndarray
    lane_edge: np.ndarray
    conn_from: np.ndarray
    conn_to: np.ndarray
    conn_turn: np.ndarray
    conn_lane_lo: np.ndarray
    conn_lane_hi: np.ndarray
    conn_rule: np.ndarray
    conn_gap_class: np.ndarray
    conn_zone_m: np.ndarray
    conn_wait_n: np.ndarray
    conn_foe_ptr: np.ndarray
    conn_foes: np.ndarray
    conn_foe_kind: np.ndarray
    signal_nodes: np.ndarray
    signal_phase_ptr: np.ndarray
    phase_conn_ptr: np.ndarray
    phase_conns: np.ndarray
    phase_axis: tuple[str, ...]
    phase_yellow_s: np.ndarray
    phase_all_red_s: np.ndarray
    phase_min_green_s: np.ndarray
    phase_max_green_s: np.ndarray
    conn_index: dict[tuple[int, int], int]
    edge_index: dict[tuple[str, str], int]

    @property
    def n_edges(self) -> int:
        """Number of directed edges."""
        return len(self.edge_keys)

    @property
    def n_lanes(self) -> int:
        """Number of lanes over all edges."""
        return len(self.lane_edge)

    @property
    def n_signals(self) -> int:
        """Number of signalized intersections."""
        return len(self.signal_nodes)

    def route_edges(self, path: list[str] | tuple[str, ...]) -> np.ndarray:
        """Edge indices of a node path.

        Raises:
            KeyError: If two consecutive nodes are not joined by an edge.
        """
        return np.fromiter(
            (self.edge_index[(a, b)] for a, b in zip(path[:-1], path[1:], strict=False)),
            dtype=np.int32,
            count=len(path) - 1,
        )

    def route_conns(self, edges: np.ndarray) -> np.ndarray:
        """Connection index between consecutive route edges, with -1 after the last edge.

        Raises:
            KeyError: If the route turns where the network has no connection.
        """
        conns = np.full(len(edges), -1, dtype=np.int32)
        for i in range(len(edges) - 1):
            conns[i] = self.conn_index[(int(edges[i]), int(edges[i + 1]))]
        return conns


def _heading(x: np.ndarray, y: np.ndarray, a: int, b: int) -> tuple[float, float]:
    dx, dy = x[b] - x[a], y[b] - y[a]
    norm = math.hypot(dx, dy) or 1.0
    return dx / norm, dy / norm


def _turn(h_in: tuple[float, float], h_out: tuple[float, float], back: bool) -> int:
    """Turn type by the angle between headings; a U-turn only when it goes back where it came from."""
    dot = h_in[0] * h_out[0] + h_in[1] * h_out[1]
    cross = h_in[0] * h_out[1] - h_in[1] * h_out[0]
    if back and dot <= _UTURN_COS:
        return TURN_UTURN
    if dot >= _THROUGH_COS:
        return TURN_THROUGH
    return TURN_LEFT if cross >= 0 else TURN_RIGHT


def _plan_phases(
    node: str,
    plan: dict,
    eidx: dict[tuple[str, str], int],
    conn_index: dict[tuple[int, int], int],
    node_movements: dict[int, tuple[str, str]],
) -> list[list[int]]:
    """Connections of each phase of a node's ``signal_plan``.

    ``node_movements`` maps every connection of the node to its (from node, to node) movement.
    """
    phases = []
    for p, movements in enumerate(plan["phases"]):
        conns = []
        for a, b in movements:
            c = conn_index.get((eidx[(a, node)], eidx[(node, b)]))
            if c is None:
                raise NetworkError(
                    f"node {node!r}: {SIGNAL_PLAN} phase {p} lists movement {a!r} -> {node!r} -> {b!r}, "
                    "which the network does not connect (the in-edge's turns do not list it, or it is a "
                    "U-turn where the node offers another way out)"
                )
            conns.append(c)
        phases.append(conns)
    served = {c for conns in phases for c in conns}
    missing = [movement for c, movement in node_movements.items() if c not in served]
    if missing:
        a, b = missing[0]
        raise NetworkError(
            f"node {node!r}: {SIGNAL_PLAN} gives movement {a!r} -> {node!r} -> {b!r} green in no phase; "
            "expected every turn the network allows at the node in some phase"
        )
    return phases


def _plan_values(plan: dict | None, n_phases: int) -> list[list[float]]:
    """Per phase, the plan's value of each of :data:`PLAN_PHASE_KEYS` (NaN where absent)."""
    values = []
    for key in PLAN_PHASE_KEYS:
        value = math.nan if plan is None else plan.get(key, math.nan)
        values.append([float(v) for v in per_phase(value, n_phases)])
    return values


def _connections(
    graph: nx.DiGraph,
    edge_keys: tuple[tuple[str, str], ...],
    heading: list[tuple[float, float]],
    ins: list[list[int]],
    outs: list[list[int]],
    lanes: np.ndarray,
) -> np.ndarray:
    """Rows ``(in_edge, out_edge, turn, lane_lo, lane_hi)`` of every connection."""
    edge_to = [edge_keys[e][1] for e in range(len(edge_keys))]
    conns: list[tuple[int, int, int, int, int]] = []
    for n, node_ins in enumerate(ins):
        for ei in node_ins:
            back = edge_keys[ei][0]
            options = [(eo, _turn(heading[ei], heading[eo], edge_to[eo] == back)) for eo in outs[n]]
            turns = graph.edges[edge_keys[ei]].get(TURNS)
            if turns is None:
                has_other = any(t != TURN_UTURN for _, t in options)
                k = int(lanes[ei])
                ranges = {
                    eo: {TURN_THROUGH: (0, k - 1), TURN_RIGHT: (0, 0)}.get(turn, (k - 1, k - 1))
                    for eo, turn in options
                    if turn != TURN_UTURN or not has_other
                }
            else:
                ranges = {eo: tuple(turns[edge_to[eo]]) for eo, _ in options if edge_to[eo] in turns}
            conns.extend((ei, eo, turn, *ranges[eo]) for eo, turn in options if eo in ranges)
    return np.array(conns, dtype=np.int32).reshape(-1, 5)


class _Layout(NamedTuple):
    """What the connections of a graph are found from, and the connections."""

    node_ids: tuple[str, ...]
    nidx: dict[str, int]
    x: np.ndarray
    y: np.ndarray
    edge_keys: tuple[tuple[str, str], ...]
    lanes: np.ndarray
    heading: list[tuple[float, float]]
    ins: list[list[int]]
    outs: list[list[int]]
    carr: np.ndarray


def _layout(graph: nx.DiGraph) -> _Layout:
    """Nodes, edges, each edge's heading, each node's in- and out-edges, and the connection rows."""
    node_ids = tuple(graph.nodes)
    nidx = {n: i for i, n in enumerate(node_ids)}
    x = np.array([float(graph.nodes[n]["x"]) for n in node_ids])
    y = np.array([float(graph.nodes[n]["y"]) for n in node_ids])
    edge_keys = tuple((u, v) for u, v in graph.edges)
    lanes = np.array([int(graph.edges[k]["lanes"]) for k in edge_keys], dtype=np.int32)
    heading = [_heading(x, y, nidx[u], nidx[v]) for u, v in edge_keys]
    ins: list[list[int]] = [[] for _ in node_ids]
    outs: list[list[int]] = [[] for _ in node_ids]
    for e, (u, v) in enumerate(edge_keys):
        ins[nidx[v]].append(e)
        outs[nidx[u]].append(e)
    carr = _connections(graph, edge_keys, heading, ins, outs, lanes)
    return _Layout(node_ids, nidx, x, y, edge_keys, lanes, heading, ins, outs, carr)


def movements(graph: nx.DiGraph) -> dict[tuple[str, str], dict[str, tuple[int, int, int]]]:
    """Per edge, the turns :func:`compile_network` gives it: next node -> (turn kind, lane_lo, lane_hi).

    Only the connections, without the right of way and the signal phases that compiling a
    whole network also works out (most of its time on a large grid), for the builders and
    importers that set edges' ``turns`` from them.
    """
    layout = _layout(graph)
    keys = layout.edge_keys
    moves: dict[tuple[str, str], dict[str, tuple[int, int, int]]] = {}
    for e_in, e_out, turn, lo, hi in layout.carr.tolist():
        moves.setdefault(keys[e_in], {})[keys[e_out][1]] = (turn, lo, hi)
    return moves


def compile_network(graph: nx.DiGraph, phasing: LeftTurnPhasing | None = None) -> CompiledNetwork:
    """Compile a validated road graph into arrays.

    Connections: an edge with ``turns`` gets exactly the turns it lists, from the lanes it
    lists. For an edge without, every (in-edge, out-edge) pair at its head, except U-turns
    (straight back to the node it came from) where the node offers another way out; a sharp
    turn onto another road is a left or right turn, so every path the router finds can be
    driven. Lanes per movement: left turns and U-turns use the leftmost lane, right turns the
    rightmost, through traffic every lane. Right of way between conflicting connections:
    :mod:`sim.network.conflicts`. Signal phases: the
    in-edges of a signalized node are split by bearing into a north-south and an
    east-west phase (permitted left turns), each with a left-turn phase where ``phasing``
    asks for one and the left turns have lanes of their own (:mod:`sim.network.phasing`);
    a node whose approaches all share one bearing gets a single phase. A signalized node with a
    ``signal_plan`` gets exactly the plan's phases instead, in order, each giving green to
    the connections of its movements, and its per-phase yellow, all-red, minimum and maximum
    green (:attr:`CompiledNetwork.phase_yellow_s` and the like).

    Args:
        graph: The road graph.
        phasing: How the phases derived from geometry serve left turns; default
            ``LeftTurnPhasing()`` (permitted only).

    Raises:
        NetworkError: If a ``signal_plan`` lists a movement the network does not connect (not
            in its in-edge's ``turns``, or a U-turn where the node offers another way out), or
            leaves a connection of its node out of every phase (vehicles routed through it
            would wait forever).
    """
    node_ids, nidx, x, y, edge_keys, lanes, heading, ins, outs, carr = _layout(graph)
    eidx = {k: i for i, k in enumerate(edge_keys)}
    n_e = len(edge_keys)
    edge_from = np.array([nidx[u] for u, _ in edge_keys], dtype=np.int32)
    edge_to = np.array([nidx[v] for _, v in edge_keys], dtype=np.int32)
    data = [graph.edges[k] for k in edge_keys]
    length = np.array([float(d["length_m"]) for d in data])
    speed = np.array([float(d["speed_mps"]) for d in data])
    lane0 = np.zeros(n_e, dtype=np.int32)
    lane0[1:] = np.cumsum(lanes)[:-1]
    lane_edge = np.repeat(np.arange(n_e, dtype=np.int32), lanes)
    conn_index = {(int(r[0]), int(r[1])): i for i, r in enumerate(carr)}
    conflicts = conflict_model(graph, node_ids, x, y, edge_keys, heading, lanes, speed, carr)

    signal_nodes, phase_ptr, phase_conn_ptr, phase_conns, phase_axis = [], [0], [0], [], []
    phase_values: list[list[float]] = [[] for _ in PLAN_PHASE_KEYS]
    by_in_edge: dict[int, list[int]] = {}
    for c, r in enumerate(carr):
        by_in_edge.setdefault(int(r[0]), []).append(c)
    for n in range(len(node_ids)):
        if not graph.nodes[node_ids[n]].get("signalized", False) or not ins[n]:
            continue
        plan = graph.nodes[node_ids[n]].get(SIGNAL_PLAN)
        if plan is None:
            left_turns = LeftTurnPhasing() if phasing is None else phasing
            phases = geometric_phases(ins[n], heading, by_in_edge, carr, conflicts, left_turns)
        else:
            movements = {
                c: (edge_keys[ei][0], edge_keys[int(carr[c, 1])][1])
                for ei in ins[n]
                for c in by_in_edge.get(ei, [])
            }
            phases = [
                ("plan", conns) for conns in _plan_phases(node_ids[n], plan, eidx, conn_index, movements)
            ]
        signal_nodes.append(n)
        for values, node_values in zip(phase_values, _plan_values(plan, len(phases)), strict=True):
            values.extend(node_values)
        for axis, conns_of_phase in phases:
            phase_conns.extend(conns_of_phase)
            phase_conn_ptr.append(len(phase_conns))
            phase_axis.append(axis)
        phase_ptr.append(len(phase_axis))

    return CompiledNetwork(
        node_ids=node_ids,
        node_x=x,
        node_y=y,
        edge_keys=edge_keys,
        edge_from=edge_from,
        edge_to=edge_to,
        edge_length_m=length,
        edge_speed_mps=speed,
        edge_lanes=lanes,
        edge_lane0=lane0,
        lane_edge=lane_edge,
        conn_from=np.ascontiguousarray(carr[:, 0]),
        conn_to=np.ascontiguousarray(carr[:, 1]),
        conn_turn=np.ascontiguousarray(carr[:, 2]),
        conn_lane_lo=np.ascontiguousarray(carr[:, 3]),
        conn_lane_hi=np.ascontiguousarray(carr[:, 4]),
        conn_rule=conflicts.rule,
        conn_gap_class=conflicts.gap_class,
        conn_zone_m=conflicts.zone_m,
        conn_wait_n=conflicts.wait_n,
        conn_foe_ptr=conflicts.foe_ptr,
        conn_foes=conflicts.foes,
        conn_foe_kind=conflicts.foe_kind,
        signal_nodes=np.array(signal_nodes, dtype=np.int32),
        signal_phase_ptr=np.array(phase_ptr, dtype=np.int32),
        phase_conn_ptr=np.array(phase_conn_ptr, dtype=np.int32),
        phase_conns=np.array(phase_conns, dtype=np.int32),
        phase_axis=tuple(phase_axis),
        phase_yellow_s=np.array(phase_values[0]),
        phase_all_red_s=np.array(phase_values[1]),
        phase_min_green_s=np.array(phase_values[2]),
        phase_max_green_s=np.array(phase_values[3]),
        conn_index=conn_index,
        edge_index=eidx,
    )
