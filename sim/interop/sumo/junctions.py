"""SUMO junction types that an exported unsignalized intersection may get."""

__all__ = ["JUNCTION_TYPES"]

JUNCTION_TYPES = ("priority", "unregulated", "right_before_left", "allway_stop")
"""``priority`` (the major road, by edge priority, goes first), ``unregulated`` (nobody
yields: citysim's own rule but for permitted left turns), ``right_before_left``, ``allway_stop``."""
