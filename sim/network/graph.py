"""The road-network schema: attribute names, node kinds and the error raised for a bad network.

A network is a ``networkx.DiGraph`` with:

* graph attribute ``name`` (str);
* node attributes ``x``, ``y`` (float, metres), ``signalized`` (bool) and ``kind``
  (``"intersection"`` or ``"fringe"``; fringe nodes are trip origins and destinations);
* optionally, on a signalized node, ``signal_plan``: its own fixed-time plan, a mapping
  ``{"phases": [[[from_node, to_node], ...], ...], "greens_s": [...], "yellow_s": float,
  "all_red_s": float, "offset_s": float}``. Each phase lists the movements (a neighbour the
  vehicle comes from and one it goes to, through this node) that get green; ``greens_s`` gives
  each phase's green (s), followed by ``yellow_s`` and ``all_red_s``; ``offset_s`` is when the
  first phase's green starts in the common cycle (s). Every turn the
  compiled network allows at the node must be listed in some phase;
* edge attributes ``length_m`` (float > 0), ``lanes`` (int >= 1), ``speed_mps`` (float > 0) and,
  optionally, ``capacity_vph`` (float > 0, vehicles per hour).

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
    "NODE_ATTRIBUTES",
    "NODE_KINDS",
    "OPTIONAL_EDGE_ATTRIBUTES",
    "OPTIONAL_NODE_ATTRIBUTES",
    "PLAN_KEYS",
    "SIGNAL_PLAN",
    "NetworkError",
    "is_count",
    "is_positive_number",
]

INTERSECTION = "intersection"
FRINGE = "fringe"
NODE_KINDS = (INTERSECTION, FRINGE)

NODE_ATTRIBUTES = ("x", "y", "signalized", "kind")
SIGNAL_PLAN = "signal_plan"
OPTIONAL_NODE_ATTRIBUTES = (SIGNAL_PLAN,)
PLAN_KEYS = ("phases", "greens_s", "yellow_s", "all_red_s", "offset_s")
"""Keys of a ``signal_plan``, all required."""
EDGE_ATTRIBUTES = ("length_m", "lanes", "speed_mps")
OPTIONAL_EDGE_ATTRIBUTES = ("capacity_vph",)


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
