"""What a driver believes about free parking, and the chance a believed space is still free.

A guided driver believes the information service: its reported free spaces, the rate at
which it has seen spaces taken, and the age of each report. A driver without information
knows only where the garages are and how big they are.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from sim.parking.sensors import ParkingInformation

__all__ = ["Belief", "poisson_at_least"]


@dataclass(frozen=True)
class Belief:
    """What a driver believes of every facility: free spaces, how fast they fill, how old the news is.

    Attributes:
        free: Free spaces per facility (< 1: not worth a try).
        fill_rate_per_s: Spaces taken per second.
        age_s: Age of the count (s).
    """

    free: np.ndarray
    fill_rate_per_s: np.ndarray
    age_s: np.ndarray

    @classmethod
    def from_service(cls, service: ParkingInformation, time_s: float) -> Belief:
        """What the information service reports at ``time_s``."""
        free = service.free_spaces(time_s)
        age = np.nan_to_num(service.age_s(time_s), nan=0.0)
        return cls(free, service.fill_rate_per_s(), age)

    @classmethod
    def static(cls, free: np.ndarray) -> Belief:
        """Fixed free spaces that neither fill nor age (what a driver knows without information)."""
        zeros = np.zeros(len(free))
        return cls(free, zeros, zeros)


def poisson_at_least(mean: float, count: int) -> float:
    """Probability that a Poisson variable of ``mean`` is at least ``count``."""
    if count <= 0:
        return 1.0
    if mean <= 0.0:
        return 0.0
    term = below = math.exp(-mean)
    for i in range(1, count):
        term *= mean / i
        below += term
    return max(0.0, 1.0 - below)
