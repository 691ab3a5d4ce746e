"""Signal lights by name: the kernel's connection states as the probes' frames carry them."""

from __future__ import annotations

import numpy as np

from sim.traffic.codes import GREEN, RED, YELLOW

__all__ = ["SIGNAL_STATES", "light_names"]

SIGNAL_STATES = {RED: "red", YELLOW: "yellow", GREEN: "green"}
"""Kernel connection state -> the name of its light in the frames of :mod:`sim.metrics.frames`."""


def light_names(states: np.ndarray) -> np.ndarray:
    """The name of each kernel connection state in ``states`` (``"red"``, ``"yellow"``, ``"green"``)."""
    return np.array([SIGNAL_STATES[int(state)] for state in states], dtype=str)
