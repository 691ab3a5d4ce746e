"""Traffic incidents and closures: the ``[[incidents]]`` scenario entries.

Lanes or whole roads closed, and speed limits, on links for a time; drivers on a closed lane
merge out, informed (equipped) drivers re-plan, the others re-plan when they reach a closed
road. Not the emergency calls of :mod:`sim.emergency`, which may name one as their location.
"""

from sim.closures.feature import ClosureFeature, attach
from sim.closures.metrics import delay_by_phase
from sim.closures.spec import ALL_LANES, ARRAY_KEY, LINK_SEPARATOR, Closure, Spec

__all__ = [
    "ALL_LANES",
    "ARRAY_KEY",
    "LINK_SEPARATOR",
    "Closure",
    "ClosureFeature",
    "Spec",
    "attach",
    "delay_by_phase",
]
