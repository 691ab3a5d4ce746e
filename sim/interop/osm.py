"""OpenStreetMap import: an ``.osm`` or ``.osm.pbf`` extract turned into a citysim road graph.

Parsing uses pyosmium (``osmium``, the optional extra ``osm``), the maintained bindings of
libosmium; nothing is downloaded. The import:

1. reads the ways of the drivable ``highway`` classes (:data:`~sim.interop.osm_tags.DEFAULT_HIGHWAYS`)
   open to private cars, with their direction, lanes and speed limit from the tags (defaults
   per class where missing, see :mod:`sim.interop.osm_tags`), and the nodes tagged
   ``highway=traffic_signals``;
2. cuts each way into segments between consecutive nodes, with great-circle lengths; a way
   that leaves the extract (its nodes are missing from the file) is cut there, and its last
   node inside is a **boundary node**;
3. keeps the largest strongly connected component, so that every node can reach every other;
4. merges chains of degree-2 nodes that only continue a road into single links (their
   lengths add up; the nodes they pass through are kept in :attr:`OsmNetwork.courses`);
   where two links would join the same two nodes in the same direction, or a link would be
   a loop, an interior node near its middle is kept;
5. places signals: a signal tagged on an intersection (a node with three or more
   neighbours) signalizes it; one tagged on a road between intersections, as OSM usually
   places them at the stop line, moves to the nearest intersection along the road within
   ``signal_snap_m``; other signals are counted as unplaced;
6. marks **fringe** nodes, the trip origins and destinations: the boundary nodes and the
   dead ends (a single neighbour) of the kept component. Fringe nodes are never signalized;
7. gives every other node its ``junction`` control: ``"traffic_light"`` where signalized,
   else ``"roundabout"`` on the ways tagged ``junction=roundabout``, else the signs
   (:func:`~sim.interop.osm_tags.node_control`: ``highway=stop`` a ``"stop"``, with
   ``stop=all`` an ``"allway_stop"``; ``highway=give_way`` a ``"priority"`` junction),
   placed on intersections as signals are (the strictest sign wins), else ``"priority"``;
8. ranks the roads: every edge's ``priority`` is its class's (SUMO's OSM type map, see
   :data:`~sim.interop.osm_tags.ROAD_CLASSES`), the highest along a link merged from
   several ways;
9. reads ``turn:lanes`` (``:forward``, ``:backward``) where a way ends into the ``turns`` of
   the edge that ends there, when the value is consistent with the edge's lanes and turns
   (:mod:`sim.interop.osm_turns`); other edges keep citysim's default lanes per turn.

Node ids are the OSM node ids as strings; x and y (m) come from a local projection about
the centre of the kept nodes (x east, y north).
"""

from __future__ import annotations

import itertools
import math
import os
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import networkx as nx

from sim.interop.errors import InteropError, require_extra
from sim.interop.geometry import LocalProjection, haversine_m
from sim.interop.links import Lanes
from sim.interop.osm_tags import (
    DEFAULT_HIGHWAYS,
    ROAD_CLASSES,
    motor_access,
    node_control,
    parse_lanes,
    parse_maxspeed_kph,
    turn_lanes,
    way_directions,
)
from sim.interop.osm_turns import set_turn_lanes, way_ends
from sim.interop.simplify import chain_ends, keep_largest_strong_component, merge_chains, neighbours
from sim.network.graph import FRINGE, JUNCTION, PRIORITY, TRAFFIC_LIGHT
from sim.network.validate import validate_network

__all__ = ["OsmNetwork", "OsmOptions", "OsmReport", "read_osm"]

EdgeKey = tuple[str, str]
_KPH = 1.0 / 3.6
_SUFFIXES = (".osm", ".pbf", ".osm.pbf", ".osm.bz2", ".osm.gz", ".o5m")
_TURN_LANES = "turn_lanes"
"""Segment attribute: the ``turn:lanes`` value of the way that ends with the segment."""


@dataclass(frozen=True)
class OsmOptions:
    """How to import an OpenStreetMap extract.

    Attributes:
        highways: ``highway`` values to import; each must be a key of
            :data:`~sim.interop.osm_tags.ROAD_CLASSES`.
        signal_snap_m: Farthest a signal tagged between intersections moves, along the
            road, to the nearest intersection (m). Default 30.
        name: Name of the graph; default the file name without its suffixes.
    """

    highways: tuple[str, ...] = DEFAULT_HIGHWAYS
    signal_snap_m: float = 30.0
    name: str | None = None

    def __post_init__(self) -> None:
        unknown = [h for h in self.highways if h not in ROAD_CLASSES]
        if unknown or not self.highways:
            raise InteropError(
                f"OsmOptions.highways: expected a non-empty list of {', '.join(ROAD_CLASSES)}; got {unknown}"
            )
        if not (math.isfinite(self.signal_snap_m) and self.signal_snap_m >= 0):
            raise InteropError(
                f"OsmOptions.signal_snap_m: expected a number >= 0, got {self.signal_snap_m!r}"
            )


@dataclass(frozen=True)
class OsmReport:
    """What the import read, dropped and built.

    Attributes:
        ways: Ways of the imported ``highway`` classes in the file.
        ways_no_access: Of those, ways closed to private cars (``access=no``, bus-only, ...).
        ways_reversible: Of those, ways whose direction changes over time (not imported).
        default_lanes: Imported ways without a usable ``lanes`` tag (class default used).
        default_speed: Imported ways without a usable ``maxspeed`` tag (class default used).
        segments: Directed segments before simplification.
        dropped_nodes, dropped_segments, dropped_length_m: Outside the largest strongly
            connected component: points, directed segments and their total length (m).
        merged_nodes: Degree-2 points merged into links.
        split_nodes: Interior points kept so that the graph stays simple.
        bend_nodes: Interior points kept where a curved road leaves a node far off the
            straight line to the next node (turns and phases are read from that line).
        nodes, edges, fringe, signalized: Size of the result.
        signals_tagged: Nodes tagged ``highway=traffic_signals`` in the kept component.
        signals_moved: Of those, signals moved along the road to an intersection.
        signals_unplaced: Of those, signals with no intersection within reach (ignored).
        signs_tagged: Nodes tagged ``highway=stop`` or ``highway=give_way`` in the kept component.
        signs_moved: Of those, signs moved along the road to an intersection.
        signs_unplaced: Of those, signs with no intersection within reach (ignored).
        junctions: The ``junction`` control of the nodes that are not fringe, with counts.
        turn_lanes: Edges whose ``turns`` come from a ``turn:lanes`` tag.
        turn_lanes_ignored: ``turn:lanes`` values not used: not one entry per lane, an
            unknown value, or a turn of the edge that no lane (or no contiguous run) serves.
    """

    ways: int
    ways_no_access: int
    ways_reversible: int
    default_lanes: int
    default_speed: int
    segments: int
    dropped_nodes: int
    dropped_segments: int
    dropped_length_m: float
    merged_nodes: int
    split_nodes: int
    bend_nodes: int
    nodes: int
    edges: int
    fringe: int
    signalized: int
    signals_tagged: int
    signals_moved: int
    signals_unplaced: int
    signs_tagged: int
    signs_moved: int
    signs_unplaced: int
    junctions: Mapping[str, int]
    turn_lanes: int
    turn_lanes_ignored: int

    def summary(self) -> str:
        """The report as a few lines of text."""
        return "\n".join(
            [
                f"ways: {self.ways} read, {self.ways_no_access} closed to cars, "
                f"{self.ways_reversible} reversible (skipped); class defaults for lanes on "
                f"{self.default_lanes}, for speed on {self.default_speed}",
                f"segments: {self.segments}; outside the largest strongly connected component: "
                f"{self.dropped_nodes} nodes, {self.dropped_segments} segments, "
                f"{self.dropped_length_m / 1000:.2f} km (dropped)",
                f"simplified: {self.merged_nodes} degree-2 nodes merged; kept {self.split_nodes} to "
                f"avoid parallel edges and loops, {self.bend_nodes} at bends",
                f"network: {self.nodes} nodes ({self.fringe} fringe, {self.signalized} signalized), "
                f"{self.edges} edges",
                f"signals: {self.signals_tagged} tagged, {self.signals_moved} moved to an "
                f"intersection, {self.signals_unplaced} unplaced",
                f"stop and give-way signs: {self.signs_tagged} tagged, {self.signs_moved} moved to an "
                f"intersection, {self.signs_unplaced} unplaced",
                f"turn lanes: {self.turn_lanes} edges from turn:lanes, {self.turn_lanes_ignored} "
                "values ignored (inconsistent with the lanes or turns; default lanes kept)",
                "junctions: "
                + ", ".join(
                    f"{control} {n}" for control, n in sorted(self.junctions.items(), key=lambda i: -i[1])
                ),
            ]
        )


@dataclass(frozen=True, eq=False)
class OsmNetwork:
    """An imported OpenStreetMap network.

    Attributes:
        graph: The validated road graph.
        courses: The OSM node ids (as strings) each edge passes through, its ends included.
        report: What was read, dropped and built.
    """

    graph: nx.DiGraph
    courses: Mapping[EdgeKey, tuple[str, ...]]
    report: OsmReport


@dataclass
class _Raw:
    """What the file holds, before simplification."""

    lonlat: dict[str, tuple[float, float]] = field(default_factory=dict)
    signals: set[str] = field(default_factory=set)
    signs: dict[str, str] = field(default_factory=dict)
    roundabout: set[str] = field(default_factory=set)
    boundary: set[str] = field(default_factory=set)
    segments: nx.DiGraph = field(default_factory=nx.DiGraph)
    ways: int = 0
    no_access: int = 0
    reversible: int = 0
    default_lanes: int = 0
    default_speed: int = 0


def read_osm(path: str | os.PathLike[str], options: OsmOptions | None = None) -> OsmNetwork:
    """Import an OpenStreetMap extract (see the module docstring for every rule).

    Args:
        path: An ``.osm`` (XML) or ``.osm.pbf`` file.
        options: Import options; default :class:`OsmOptions()`.

    Returns:
        The road graph, each edge's course and the import report.

    Raises:
        InteropError: If pyosmium is missing, the file is missing or unreadable, or it holds no
            drivable network with at least two fringe nodes.
    """
    options = OsmOptions() if options is None else options
    path = Path(path)
    if not path.is_file():
        raise InteropError("file not found", path)
    if not path.name.lower().endswith(_SUFFIXES):
        raise InteropError(f"expected an OpenStreetMap file ending in {', '.join(_SUFFIXES)}", path)
    raw = _read(path, set(options.highways))
    kept, dropped = keep_largest_strong_component(raw.segments)
    if kept.number_of_edges() == 0:
        raise InteropError(f"no drivable roads of the classes {', '.join(options.highways)}", path)
    lonlat = raw.lonlat
    lons = [lonlat[n][0] for n in kept]
    lats = [lonlat[n][1] for n in kept]
    projection = LocalProjection((min(lons) + max(lons)) / 2, (min(lats) + max(lats)) / 2)

    def xy(node: str) -> tuple[float, float]:
        return projection.xy(*lonlat[node])

    ends = chain_ends(kept, keep=raw.boundary & set(kept))
    links, bends = merge_chains(kept, ends, xy)
    graph = links.graph
    graph.graph["name"] = options.name or path.name.split(".")[0]
    fringe = {n for n in graph if n in raw.boundary or len(neighbours(graph, n)) == 1}
    for node in fringe:
        graph.nodes[node]["kind"] = FRINGE
    tagged = raw.signals & set(kept)
    placed, moved, unplaced = _snap_to_intersections(kept, tagged, options.signal_snap_m)
    signalized = (placed & set(graph)) - fringe
    for node in signalized:
        graph.nodes[node]["signalized"] = True
    signs = {node: control for node, control in raw.signs.items() if node in kept}
    controls, signs_moved, signs_unplaced = _place_signs(kept, signs, options.signal_snap_m)
    for node, attrs in graph.nodes(data=True):
        if node not in fringe:
            roundabout = "roundabout" if node in raw.roundabout else None
            control = roundabout or controls.get(node, "priority")
            attrs[JUNCTION] = TRAFFIC_LIGHT if node in signalized else control
    for (u, v), course in links.courses.items():
        graph.edges[u, v][PRIORITY] = max(
            kept.edges[a, b][PRIORITY] for a, b in itertools.pairwise(course.points)
        )
    if len(fringe) < 2:
        raise InteropError(f"the kept network has {len(fringe)} fringe node(s); expected at least 2", path)
    values = {key: kept.edges[course.points[-2:]].get(_TURN_LANES) for key, course in links.courses.items()}
    turns_kept, turns_ignored = set_turn_lanes(graph, {key: v for key, v in values.items() if v is not None})
    validate_network(graph, path)
    report = OsmReport(
        ways=raw.ways,
        ways_no_access=raw.no_access,
        ways_reversible=raw.reversible,
        default_lanes=raw.default_lanes,
        default_speed=raw.default_speed,
        segments=raw.segments.number_of_edges(),
        dropped_nodes=dropped.nodes,
        dropped_segments=dropped.segments,
        dropped_length_m=dropped.length_m,
        merged_nodes=kept.number_of_nodes() - graph.number_of_nodes(),
        split_nodes=graph.number_of_nodes() - len(ends) - bends,
        bend_nodes=bends,
        nodes=graph.number_of_nodes(),
        edges=graph.number_of_edges(),
        fringe=len(fringe),
        signalized=len(signalized),
        signals_tagged=len(tagged),
        signals_moved=moved,
        signals_unplaced=unplaced,
        signs_tagged=len(signs),
        signs_moved=signs_moved,
        signs_unplaced=signs_unplaced,
        junctions=dict(Counter(control for _, control in graph.nodes(data=JUNCTION) if control is not None)),
        turn_lanes=turns_kept,
        turn_lanes_ignored=turns_ignored,
    )
    courses = {key: course.points for key, course in links.courses.items()}
    return OsmNetwork(graph, courses, report)


def _read(path: Path, highways: set[str]) -> _Raw:
    """Read the drivable ways and the signal nodes, and cut the ways into segments."""
    osmium = require_extra("osmium", "osm", "reading OpenStreetMap files")
    raw = _Raw()
    try:
        for obj in osmium.FileProcessor(str(path)).with_locations():
            if obj.is_node():
                tags = {tag.k: tag.v for tag in obj.tags}
                if tags.get("highway") == "traffic_signals":
                    raw.signals.add(str(obj.id))
                control = node_control(tags)
                if control is not None:
                    raw.signs[str(obj.id)] = control
            elif obj.is_way() and obj.tags.get("highway") in highways:
                tags = {tag.k: tag.v for tag in obj.tags}
                points = [
                    (str(n.ref), (n.location.lon, n.location.lat)) if n.location.valid() else None
                    for n in obj.nodes
                ]
                if tags.get("junction") == "roundabout":
                    raw.roundabout.update(str(n.ref) for n in obj.nodes)
                _add_way(raw, tags, points)
    except RuntimeError as error:
        raise InteropError(f"cannot read OpenStreetMap data: {error}", path) from None
    return raw


def _add_way(raw: _Raw, tags: dict[str, str], points: list[tuple[str, tuple[float, float]] | None]) -> None:
    """Add one way's segments; ``None`` marks a node missing from the extract."""
    raw.ways += 1
    if not motor_access(tags):
        raw.no_access += 1
        return
    directions = way_directions(tags)
    if directions is None:
        raw.reversible += 1
        return
    forward, backward, defaults = _way_lanes(tags, directions.forward, directions.backward)
    priority = ROAD_CLASSES[tags["highway"]].priority
    raw.default_lanes += "lanes" in defaults
    raw.default_speed += "speed" in defaults
    for i, point in enumerate(points):
        if point is None:
            continue
        node, lonlat = point
        raw.lonlat[node] = lonlat
        inside = [p is not None for p in points[max(i - 1, 0) : i + 2]]
        if not all(inside):
            raw.boundary.add(node)
    ends = way_ends(points, turn_lanes(tags, directions))
    for a, b in zip(points, points[1:], strict=False):
        if a is None or b is None or a[0] == b[0]:
            continue
        length_m = haversine_m(*a[1], *b[1])
        for (u, v), lanes in (((a[0], b[0]), forward), ((b[0], a[0]), backward)):
            if lanes is not None and not raw.segments.has_edge(u, v):
                extra = {PRIORITY: priority, **({_TURN_LANES: ends[u, v]} if (u, v) in ends else {})}
                raw.segments.add_edge(u, v, length_m=length_m, lanes_of=lanes, **extra)


def _way_lanes(
    tags: dict[str, str], forward: bool, backward: bool
) -> tuple[Lanes | None, Lanes | None, set[str]]:
    """Lanes and speed of each direction of a way, and which of them fell back on class defaults."""
    road = ROAD_CLASSES[tags["highway"]]
    defaults: set[str] = set()
    total = parse_lanes(tags.get("lanes"))
    per_direction = {
        "forward": parse_lanes(tags.get("lanes:forward")),
        "backward": parse_lanes(tags.get("lanes:backward")),
    }
    result: list[Lanes | None] = []
    for direction, used in (("forward", forward), ("backward", backward)):
        if not used:
            result.append(None)
            continue
        other = per_direction["backward" if direction == "forward" else "forward"]
        lanes = per_direction[direction]
        if lanes is None and total is not None:
            if not (forward and backward):
                lanes = total
            elif other is not None and total > other:
                lanes = total - other
            else:
                lanes = max(1, total // 2)
        if lanes is None:
            defaults.add("lanes")
            lanes = road.lanes
        speed_kph = parse_maxspeed_kph(tags.get(f"maxspeed:{direction}") or tags.get("maxspeed"))
        if speed_kph is None:
            defaults.add("speed")
            speed_kph = road.speed_kph
        result.append(Lanes(lanes, speed_kph * _KPH))
    return result[0], result[1], defaults


_SIGN_ORDER = ("priority", "stop", "allway_stop")
"""Sign controls from the mildest to the strictest: where signs meet, the strictest wins."""


def _place_signs(
    segments: nx.DiGraph, signs: Mapping[str, str], snap_m: float
) -> tuple[dict[str, str], int, int]:
    """Each intersection's control from the signs placed on it, how many signs moved, how many found none.

    Signs are placed as signals are (:func:`_snap_to_intersections`).
    """
    controls: dict[str, str] = {}
    moved = unplaced = 0
    for control in _SIGN_ORDER:
        placed, n_moved, n_unplaced = _snap_to_intersections(
            segments, {node for node, c in signs.items() if c == control}, snap_m
        )
        controls.update(dict.fromkeys(placed, control))
        moved, unplaced = moved + n_moved, unplaced + n_unplaced
    return controls, moved, unplaced


def _snap_to_intersections(
    segments: nx.DiGraph, tagged: set[str], snap_m: float
) -> tuple[set[str], int, int]:
    """Intersections the tagged nodes stand for, how many tags moved to one, how many found none.

    A tagged node with three or more neighbours is an intersection itself. From any other
    tagged node the search follows the road both ways through nodes with two neighbours
    and takes the nearest intersection within ``snap_m`` metres along the road.
    """
    placed: set[str] = set()
    moved = unplaced = 0
    for node in sorted(tagged):
        near = neighbours(segments, node)
        if len(near) >= 3:
            placed.add(node)
            continue
        candidates = [_along_to_intersection(segments, node, first) for first in sorted(near)]
        reachable = [(d, n) for d, n in candidates if n is not None and d <= snap_m]
        if reachable:
            placed.add(min(reachable)[1])
            moved += 1
        else:
            unplaced += 1
    return placed, moved, unplaced


def _along_to_intersection(segments: nx.DiGraph, start: str, first: str) -> tuple[float, str | None]:
    """Distance (m) along the road from ``start`` through ``first`` to the next intersection, and it."""
    previous, here = start, first
    distance_m = _segment_length(segments, previous, here)
    while True:
        near = neighbours(segments, here)
        if len(near) >= 3:
            return distance_m, here
        if len(near) != 2 or here == start:
            return distance_m, None
        (nxt,) = near - {previous}
        previous, here = here, nxt
        distance_m += _segment_length(segments, previous, here)


def _segment_length(segments: nx.DiGraph, a: str, b: str) -> float:
    data = segments.get_edge_data(a, b) or segments.edges[b, a]
    return float(data["length_m"])
