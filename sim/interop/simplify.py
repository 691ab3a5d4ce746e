"""Simplify a directed graph of road segments into road links the kernel reads correctly.

The input is a ``networkx.DiGraph`` of *segments*, the straight pieces between consecutive
points of the source data, each edge with ``length_m`` and a :class:`~sim.interop.links.Lanes`
under ``lanes_of``. Simplification keeps the largest strongly connected component (every
point reaches every other), merges each chain of points that only continue the road into
one link (:func:`chain_ends`, :func:`merge_chains`), and keeps a few interior points as
nodes where the kernel would otherwise misread a link's direction at a node
(:func:`merge_chains`): the kernel takes a link's direction from the straight line
between its end nodes, for turns and for signal phases.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping
from dataclasses import dataclass

import networkx as nx

from sim.interop.links import Course, Lanes, LinkGraph

__all__ = [
    "Dropped",
    "chain_ends",
    "keep_largest_strong_component",
    "keep_largest_strong_component_and_approaches",
    "merge_chains",
    "neighbours",
]

EdgeKey = tuple[str, str]
XY = Callable[[str], tuple[float, float]]


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


def neighbours(graph: nx.DiGraph, node: str) -> set[str]:
    """Nodes joined to ``node`` by an edge in either direction."""
    return (set(graph.predecessors(node)) | set(graph.successors(node))) - {node}


def keep_largest_strong_component(segments: nx.DiGraph) -> tuple[nx.DiGraph, Dropped]:
    """Return the largest strongly connected component (a copy) and what was dropped.

    Ties between components of equal size go to the one holding the earliest point.
    """
    return _keep(segments, _largest(segments, nx.strongly_connected_components(segments)))


def keep_largest_strong_component_and_approaches(segments: nx.DiGraph) -> tuple[nx.DiGraph, Dropped]:
    """Return the largest strongly connected component with the roads into and out of it (a copy).

    Every point kept reaches the component, is reached from it, or both: one-way roads that
    only lead in or only lead out (a motorway's carriageways, a one-way street from the edge
    of the map) stay; the parts that neither reach it nor are reached from it go. A graph of
    one-way roads without cycles keeps its largest weakly connected component instead. Ties
    as in :func:`keep_largest_strong_component`.
    """
    core = _largest(segments, nx.strongly_connected_components(segments))
    if len(core) < 2:
        return _keep(segments, _largest(segments, nx.weakly_connected_components(segments)))
    point = next(iter(core))
    return _keep(segments, core | nx.ancestors(segments, point) | nx.descendants(segments, point))


def _largest(segments: nx.DiGraph, components: Iterable[set[str]]) -> set[str]:
    """The largest of ``components``; ties go to the one holding the earliest point."""
    order = {node: i for i, node in enumerate(segments)}
    return max(components, key=lambda c: (len(c), -min(order[n] for n in c)), default=set())


def _keep(segments: nx.DiGraph, points: set[str]) -> tuple[nx.DiGraph, Dropped]:
    """The subgraph on ``points`` (a copy, in the original order) and what it leaves out."""
    kept = segments.subgraph([n for n in segments if n in points]).copy()
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
        present = sum((u, v) in lanes_of for u, v in ((a, p), (p, b), (b, p), (p, a)))
        ways = [_continues(lanes_of, a, p, b), _continues(lanes_of, b, p, a)]
        if False in ways or present != 2 * ways.count(True):
            ends.add(p)
    return ends


def _continues(lanes_of: Mapping[EdgeKey, Lanes], a: str, p: str, b: str) -> bool | None:
    """True if ``a -> p -> b`` continues with the same lanes, False if it breaks, None if absent."""
    first, second = lanes_of.get((a, p)), lanes_of.get((p, b))
    if first is None and second is None:
        return None
    return first is not None and first == second


def merge_chains(
    segments: nx.DiGraph, ends: Collection[str], xy: XY, max_bend_deg: float = 30.0, probe_m: float = 20.0
) -> tuple[LinkGraph, int]:
    """Merge every chain of segments between two chain ends into one link.

    Where a curved chain leaves or enters a node more than ``max_bend_deg`` off the
    straight line to its other end, the course point ``probe_m`` metres from that node is
    kept as a node too (see :func:`_bend_points`), so approach bearings stay true.

    Args:
        segments: Segment graph (``length_m``, ``lanes_of`` per edge).
        ends: The points that stay nodes (see :func:`chain_ends`); a closed chain without
            any gets its first point added.
        xy: Projected coordinates (m) of a point.
        max_bend_deg: Largest tolerated angle between a link's chord and the road at its
            ends (degrees). Default 30.
        probe_m: How far along the road its bearing at a node is taken (m). Default 20.

    Returns:
        The links, and the number of points kept at bends.
    """
    ends = set(ends)
    links = LinkGraph()
    lanes_of: Mapping[EdgeKey, Lanes] = nx.get_edge_attributes(segments, "lanes_of")
    done: set[frozenset[str]] = set()
    kept_at_bends = 0
    for start in itertools.chain(_ordered(segments, ends), _loop_starts(segments, ends)):
        links.add_node(start, *xy(start))
        for first in sorted(neighbours(segments, start)):
            if frozenset((start, first)) in done:
                continue
            path = _walk(segments, ends, start, first)
            done.update(frozenset(pair) for pair in itertools.pairwise(path))
            course = _course(segments, path, xy)
            bends = _bend_points(course, max_bend_deg, probe_m)
            kept_at_bends += len(bends)
            links.add_course(
                course, lanes_of.get((path[0], path[1])), lanes_of.get((path[1], path[0])), bends
            )
    return links, kept_at_bends


def _ordered(segments: nx.DiGraph, ends: set[str]) -> Iterator[str]:
    return (node for node in segments if node in ends)


def _loop_starts(segments: nx.DiGraph, ends: set[str]) -> Iterator[str]:
    """A first point of each closed chain that holds no chain end (added to ``ends``)."""
    covered: set[str] = set()
    undirected = segments.to_undirected(as_view=True)
    for node in segments:
        if node in ends or node in covered:
            continue
        reachable = nx.node_connected_component(undirected, node)
        covered |= reachable
        if not reachable & ends:
            ends.add(node)
            yield node


def _walk(segments: nx.DiGraph, ends: set[str], start: str, first: str) -> list[str]:
    path = [start, first]
    while path[-1] not in ends:
        (nxt,) = neighbours(segments, path[-1]) - {path[-2]}
        path.append(nxt)
    return path


def _course(segments: nx.DiGraph, path: list[str], xy: XY) -> Course:
    """The course along ``path``, points joined by segments, with their lengths added up."""
    along = [0.0]
    for a, b in itertools.pairwise(path):
        data = segments.get_edge_data(a, b) or segments.edges[b, a]
        along.append(along[-1] + data["length_m"])
    points = [xy(p) for p in path]
    return Course(tuple(path), tuple(p[0] for p in points), tuple(p[1] for p in points), tuple(along))


def _bend_points(course: Course, max_bend_deg: float, probe_m: float) -> list[int]:
    """Interior points to keep so that every part's chord follows the road at both of its ends.

    The bearing of the road at an end is taken to the course point ``probe_m`` metres
    along (or the nearest interior point); where it differs from the chord's bearing by
    more than ``max_bend_deg``, the point is kept and both parts are checked again.
    """
    n = len(course.points)
    if n < 3:
        return []
    chord = _bearing(course, 0, n - 1)
    along = course.along_m
    near_start = next((i for i in range(1, n - 1) if along[i] - along[0] >= probe_m), n - 2)
    near_end = next((i for i in range(n - 2, 0, -1) if along[-1] - along[i] >= probe_m), 1)
    bend_start = _angle_deg(chord, _bearing(course, 0, near_start))
    bend_end = _angle_deg(chord, _bearing(course, near_end, n - 1))
    if max(bend_start, bend_end) <= max_bend_deg:
        return []
    k = near_start if bend_start >= bend_end else near_end
    before = _bend_points(course.part(0, k), max_bend_deg, probe_m)
    after = _bend_points(course.part(k, n - 1), max_bend_deg, probe_m)
    return [*before, k, *(k + i for i in after)]


def _bearing(course: Course, i: int, j: int) -> float:
    return math.atan2(course.y[j] - course.y[i], course.x[j] - course.x[i])


def _angle_deg(a: float, b: float) -> float:
    return math.degrees(abs(math.remainder(a - b, 2.0 * math.pi)))
