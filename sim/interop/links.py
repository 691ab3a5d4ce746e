"""Build a road graph from imported links, keeping it a simple directed graph.

The road graph allows one edge per ordered pair of nodes and no self-loops. An imported
link whose end nodes are already joined in that direction (two streets between the same
two junctions), or that starts and ends at the same node (a loop), is split at the
interior point nearest its middle, which becomes an ordinary, unsignalized node.
:class:`LinkGraph` remembers every edge's course, the points it passes through.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import networkx as nx

from sim.network.graph import INTERSECTION

__all__ = ["Course", "Lanes", "LinkGraph"]

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
        along_m: Distance of each point from the first one along the link (m).
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

    def reversed(self) -> Course:
        """The same course travelled the other way."""
        end = self.along_m[-1]
        return Course(
            self.points[::-1], self.x[::-1], self.y[::-1], tuple(end - a for a in self.along_m[::-1])
        )

    def middle_point(self) -> int:
        """Index of the interior point nearest half the length.

        Raises:
            ValueError: If the course has no interior point.
        """
        if len(self.points) < 3:
            raise ValueError(f"course {self.points} has no interior point to split at")
        half = self.along_m[0] + self.length_m / 2.0
        return min(range(1, len(self.points) - 1), key=lambda i: abs(self.along_m[i] - half))


class LinkGraph:
    """A road graph under construction, with the course of every edge.

    Nodes get ``x``, ``y``, ``signalized=False`` and ``kind="intersection"``; edges
    ``length_m``, ``lanes`` and ``speed_mps``.

    Attributes:
        graph: The road graph.
        courses: The course of every edge, from its first node to its last.
    """

    def __init__(self, name: str = "") -> None:
        self.graph = nx.DiGraph(name=name)
        self.courses: dict[EdgeKey, Course] = {}

    def add_node(self, point: str, x: float, y: float) -> None:
        """Add ``point`` as an unsignalized intersection node, unless it is a node already."""
        if point not in self.graph:
            self.graph.add_node(point, x=float(x), y=float(y), signalized=False, kind=INTERSECTION)

    def add_course(
        self, course: Course, forward: Lanes | None, backward: Lanes | None, cuts: Iterable[int] = ()
    ) -> tuple[list[EdgeKey], list[EdgeKey]]:
        """Add a link along ``course`` in one or both directions.

        Both directions are split at the same points, so a two-way street stays two-way
        edge by edge: at the interior points ``cuts``, and wherever an edge would repeat an
        ordered pair of nodes or be a loop.

        Args:
            course: The link's points.
            forward: Lanes and speed from the first point to the last, or ``None``.
            backward: Lanes and speed from the last point to the first, or ``None``.
            cuts: Interior point indices to keep as nodes.

        Returns:
            The edges added for each direction, in travel order.

        Raises:
            ValueError: If an edge must be split but has no interior point.
        """
        bounds = [0, *sorted(set(cuts)), len(course.points) - 1]
        ahead: list[EdgeKey] = []
        back: list[EdgeKey] = []
        for a, b in zip(bounds, bounds[1:], strict=False):
            part_ahead, part_back = self._add_simple(course.part(a, b), forward, backward)
            ahead += part_ahead
            back = part_back + back
        return ahead, back

    def _add_simple(
        self, course: Course, forward: Lanes | None, backward: Lanes | None
    ) -> tuple[list[EdgeKey], list[EdgeKey]]:
        u, w = course.points[0], course.points[-1]
        self.add_node(u, course.x[0], course.y[0])
        self.add_node(w, course.x[-1], course.y[-1])
        clash = u == w or (forward is not None and self.graph.has_edge(u, w))
        clash = clash or (backward is not None and self.graph.has_edge(w, u))
        if not clash:
            return self._add_edge(course, forward), self._add_edge(course.reversed(), backward)
        k = course.middle_point()
        ahead1, back1 = self._add_simple(course.part(0, k), forward, backward)
        ahead2, back2 = self._add_simple(course.part(k, len(course.points) - 1), forward, backward)
        return ahead1 + ahead2, back2 + back1

    def _add_edge(self, course: Course, lanes: Lanes | None) -> list[EdgeKey]:
        if lanes is None:
            return []
        key = (course.points[0], course.points[-1])
        self.graph.add_edge(
            *key, length_m=float(course.length_m), lanes=int(lanes.lanes), speed_mps=float(lanes.speed_mps)
        )
        self.courses[key] = course
        return [key]
