"""Left-turn bays: extra lanes on the left of a link's last metres, as SUMO builds them.

A bay splits a link ``u -> v`` into an upstream edge ``u -> b`` with the link's ``n`` lanes and
a short *bay edge* ``b -> v`` of ``left_bay_m`` metres with ``n + left_bay_lanes`` lanes (SUMO's
representation: an edge whose lane count changes is two edges). The node between them,
``b = bay_node(u, v)`` (``"{v}.bay.{u}"``), stands on the straight line from ``v`` to ``u``,
``left_bay_m`` from ``v``; it is an unsignalized intersection with ``junction =
"unregulated"``: one edge in, one out, nothing to give way to. Vehicles choose their lane of
the bay edge there, by their next turn.

The bay edge carries ``turns`` (:data:`sim.network.graph.TURNS`): left turns and U-turns from
the bay lanes (``n`` to ``n + left_bay_lanes - 1``, the leftmost), through movements from the
link's own lanes (0 to ``n - 1``) and right turns from lane 0. The turns themselves, and their
kinds, are those :func:`sim.network.compile.movements` finds on the link before the
split, so a bay changes which lanes serve a movement, never which movements exist. For the
same reason every other edge into a node that a bay leaves from gets ``turns``: its turns and
lanes before the split. The compiler tells a U-turn by the node it returns to, and after a
split the way back leads to a bay node, so without them it would take a turn back for a left
turn and allow it.
"""

from __future__ import annotations

import networkx as nx

from sim.network.compile import movements
from sim.network.graph import (
    INTERSECTION,
    JUNCTION,
    SIGNAL_PLAN,
    TURNS,
    NetworkError,
    is_count,
    is_positive_number,
)
from sim.traffic.codes import TURN_LEFT, TURN_RIGHT, TURN_UTURN

__all__ = ["BAY_JUNCTION", "MIN_UPSTREAM_M", "add_left_bays", "bay_node"]

MIN_UPSTREAM_M = 20.0
"""Shortest length a link keeps before its bay (m): room for a few vehicles to queue and
choose their lane."""
BAY_JUNCTION = "unregulated"
"""Control of the node where a bay begins."""

EdgeKey = tuple[str, str]


def bay_node(u: str, v: str) -> str:
    """Id of the node where the bay of link ``u -> v`` begins: ``"{v}.bay.{u}"``."""
    return f"{v}.bay.{u}"


def add_left_bays(
    graph: nx.DiGraph,
    left_bay_m: float,
    left_bay_lanes: int = 1,
) -> nx.DiGraph:
    """A copy of ``graph`` with a left-turn bay on every approach that has a left turn.

    An approach is an edge into an intersection node (``kind = "intersection"``; fringe
    nodes, the network's dead ends, get none) from which the compiled network turns left.
    Nodes keep their order, the bay nodes follow; the two parts of a split edge take its
    place in the edge order.

    Args:
        graph: A valid road graph with string node ids and no ``signal_plan``.
        left_bay_m: Length of each bay (m), > 0; every approach must be at least
            :data:`MIN_UPSTREAM_M` longer.
        left_bay_lanes: Lanes of each bay (>= 1), added on the left of the link's lanes.

    Returns:
        The graph with bays (see the module docstring).

    Raises:
        NetworkError: If ``left_bay_m`` or ``left_bay_lanes`` is out of range, an approach is too
            short for its bay, a bay node's id is taken already, or a node has a ``signal_plan``
            (its movements name the links a bay splits).
    """
    if not is_positive_number(left_bay_m):
        raise NetworkError(f"left_bay_m must be a finite number > 0, got {left_bay_m!r}")
    if not is_count(left_bay_lanes):
        raise NetworkError(f"left_bay_lanes must be an integer >= 1, got {left_bay_lanes!r}")
    planned = next((node for node, plan in graph.nodes(data=SIGNAL_PLAN) if plan is not None), None)
    if planned is not None:
        raise NetworkError(
            f"node {planned!r} has a {SIGNAL_PLAN}; left-turn bays need the plans derived from geometry"
        )
    moves = movements(graph)
    split = [
        (u, v)
        for u, v in graph.edges
        if graph.nodes[v]["kind"] == INTERSECTION
        and any(kind in (TURN_LEFT, TURN_UTURN) for kind, _, _ in moves.get((u, v), {}).values())
    ]
    for u, v in split:
        _check_room(graph, u, v, float(left_bay_m))
    first = {(u, v): bay_node(u, v) for u, v in split}
    bayed = nx.DiGraph(**graph.graph)
    bayed.add_nodes_from(graph.nodes(data=True))
    for (u, v), node in first.items():
        if node in graph:
            raise NetworkError(
                f"node {node!r} is in the network already; expected it free for the bay of {u!r} -> {v!r}"
            )
        share = float(left_bay_m) / graph.edges[u, v]["length_m"]
        a, b = graph.nodes[u], graph.nodes[v]
        bayed.add_node(
            node,
            x=b["x"] + (a["x"] - b["x"]) * share,
            y=b["y"] + (a["y"] - b["y"]) * share,
            signalized=False,
            kind=INTERSECTION,
            **{JUNCTION: BAY_JUNCTION},
        )
    leaving = {u for u, _ in split}
    for u, v, attrs in graph.edges(data=True):
        link = {key: value for key, value in attrs.items() if key != TURNS}
        if (u, v) not in first:
            kept = {first.get((v, w), w): [lo, hi] for w, (_, lo, hi) in moves.get((u, v), {}).items()}
            bayed.add_edge(u, v, **({**link, TURNS: kept} if v in leaving else attrs))
            continue
        node, n = first[u, v], int(attrs["lanes"])
        bayed.add_edge(u, node, **{**link, "length_m": attrs["length_m"] - float(left_bay_m)})
        turns = {
            first.get((v, w), w): _bay_lanes(kind, n, int(left_bay_lanes))
            for w, (kind, _, _) in moves[u, v].items()
        }
        bayed.add_edge(
            node,
            v,
            **{**link, "length_m": float(left_bay_m), "lanes": n + int(left_bay_lanes), TURNS: turns},
        )
    return bayed


def _bay_lanes(kind: int, n: int, bay_lanes: int) -> list[int]:
    """``[lane_lo, lane_hi]`` of a bay edge that serve a movement of ``kind`` (``TURN_*``)."""
    if kind in (TURN_LEFT, TURN_UTURN):
        return [n, n + bay_lanes - 1]
    return [0, 0] if kind == TURN_RIGHT else [0, n - 1]


def _check_room(graph: nx.DiGraph, u: str, v: str, left_bay_m: float) -> None:
    length_m = float(graph.edges[u, v]["length_m"])
    if left_bay_m > length_m - MIN_UPSTREAM_M:
        raise NetworkError(
            f"left_bay_m={left_bay_m:g} leaves less than {MIN_UPSTREAM_M:g} m of the {length_m:g} m link "
            f"{u!r} -> {v!r} before its bay; expected left_bay_m <= {length_m - MIN_UPSTREAM_M:g}"
        )
