"""Signal lights by name: the kernel's connection states as the probes' frames carry them."""

from __future__ import annotations

import numpy as np

from sim.traffic import kernel as k

__all__ = ["SIGNAL_STATES", "light_names"]

SIGNAL_STATES = {k.RED: "red", k.YELLOW: "yellow", k.GREEN: "green"}
"""Kernel connection state -> the name of its light in the frames of :mod:`sim.metrics.frames`."""


def light_names(states: np.ndarray) -> np.ndarray:
    """The name of each kernel connection state in ``states`` (``"red"``, ``"yellow"``, ``"green"``)."""
    return np.array([SIGNAL_STATES[int(state)] for state in states], dtype=str)
