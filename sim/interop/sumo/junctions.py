"""SUMO junction types: the citysim junction control each one reads as, and the ones an export writes.

The controls are those of :data:`sim.network.graph.JUNCTION_CONTROLS`; the SUMO types that
share a control's name mean the same thing.
"""

from sim.network.graph import JUNCTION_CONTROLS, TRAFFIC_LIGHT

__all__ = ["APPROXIMATED_TYPES", "EXPORT_TYPES", "JUNCTION_TYPES", "SUMO_CONTROLS", "UNSUPPORTED_CONTROL"]

EXPORT_TYPES = {
    **{name: name for name in JUNCTION_CONTROLS},
    "stop": "priority_stop",
    "roundabout": "priority",
}
"""The SUMO junction type an export writes for each control. A roundabout's nodes are
``priority`` junctions listed in a ``<roundabout>`` element, which makes their circulating
edges the major road."""

SUMO_CONTROLS = {
    **{sumo_type: control for control, sumo_type in EXPORT_TYPES.items() if control != "roundabout"},
    "traffic_light_unregulated": TRAFFIC_LIGHT,
    "traffic_light_right_on_red": TRAFFIC_LIGHT,
    "dead_end": "unregulated",
}
"""The citysim control of each SUMO junction type that citysim reads (a ``roundabout`` comes
from the net's ``<roundabout>`` elements, not from a type)."""

APPROXIMATED_TYPES = frozenset({"traffic_light_unregulated", "traffic_light_right_on_red"})
"""SUMO types read as a close but different control: a traffic light whose links do not yield
to each other or that allows turns on red."""

UNSUPPORTED_CONTROL = "priority"
"""The control of a junction whose SUMO type citysim does not read (``rail_crossing``, ...)."""

JUNCTION_TYPES = tuple(
    name for name in JUNCTION_CONTROLS if name in SUMO_CONTROLS and name not in (TRAFFIC_LIGHT, "zipper")
)
"""SUMO types that an exported unsignalized intersection without a ``junction`` may get:
``priority`` (the major road, by edge priority, goes first), ``allway_stop``,
``right_before_left``, ``left_before_right``, ``unregulated`` (nobody yields). A zipper
only merges two roads."""
