"""Simplify a directed graph of road segments: the largest strongly connected part, chains merged.

The input is a ``networkx.DiGraph`` of *segments*, the straight pieces between consecutive
points of the source data, each edge with ``length_m`` and a :class:`~sim.interop.links.Lanes`
under ``lanes_of``. Simplification keeps the largest strongly connected component (every
node reaches every other), then merges each chain of points that only continue the road
(see :func:`chain_ends`) into one link.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Collection, Iterator, Mapping
from dataclasses import dataclass

import networkx as nx

from sim.interop.links import Course, Lanes, add_link
from sim.network.graph import INTERSECTION

__all__ = ["Dropped", "Merged", "chain_ends", "keep_largest_strong_component", "merge_chains", "neighbours"]

EdgeKey = tuple[str, str]


@dataclass(frozen=True)
class Dropped:
    """What :func:`keep_largest_strong_component` removed.

    Attributes:
        nodes: Number of points removed.
        segments: Number of directed segments removed.
        length_m: Total length of the removed directed segments (m).
    """

    nodes: int
    segments: int
    length_m: float


@dataclass(frozen=True, eq=False)
class Merged:
    """The road graph built from merged chains.

    Attributes:
        graph: Nodes (``x``, ``y``; kind ``"intersection"``, unsignalized) and edges.
        courses: Points each edge passes through, its end nodes included.
        merged_points: Points that disappeared inside links.
        split_points: Interior points kept as nodes so that no two edges join the same
            ordered pair of nodes and no edge is a loop.
    """

    graph: nx.DiGraph
    courses: Mapping[EdgeKey, tuple[str, ...]]
    merged_points: int
    split_points: int


def neighbours(segments: nx.DiGraph, node: str) -> set[str]:
    """Points joined to ``node`` by a segment in either direction."""
    return (set(segments.predecessors(node)) | set(segments.successors(node))) - {node}


def keep_largest_strong_component(segments: nx.DiGraph) -> tuple[nx.DiGraph, Dropped]:
    """Return the largest strongly connected component (a copy) and what was dropped.

    Ties between components of equal size go to the one holding the earliest node.
    """
    order = {node: i for i, node in enumerate(segments)}
    components = nx.strongly_connected_components(segments)
    best = max(components, key=lambda c: (len(c), -min(order[n] for n in c)), default=set())
    kept = segments.subgraph(best).copy()
    dropped = [(u, v) for u, v in segments.edges if not kept.has_edge(u, v)]
    length_m = sum(segments.edges[e]["length_m"] for e in dropped)
    return kept, Dropped(segments.number_of_nodes() - kept.number_of_nodes(), len(dropped), length_m)


def chain_ends(segments: nx.DiGraph, keep: Collection[str] = ()) -> set[str]:
    """The points that stay nodes: every point except those that only continue one road.

    A point continues a road, and disappears inside a link, when it has exactly two
    neighbours ``a`` and ``b`` and its segments form either one direction of travel
    (``a -> p -> b``) or both (``a <-> p <-> b``) with the same lanes and speed on either
    side of it, in each direction. Points in ``keep`` always stay.
    """
    ends = set(keep)
    lanes_of = nx.get_edge_attributes(segments, "lanes_of")
    for p in segments:
        near = neighbours(segments, p)
        if len(near) != 2:
            ends.add(p)
            continue
        a, b = sorted(near)
        through_ab = _continues(lanes_of, a, p, b)
        through_ba = _continues(lanes_of, b, p, a)
        present = {e for e in ((a, p), (p, b), (b, p), (p, a)) if e in lanes_of}
        if through_ab is False or through_ba is False or len(present) not in (2, 4):
            ends.add(p)
        elif not (through_ab or through_ba):
            ends.add(p)
    return ends


def _continues(lanes_of: Mapping[EdgeKey, Lanes], a: str, p: str, b: str) -> bool | None:
    """True if ``a -> p -> b`` continues with the same lanes, False if it changes, None if absent."""
    first, second = lanes_of.get((a, p)), lanes_of.get((p, b))
    if first is None and second is None:
        return None
    return first is not None and first == second


def merge_chains(
    segments: nx.DiGraph, ends: Collection[str], xy: Callable[[str], tuple[float, float]]
) -> Merged:
    """Merge every chain of segments between two chain ends into one link.

    Args:
        segments: Segment graph (``length_m``, ``lanes_of`` per edge).
        ends: The points that stay nodes (see :func:`chain_ends`); a closed chain without
            any gets its first point added.
        xy: Projected coordinates (m) of a point.

    Returns:
        The merged graph with the courses of its edges.
    """
    ends = set(ends)
    graph = nx.DiGraph()
    courses: dict[EdgeKey, tuple[str, ...]] = {}
    lanes_of = nx.get_edge_attributes(segments, "lanes_of")
    done: set[frozenset[str]] = set()
    for start in itertools.chain(_ordered(segments, ends), _loop_starts(segments, ends)):
        _add_node(graph, start, xy)
        for first in sorted(neighbours(segments, start)):
            if frozenset((start, first)) in done:
                continue
            path = _walk(segments, ends, start, first)
            done.update(frozenset(pair) for pair in itertools.pairwise(path))
            _add_node(graph, path[-1], xy)
            ahead, back = add_link(
                graph,
                _course(segments, path, xy),
                lanes_of.get((path[0], path[1])),
                lanes_of.get((path[1], path[0])),
            )
            for key in ahead:
                courses[key] = _sub_path(path, key)
            for key in back:
                courses[key] = _sub_path(path[::-1], key)
    split_points = sum(1 for n in graph if n not in ends)
    merged = segments.number_of_nodes() - graph.number_of_nodes()
    return Merged(graph, courses, merged, split_points)


def _ordered(segments: nx.DiGraph, ends: set[str]) -> Iterator[str]:
    return (node for node in segments if node in ends)


def _loop_starts(segments: nx.DiGraph, ends: set[str]) -> Iterator[str]:
    """A first point of each closed chain that holds no chain end (added to ``ends``)."""
    covered: set[str] = set()
    for node in segments:
        if node in ends or node in covered:
            continue
        reachable = nx.node_connected_component(segments.to_undirected(as_view=True), node)
        covered |= reachable
        if not reachable & ends:
            ends.add(node)
            yield node


def _walk(segments: nx.DiGraph, ends: set[str], start: str, first: str) -> list[str]:
    path = [start, first]
    while path[-1] not in ends:
        here = path[-1]
        (nxt,) = neighbours(segments, here) - {path[-2]}
        path.append(nxt)
    return path


def _course(segments: nx.DiGraph, path: list[str], xy: Callable[[str], tuple[float, float]]) -> Course:
    along = [0.0]
    for a, b in itertools.pairwise(path):
        data = segments.get_edge_data(a, b) or segments.edges[b, a]
        along.append(along[-1] + data["length_m"])
    points = [xy(p) for p in path]
    return Course(tuple(path), tuple(p[0] for p in points), tuple(p[1] for p in points), tuple(along))


def _sub_path(path: list[str], key: EdgeKey) -> tuple[str, ...]:
    i = path.index(key[0])
    j = path.index(key[1], i + 1)
    return tuple(path[i : j + 1])


def _add_node(graph: nx.DiGraph, node: str, xy: Callable[[str], tuple[float, float]]) -> None:
    if node not in graph:
        x, y = xy(node)
        graph.add_node(node, x=x, y=y, signalized=False, kind=INTERSECTION)
