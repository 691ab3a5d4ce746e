"""The road-network schema: attribute names, node kinds and the error raised for a bad network.

A network is a ``networkx.DiGraph`` with:

* graph attribute ``name`` (str);
* node attributes ``x``, ``y`` (float, metres), ``signalized`` (bool) and ``kind``
  (``"intersection"`` or ``"fringe"``; fringe nodes are trip origins and destinations);
* optionally, node attribute ``junction``: how the node is controlled, one of
  :data:`JUNCTION_CONTROLS` (``"traffic_light"`` exactly on signalized nodes). The kernel's
  right-of-way rules read it; an unsignalized node without it is a ``"priority"`` junction
  (SUMO's default). At a ``"roundabout"`` node the circulating edges are those that come
  from another roundabout node;
* optionally, on a signalized node, ``signal_plan``: its own plan, a mapping
  ``{"phases": [[[from_node, to_node], ...], ...], "greens_s": [...], "yellow_s": ...,
  "all_red_s": ..., "offset_s": float}`` and optionally ``"min_green_s"`` and
  ``"max_green_s"``. Each phase lists the movements (a neighbour the vehicle comes from and
  one it goes to, through this node) that get green; ``greens_s`` gives each phase's green
  (s), followed by its yellow and all-red (the intergreen after leaving that phase);
  ``offset_s`` is when the first phase's green starts in the common cycle (s). ``yellow_s``,
  ``all_red_s``, ``min_green_s`` and ``max_green_s`` are each one number (s) for every phase
  or a list with one per phase; without ``min_green_s`` or ``max_green_s`` the scenario's
  value holds. Every turn the compiled network allows at the node must be listed in some phase;
* edge attributes ``length_m`` (float > 0), ``lanes`` (int >= 1), ``speed_mps`` (float > 0) and,
  optionally, ``capacity_vph`` (float > 0, vehicles per hour) and ``turns``: a mapping
  ``{next_node: [lane_lo, lane_hi]}`` giving, for edge ``(u, v)``, the lanes (0 is the
  rightmost, ``0 <= lane_lo <= lane_hi < lanes``) from which a vehicle may continue onto
  edge ``(v, next_node)``. An edge with ``turns`` allows exactly those turns (a U-turn only
  if listed; an empty mapping allows none); an edge without gets the geometric rule of
  :func:`sim.network.compile.compile_network`;
* optionally, edge attribute ``priority`` (int, as SUMO's edge priority: the higher, the more
  important the road; absent counts as 0). At ``priority`` and ``stop`` junctions the major
  road is the one whose edges rank highest by priority, then speed limit, then lanes.

No other node or edge attributes are allowed; the signal phases of a node without a
``signal_plan`` are derived from geometry.
"""

from __future__ import annotations

import math
import os
from numbers import Integral, Real

__all__ = [
    "EDGE_ATTRIBUTES",
    "FRINGE",
    "INTERSECTION",
    "JUNCTION",
    "JUNCTION_CONTROLS",
    "NODE_ATTRIBUTES",
    "NODE_KINDS",
    "OPTIONAL_EDGE_ATTRIBUTES",
    "OPTIONAL_NODE_ATTRIBUTES",
    "OPTIONAL_PLAN_KEYS",
    "PLAN_KEYS",
    "PRIORITY",
    "PRIORITY_RANGE",
    "PLAN_PHASE_KEYS",
    "SIGNAL_PLAN",
    "TRAFFIC_LIGHT",
    "TURNS",
    "NetworkError",
    "is_count",
    "is_positive_number",
    "per_phase",
]

INTERSECTION = "intersection"
FRINGE = "fringe"
NODE_KINDS = (INTERSECTION, FRINGE)

TRAFFIC_LIGHT = "traffic_light"
JUNCTION_CONTROLS = (
    TRAFFIC_LIGHT,
    "priority",
    "stop",
    "allway_stop",
    "right_before_left",
    "left_before_right",
    "roundabout",
    "zipper",
    "unregulated",
)
"""Values of the ``junction`` node attribute: a traffic light; a major road with the minor
roads yielding (``priority``) or stopping (``stop``) first; an all-way stop; the vehicle
from the right first (from the left, its counterpart for left-hand traffic); a roundabout
(the circulating traffic first); a zipper merge; no rule."""

NODE_ATTRIBUTES = ("x", "y", "signalized", "kind")
SIGNAL_PLAN = "signal_plan"
JUNCTION = "junction"
OPTIONAL_NODE_ATTRIBUTES = (SIGNAL_PLAN, JUNCTION)
PLAN_KEYS = ("phases", "greens_s", "yellow_s", "all_red_s", "offset_s")
"""Required keys of a ``signal_plan``."""
OPTIONAL_PLAN_KEYS = ("min_green_s", "max_green_s")
PLAN_PHASE_KEYS = ("yellow_s", "all_red_s", *OPTIONAL_PLAN_KEYS)
"""``signal_plan`` keys that hold one number for every phase or a list with one per phase."""
EDGE_ATTRIBUTES = ("length_m", "lanes", "speed_mps")
TURNS = "turns"
PRIORITY = "priority"
OPTIONAL_EDGE_ATTRIBUTES = ("capacity_vph", TURNS, PRIORITY)
PRIORITY_RANGE = (-1_000_000, 1_000_000)
"""Smallest and largest edge ``priority``: SUMO's own lie between -1 and a few hundred."""


class NetworkError(ValueError):
    """A road network (or a request to build one) that breaks the schema.

    Attributes:
        source: The file the network came from, or ``None`` when it was built in memory.
    """

    def __init__(self, message: str, source: str | os.PathLike[str] | None = None) -> None:
        self.source = None if source is None else os.fspath(source)
        super().__init__(message if self.source is None else f"{self.source}: {message}")


def is_positive_number(value: object) -> bool:
    """Return whether ``value`` is a finite real number > 0 (bools excluded)."""
    return isinstance(value, Real) and not isinstance(value, bool) and math.isfinite(value) and value > 0


def is_count(value: object, minimum: int = 1) -> bool:
    """Return whether ``value`` is an integer >= ``minimum`` (bools excluded)."""
    return isinstance(value, Integral) and not isinstance(value, bool) and value >= minimum


def per_phase(value: object, n_phases: int) -> tuple:
    """``value`` for each of ``n_phases`` phases: a list or tuple as it is, one value repeated.

    A ``signal_plan``'s ``yellow_s``, ``all_red_s``, ``min_green_s`` and ``max_green_s`` are one
    number for every phase or one per phase; this reads either.
    """
    return tuple(value) if isinstance(value, list | tuple) else (value,) * n_phases
