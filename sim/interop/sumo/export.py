"""Export a citysim road graph, its fixed-time plans and its trips to SUMO.

The graph is written as SUMO plain XML (nodes, edges, and as connections every turn of
the compiled network, so that SUMO allows the turns citysim allows, sharp ones included)
and built into a ``.net.xml`` with ``netconvert`` from the ``eclipse-sumo`` wheel (extra
``sumo``), which builds no U-turns. From an edge with ``turns`` (imported lane
connections, OSM ``turn:lanes``, a turn bay) every turn is written lane by lane, from the
lanes citysim uses (:func:`lane_pairs`), so SUMO uses the same ones; from other edges
netconvert chooses the lanes, as citysim's default does. The signal programs
netconvert guesses are then replaced by citysim's own: one green per phase of the
compiled network (the phases that :func:`sim.network.compile_network` derives from
approach bearings), each followed by its yellow and all-red. A movement that the kernel
makes give way (a permitted turn: its ``conn_rule`` is not ``RULE_FREE``) is a minor green
(``g``) in SUMO; every other movement of the phase is a major green (``G``).

With ``point_junctions`` (the default) every edge gets its citysim length and the net has
no internal links, so SUMO's junctions are points as citysim's are and a route is exactly
as long in both simulators. Without it netconvert draws junctions with their real size
and internal lanes, and edge lengths follow node coordinates (the engine benchmark's set-up).

Junction types: signalized nodes are ``traffic_light``, nodes with one neighbour
``dead_end``, other nodes the SUMO type of their ``junction`` control
(:data:`~sim.interop.sumo.junctions.EXPORT_TYPES`: ``stop`` is ``priority_stop``) or, without
one, ``ExportOptions.unsignalized``. The nodes of each roundabout (``junction="roundabout"``
nodes joined by one-way edges) are listed with their ring edges in a ``<roundabout>``
element, so netconvert builds a SUMO roundabout. Edge priorities, which decide the major
road at ``priority`` junctions, are the graph's ``priority`` (0 where an edge has none) when
any edge has one; in a graph without any they grow with speed limit, then with lanes, the
order in which citysim ranks roads of equal priority.
"""

from __future__ import annotations

import math
import re
import tempfile
import xml.etree.ElementTree as ET
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from xml.sax.saxutils import quoteattr

import networkx as nx

from sim.interop.errors import InteropError
from sim.interop.sumo.binaries import run_tool
from sim.interop.sumo.junctions import EXPORT_TYPES, JUNCTION_TYPES
from sim.interop.sumo.xmlfile import open_bytes
from sim.network.compile import CompiledNetwork, compile_network
from sim.network.graph import JUNCTION, PRIORITY, TURNS, per_phase
from sim.network.phasing import LeftTurnPhasing
from sim.network.validate import validate_network
from sim.traffic.codes import RULE_FREE, TURN_LEFT, TURN_UTURN

__all__ = [
    "ExportOptions",
    "RouteTrip",
    "SignalTiming",
    "build_net",
    "lane_pairs",
    "net_connections",
    "sumo_edge_ids",
    "write_plain_xml",
    "write_routes",
]

EdgeKey = tuple[str, str]
_SUMO_ID = re.compile(r"^[^\s|&\"'<>;,:]+$")
_MPS_TO_KPH = 3.6


_VTYPE_ATTRIBUTES = {
    "length_m": "length",
    "min_gap_m": "minGap",
    "accel_mps2": "accel",
    "decel_mps2": "decel",
    "tau_s": "tau",
    "sigma": "sigma",
    "max_speed_mps": "maxSpeed",
    "speed_factor": "speedFactor",
    "speed_dev": "speedDev",
}
"""SUMO ``<vType>`` attribute of each key of a citysim vehicle type."""


@dataclass(frozen=True)
class SignalTiming:
    """The fixed-time plan of one signalized node (times in s).

    Attributes:
        greens_s: Green of each phase of the node in the compiled network, in phase order.
        yellow_s: Yellow after each green: one per phase, or one number for every phase.
        all_red_s: All-red after each yellow, likewise.
        offset_s: Time in the common cycle at which the first phase's green starts.
    """

    greens_s: tuple[float, ...]
    yellow_s: float | tuple[float, ...]
    all_red_s: float | tuple[float, ...]
    offset_s: float = 0.0

    def intergreen_s(self, phase: int) -> tuple[float, float]:
        """Yellow and all-red after the green of ``phase`` (s)."""
        n = len(self.greens_s)
        return per_phase(self.yellow_s, n)[phase], per_phase(self.all_red_s, n)[phase]

    @property
    def cycle_s(self) -> float:
        """Cycle length (s)."""
        return sum(self.greens_s) + sum(sum(self.intergreen_s(p)) for p in range(len(self.greens_s)))


@dataclass(frozen=True)
class ExportOptions:
    """How the SUMO net is built.

    Attributes:
        point_junctions: Give every edge its citysim length and build no internal links
            (see the module docstring). Default True.
        unsignalized: SUMO type of unsignalized intersections, one of :data:`JUNCTION_TYPES`.
            Default ``"priority"``.
    """

    point_junctions: bool = True
    unsignalized: str = "priority"

    def __post_init__(self) -> None:
        if self.unsignalized not in JUNCTION_TYPES:
            raise InteropError(
                f"ExportOptions.unsignalized: expected one of {', '.join(JUNCTION_TYPES)}, "
                f"got {self.unsignalized!r}"
            )


@dataclass(frozen=True)
class RouteTrip:
    """One vehicle for a SUMO routes file.

    Attributes:
        trip_id: Vehicle id.
        depart_s: Scheduled departure (s).
        edges: SUMO edge ids of its route, in order.
        vtype: Its vehicle type, a key of the ``vtypes`` given to :func:`write_routes`;
            ``None``: SUMO's default passenger type.
    """

    trip_id: str
    depart_s: float
    edges: tuple[str, ...]
    vtype: str | None = None


def sumo_edge_ids(graph: nx.DiGraph) -> dict[EdgeKey, str]:
    """SUMO edge id of every edge: ``"{u}-{v}"``, as in the benchmark networks.

    Raises:
        InteropError: If a node id is not a valid SUMO id (no spaces or ``|&"'<>;,:``),
            or two edges would get the same id.
    """
    ids: dict[EdgeKey, str] = {}
    seen: dict[str, EdgeKey] = {}
    for node in graph:
        if not isinstance(node, str) or not _SUMO_ID.match(node):
            raise InteropError(
                f"node id {node!r} cannot be a SUMO id: expected a string without spaces or |&\"'<>;,:"
            )
    for u, v in graph.edges:
        edge_id = f"{u}-{v}"
        if edge_id in seen:
            raise InteropError(f"edges {seen[edge_id]} and {(u, v)} would both get the SUMO id {edge_id!r}")
        seen[edge_id] = (u, v)
        ids[(u, v)] = edge_id
    return ids


def write_plain_xml(
    graph: nx.DiGraph, nodes_path: Path, edges_path: Path, connections_path: Path, options: ExportOptions
) -> None:
    """Write SUMO plain node, edge and connection files for ``graph`` (see the module docstring)."""
    edge_ids = sumo_edge_ids(graph)
    net = compile_network(graph)
    with connections_path.open("w", encoding="utf-8") as f:
        f.write("<connections>\n")
        for (e_in, e_out), c in net.conn_index.items():
            a, b = edge_ids[net.edge_keys[e_in]], edge_ids[net.edge_keys[e_out]]
            if TURNS not in graph.edges[net.edge_keys[e_in]]:
                f.write(f"  <connection from={quoteattr(a)} to={quoteattr(b)}/>\n")
                continue
            lanes = range(int(net.conn_lane_lo[c]), int(net.conn_lane_hi[c]) + 1)
            for from_lane, to_lane in lane_pairs(lanes, int(net.edge_lanes[e_out]), int(net.conn_turn[c])):
                f.write(
                    f"  <connection from={quoteattr(a)} to={quoteattr(b)} "
                    f'fromLane="{from_lane}" toLane="{to_lane}"/>\n'
                )
        f.write("</connections>\n")
    with nodes_path.open("w", encoding="utf-8") as f:
        f.write("<nodes>\n")
        for node, attrs in graph.nodes(data=True):
            f.write(
                f"  <node id={quoteattr(node)} x={_num(attrs['x'])} y={_num(attrs['y'])} "
                f'type="{_junction_type(graph, node, options)}"/>\n'
            )
        f.write("</nodes>\n")
    ranked = any(PRIORITY in attrs for *_, attrs in graph.edges(data=True))
    with edges_path.open("w", encoding="utf-8") as f:
        f.write("<edges>\n")
        for (u, v), edge_id in edge_ids.items():
            attrs = graph.edges[u, v]
            length = f" length={_num(attrs['length_m'])}" if options.point_junctions else ""
            priority = (
                attrs.get(PRIORITY, 0)
                if ranked
                else round(attrs["speed_mps"] * _MPS_TO_KPH) * 10 + attrs["lanes"]
            )
            f.write(
                f"  <edge id={quoteattr(edge_id)} from={quoteattr(u)} to={quoteattr(v)} "
                f'numLanes="{attrs["lanes"]}" speed={_num(attrs["speed_mps"])}{length} '
                f'priority="{priority}"/>\n'
            )
        for nodes, edges in _roundabouts(graph):
            listed = " ".join(edge_ids[edge] for edge in edges)
            f.write(f"  <roundabout nodes={quoteattr(' '.join(nodes))} edges={quoteattr(listed)}/>\n")
        f.write("</edges>\n")


def build_net(
    graph: nx.DiGraph,
    net_path: str | Path,
    timings: Mapping[str, SignalTiming],
    options: ExportOptions | None = None,
    phasing: LeftTurnPhasing | None = None,
) -> None:
    """Build ``net_path`` with ``netconvert`` and give every signal its citysim plan.

    The file appears atomically (written beside, then renamed), so an interrupted build
    never leaves a partial net.

    Args:
        graph: A valid road graph with string node ids.
        net_path: The ``.net.xml`` to write.
        timings: The plan of every signalized node, by node id.
        options: Build options; default :class:`ExportOptions()`.
        phasing: How the plans derived from geometry serve left turns (the scenario's
            ``[signals] left_turns``, ``left_phase``); default permitted.

    Raises:
        InteropError: If the graph cannot be written for SUMO, a signalized node has no
            timing or one whose greens do not match its phases, or netconvert fails.
    """
    options = ExportOptions() if options is None else options
    validate_network(graph)
    net = compile_network(graph, phasing)
    _check_timings(net, timings)
    net_path = Path(net_path)
    net_path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=net_path.parent, prefix=".netconvert-") as tmp:
        plain = [Path(tmp, name) for name in ("plain.nod.xml", "plain.edg.xml", "plain.con.xml")]
        out = Path(tmp, "built.net.xml")
        write_plain_xml(graph, *plain, options)
        args = [
            *(
                "--node-files",
                str(plain[0]),
                "--edge-files",
                str(plain[1]),
                "--connection-files",
                str(plain[2]),
            ),
            *("--output-file", str(out)),
            *("--no-turnarounds.except-deadend", "true", "--offset.disable-normalization", "true"),
            *("--tls.default-type", "static", "--tls.layout", "opposites"),
            *("--tls.left-green.time", "0", "--tls.allred.time", "0", "--no-warnings", "true"),
            *(("--no-internal-links", "true") if options.point_junctions else ()),
        ]
        run_tool("netconvert", args)
        _write_programs(out, net, timings, sumo_edge_ids(graph))
        out.replace(net_path)


def net_connections(net_path: str | Path) -> set[tuple[str, str]]:
    """The (from edge, to edge) pairs a SUMO net (plain or gzipped) connects, internal edges left out."""
    pairs = set()
    with open_bytes(net_path) as f:
        for _, element in ET.iterparse(f):
            if element.tag == "connection" and not element.get("from", "").startswith(":"):
                pairs.add((element.get("from"), element.get("to")))
            element.clear()
    return pairs


def write_routes(
    path: str | Path,
    trips: Iterable[RouteTrip],
    vtypes: Mapping[str, Mapping[str, float | None]] | None = None,
) -> None:
    """Write one ``<vehicle>`` per trip with its explicit route, in the given (departure) order.

    Vehicles use their ``vtype``, or SUMO's default passenger type (``DEFAULT_VEHTYPE``, which a
    type of that name redefines), ``departLane="best"`` and ``departSpeed="max"``.

    Args:
        path: The routes file to write.
        trips: The vehicles, by departure.
        vtypes: Vehicle types by name, as ``[vehicle_types.<name>]`` resolves them (keys
            ``length_m``, ``min_gap_m``, ``accel_mps2``, ``decel_mps2``, ``tau_s``, ``sigma``,
            ``max_speed_mps``, ``speed_factor``, ``speed_dev``, ``vclass``; ``None`` values left to
            SUMO).
    """
    with Path(path).open("w", encoding="utf-8") as f:
        f.write("<routes>\n")
        for name, values in (vtypes or {}).items():
            attributes = "".join(
                f" {attribute}={_num(values[key])}"
                for key, attribute in _VTYPE_ATTRIBUTES.items()
                if values.get(key) is not None
            )
            vclass = quoteattr(str(values.get("vclass") or "passenger"))
            f.write(f"  <vType id={quoteattr(name)} vClass={vclass}{attributes}/>\n")
        for trip in trips:
            route = quoteattr(" ".join(trip.edges))
            vtype = f" type={quoteattr(trip.vtype)}" if trip.vtype is not None else ""
            f.write(
                f'  <vehicle id={quoteattr(trip.trip_id)}{vtype} depart="{trip.depart_s:.2f}"'
                f' departLane="best" departSpeed="max"><route edges={route}/></vehicle>\n'
            )
        f.write("</routes>\n")


def lane_pairs(from_lanes: range, to_lanes: int, turn: int) -> list[tuple[int, int]]:
    """SUMO lane-to-lane connections of one movement: ``(from lane, to lane)`` pairs.

    Every lane of ``from_lanes`` (of the in-edge, 0 the rightmost) gets one, so SUMO uses
    the same lanes as citysim. A left turn or U-turn keeps to the left: the leftmost from-lane
    goes to the leftmost to-lane, the next one to the next, and so on; a through movement or
    a right turn keeps to the right likewise. A from-lane with no to-lane left takes the last
    one; to-lanes with no from-lane are fed by the from-lane nearest them, so a link that
    widens (a turn bay) is entered in every lane.

    Args:
        from_lanes: In-edge lanes that serve the movement.
        to_lanes: Lane count of the out-edge.
        turn: Kind of the movement (``TURN_*`` of :mod:`sim.traffic.codes`).
    """
    k = len(from_lanes)
    order = list(from_lanes)
    if turn in (TURN_LEFT, TURN_UTURN):
        pairs = [(f, max(to_lanes - k + i, 0)) for i, f in enumerate(order)]
        pairs += [(order[0], t) for t in range(to_lanes - k)]
    else:
        pairs = [(f, min(i, to_lanes - 1)) for i, f in enumerate(order)]
        pairs += [(order[-1], t) for t in range(k, to_lanes)]
    return sorted(pairs)


def _num(value: float) -> str:
    return quoteattr(repr(float(value)))


def _junction_type(graph: nx.DiGraph, node: str, options: ExportOptions) -> str:
    attrs = graph.nodes[node]
    if attrs["signalized"]:
        return "traffic_light"
    near = (set(graph.predecessors(node)) | set(graph.successors(node))) - {node}
    if len(near) == 1:
        return "dead_end"
    return EXPORT_TYPES[attrs[JUNCTION]] if JUNCTION in attrs else options.unsignalized


def _roundabouts(graph: nx.DiGraph) -> list[tuple[list[str], list[EdgeKey]]]:
    """Each roundabout's nodes and ring edges, the ring being the one-way edges between roundabout nodes."""
    nodes = {node for node, control in graph.nodes(data=JUNCTION) if control == "roundabout"}
    ring = nx.DiGraph(
        (u, v) for u, v in graph.edges if u in nodes and v in nodes and not graph.has_edge(v, u)
    )
    found = []
    for component in nx.weakly_connected_components(ring):
        members = [node for node in graph if node in component]
        found.append((members, [(u, v) for u, v in ring.edges if u in component]))
    return sorted(found)


def _check_timings(net: CompiledNetwork, timings: Mapping[str, SignalTiming]) -> None:
    for s, node in enumerate(net.signal_nodes.tolist()):
        node_id = net.node_ids[node]
        n_phases = int(net.signal_phase_ptr[s + 1] - net.signal_phase_ptr[s])
        timing = timings.get(node_id)
        if timing is None:
            raise InteropError(f"signalized node {node_id!r} has no signal timing")
        if len(timing.greens_s) != n_phases or not all(g > 0 and math.isfinite(g) for g in timing.greens_s):
            raise InteropError(
                f"signal timing of node {node_id!r}: expected {n_phases} greens > 0 (one per phase), "
                f"got {timing.greens_s}"
            )


def _write_programs(
    net_path: Path, net: CompiledNetwork, timings: Mapping[str, SignalTiming], edge_ids: Mapping[EdgeKey, str]
) -> None:
    """Replace every ``tlLogic`` of the built net by the citysim plan of its node."""
    tree = ET.parse(net_path)
    root = tree.getroot()
    key_of = {edge_id: key for key, edge_id in edge_ids.items()}
    links: dict[str, dict[int, tuple[str, str]]] = {}
    for conn in root.iter("connection"):
        if conn.get("tl") is not None:
            links.setdefault(conn.get("tl"), {})[int(conn.get("linkIndex"))] = (
                conn.get("from"),
                conn.get("to"),
            )
    phases_of = _phases_of_connection(net)
    signal_of = {net.node_ids[node]: s for s, node in enumerate(net.signal_nodes.tolist())}
    for logic in root.iter("tlLogic"):
        tl_id = logic.get("id")
        if tl_id not in signal_of:
            raise InteropError(
                f"netconvert built a traffic light {tl_id!r} that citysim does not have", net_path
            )
        s = signal_of[tl_id]
        first_phase = int(net.signal_phase_ptr[s])
        n_phases = int(net.signal_phase_ptr[s + 1]) - first_phase
        controlled = links.get(tl_id, {})
        green_of: list[tuple[frozenset[int], str]] = []
        for index in range(len(controlled)):
            from_key, to_key = key_of[controlled[index][0]], key_of[controlled[index][1]]
            c = net.conn_index.get((net.edge_index[from_key], net.edge_index[to_key]))
            phases = frozenset() if c is None else frozenset(p - first_phase for p in phases_of.get(c, ()))
            green_of.append((phases, "g" if c is not None and net.conn_rule[c] != RULE_FREE else "G"))
        timing = timings[tl_id]
        for phase in logic.findall("phase"):
            logic.remove(phase)
        for duration_s, state in _program(green_of, n_phases, timing):
            ET.SubElement(logic, "phase", {"duration": f"{duration_s:g}", "state": state})
        logic.set("type", "static")
        logic.set("offset", f"{timing.offset_s:g}")
    tree.write(net_path, encoding="UTF-8", xml_declaration=True)


def _phases_of_connection(net: CompiledNetwork) -> dict[int, set[int]]:
    """The (global) phases that give each connection green."""
    phases_of: dict[int, set[int]] = {}
    for phase in range(len(net.phase_axis)):
        for c in net.phase_conns[net.phase_conn_ptr[phase] : net.phase_conn_ptr[phase + 1]].tolist():
            phases_of.setdefault(c, set()).add(phase)
    return phases_of


def _program(
    green_of: Sequence[tuple[frozenset[int], str]], n_phases: int, timing: SignalTiming
) -> list[tuple[float, str]]:
    """(duration, state) of each SUMO phase: per citysim phase its green, yellow and all-red.

    ``green_of`` gives each link the phases (of the node, from 0) that give it green and its
    green letter. As in the kernel, a link green in a phase and in the next stays green
    through the intergreen between them.
    """
    if n_phases == 1:
        return [(timing.cycle_s, "".join(letter if 0 in ps else "r" for ps, letter in green_of))]
    program = []
    for phase, green_s in enumerate(timing.greens_s):
        after = (phase + 1) % n_phases
        program.append((green_s, "".join(letter if phase in ps else "r" for ps, letter in green_of)))
        yellow_s, all_red_s = timing.intergreen_s(phase)
        if yellow_s > 0:
            states = ((letter if after in ps else "y") if phase in ps else "r" for ps, letter in green_of)
            program.append((yellow_s, "".join(states)))
        if all_red_s > 0:
            states = (letter if phase in ps and after in ps else "r" for ps, letter in green_of)
            program.append((all_red_s, "".join(states)))
    return program
