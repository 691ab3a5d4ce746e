"""Read a SUMO network (``.net.xml``, optionally gzipped) into a citysim road graph.

Only the standard library is needed. The rules:

* **Edges**: every normal edge (internal, crossing, walking-area and connector edges are
  skipped) with at least one lane open to the vehicle class (``passenger`` by default,
  from the lanes' ``allow``/``disallow``). Its lanes are the open ones, its speed limit
  their highest, its length their mean length. Two edges between the same junctions in the
  same direction, or an edge that returns to its junction, are split at an interior point
  of the lane shape (a node ``"{edge}#{i}"``), so the graph stays simple; :attr:`SumoNetwork.edges`
  maps each SUMO edge to its graph edges.
* **Nodes**: the junctions those edges join, at the junction's position less the net's
  ``netOffset`` (so coordinates are the ones netconvert was given). **Fringe** nodes, the
  trip origins and destinations, are the ends of the road: SUMO's ``dead_end`` junctions,
  junctions that no connection crosses except by turning around, dead ends (one
  neighbour), sources (no way in) and sinks (no way out). A junction is **signalized**
  when a traffic light controls at least one of its kept connections.
* **Connections** are read at edge level. citysim's graph has no place for them: the
  kernel allows every turn except U-turns; :attr:`SumoReport.turns_not_in_sumo` counts the
  turns citysim allows that SUMO does not (turning back at a dead end aside).
* **Traffic lights**: each ``tlLogic`` (the first program of each id; actuated programs
  keep their nominal durations) becomes the ``signal_plan`` of the signalized nodes it
  controls: SUMO's green phases with their movements and durations (see
  :func:`sim.interop.sumo.programs.signal_plans`), so a saved network runs SUMO's own plans.
  The match of the geometric phases to the programs is reported too.
"""

from __future__ import annotations

import gzip
import itertools
import math
import os
import xml.etree.ElementTree as ET
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import networkx as nx

from sim.interop.errors import InteropError
from sim.interop.geometry import polyline_length_m
from sim.interop.links import Course, Lanes, LinkGraph
from sim.interop.sumo.export import SignalTiming
from sim.interop.sumo.programs import PlanMatch, TlsPhase, TlsProgram, map_programs, signal_plans
from sim.network.compile import compile_network
from sim.network.graph import FRINGE, SIGNAL_PLAN, NetworkError
from sim.network.validate import validate_network

__all__ = ["SumoNetwork", "SumoReport", "read_sumo_net"]

EdgeKey = tuple[str, str]
_SKIPPED_FUNCTIONS = frozenset({"internal", "crossing", "walkingarea", "connector"})
_SIGNAL_TYPES = frozenset({"traffic_light", "traffic_light_unregulated", "traffic_light_right_on_red"})


@dataclass(frozen=True)
class SumoReport:
    """What the import read, skipped and built.

    Attributes:
        edges_read: Normal edges in the file.
        edges_closed: Of those, edges without a lane open to the vehicle class (skipped).
        split_nodes: Interior shape points kept as nodes so that the graph stays simple.
        nodes, edges, fringe, signalized: Size of the result.
        traffic_lights: Traffic-light programs that control a kept connection.
        turns_not_in_sumo: Turns the citysim kernel allows that the SUMO net does not connect
            (turning back at a dead end aside).
        plan_match: Share of SUMO green link-seconds that the geometric citysim phases also
            give green, over all signals (1.0 is a perfect mapping; NaN without signals).
    """

    edges_read: int
    edges_closed: int
    split_nodes: int
    nodes: int
    edges: int
    fringe: int
    signalized: int
    traffic_lights: int
    turns_not_in_sumo: int
    plan_match: float

    def summary(self) -> str:
        """The report as a few lines of text."""
        return "\n".join(
            [
                f"edges: {self.edges_read} read, {self.edges_closed} closed to the vehicle class (skipped)",
                f"network: {self.nodes} nodes ({self.fringe} fringe, {self.signalized} signalized), "
                f"{self.edges} edges; shape points kept as nodes: {self.split_nodes} to avoid parallel edges "
                "and loops",
                f"turns citysim allows that SUMO does not connect: {self.turns_not_in_sumo}",
                f"traffic lights: {self.traffic_lights}; green time mapped onto citysim's phases: "
                f"{self.plan_match:.0%}",
            ]
        )


@dataclass(frozen=True, eq=False)
class SumoNetwork:
    """An imported SUMO network.

    Attributes:
        graph: The validated road graph.
        edges: Graph edges of each kept SUMO edge, in travel order.
        connections: (from edge, to edge) SUMO ids of every connection between kept edges.
        programs: The traffic-light programs that control kept connections, by tl id.
        plans: Fixed-time timing of every signalized node on its compiled phases (those of its
            ``signal_plan`` where it has one, else the geometric ones), by node id.
        matches: How well the geometric phases match each node's SUMO program, by node id.
        report: What was read, skipped and built.
    """

    graph: nx.DiGraph
    edges: Mapping[str, tuple[EdgeKey, ...]]
    connections: frozenset[tuple[str, str]]
    programs: Mapping[str, TlsProgram]
    plans: Mapping[str, SignalTiming]
    matches: Mapping[str, PlanMatch]
    report: SumoReport


def read_sumo_net(path: str | os.PathLike[str], vclass: str = "passenger") -> SumoNetwork:
    """Import a SUMO network (see the module docstring for every rule).

    Args:
        path: A ``.net.xml`` or ``.net.xml.gz`` file.
        vclass: The SUMO vehicle class whose lanes are kept. Default ``"passenger"``.

    Returns:
        The road graph, the edge mapping, connections, programs and plans, and the report.

    Raises:
        InteropError: If the file is missing, not a SUMO network or malformed, or has no lane
            open to the vehicle class.
        NetworkError: If the network it holds breaks citysim's schema (e.g. no fringe nodes).
    """
    path = Path(path)
    root = _parse(path)
    try:
        return _import(root, path, vclass)
    except (InteropError, NetworkError):
        raise
    except (TypeError, ValueError, KeyError, AttributeError, IndexError) as error:
        raise InteropError(f"malformed SUMO network ({type(error).__name__}: {error})", path) from None


def _import(root: ET.Element, path: Path, vclass: str) -> SumoNetwork:
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
    links = LinkGraph(name=path.name.split(".")[0])
    edge_map: dict[str, tuple[EdgeKey, ...]] = {}
    edges_read = edges_closed = 0
    for edge in root.iter("edge"):
        if edge.get("function", "normal") in _SKIPPED_FUNCTIONS:
            continue
        edges_read += 1
        lanes = [lane for lane in edge.iter("lane") if _allows(lane, vclass)]
        if not lanes:
            edges_closed += 1
            continue
        u, v = edge.get("from"), edge.get("to")
        for node in (u, v):
            if node not in junctions:
                raise InteropError(f"edge {edge.get('id')!r} joins the unknown junction {node!r}", path)
        course = _course(edge.get("id"), u, v, lanes, junctions, offset)
        speed_mps = max(float(lane.get("speed")) for lane in lanes)
        ahead, _ = links.add_course(course, Lanes(len(lanes), speed_mps), None)
        edge_map[edge.get("id")] = tuple(ahead)
    graph = links.graph
    if graph.number_of_edges() == 0:
        raise InteropError(f"no edge has a lane open to vehicle class {vclass!r}", path)
    connections, tl_links, crossed = _connections(root, edge_map)
    programs = _programs(root, tl_links)
    split_nodes = sum(1 for n in graph if n not in junctions)
    ends = {n for n, (_, _, kind) in junctions.items() if kind == "dead_end"} | (set(junctions) - crossed)
    fringe = _mark_fringe(graph, ends)
    controlled = {
        edge_map[pair[0]][-1][1] for program in programs.values() for pair in program.links.values()
    }
    for node in controlled - fringe:
        graph.nodes[node]["signalized"] = True
    plans, matches = map_programs(graph, edge_map, programs)
    for node, plan in signal_plans(graph, edge_map, programs).items():
        graph.nodes[node][SIGNAL_PLAN] = plan
        plans[node] = SignalTiming(
            tuple(plan["greens_s"]), plan["yellow_s"], plan["all_red_s"], plan["offset_s"]
        )
    validate_network(graph, path)
    report = SumoReport(
        edges_read=edges_read,
        edges_closed=edges_closed,
        split_nodes=split_nodes,
        nodes=graph.number_of_nodes(),
        edges=graph.number_of_edges(),
        fringe=len(fringe),
        signalized=len(plans),
        traffic_lights=len(programs),
        turns_not_in_sumo=_turns_not_in_sumo(graph, edge_map, connections),
        plan_match=_overall_match(matches),
    )
    return SumoNetwork(graph, edge_map, frozenset(connections), programs, plans, matches, report)


def _parse(path: Path) -> ET.Element:
    if not path.is_file():
        raise InteropError("file not found", path)
    try:
        with path.open("rb") as raw:
            gzipped = raw.read(2) == b"\x1f\x8b"
        opener = gzip.open if gzipped else open
        with opener(path, "rb") as f:
            root = ET.parse(f).getroot()
    except ET.ParseError as error:
        line, column = error.position
        raise InteropError(f"invalid XML at line {line}, column {column}", path) from None
    except (OSError, EOFError) as error:
        raise InteropError(f"cannot read file: {error}", path) from None
    if root.tag != "net":
        raise InteropError(f"expected a SUMO network (root element <net>), got <{root.tag}>", path)
    return root


def _allows(lane: ET.Element, vclass: str) -> bool:
    allow, disallow = lane.get("allow"), lane.get("disallow")
    if allow is not None:
        classes = allow.split()
        return vclass in classes or "all" in classes
    if disallow is not None:
        classes = disallow.split()
        return vclass not in classes and "all" not in classes
    return True


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


def _connections(
    root: ET.Element, edge_map: Mapping[str, tuple[EdgeKey, ...]]
) -> tuple[set[tuple[str, str]], dict[str, dict[int, tuple[str, str]]], set[str]]:
    """Connections between kept edges, each traffic light's links, and the nodes crossed.

    Returns the edge-level connections, each traffic light's links by link index, and the
    nodes that some connection crosses other than by turning around.
    """
    connections: set[tuple[str, str]] = set()
    tl_links: dict[str, dict[int, tuple[str, str]]] = {}
    crossed: set[str] = set()
    for conn in root.iter("connection"):
        pair = (conn.get("from"), conn.get("to"))
        if pair[0] not in edge_map or pair[1] not in edge_map:
            continue
        connections.add(pair)
        if conn.get("dir") != "t":
            crossed.add(edge_map[pair[0]][-1][1])
        if conn.get("tl") is not None and conn.get("linkIndex") is not None:
            tl_links.setdefault(conn.get("tl"), {})[int(conn.get("linkIndex"))] = pair
    return connections, tl_links, crossed


def _programs(root: ET.Element, tl_links: Mapping[str, dict[int, tuple[str, str]]]) -> dict[str, TlsProgram]:
    programs: dict[str, TlsProgram] = {}
    for logic in root.iter("tlLogic"):
        tl_id = logic.get("id")
        if tl_id in programs or tl_id not in tl_links:
            continue
        phases = tuple(TlsPhase(float(p.get("duration")), p.get("state")) for p in logic.iter("phase"))
        programs[tl_id] = TlsProgram(tl_id, float(logic.get("offset", "0")), phases, tl_links[tl_id])
    return programs


def _mark_fringe(graph: nx.DiGraph, ends: set[str]) -> set[str]:
    """Mark and return the road ends ``ends``, the dead ends, the sources and the sinks."""
    fringe = set()
    for node in graph:
        near = (set(graph.predecessors(node)) | set(graph.successors(node))) - {node}
        if node in ends or len(near) == 1 or graph.in_degree(node) == 0 or graph.out_degree(node) == 0:
            fringe.add(node)
            graph.nodes[node]["kind"] = FRINGE
    return fringe


def _turns_not_in_sumo(
    graph: nx.DiGraph, edge_map: Mapping[str, tuple[EdgeKey, ...]], connections: set[tuple[str, str]]
) -> int:
    net = compile_network(graph)
    allowed = set()
    for sumo_from, sumo_to in connections:
        allowed.add((net.edge_index[edge_map[sumo_from][-1]], net.edge_index[edge_map[sumo_to][0]]))
    inner = {
        (net.edge_index[a], net.edge_index[b])
        for keys in edge_map.values()
        for a, b in itertools.pairwise(keys)
    }
    turns = [(a, b) for a, b in net.conn_index if net.edge_to[b] != net.edge_from[a]]
    return sum(1 for pair in turns if pair not in allowed and pair not in inner)


def _overall_match(matches: Mapping[str, PlanMatch]) -> float:
    total = sum(m.green_link_s for m in matches.values())
    return sum(m.matched_link_s for m in matches.values()) / total if total > 0 else math.nan
