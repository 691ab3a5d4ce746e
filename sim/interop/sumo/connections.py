"""SUMO lane-to-lane connections: the turns they allow and the junction-internal lengths they add.

The rules are those of :mod:`sim.interop.sumo.net` (turns and lengths).
"""

from __future__ import annotations

import itertools
import xml.etree.ElementTree as ET
from collections.abc import Mapping
from dataclasses import dataclass

import networkx as nx

from sim.network.graph import TURNS

__all__ = [
    "UTURN",
    "Connection",
    "add_internal_lengths",
    "allows",
    "read_connections",
    "set_turns",
    "tl_links",
]

EdgeKey = tuple[str, str]
UTURN = "t"
"""SUMO's ``dir`` of a turnaround."""


@dataclass(frozen=True)
class Connection:
    """A SUMO lane-to-lane connection between open lanes of kept edges.

    Attributes:
        from_edge, to_edge: SUMO edge ids.
        from_lane: Index of the from-lane among the edge's open lanes (0 is the rightmost).
        internal_m: Length of its junction-internal lanes (m).
        direction: SUMO's ``dir`` (``"t"`` for a turnaround).
        tl, link_index: The traffic light and link index controlling it, or ``None``.
    """

    from_edge: str
    to_edge: str
    from_lane: int
    internal_m: float
    direction: str
    tl: str | None
    link_index: int | None


def allows(lane: ET.Element, vclass: str) -> bool:
    """Whether a SUMO lane (or internal lane) is open to ``vclass``, from its ``allow``/``disallow``."""
    allow, disallow = lane.get("allow"), lane.get("disallow")
    if allow is not None:
        classes = allow.split()
        return vclass in classes or "all" in classes
    if disallow is not None:
        classes = disallow.split()
        return vclass not in classes and "all" not in classes
    return True


def read_connections(
    root: ET.Element,
    edge_map: Mapping[str, tuple[EdgeKey, ...]],
    open_lanes: Mapping[str, Mapping[str, int]],
    internal: Mapping[str, tuple[float, bool]],
) -> list[Connection]:
    """The connections between open lanes (and through open internal lanes) of kept edges."""
    elements = list(root.iter("connection"))
    onward = {
        f"{conn.get('from')}_{conn.get('fromLane')}": conn.get("via")
        for conn in elements
        if conn.get("from", "").startswith(":") and conn.get("via")
    }
    conns = []
    for conn in elements:
        from_edge, to_edge = conn.get("from"), conn.get("to")
        if from_edge not in edge_map or to_edge not in edge_map:
            continue
        from_lane = open_lanes[from_edge].get(conn.get("fromLane"))
        if from_lane is None or conn.get("toLane") not in open_lanes[to_edge]:
            continue
        internal_m, via, is_open, seen = 0.0, conn.get("via"), True, set()
        while via in internal and is_open and via not in seen:
            seen.add(via)
            length_m, is_open = internal[via]
            internal_m += length_m
            via = onward.get(via)
        if not is_open:
            continue
        index = conn.get("linkIndex")
        link_index = int(index) if conn.get("tl") is not None and index is not None else None
        conns.append(
            Connection(
                from_edge, to_edge, from_lane, internal_m, conn.get("dir", ""), conn.get("tl"), link_index
            )
        )
    return conns


def set_turns(
    graph: nx.DiGraph, edge_map: Mapping[str, tuple[EdgeKey, ...]], conns: list[Connection]
) -> tuple[int, int]:
    """Give every edge its ``turns``; return the number of turns kept and banned (U-turns aside)."""
    ranges: dict[EdgeKey, dict[str, list[int]]] = {key: {} for key in graph.edges}
    for conn in conns:
        after = edge_map[conn.to_edge][0][1]
        lane_range = ranges[edge_map[conn.from_edge][-1]].setdefault(after, [conn.from_lane, conn.from_lane])
        lane_range[0], lane_range[1] = min(lane_range[0], conn.from_lane), max(lane_range[1], conn.from_lane)
    for keys in edge_map.values():
        lanes = graph.edges[keys[0]]["lanes"]
        for key, (_, after) in itertools.pairwise(keys):
            ranges[key] = {after: [0, lanes - 1]}
    nx.set_edge_attributes(graph, ranges, TURNS)
    kept = sum(len(ranges[keys[-1]]) for keys in edge_map.values())
    banned = sum(
        1 for (u, v), turns in ranges.items() for w in graph.successors(v) if w != u and w not in turns
    )
    return kept, banned


def add_internal_lengths(
    graph: nx.DiGraph, edge_map: Mapping[str, tuple[EdgeKey, ...]], conns: list[Connection]
) -> float:
    """Add to each edge the mean internal length of its connections (turnarounds aside).

    Returns:
        The mean length added per kept SUMO edge (m).
    """
    lengths: dict[str, list[float]] = {}
    for conn in conns:
        if conn.direction != UTURN:
            lengths.setdefault(conn.from_edge, []).append(conn.internal_m)
    added = 0.0
    for edge, values in lengths.items():
        mean_m = sum(values) / len(values)
        graph.edges[edge_map[edge][-1]]["length_m"] += mean_m
        added += mean_m
    return added / len(edge_map) if edge_map else 0.0


def tl_links(conns: list[Connection]) -> dict[str, dict[int, tuple[str, str]]]:
    """Each traffic light's links: (from edge, to edge) SUMO ids by link index."""
    links: dict[str, dict[int, tuple[str, str]]] = {}
    for conn in conns:
        if conn.tl is not None and conn.link_index is not None:
            links.setdefault(conn.tl, {})[conn.link_index] = (conn.from_edge, conn.to_edge)
    return links
