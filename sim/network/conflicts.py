"""Which movements through a junction conflict, and which of two conflicting movements gives way.

Compiled once per network (:func:`conflict_model`), from each node's control (the ``junction``
attribute; a signalized node is a ``traffic_light``, any other node without one a
``priority`` junction, SUMO's default) and its geometry.

**Conflicts.** Each leg of a node (a neighbour it has an edge to or from) sits at the bearing
of that neighbour. Traffic keeps right: a vehicle enters the junction just counter-clockwise of
its leg's bearing and leaves just clockwise of the bearing of the leg it leaves by. Two
movements from different in-edges conflict when they leave by the same out-edge (a merge) or
when their chords across the junction cross (their end points interleave around the node);
movements from the same in-edge share its lanes' queues and never conflict (a diverge). So at
a four-way junction a left turn crosses the opposing through movement and merges with the
opposing right turn, and opposing left turns pass in front of each other.

**Who gives way**, for two conflicting movements, by the node's control:

* ``traffic_light``: the signal separates the rest; a left turn or U-turn gives way to a
  through or right-turning movement green at the same time (a permitted turn);
* ``priority``, ``stop``: the two in-edges of the highest rank (edge ``priority``, then speed
  limit, then lanes; the second of them the one most opposite the first among those of the
  next rank) are the major road; a minor movement gives way to a major one; between two
  major or two minor movements a left turn gives way to a through or right turn, and
  otherwise the one with the other coming from its right. At a ``stop`` junction the minor
  movements also halt at the stop line first;
* ``roundabout``: in-edges from another roundabout node circulate and are major, the
  entries minor, as for ``priority``;
* ``right_before_left`` (``left_before_right``): the movement with the other coming from its
  right (left) gives way; between opposite approaches a left turn gives way;
* ``allway_stop``: every movement halts first, then the one that halted first goes first;
  ``zipper``: the one that reaches the stop line first goes first (no halt);
* ``unregulated``: no conflicts (vehicles do not interact in the junction).

**The conflict zone.** At a junction without a signal, a vehicle occupies its movement's path
from the stop line until its rear has left the first ``zone_m`` metres of the out-edge: the
junction's width (3.2 m a lane, over the widest leg's lanes in and out) for through and left
movements, 0.6 of it for a right turn or U-turn. No vehicle enters a movement while a
conflicting one is occupied. At a signal the zone is 0 (the all-red clears the junction).

**Waiting in the junction.** A permitted left turn (or U-turn) at a signal may drive into the
junction and wait there for a gap, and clear when the signal ends ("sneakers"): one vehicle
(``wait_n``), two where the widest leg has six lanes or more (a junction at least
:data:`WIDE_JUNCTION_M` across).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import networkx as nx
import numpy as np

from sim.network.graph import JUNCTION, TRAFFIC_LIGHT
from sim.traffic.codes import (
    FOE_CONFLICT,
    FOE_FIRST_COME,
    FOE_YIELD,
    GAP_CLASSES,
    RULE_FREE,
    RULE_STOP,
    RULE_YIELD,
    TURN_LEFT,
    TURN_RIGHT,
    TURN_UTURN,
)

__all__ = ["ConflictModel", "LANE_WIDTH_M", "WIDE_JUNCTION_M", "conflict_model", "node_control"]

LANE_WIDTH_M = 3.2
"""Width of one lane (m), which sizes a junction's conflict zone."""
WIDE_JUNCTION_M = 6 * LANE_WIDTH_M
"""A junction this wide (m) or wider holds two permitted left turners waiting in it, a narrower one one."""
_ZONE_SHARE = {TURN_RIGHT: 0.6, TURN_UTURN: 0.6}
_EPS = 1e-3
_OPPOSITE_COS = math.cos(math.radians(45.0))
_GAP = {name: i for i, name in enumerate(GAP_CLASSES)}
_MOVEMENT = {TURN_RIGHT: "right", TURN_LEFT: "left", TURN_UTURN: "left"}


@dataclass(frozen=True, eq=False)
class ConflictModel:
    """Right of way of every connection (arrays over connections, and foes in CSR form).

    Attributes:
        rule: ``RULE_FREE``, ``RULE_YIELD`` or ``RULE_STOP`` per connection (:mod:`sim.traffic.codes`).
        gap_class: Index into :data:`~sim.traffic.codes.GAP_CLASSES` of its critical gap and
            follow-up time (0: none).
        zone_m: Length of the out-edge it occupies after the stop line (m); 0 at signals.
        wait_n: How many vehicles of a permitted turn at a signal may wait in the junction (0: none).
        foe_ptr, foes, foe_kind: Connection ``c`` conflicts with ``foes[foe_ptr[c]:foe_ptr[c+1]]``,
            each with its ``FOE_*`` kind (``FOE_YIELD``: ``c`` gives way to it).
    """

    rule: np.ndarray
    gap_class: np.ndarray
    zone_m: np.ndarray
    wait_n: np.ndarray
    foe_ptr: np.ndarray
    foes: np.ndarray
    foe_kind: np.ndarray


def node_control(attrs: dict) -> str:
    """A node's control: its ``junction``, else ``traffic_light`` if signalized, else ``priority``."""
    return attrs.get(JUNCTION) or (TRAFFIC_LIGHT if attrs.get("signalized", False) else "priority")


def _bearing(x: np.ndarray, y: np.ndarray, n: int, other: int) -> float:
    return math.atan2(y[other] - y[n], x[other] - x[n]) % (2.0 * math.pi)


def _crosses(p1: float, q1: float, p2: float, q2: float) -> bool:
    """Whether chords ``p1-q1`` and ``p2-q2`` of a circle (angles, rad) cross."""
    full = 2.0 * math.pi
    span = (q1 - p1) % full
    return ((p2 - p1) % full < span) != ((q2 - p1) % full < span)


def _side(heading: tuple[float, float], leg: tuple[float, float]) -> int:
    """Where a leg lies for a driver with ``heading``: 1 left, -1 right, 0 ahead (or behind)."""
    dot = heading[0] * leg[0] + heading[1] * leg[1]
    cross = heading[0] * leg[1] - heading[1] * leg[0]
    if abs(dot) >= _OPPOSITE_COS * math.hypot(*leg):
        return 0
    return 1 if cross > 0 else -1


def _majors(ins: Sequence[int], rank: dict[int, tuple], heading: Sequence[tuple[float, float]]) -> set[int]:
    """The major road's in-edges: the highest-ranked one and the most opposite of the next rank."""
    order = sorted(ins, key=lambda e: (tuple(-v for v in rank[e]), e))
    if len(order) < 2:
        return set(order)
    first, rest = order[0], order[1:]
    best = rank[rest[0]]
    tied = [e for e in rest if rank[e] == best]
    hf = heading[first]
    second = min(tied, key=lambda e: (hf[0] * heading[e][0] + hf[1] * heading[e][1], e))
    return {first, second}


def conflict_model(
    graph: nx.DiGraph,
    node_ids: Sequence[str],
    x: np.ndarray,
    y: np.ndarray,
    edge_keys: Sequence[tuple[str, str]],
    heading: Sequence[tuple[float, float]],
    lanes: np.ndarray,
    speed: np.ndarray,
    carr: np.ndarray,
) -> ConflictModel:
    """The right of way of every connection.

    Args:
        graph: The road graph (node ``junction``, ``signalized``; edge ``priority``).
        node_ids: Node ids by index.
        x: Node x coordinates (m).
        y: Node y coordinates (m).
        edge_keys: ``(u, v)`` per edge.
        heading: Each edge's unit direction.
        lanes: Each edge's lane count.
        speed: Each edge's speed limit (m/s).
        carr: Connection rows ``(in_edge, out_edge, turn, ...)``.
    """
    nidx = {n: i for i, n in enumerate(node_ids)}
    n_conn = len(carr)
    rule = np.full(n_conn, RULE_FREE, dtype=np.int8)
    gap_class = np.zeros(n_conn, dtype=np.int8)
    zone_m = np.zeros(n_conn)
    wait_n = np.zeros(n_conn, dtype=np.int8)
    foe_lists: list[list[tuple[int, int]]] = [[] for _ in range(n_conn)]
    by_node: dict[int, list[int]] = {}
    for c in range(n_conn):
        by_node.setdefault(nidx[edge_keys[int(carr[c, 0])][1]], []).append(c)
    for n, conns in by_node.items():
        control = node_control(graph.nodes[node_ids[n]])
        if control == "unregulated":
            continue
        ins = sorted({int(carr[c, 0]) for c in conns})
        legs: dict[str, int] = {}
        for e in {int(carr[c, 0]) for c in conns}.union(int(carr[c, 1]) for c in conns):
            other = edge_keys[e][0] if edge_keys[e][1] == node_ids[n] else edge_keys[e][1]
            legs[other] = legs.get(other, 0) + int(lanes[e])
        width = LANE_WIDTH_M * max(legs.values())
        major = _major_in_edges(graph, control, ins, edge_keys, heading, lanes, speed)
        ends = {
            c: (
                _bearing(x, y, n, nidx[edge_keys[int(carr[c, 0])][0]]) + _EPS,
                _bearing(x, y, n, nidx[edge_keys[int(carr[c, 1])][1]]) - _EPS,
            )
            for c in conns
        }
        for c in conns:
            ec, turn = int(carr[c, 0]), int(carr[c, 2])
            minor = major is not None and ec not in major
            for f in conns:
                ef = int(carr[f, 0])
                if ef == ec or not (int(carr[f, 1]) == int(carr[c, 1]) or _crosses(*ends[c], *ends[f])):
                    continue
                kind = _kind(control, c, f, carr, heading, edge_keys, x, y, nidx, n, major)
                foe_lists[c].append((f, kind))
            if control != TRAFFIC_LIGHT and foe_lists[c]:
                zone_m[c] = width * _ZONE_SHARE.get(turn, 1.0)
            yields = any(kind != FOE_CONFLICT for _, kind in foe_lists[c])
            stops = (control == "stop" and minor) or control == "allway_stop"
            rule[c] = RULE_STOP if stops else RULE_YIELD if yields else RULE_FREE
            if yields or stops:
                gap_class[c] = _gap_class(control, minor, turn)
            if control == TRAFFIC_LIGHT and yields:
                wait_n[c] = 2 if width >= WIDE_JUNCTION_M - _EPS else 1
    foe_ptr = np.zeros(n_conn + 1, dtype=np.int32)
    foe_ptr[1:] = np.cumsum([len(f) for f in foe_lists])
    foes = np.array([f for fl in foe_lists for f, _ in fl], dtype=np.int32)
    kinds = np.array([k for fl in foe_lists for _, k in fl], dtype=np.int8)
    return ConflictModel(rule, gap_class, zone_m, wait_n, foe_ptr, foes, kinds)


def _major_in_edges(
    graph: nx.DiGraph,
    control: str,
    ins: list[int],
    edge_keys: Sequence[tuple[str, str]],
    heading: Sequence[tuple[float, float]],
    lanes: np.ndarray,
    speed: np.ndarray,
) -> set[int] | None:
    """The major road's in-edges at a ``priority``, ``stop`` or ``roundabout`` node; None at others."""
    if control == "roundabout":
        circulating = {e for e in ins if node_control(graph.nodes[edge_keys[e][0]]) == "roundabout"}
        if circulating:
            return circulating
    elif control not in ("priority", "stop"):
        return None
    rank = {e: (graph.edges[edge_keys[e]].get("priority", 0), float(speed[e]), int(lanes[e])) for e in ins}
    return _majors(ins, rank, heading)


def _kind(
    control: str,
    c: int,
    f: int,
    carr: np.ndarray,
    heading: Sequence[tuple[float, float]],
    edge_keys: Sequence[tuple[str, str]],
    x: np.ndarray,
    y: np.ndarray,
    nidx: dict[str, int],
    n: int,
    major: set[int] | None,
) -> int:
    """How connection ``c`` stands to its foe ``f`` at node ``n`` (a ``FOE_*`` kind)."""
    if control in ("allway_stop", "zipper"):
        return FOE_FIRST_COME
    ec, ef = int(carr[c, 0]), int(carr[f, 0])
    turned_c = int(carr[c, 2]) in (TURN_LEFT, TURN_UTURN)
    turned_f = int(carr[f, 2]) in (TURN_LEFT, TURN_UTURN)
    if control == TRAFFIC_LIGHT:
        return FOE_YIELD if turned_c and not turned_f else FOE_CONFLICT
    if major is not None and (ec in major) != (ef in major):
        return FOE_YIELD if ef in major else FOE_CONFLICT
    tail = nidx[edge_keys[ef][0]]
    side = _side(heading[ec], (x[tail] - x[n], y[tail] - y[n]))
    if major is not None or side == 0:
        if turned_c != turned_f:
            return FOE_YIELD if turned_c else FOE_CONFLICT
        if side == 0:
            return FOE_CONFLICT
    first = 1 if control == "left_before_right" else -1
    return FOE_YIELD if side == first else FOE_CONFLICT


def _gap_class(control: str, minor: bool, turn: int) -> int:
    """The :data:`~sim.traffic.codes.GAP_CLASSES` index of a movement that gives way or stops."""
    movement = _MOVEMENT.get(turn, "through")
    if control == TRAFFIC_LIGHT:
        return _GAP["signal_left"]
    if control == "roundabout" and minor:
        return _GAP["roundabout_entry"]
    if control in ("allway_stop", "zipper"):
        return _GAP["none"]
    if not minor and control in ("priority", "stop", "roundabout"):
        return _GAP["major_left"] if movement == "left" else _GAP["none"]
    return _GAP[f"{'stop' if control == 'stop' else 'minor'}_{movement}"]
