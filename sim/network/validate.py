"""Check that a road graph follows the network schema of :mod:`sim.network.graph`."""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Hashable, Iterable, Mapping, Sequence
from numbers import Real

import networkx as nx
import numpy as np

from sim.network.graph import (
    EDGE_ATTRIBUTES,
    FRINGE,
    JUNCTION,
    JUNCTION_CONTROLS,
    NODE_ATTRIBUTES,
    NODE_KINDS,
    OPTIONAL_PLAN_KEYS,
    PLAN_KEYS,
    PLAN_PHASE_KEYS,
    PRIORITY,
    PRIORITY_RANGE,
    SIGNAL_PLAN,
    TRAFFIC_LIGHT,
    TURNS,
    NetworkError,
    is_count,
    is_positive_number,
    per_phase,
)
from sim.schema import MAX_DISTANCE_M, MAX_GREEN_S, MAX_SPEED_MPS, MAX_TIME_S, excerpt

__all__ = ["validate_network"]

_MAX_LISTED = 10


def _is_coordinate(value: object) -> bool:
    return isinstance(value, Real) and not isinstance(value, bool) and math.isfinite(value)


def _is_bool(value: object) -> bool:
    return isinstance(value, bool | np.bool_)


def _is_kind(value: object) -> bool:
    return isinstance(value, str) and value in NODE_KINDS


# attribute -> (what is expected, check); the order is the order listed in messages
_NODE_EXPECTED = {
    "x": ("a finite number (metres)", _is_coordinate),
    "y": ("a finite number (metres)", _is_coordinate),
    "signalized": ("a bool", _is_bool),
    "kind": (f"one of {', '.join(map(repr, NODE_KINDS))}", _is_kind),
    SIGNAL_PLAN: (f"a mapping with keys {', '.join(PLAN_KEYS)}", lambda value: isinstance(value, Mapping)),
    JUNCTION: (
        f"one of {', '.join(map(repr, JUNCTION_CONTROLS))}",
        lambda value: isinstance(value, str) and value in JUNCTION_CONTROLS,
    ),
}
_MAX_LANES = 16


def _at_most(limit: float) -> Callable[[object], bool]:
    """A check: a finite number > 0 and <= ``limit``."""
    return lambda value: is_positive_number(value) and value <= limit


# Upper bounds are physical (see sim.schema): no link is longer than 100 km or faster than
# 70 m/s, and none has more than 16 lanes a direction. A signal plan's green, yellow and
# all-red last at most sim.schema.MAX_GREEN_S: imported SUMO programs hold phases for 10,000 s.
_EDGE_EXPECTED = {
    "length_m": (f"a finite number > 0 and <= {MAX_DISTANCE_M:g} (metres)", _at_most(MAX_DISTANCE_M)),
    "lanes": (f"an integer >= 1 and <= {_MAX_LANES}", lambda value: is_count(value) and value <= _MAX_LANES),
    "speed_mps": (
        f"a finite number > 0 and <= {MAX_SPEED_MPS:g} (metres per second)",
        _at_most(MAX_SPEED_MPS),
    ),
    "capacity_vph": ("a finite number > 0 (vehicles per hour)", is_positive_number),
    TURNS: ("a mapping next node -> [lane_lo, lane_hi]", lambda value: isinstance(value, Mapping)),
    PRIORITY: (
        f"an integer from {PRIORITY_RANGE[0]:,} to {PRIORITY_RANGE[1]:,} (higher: the more important road)",
        lambda value: is_count(value, PRIORITY_RANGE[0]) and value <= PRIORITY_RANGE[1],
    ),
}


def validate_network(graph: nx.DiGraph, source: str | os.PathLike[str] | None = None) -> None:
    """Raise :class:`NetworkError` unless ``graph`` follows the network schema.

    Checks, in order: the graph is a directed simple graph with nodes and edges; every node and
    edge carries exactly the allowed attributes with valid values; a node's ``junction`` is
    ``"traffic_light"`` exactly when it is signalized; every ``signal_plan`` sits on a
    signalized node, has the keys and values of the schema, and lists only movements that
    exist as two edges through its node; there are no self-loops; every ``turns`` entry
    names an edge leaving the edge's head and a lane range within the edge; there is at
    least one fringe node; and every fringe node can reach, or be reached from, some other
    fringe node.

    Args:
        graph: The road network.
        source: The file the network came from, named in error messages; ``None`` if built in memory.

    Raises:
        NetworkError: On the first problem found; the message names the file (when known), the
            node or edge, the attribute and what was expected.
    """
    if not isinstance(graph, nx.DiGraph) or graph.is_multigraph():
        raise NetworkError(f"expected a networkx.DiGraph, got {type(graph).__name__}", source)
    name = graph.graph.get("name", "")
    if not isinstance(name, str):
        raise NetworkError(f"graph attribute 'name' must be a str, got {excerpt(name)}", source)
    if graph.number_of_nodes() == 0:
        raise NetworkError("network has no nodes", source)
    if graph.number_of_edges() == 0:
        raise NetworkError("network has no edges", source)
    for node, attrs in graph.nodes(data=True):
        _check_attributes(f"node {excerpt(node)}", attrs, _NODE_EXPECTED, NODE_ATTRIBUTES, source)
        if JUNCTION in attrs and (attrs[JUNCTION] == TRAFFIC_LIGHT) != bool(attrs["signalized"]):
            raise NetworkError(
                f"node {excerpt(node)}: junction {attrs[JUNCTION]!r} with signalized={attrs['signalized']}; "
                f"expected junction {TRAFFIC_LIGHT!r} exactly on signalized nodes",
                source,
            )
        if SIGNAL_PLAN in attrs:
            _check_signal_plan(graph, node, attrs, source)
    for u, v, attrs in graph.edges(data=True):
        element = f"edge {excerpt(u)} -> {excerpt(v)}"
        if u == v:
            raise NetworkError(f"{element} is a self-loop; expected edges between distinct nodes", source)
        _check_attributes(element, attrs, _EDGE_EXPECTED, EDGE_ATTRIBUTES, source)
        if TURNS in attrs:
            _check_turns(graph, element, v, attrs, source)
    fringe = {node for node, kind in graph.nodes(data="kind") if kind == FRINGE}
    if not fringe:
        raise NetworkError(
            f"network has no fringe nodes (kind={FRINGE!r}); trips need fringe origins and destinations",
            source,
        )
    stranded = _stranded_fringe(graph, fringe)
    if stranded:
        raise NetworkError(
            f"{len(stranded)} fringe node(s) can neither reach nor be reached from any other fringe node: "
            f"{_listing(stranded)}; expected every fringe node to be connected to another fringe node",
            source,
        )


def _check_attributes(
    element: str,
    attrs: dict,
    expected: dict,
    required: tuple[str, ...],
    source: str | os.PathLike[str] | None,
) -> None:
    unknown = [key for key in attrs if key not in expected]
    if unknown:
        raise NetworkError(
            f"{element}: unknown attribute {excerpt(unknown[0])}; allowed: {', '.join(expected)}", source
        )
    for key in required:
        if key not in attrs:
            raise NetworkError(
                f"{element}: missing attribute {excerpt(key)} (expected {expected[key][0]})", source
            )
    for key, value in attrs.items():
        description, is_valid = expected[key]
        if not is_valid(value):
            raise NetworkError(
                f"{element}: attribute {excerpt(key)} must be {description}, got {excerpt(value)}", source
            )


def _check_turns(
    graph: nx.DiGraph, element: str, head: Hashable, attrs: dict, source: str | os.PathLike[str] | None
) -> None:
    """Check an edge's ``turns``: each key a node the edge's head leads to, each value a lane range."""
    lanes = attrs["lanes"]
    for after, lane_range in attrs[TURNS].items():
        if not graph.has_edge(head, after):
            raise NetworkError(
                f"{element}: {TURNS} names {excerpt(after)}, but there is no edge {excerpt(head)} -> "
                f"{excerpt(after)}; expected the nodes the edge's head leads to",
                source,
            )
        pair = _is_sequence(lane_range) and len(lane_range) == 2 and all(is_count(i, 0) for i in lane_range)
        if not pair or not lane_range[0] <= lane_range[1] < lanes:
            raise NetworkError(
                f"{element}: {TURNS}[{excerpt(after)}] must be [lane_lo, lane_hi], integers with "
                f"0 <= lane_lo <= lane_hi < {lanes} (the edge's lanes), got {excerpt(lane_range)}",
                source,
            )


def _is_sequence(value: object) -> bool:
    return isinstance(value, Sequence) and not isinstance(value, str)


def _is_intergreen(value: object) -> bool:
    return _is_coordinate(value) and 0 <= value <= MAX_GREEN_S


def _check_signal_plan(
    graph: nx.DiGraph, node: Hashable, attrs: dict, source: str | os.PathLike[str] | None
) -> None:
    """Check a node's ``signal_plan`` against the schema of :mod:`sim.network.graph`."""
    plan = attrs[SIGNAL_PLAN]
    where = f"node {excerpt(node)}: {SIGNAL_PLAN}"
    if not attrs["signalized"]:
        raise NetworkError(f"{where} on a node that is not signalized; expected signalized=True", source)
    allowed = PLAN_KEYS + OPTIONAL_PLAN_KEYS
    unknown = [key for key in plan if key not in allowed]
    if unknown:
        raise NetworkError(
            f"{where}: unknown key {excerpt(unknown[0])}; allowed: {', '.join(allowed)}", source
        )
    missing = [key for key in PLAN_KEYS if key not in plan]
    if missing:
        raise NetworkError(f"{where}: missing key {excerpt(missing[0])}", source)
    phases, greens = plan["phases"], plan["greens_s"]
    if not _is_sequence(phases) or not phases:
        raise NetworkError(
            f"{where}: 'phases' must be a non-empty list of phases, got {excerpt(phases)}", source
        )
    green = _at_most(MAX_GREEN_S)
    if not _is_sequence(greens) or len(greens) != len(phases) or not all(map(green, greens)):
        raise NetworkError(
            f"{where}: 'greens_s' must list one finite number > 0 and <= {MAX_GREEN_S:g} (s) per "
            f"phase ({len(phases)}), got {excerpt(greens)}",
            source,
        )
    per_phase = {
        key: _per_phase(where, plan, key, len(phases), source) for key in PLAN_PHASE_KEYS if key in plan
    }
    if "min_green_s" in per_phase and "max_green_s" in per_phase:
        pairs = zip(per_phase["min_green_s"], per_phase["max_green_s"], strict=True)
        p = next((p for p, (low, high) in enumerate(pairs) if low > high), None)
        if p is not None:
            raise NetworkError(
                f"{where}: phase {p}: 'min_green_s' ({per_phase['min_green_s'][p]:g}) exceeds "
                f"'max_green_s' ({per_phase['max_green_s'][p]:g}); expected min <= max",
                source,
            )
    offset_s = plan["offset_s"]
    if not _is_coordinate(offset_s) or abs(offset_s) > MAX_TIME_S:
        raise NetworkError(
            f"{where}: 'offset_s' must be a finite number within +-{MAX_TIME_S:g} (s), "
            f"got {excerpt(offset_s)}",
            source,
        )
    for p, movements in enumerate(phases):
        if not _is_sequence(movements) or not movements:
            raise NetworkError(
                f"{where}: phase {p} must be a non-empty list of [from, to] movements, "
                f"got {excerpt(movements)}",
                source,
            )
        for movement in movements:
            pair = _is_sequence(movement) and len(movement) == 2
            if not pair or not all(isinstance(end, Hashable) for end in movement):
                raise NetworkError(
                    f"{where}: phase {p}: movement {excerpt(movement)} must be a [from, to] pair of nodes",
                    source,
                )
            a, b = movement
            if not (graph.has_edge(a, node) and graph.has_edge(node, b)):
                a, b, at = excerpt(a), excerpt(b), excerpt(node)
                raise NetworkError(
                    f"{where}: phase {p}: movement {a} -> {at} -> {b} needs edges {a} -> {at} "
                    f"and {at} -> {b}, which the network does not have",
                    source,
                )


def _per_phase(
    where: str, plan: Mapping, key: str, n_phases: int, source: str | os.PathLike[str] | None
) -> list[float]:
    """The value of ``plan[key]`` for each phase, after checking it (one number, or one per phase)."""
    value = plan[key]
    values = list(per_phase(value, n_phases))
    valid = _at_most(MAX_GREEN_S) if key == "max_green_s" else _is_intergreen
    if len(values) != n_phases or not all(map(valid, values)):
        low = "> 0" if key == "max_green_s" else ">= 0"
        raise NetworkError(
            f"{where}: {key!r} must be a finite number {low} and <= {MAX_GREEN_S:g} (s), or a list of one "
            f"per phase ({n_phases}), got {excerpt(value)}",
            source,
        )
    return values


def _stranded_fringe(graph: nx.DiGraph, fringe: set[Hashable]) -> list[Hashable]:
    """Fringe nodes that no other fringe node reaches and that reach no other fringe node.

    Linear time: works on the condensation (the DAG of strongly connected components).
    """
    dag = nx.condensation(graph)
    component = dag.graph["mapping"]
    count = {c: sum(node in fringe for node in members) for c, members in dag.nodes(data="members")}
    order = list(nx.topological_sort(dag))
    reaches: dict[int, bool] = {}
    for c in reversed(order):
        reaches[c] = any(count[d] > 0 or reaches[d] for d in dag.successors(c))
    reached: dict[int, bool] = {}
    for c in order:
        reached[c] = any(count[p] > 0 or reached[p] for p in dag.predecessors(c))
    return [
        node
        for node in graph
        if node in fringe
        and count[component[node]] < 2
        and not reaches[component[node]]
        and not reached[component[node]]
    ]


def _listing(nodes: Iterable[Hashable]) -> str:
    nodes = list(nodes)
    shown = ", ".join(map(repr, nodes[:_MAX_LISTED]))
    return shown if len(nodes) <= _MAX_LISTED else f"{shown} and {len(nodes) - _MAX_LISTED} more"
