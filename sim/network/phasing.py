"""Signal phases derived from a signalized node's geometry, with optional left-turn phases.

A signalized node without its own ``signal_plan`` gets its phases here (:func:`geometric_phases`,
called by :func:`sim.network.compile.compile_network`). Its in-edges are split by bearing into
a north-south and an east-west group (:func:`axis_of`); each group is one phase, NS first,
giving green to every movement of its approaches. Left turns are then *permitted*: they give
way to the opposing through and right movements green at the same time
(:mod:`sim.network.conflicts`). A node whose approaches all share one bearing gets one phase.

:class:`LeftTurnPhasing` (the scenario's ``[signals] left_turns`` and ``left_phase``) adds
left-turn phases:

* ``"permitted"`` (the default): the two phases above, nothing else;
* ``"protected"``: an axis with qualifying left movements (below) gets a left-turn phase,
  labelled ``"<axis>-left"`` (``"NS-left"``, ``"EW-left"``), that gives green to those of both
  its approaches together; they leave the axis' through phase. Their opposing movements are
  red then, and the kernel ignores foes that show red, so they go without giving way;
* ``"permitted_protected"``: the same left-turn phase, and the left movements stay in the
  through phase as well, permitted there. A movement green in two consecutive phases stays
  green through the change between them, so a leading left runs on into the through green.

``left_phase = "leading"`` puts each axis' left-turn phase before its through phase (cycle
NS-left, NS, EW-left, EW), ``"lagging"`` after it (NS, NS-left, EW, EW-left).

A left movement (a left turn or a U-turn) of an approach gets the protected phase only when

1. the approach's left movements have lanes of their own: no through or right movement of the
   approach uses one of their lanes (an exclusive left lane, e.g. from an edge's ``turns`` or
   a left-turn bay). From a lane shared with through traffic a left turn stays permitted: a
   phase for it alone would stop the through vehicles in that lane behind the first left
   turner, and the left turners behind the first through vehicle;
2. it gives way to a movement of its axis' phase. A left turn that gives way to nobody (from
   the stem of a T junction, or facing a one-way street) is protected in its through phase
   already, and a phase of its own would only lengthen the cycle.

An axis none of whose left movements qualifies keeps its single phase, whatever the option.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from sim.network.conflicts import ConflictModel
from sim.traffic.codes import FOE_YIELD, TURN_LEFT, TURN_UTURN

__all__ = [
    "AXES",
    "LAGGING",
    "LEADING",
    "LEFT_PHASES",
    "LEFT_SUFFIX",
    "LEFT_TURNS",
    "PERMITTED",
    "PERMITTED_PROTECTED",
    "PROTECTED",
    "LeftTurnPhasing",
    "axis_of",
    "geometric_phases",
    "gives_way_within",
]

PERMITTED, PROTECTED, PERMITTED_PROTECTED = "permitted", "protected", "permitted_protected"
LEFT_TURNS = (PERMITTED, PROTECTED, PERMITTED_PROTECTED)
"""Values of ``[signals] left_turns``: how the derived plans serve left turns."""
LEADING, LAGGING = "leading", "lagging"
LEFT_PHASES = (LEADING, LAGGING)
"""Values of ``[signals] left_phase``: a left-turn phase before or after its axis' through phase."""
AXES = ("NS", "EW")
"""Axis labels of the derived phases, in cycle order."""
LEFT_SUFFIX = "-left"
"""Appended to an axis label for its left-turn phase (``"EW-left"``)."""

_LEFT_KINDS = (TURN_LEFT, TURN_UTURN)


@dataclass(frozen=True)
class LeftTurnPhasing:
    """How the phases derived from geometry serve left turns (see the module docstring).

    Attributes:
        left_turns: One of :data:`LEFT_TURNS`; default ``"permitted"``.
        left_phase: One of :data:`LEFT_PHASES`; default ``"leading"``. Ignored with ``"permitted"``.

    Raises:
        ValueError: If a value is not one of those allowed.
    """

    left_turns: str = PERMITTED
    left_phase: str = LEADING

    def __post_init__(self) -> None:
        for name, allowed in (("left_turns", LEFT_TURNS), ("left_phase", LEFT_PHASES)):
            value = getattr(self, name)
            if value not in allowed:
                raise ValueError(f"{name}: expected one of {', '.join(map(repr, allowed))}, got {value!r}")


def axis_of(heading: tuple[float, float]) -> str:
    """``"NS"`` for an edge heading more north or south than east or west, else ``"EW"``."""
    return "NS" if abs(heading[1]) > abs(heading[0]) else "EW"


def geometric_phases(
    node_ins: Sequence[int],
    heading: Sequence[tuple[float, float]],
    conns_of: Mapping[int, list[int]],
    carr: np.ndarray,
    conflicts: ConflictModel,
    phasing: LeftTurnPhasing,
) -> list[tuple[str, list[int]]]:
    """The phases of one signalized node, in cycle order, each as ``(axis label, connections)``.

    Args:
        node_ins: The node's in-edges.
        heading: Each edge's unit direction.
        conns_of: The connections of each in-edge.
        carr: Connection rows ``(in_edge, out_edge, turn, lane_lo, lane_hi)``.
        conflicts: The right of way of every connection.
        phasing: How left turns are served.
    """
    groups: dict[str, list[int]] = {}
    for ei in node_ins:
        groups.setdefault(axis_of(heading[ei]), []).append(ei)
    phases = []
    for axis in AXES:
        if axis not in groups:
            continue
        conns = [c for ei in groups[axis] for c in conns_of.get(ei, [])]
        protect = phasing.left_turns != PERMITTED
        lefts = _protected_lefts(groups[axis], conns_of, carr, conflicts) if protect else []
        if not lefts:
            phases.append((axis, conns))
            continue
        through = conns if phasing.left_turns == PERMITTED_PROTECTED else [c for c in conns if c not in lefts]
        pair = [(axis + LEFT_SUFFIX, lefts), (axis, through)]
        phases.extend(pair if phasing.left_phase == LEADING else pair[::-1])
    return phases


def _protected_lefts(
    approaches: Sequence[int], conns_of: Mapping[int, list[int]], carr: np.ndarray, conflicts: ConflictModel
) -> list[int]:
    """The left movements of an axis' approaches that get its left-turn phase (rules 1 and 2)."""
    axis_conns = {c for ei in approaches for c in conns_of.get(ei, [])}
    foes = (conflicts.foe_ptr, conflicts.foes, conflicts.foe_kind)
    lefts = []
    for ei in approaches:
        own = conns_of.get(ei, [])
        turned = [c for c in own if int(carr[c, 2]) in _LEFT_KINDS]
        left_lanes = {lane for c in turned for lane in range(int(carr[c, 3]), int(carr[c, 4]) + 1)}
        shared = any(
            int(carr[c, 3]) <= lane <= int(carr[c, 4]) for c in own if c not in turned for lane in left_lanes
        )
        if turned and not shared and any(gives_way_within(c, axis_conns, *foes) for c in turned):
            lefts.extend(turned)
    return lefts


def gives_way_within(
    c: int, conns: Collection[int], foe_ptr: np.ndarray, foes: np.ndarray, foe_kind: np.ndarray
) -> bool:
    """Whether connection ``c`` gives way to one of ``conns`` (e.g. the others green with it).

    Args:
        c: A connection.
        conns: Connections.
        foe_ptr: Connection ``k``'s foes are ``foes[foe_ptr[k]:foe_ptr[k + 1]]``, as in
            :class:`~sim.network.conflicts.ConflictModel` (or ``CompiledNetwork.conn_foe_ptr``).
        foes: The foes of every connection, concatenated.
        foe_kind: The ``FOE_*`` kind of each (``FOE_YIELD``: the connection gives way to it).
    """
    return any(foe_kind[k] == FOE_YIELD and int(foes[k]) in conns for k in range(foe_ptr[c], foe_ptr[c + 1]))
