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
