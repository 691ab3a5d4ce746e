"""Add imported links to a road graph, keeping it a simple directed graph.

The road graph allows one edge per ordered pair of nodes and no self-loops. An imported
link whose end nodes are already joined in that direction (two streets between the same
two junctions), or that starts and ends at the same node (a loop), is split at the
interior point nearest its middle, which becomes an ordinary, unsignalized node.
"""

from __future__ import annotations

from dataclasses import dataclass

import networkx as nx

from sim.network.graph import INTERSECTION

__all__ = ["Course", "Lanes", "add_link"]

EdgeKey = tuple[str, str]


@dataclass(frozen=True)
class Lanes:
    """What one direction of a link carries.

    Attributes:
        lanes: Number of lanes (>= 1).
        speed_mps: Speed limit (m/s).
    """

    lanes: int
    speed_mps: float


@dataclass(frozen=True)
class Course:
    """The points a link passes through, its end nodes first and last.

    Attributes:
        points: Point ids; the first and last are the link's end nodes.
        x, y: Coordinates of each point (m).
        along_m: Distance of each point from the first one along the link (m); the last
            entry is the link's length.
    """

    points: tuple[str, ...]
    x: tuple[float, ...]
    y: tuple[float, ...]
    along_m: tuple[float, ...]

    @property
    def length_m(self) -> float:
        """Length of the link (m)."""
        return self.along_m[-1] - self.along_m[0]

    def part(self, start: int, stop: int) -> Course:
        """The course from point ``start`` to point ``stop`` (both included)."""
        cut = slice(start, stop + 1)
        return Course(self.points[cut], self.x[cut], self.y[cut], self.along_m[cut])

    def middle_point(self) -> int:
        """Index of the interior point nearest half the length.

        Raises:
            ValueError: If the course has no interior point.
        """
        if len(self.points) < 3:
            raise ValueError(f"course {self.points} has no interior point to split at")
        half = self.along_m[0] + self.length_m / 2.0
        return min(range(1, len(self.points) - 1), key=lambda i: abs(self.along_m[i] - half))


def add_link(
    graph: nx.DiGraph, course: Course, forward: Lanes | None, backward: Lanes | None
) -> tuple[list[EdgeKey], list[EdgeKey]]:
    """Add a link along ``course`` in one or both directions, splitting it where needed.

    Both directions are split at the same points, so a two-way street stays two-way edge
    by edge. The end nodes must already be in the graph.

    Args:
        graph: The road graph being built.
        course: The link's points.
        forward: Lanes and speed from the first point to the last, or ``None``.
        backward: Lanes and speed from the last point to the first, or ``None``.

    Returns:
        The edges added for each direction, in travel order (empty for a missing direction).

    Raises:
        ValueError: If the link must be split but has no interior point.
    """
    u, w = course.points[0], course.points[-1]
    clash = u == w or (forward is not None and graph.has_edge(u, w))
    clash = clash or (backward is not None and graph.has_edge(w, u))
    if not clash:
        ahead = _add_edge(graph, u, w, course.length_m, forward)
        back = _add_edge(graph, w, u, course.length_m, backward)
        return ahead, back
    k = course.middle_point()
    via = course.points[k]
    graph.add_node(via, x=course.x[k], y=course.y[k], signalized=False, kind=INTERSECTION)
    ahead1, back1 = add_link(graph, course.part(0, k), forward, backward)
    ahead2, back2 = add_link(graph, course.part(k, len(course.points) - 1), forward, backward)
    return ahead1 + ahead2, back2 + back1


def _add_edge(graph: nx.DiGraph, u: str, v: str, length_m: float, lanes: Lanes | None) -> list[EdgeKey]:
    if lanes is None:
        return []
    graph.add_edge(u, v, length_m=float(length_m), lanes=int(lanes.lanes), speed_mps=float(lanes.speed_mps))
    return [(u, v)]
