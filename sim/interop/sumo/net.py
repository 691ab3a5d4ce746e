"""Read a SUMO network (``.net.xml``, optionally gzipped) into a citysim road graph.

Only the standard library is needed. The rules:

* **Edges**: every normal edge (internal, crossing, walking-area and connector edges are
  skipped) with at least one lane open to the vehicle class (``passenger`` by default,
  from the lanes' ``allow``/``disallow``); the others are counted by the classes their lanes
  allow. Its lanes are the open ones, renumbered from the right (0 is the rightmost open
  lane), its speed limit their highest. Two edges between the same junctions in the same
  direction, or an edge that returns to its junction, are split at an interior point of the
  lane shape (a node ``"{edge}#{i}"``), so the graph stays simple; :attr:`SumoNetwork.edges`
  maps each SUMO edge to its graph edges. Its ``priority`` (SUMO's rank of the road, which
  decides the major road at ``priority`` junctions) is kept on each of its graph edges.
* **Lengths**: a SUMO edge ends at the border of its junctions; the lanes inside a junction
  (the ``via`` lanes of the connections) carry the rest of the way. An edge is as long as
  its open lanes (their mean length) plus the mean internal length of its connections open
  to the class (turnarounds aside), added to its last graph edge, so that a route is about as
  long as in SUMO. One length per edge, not per turn: a right turn and a through movement
  from the same edge count the same.
* **Connected part**: the largest strongly connected part of the graph is kept with the
  roads that lead into it or out of it, such as a motorway's one-way carriageways
  (:func:`~sim.interop.simplify.keep_largest_strong_component_and_approaches`); the parts that
  neither reach it nor are reached from it are dropped and counted. A road joins every kept
  fringe node to every other, unless the origin only receives traffic (a sink) or the
  destination only sends it (a source); banned turns can still leave a pair without a
  drivable route.
* **Turns**: SUMO's lane-to-lane connections between open lanes become the edges' ``turns``
  (see :mod:`sim.network.graph`): from each edge onto each next edge, the lanes from the
  lowest to the highest that SUMO connects to it. Turns SUMO does not connect are banned
  (:attr:`SumoReport.banned_turns`); an edge without connections leads nowhere (``{}``); the
  interior nodes of a split edge continue from every lane.
* **Nodes**: the junctions those edges join, at the junction's position less the net's
  ``netOffset`` (so coordinates are the ones netconvert was given). **Fringe** nodes, the
  trip origins and destinations, are the ends of the road: SUMO's ``dead_end`` junctions,
  junctions that no connection crosses except by turning around, dead ends (one
  neighbour), sources (no way in) and sinks (no way out). A junction is **signalized**
  when a traffic light controls at least one of its kept connections. Its ``junction``
  control comes from its SUMO type (:data:`~sim.interop.sumo.junctions.SUMO_CONTROLS`;
  ``roundabout`` for the nodes of a ``<roundabout>``); types citysim does not read run as
  ``priority`` and are reported.
* **Traffic lights**: each tl id runs the program SUMO runs by default, the last one loaded
  (the net's, then those of the ``additional`` files, as a ``.sumocfg`` loads them;
  :func:`sim.interop.sumo.programs.read_programs`), which becomes the ``signal_plan`` of the
  signalized nodes it controls (:func:`sim.interop.sumo.programs.signal_plans`: its phases,
  per-phase intergreens and, for actuated programs, minimum and maximum greens), so a saved
  network runs SUMO's own plans.
"""

from __future__ import annotations

import math
import os
import xml.etree.ElementTree as ET
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import networkx as nx

from sim.interop.errors import InteropError
from sim.interop.geometry import polyline_length_m
from sim.interop.links import Course, Lanes, LinkGraph
from sim.interop.simplify import keep_largest_strong_component_and_approaches, neighbours
from sim.interop.sumo.connections import (
    UTURN,
    add_internal_lengths,
    allows,
    read_connections,
    set_turns,
    tl_links,
)
from sim.interop.sumo.junctions import APPROXIMATED_TYPES, SUMO_CONTROLS, UNSUPPORTED_CONTROL
from sim.interop.sumo.programs import TlsProgram, additional_logics, read_programs, signal_plans
from sim.interop.sumo.xmlfile import parse_tree
from sim.network.graph import FRINGE, JUNCTION, PRIORITY, SIGNAL_PLAN, TRAFFIC_LIGHT, NetworkError
from sim.network.validate import validate_network

__all__ = ["SumoNetwork", "SumoReport", "read_sumo_net"]

EdgeKey = tuple[str, str]
_SKIPPED_FUNCTIONS = frozenset({"internal", "crossing", "walkingarea", "connector"})
_LISTED = 5


@dataclass(frozen=True)
class SumoReport:
    """What the import read, dropped and built.

    Attributes:
        edges_read: Normal edges in the file.
        edges_closed: Of those, edges without a lane open to the vehicle class (skipped),
            by the classes their lanes allow (``"all but ..."`` for lanes given by ``disallow``).
        dropped_nodes, dropped_edges, dropped_length_m: Graph nodes and edges outside the
            largest strongly connected part, and the edges' length (m).
        split_nodes: Interior shape points kept as nodes so that the graph stays simple.
        nodes, edges, fringe, signalized: Size of the result.
        turns: Turns kept from SUMO's connections (from one edge onto the next, U-turns included).
        banned_turns: Turns from an edge onto another road at its head that SUMO does not
            connect (U-turns aside), which citysim does not allow either.
        internal_m: Mean junction-internal length added to an edge (m).
        junctions: SUMO junction types of the kept nodes, with their counts.
        unsupported: What citysim does not run as SUMO does, with counts (junction types read
            as another control, programs not run, ...).
        traffic_lights: Traffic-light programs that control a kept connection.
    """

    edges_read: int
    edges_closed: Mapping[str, int]
    dropped_nodes: int
    dropped_edges: int
    dropped_length_m: float
    split_nodes: int
    nodes: int
    edges: int
    fringe: int
    signalized: int
    turns: int
    banned_turns: int
    internal_m: float
    junctions: Mapping[str, int]
    unsupported: Mapping[str, int]
    traffic_lights: int

    def summary(self) -> str:
        """The report as a few lines of text."""
        closed = sum(self.edges_closed.values())
        lines = [
            f"edges: {self.edges_read} read, {closed} closed to the vehicle class (skipped)"
            + (f": {_counts(self.edges_closed)}" if closed else ""),
            f"disconnected parts dropped: {self.dropped_nodes} nodes, {self.dropped_edges} edges, "
            f"{self.dropped_length_m / 1000:.2f} km",
            f"network: {self.nodes} nodes ({self.fringe} fringe, {self.signalized} signalized), "
            f"{self.edges} edges; shape points kept as nodes: {self.split_nodes} to avoid parallel edges "
            "and loops",
            f"turns: {self.turns} kept from SUMO's connections, {self.banned_turns} banned (not connected); "
            f"junction-internal length added per edge: {self.internal_m:.1f} m on average",
            f"junction types: {_counts(self.junctions)}",
            f"traffic lights: {self.traffic_lights} (each signalized node runs its program's phases)",
        ]
        if self.unsupported:
            lines.append(f"not run as in SUMO: {_counts(self.unsupported)}")
        return "\n".join(lines)


def _counts(counts: Mapping[str, int]) -> str:
    """``"a 3, b 2, ..."``, the largest counts first, the rest summed up as ``"others"``."""
    ranked = sorted(counts.items(), key=lambda item: (-item[1], item[0]))
    shown = [f"{name} {count}" for name, count in ranked[:_LISTED]]
    rest = sum(count for _, count in ranked[_LISTED:])
    return ", ".join(shown + ([f"others {rest}"] if rest else [])) or "none"


@dataclass(frozen=True, eq=False)
class SumoNetwork:
    """An imported SUMO network.

    Attributes:
        graph: The validated road graph.
        edges: Graph edges of each kept SUMO edge, in travel order.
        connections: (from edge, to edge) SUMO ids of every connection between kept edges
            open to the vehicle class.
        programs: The traffic-light programs that control kept connections, by tl id.
        plans: The ``signal_plan`` of every signalized node that its program gives a green
            (also on the graph), by node id.
        report: What was read, dropped and built.
    """

    graph: nx.DiGraph
    edges: Mapping[str, tuple[EdgeKey, ...]]
    connections: frozenset[tuple[str, str]]
    programs: Mapping[str, TlsProgram]
    plans: Mapping[str, dict]
    report: SumoReport


@dataclass(frozen=True)
class _Edges:
    """The edges read from a SUMO net.

    Attributes:
        links: The graph of the edges open to the vehicle class.
        edge_map: Graph edges of each of those SUMO edges, in travel order.
        open_lanes: Per SUMO edge, the index among its open lanes of each open lane, by SUMO index.
        internal: Length (m) of every internal lane and whether it is open to the class, by lane id.
        priorities: The ``priority`` of every SUMO edge read that has one.
        edges_read: Normal edges in the file.
        closed: Normal edges without an open lane, by the classes their lanes allow.
    """

    links: LinkGraph
    edge_map: dict[str, tuple[EdgeKey, ...]]
    open_lanes: dict[str, dict[str, int]]
    internal: dict[str, tuple[float, bool]]
    priorities: dict[str, int]
    edges_read: int
    closed: Counter


def read_sumo_net(
    path: str | os.PathLike[str], vclass: str = "passenger", additional: Sequence[str | os.PathLike[str]] = ()
) -> SumoNetwork:
    """Import a SUMO network (see the module docstring for every rule).

    Args:
        path: A ``.net.xml`` or ``.net.xml.gz`` file.
        vclass: The SUMO vehicle class whose lanes are kept. Default ``"passenger"``.
        additional: SUMO additional files whose traffic-light programs (``tlLogic``) SUMO
            loads after the net's: the last program loaded for a light is the one it runs.

    Returns:
        The road graph, the edge mapping, connections, programs and plans, and the report.

    Raises:
        InteropError: If the file is missing, not a SUMO network or malformed, or has no lane
            open to the vehicle class.
        NetworkError: If the network it holds breaks citysim's schema (e.g. no fringe nodes).
    """
    path = Path(path)
    root = _parse(path)
    logics = [*root.iter("tlLogic"), *additional_logics(additional)]
    try:
        return _import(root, path, vclass, logics)
    except (InteropError, NetworkError):
        raise
    except (TypeError, ValueError, KeyError, AttributeError, IndexError) as error:
        raise InteropError(f"malformed SUMO network ({type(error).__name__}: {error})", path) from None


def _import(root: ET.Element, path: Path, vclass: str, logics: list[ET.Element]) -> SumoNetwork:
    location = root.find("location")
    offset = (0.0, 0.0)
    if location is not None and location.get("netOffset"):
        dx, dy = (float(v) for v in location.get("netOffset", "0,0").split(","))
        offset = (dx, dy)
    junctions = {
        j.get("id"): (float(j.get("x")) - offset[0], float(j.get("y")) - offset[1], j.get("type", ""))
        for j in root.iter("junction")
        if j.get("type") != "internal"
    }
    read = _read_edges(root, path, vclass, junctions, offset)
    graph, dropped = keep_largest_strong_component_and_approaches(read.links.graph)
    edge_map = {edge: keys for edge, keys in read.edge_map.items() if graph.has_edge(*keys[0])}
    for edge, keys in edge_map.items():
        if edge in read.priorities:
            for key in keys:
                graph.edges[key][PRIORITY] = read.priorities[edge]
    conns = read_connections(root, edge_map, read.open_lanes, read.internal)
    turns, banned = set_turns(graph, edge_map, conns)
    internal_m = add_internal_lengths(graph, edge_map, conns)
    programs, not_run = read_programs(logics, tl_links(conns))
    split_nodes = sum(1 for n in graph if n not in junctions)
    crossed = {edge_map[conn.from_edge][-1][1] for conn in conns if conn.direction != UTURN}
    ends = {n for n, (_, _, kind) in junctions.items() if kind == "dead_end"} | (set(junctions) - crossed)
    fringe = _mark_fringe(graph, ends)
    controlled = {
        edge_map[pair[0]][-1][1] for program in programs.values() for pair in program.links.values()
    }
    for node in controlled - fringe:
        graph.nodes[node]["signalized"] = True
    kinds, unsupported = _set_junctions(graph, junctions, _roundabout_nodes(root))
    if not_run:
        unsupported["other tlLogic programs (not run by default)"] = not_run
    plans, never_green = signal_plans(graph, edge_map, programs)
    if never_green:
        unsupported[
            "links the default program never gives green (SUMO keeps them red; run with their approach)"
        ] = never_green
    for node, plan in plans.items():
        graph.nodes[node][SIGNAL_PLAN] = plan
    validate_network(graph, path)
    report = SumoReport(
        edges_read=read.edges_read,
        edges_closed=dict(read.closed),
        dropped_nodes=dropped.nodes,
        dropped_edges=dropped.segments,
        dropped_length_m=dropped.length_m,
        split_nodes=split_nodes,
        nodes=graph.number_of_nodes(),
        edges=graph.number_of_edges(),
        fringe=len(fringe),
        signalized=len(plans),
        turns=turns,
        banned_turns=banned,
        internal_m=internal_m,
        junctions=dict(kinds),
        unsupported=dict(unsupported),
        traffic_lights=len(programs),
    )
    connections = frozenset((conn.from_edge, conn.to_edge) for conn in conns)
    return SumoNetwork(graph, edge_map, connections, programs, plans, report)


def _read_edges(
    root: ET.Element,
    path: Path,
    vclass: str,
    junctions: Mapping[str, tuple[float, float, str]],
    offset: tuple[float, float],
) -> _Edges:
    """Read the edges open to ``vclass`` into a link graph (rules in the module docstring).

    Raises:
        InteropError: If an edge joins an unknown junction, or no edge has an open lane.
    """
    links = LinkGraph(name=path.name.split(".")[0])
    edge_map: dict[str, tuple[EdgeKey, ...]] = {}
    open_lanes: dict[str, dict[str, int]] = {}
    internal: dict[str, tuple[float, bool]] = {}
    priorities: dict[str, int] = {}
    edges_read, closed = 0, Counter()
    for edge in root.iter("edge"):
        function = edge.get("function", "normal")
        if function == "internal":
            for lane in edge.iter("lane"):
                internal[lane.get("id")] = (float(lane.get("length")), allows(lane, vclass))
        if function in _SKIPPED_FUNCTIONS:
            continue
        edges_read += 1
        all_lanes = edge.findall("lane")
        lanes = [lane for lane in all_lanes if allows(lane, vclass)]
        if not lanes:
            closed[_classes(all_lanes)] += 1
            continue
        u, v = edge.get("from"), edge.get("to")
        for node in (u, v):
            if node not in junctions:
                raise InteropError(f"edge {edge.get('id')!r} joins the unknown junction {node!r}", path)
        course = _course(edge.get("id"), u, v, lanes, junctions, offset)
        speed_mps = max(float(lane.get("speed")) for lane in lanes)
        ahead, _ = links.add_course(course, Lanes(len(lanes), speed_mps), None)
        edge_map[edge.get("id")] = tuple(ahead)
        open_lanes[edge.get("id")] = {lane.get("index"): k for k, lane in enumerate(lanes)}
        if edge.get("priority") is not None:
            priorities[edge.get("id")] = int(edge.get("priority"))
    if links.graph.number_of_edges() == 0:
        raise InteropError(f"no edge has a lane open to vehicle class {vclass!r}", path)
    return _Edges(links, edge_map, open_lanes, internal, priorities, edges_read, closed)


def _parse(path: Path) -> ET.Element:
    root = parse_tree(path)
    if root.tag != "net":
        raise InteropError(f"expected a SUMO network (root element <net>), got <{root.tag}>", path)
    return root


def _classes(lanes: list[ET.Element]) -> str:
    """The vehicle classes a closed edge's lanes allow, as one label."""
    allowed = {c for lane in lanes for c in (lane.get("allow") or "").split()}
    barred = {c for lane in lanes if lane.get("allow") is None for c in (lane.get("disallow") or "").split()}
    label = " ".join(sorted(allowed))
    return label if not barred else f"{label} all but {' '.join(sorted(barred))}".strip()


def _course(
    edge_id: str,
    u: str,
    v: str,
    lanes: list[ET.Element],
    junctions: Mapping[str, tuple[float, float, str]],
    offset: tuple[float, float],
) -> Course:
    """The edge's course: from junction ``u`` through its first open lane's shape to junction ``v``.

    Distances along are scaled so that the course is as long as the lanes (their mean length).
    """
    length_m = sum(float(lane.get("length")) for lane in lanes) / len(lanes)
    shape = [
        (float(x) - offset[0], float(y) - offset[1])
        for x, y in (point.split(",")[:2] for point in lanes[0].get("shape", "").split())
    ]
    interior = shape[1:-1] or [
        ((shape[0][0] + shape[-1][0]) / 2, (shape[0][1] + shape[-1][1]) / 2)
        if shape
        else ((junctions[u][0] + junctions[v][0]) / 2, (junctions[u][1] + junctions[v][1]) / 2)
    ]
    points = [junctions[u][:2], *interior, junctions[v][:2]]
    xs, ys = [p[0] for p in points], [p[1] for p in points]
    along = [0.0]
    for i in range(1, len(points)):
        along.append(along[-1] + math.hypot(xs[i] - xs[i - 1], ys[i] - ys[i - 1]))
    total = polyline_length_m(xs, ys) or 1.0
    ids = (u, *(f"{edge_id}#{i}" for i in range(1, len(points) - 1)), v)
    return Course(ids, tuple(xs), tuple(ys), tuple(a * length_m / total for a in along))


def _mark_fringe(graph: nx.DiGraph, ends: set[str]) -> set[str]:
    """Mark and return the road ends ``ends``, the dead ends, the sources and the sinks."""
    fringe = set()
    for node in graph:
        dead_end = len(neighbours(graph, node)) == 1
        if node in ends or dead_end or graph.in_degree(node) == 0 or graph.out_degree(node) == 0:
            fringe.add(node)
            graph.nodes[node]["kind"] = FRINGE
    return fringe


def _roundabout_nodes(root: ET.Element) -> set[str]:
    return {node for roundabout in root.iter("roundabout") for node in roundabout.get("nodes", "").split()}


def _set_junctions(
    graph: nx.DiGraph, junctions: Mapping[str, tuple[float, float, str]], roundabout: set[str]
) -> tuple[Counter, Counter]:
    """Give every junction node its ``junction`` control (rules in the module docstring).

    Returns:
        The SUMO junction types of the nodes, and what is not run as in SUMO, with counts.
    """
    kinds, unsupported = Counter(), Counter()
    for node, attrs in graph.nodes(data=True):
        if node not in junctions:
            continue
        kind = junctions[node][2]
        kinds[kind] += 1
        control = SUMO_CONTROLS.get(kind, UNSUPPORTED_CONTROL)
        if kind not in SUMO_CONTROLS or kind in APPROXIMATED_TYPES:
            unsupported[f"junction type {kind} (run as {control})"] += 1
        if node in roundabout:
            control = "roundabout"
        if attrs["signalized"]:
            control = TRAFFIC_LIGHT
        elif control == TRAFFIC_LIGHT:
            control = UNSUPPORTED_CONTROL
            unsupported[f"traffic light on a road end or without kept links (run as {control})"] += 1
        attrs[JUNCTION] = control
    return kinds, unsupported
