"""SUMO junction types: the citysim junction control each one reads as, and the ones an export writes.

The controls are those of :data:`sim.network.graph.JUNCTION_CONTROLS`; the SUMO types that
share a control's name mean the same thing.
"""

from sim.network.graph import JUNCTION_CONTROLS, TRAFFIC_LIGHT

__all__ = ["APPROXIMATED_TYPES", "JUNCTION_TYPES", "SUMO_CONTROLS", "UNSUPPORTED_CONTROL"]

_NOT_SUMO_TYPES = frozenset({"stop", "roundabout"})
"""Controls without a SUMO junction type of that name (``priority_stop``; a ``<roundabout>``)."""

SUMO_CONTROLS = {
    **{name: name for name in JUNCTION_CONTROLS if name not in _NOT_SUMO_TYPES},
    "traffic_light_unregulated": TRAFFIC_LIGHT,
    "traffic_light_right_on_red": TRAFFIC_LIGHT,
    "priority_stop": "stop",
    "left_before_right": "right_before_left",
    "dead_end": "unregulated",
}
"""The citysim control of each SUMO junction type that citysim reads."""

APPROXIMATED_TYPES = frozenset(
    {"traffic_light_unregulated", "traffic_light_right_on_red", "left_before_right"}
)
"""SUMO types read as a close but different control: a traffic light whose links do not yield
to each other or that allows turns on red, and left-before-right (read as right-before-left)."""

UNSUPPORTED_CONTROL = "priority"
"""The control of a junction whose SUMO type citysim does not read (``rail_crossing``, ...)."""

JUNCTION_TYPES = tuple(
    name for name in JUNCTION_CONTROLS if name in SUMO_CONTROLS and name not in (TRAFFIC_LIGHT, "zipper")
)
"""SUMO types that an exported unsignalized intersection may get: ``priority`` (the major road,
by edge priority, goes first), ``allway_stop``, ``right_before_left``, ``unregulated`` (nobody
yields: citysim's own rule but for permitted left turns). A zipper only merges two roads."""
