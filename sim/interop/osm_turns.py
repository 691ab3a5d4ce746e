"""OpenStreetMap ``turn:lanes``: the lanes of an imported edge that serve each of its turns.

A ``turn:lanes`` value lists a way's lanes from left to right in the direction of travel,
``|`` between lanes and ``;`` between the turns of one lane (``left|through;right``). It
describes the lanes where the way ends, so the OSM import reads it on the edge that ends
there (:func:`sim.interop.osm_tags.turn_lanes`). Each value allows turns of these kinds
(:mod:`sim.traffic.codes`): ``left`` and ``sharp_left`` a left turn or a U-turn,
``slight_left`` a left turn or a through movement, ``through``, ``none`` and an empty value
a through movement (``none`` is an unmarked lane, which in practice carries the through
traffic), ``right`` and ``sharp_right`` a right turn, ``slight_right`` a right turn or a
through movement, ``reverse`` a U-turn, ``merge_to_left`` and ``merge_to_right`` (a lane
that ends) a through movement.

The turns themselves, and whether each is a left, through or right movement, are those of
the compiled network (:func:`sim.network.compile.movements`, from the geometry). An
edge gets ``turns`` from its value only when the value is consistent with the network: one
entry per lane of the edge, only the values above, and every turn of the edge served by a
contiguous run of lanes. Otherwise the edge keeps citysim's default lanes and the import
counts the value as ignored. A lane whose turns all lead nowhere in the network (a turn
onto a road that was not imported) serves no turn.
"""

from __future__ import annotations

from collections.abc import Mapping

import networkx as nx

from sim.network.compile import movements
from sim.network.graph import TURNS
from sim.traffic.codes import TURN_LEFT, TURN_RIGHT, TURN_THROUGH, TURN_UTURN

__all__ = ["TURN_VALUES", "lane_kinds", "set_turn_lanes", "way_ends"]

EdgeKey = tuple[str, str]

TURN_VALUES: Mapping[str, frozenset[int]] = {
    "left": frozenset({TURN_LEFT, TURN_UTURN}),
    "sharp_left": frozenset({TURN_LEFT, TURN_UTURN}),
    "slight_left": frozenset({TURN_LEFT, TURN_THROUGH}),
    "through": frozenset({TURN_THROUGH}),
    "none": frozenset({TURN_THROUGH}),
    "": frozenset({TURN_THROUGH}),
    "right": frozenset({TURN_RIGHT}),
    "sharp_right": frozenset({TURN_RIGHT}),
    "slight_right": frozenset({TURN_RIGHT, TURN_THROUGH}),
    "reverse": frozenset({TURN_UTURN}),
    "merge_to_left": frozenset({TURN_THROUGH}),
    "merge_to_right": frozenset({TURN_THROUGH}),
}
"""The turn kinds each ``turn:lanes`` value allows (see the module docstring)."""


def lane_kinds(value: str) -> tuple[frozenset[int], ...] | None:
    """The turn kinds each lane allows, rightmost lane first (citysim's lane 0).

    Args:
        value: A ``turn:lanes`` value, such as ``"left|through;right"``.

    Returns:
        One set of ``TURN_*`` kinds per lane, or ``None`` if a value is not one of
        :data:`TURN_VALUES`.
    """
    lanes = []
    for lane in reversed(value.split("|")):
        kinds: set[int] = set()
        for part in lane.split(";"):
            allowed = TURN_VALUES.get(part.strip().lower())
            if allowed is None:
                return None
            kinds |= allowed
        lanes.append(frozenset(kinds))
    return tuple(lanes)


def way_ends(
    points: list[tuple[str, tuple[float, float]] | None], values: tuple[str | None, str | None]
) -> dict[EdgeKey, str]:
    """The segment that ends each direction of a way, with that direction's ``turn:lanes`` value.

    Args:
        points: The way's nodes in order, as ``(node id, (lon, lat))``, ``None`` where the
            extract lacks the node (a way cut there has no end to read).
        values: The forward and the backward ``turn:lanes`` value, ``None`` where untagged.

    Returns:
        ``{(u, v): value}`` for each tagged direction whose last segment is in the extract.
    """
    ends = {}
    for (a, b), value in zip(((-2, -1), (1, 0)), values, strict=True):
        if value is not None and len(points) >= 2 and points[a] is not None and points[b] is not None:
            ends[points[a][0], points[b][0]] = value
    return ends


def set_turn_lanes(graph: nx.DiGraph, values: Mapping[EdgeKey, str]) -> tuple[int, int]:
    """Give the edges with a ``turn:lanes`` value their ``turns``, where it is consistent.

    Args:
        graph: The imported road graph, before it has any ``turns``.
        values: The ``turn:lanes`` value of each edge that has one.

    Returns:
        The number of edges that got ``turns`` and the number of values ignored.
    """
    if not values:
        return 0, 0
    moves = movements(graph)
    kept = 0
    for key, value in values.items():
        kinds = [(after, turn) for after, (turn, _, _) in moves.get(key, {}).items()]
        turns = _turns(lane_kinds(value), int(graph.edges[key]["lanes"]), kinds)
        if turns is not None:
            graph.edges[key][TURNS] = turns
            kept += 1
    return kept, len(values) - kept


def _turns(
    kinds: tuple[frozenset[int], ...] | None, lanes: int, movements: list[tuple[str, int]]
) -> dict[str, list[int]] | None:
    """``turns`` from each lane's kinds for the ``(next node, kind)`` movements; None if inconsistent."""
    if kinds is None or len(kinds) != lanes:
        return None
    turns = {}
    for after, kind in movements:
        serving = [lane for lane, allowed in enumerate(kinds) if kind in allowed]
        if not serving or serving[-1] - serving[0] + 1 != len(serving):
            return None
        turns[after] = [serving[0], serving[-1]]
    return turns
