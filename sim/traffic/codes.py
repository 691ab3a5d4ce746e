"""The small integer codes the kernel shares with the network compiler, controllers and readers.

These are values found in the arrays that :class:`sim.traffic.state.TrafficState` hands out
(connection states, signal stages, vehicle statuses, event kinds) and in the compiled
network (turn kinds). They are plain ``int``s, not enums, because the numba kernel compares
against them in its inner loops. Where the arrays themselves sit, their row layout, is private
to ``sim/traffic/``.
"""

from __future__ import annotations

__all__ = [
    "EV_APPROACH",
    "FOE_CONFLICT",
    "FOE_FIRST_COME",
    "FOE_YIELD",
    "GAP_CLASSES",
    "HCM_GAPS_S",
    "RULE_ALLWAY",
    "RULE_FREE",
    "RULE_STOP",
    "RULE_YIELD",
    "EV_STOP",
    "GREEN",
    "HALT_MPS",
    "RED",
    "STAGE_ALL_RED",
    "STAGE_GREEN",
    "STAGE_YELLOW",
    "ST_ARRIVED",
    "ST_ON_NETWORK",
    "ST_SCHEDULED",
    "ST_WAITING",
    "TURN_LEFT",
    "TURN_RIGHT",
    "TURN_THROUGH",
    "TURN_UTURN",
    "YELLOW",
]

# Connection signal states, ordered from least to most permissive.
RED, YELLOW, GREEN = 0, 1, 2
# Stages of a signal's cycle: its phase's green, then yellow and all-red before the next one.
STAGE_GREEN, STAGE_YELLOW, STAGE_ALL_RED = range(3)
# Vehicle statuses: scheduled, released into the entry queue of its first link, on a lane, arrived.
ST_SCHEDULED, ST_WAITING, ST_ON_NETWORK, ST_ARRIVED = range(4)
# Kinds of events an agent's vehicle raises: near the end of its route, halted there.
EV_APPROACH, EV_STOP = 0, 1
# Turn kinds of a connection (a movement from an in-edge to an out-edge).
TURN_THROUGH, TURN_RIGHT, TURN_LEFT, TURN_UTURN = 0, 1, 2, 3

HALT_MPS = 0.1
"""Speed below which a vehicle counts as halted: stops, queues and waiting time (m/s)."""

# How a connection passes its junction: no right of way to give (it may still find the junction
# occupied); give way with gap acceptance; halt at the stop line first, then give way; halt,
# then go first come, first served (all-way stop).
RULE_FREE, RULE_YIELD, RULE_STOP, RULE_ALLWAY = range(4)
# How a connection stands to one of its foes (a connection it conflicts with): only never in
# the junction at the same time; it gives way to the foe; the one that halted first goes first.
FOE_CONFLICT, FOE_YIELD, FOE_FIRST_COME = range(3)

GAP_CLASSES = (
    "none",
    "signal_left",
    "major_left",
    "minor_right",
    "minor_through",
    "minor_left",
    "stop_right",
    "stop_through",
    "stop_left",
    "roundabout_entry",
)
"""Movements with their own critical gap and follow-up time, by index (``conn_gap_class``): a
permitted turn at a signal; a left turn from the major road; a minor road's right, through and
left movement at a priority junction (and at a right-before-left one), and behind a stop sign;
an entry into a roundabout."""

HCM_GAPS_S = {
    "major_left": (4.1, 2.2),
    "minor_right": (6.2, 3.3),
    "minor_through": (6.5, 4.0),
    "minor_left": (7.1, 3.5),
    "stop_right": (6.2, 3.3),
    "stop_through": (6.5, 4.0),
    "stop_left": (7.1, 3.5),
    "roundabout_entry": (5.19, 3.19),
}
"""Critical gap and follow-up time (s) of each class that gives way at an unsignalized junction:
the base values of the HCM 2010 for two-way stop-controlled intersections with a two-lane
major street (Exhibit 19-10; its procedure covers yield-controlled approaches too), and for a
single-lane roundabout entry (eq. 21-1, ``c = 1130 exp(-0.001 v_c)``, from Siegloch's formula
with these two values). ``signal_left`` takes the scenario's ``critical_gap_s`` and no
follow-up time."""
