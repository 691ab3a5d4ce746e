"""Parking sensors and the information service that knows only what they report.

One :class:`ParkingSensor` watches one facility. A reading counts the taken spaces, each
space misread (reported in the opposite state) with probability ``error``, so a reading
of a facility with ``n`` taken of ``c`` spaces is
``Binomial(n, 1 - error) + Binomial(c - n, error)``. A reading reaches the service
``latency_s`` after it was taken. A sensor may fail at a given time; from then on it
reports nothing and the service keeps its last report. Readings are taken every
``interval_s`` or, with an interval of 0, at every change of occupancy (as in-ground
sensors do).
"""

from __future__ import annotations

import math
from collections import deque

import mesa
import numpy as np

from sim.services import Services

__all__ = ["ParkingInformation", "ParkingSensor"]


class ParkingInformation:
    """The parking-information service: the latest report per facility, delivered with latency.

    Args:
        capacity: Spaces per facility.
        on_change: Whether sensors report every change (else at intervals): then a count
            holds until the next report, so silence means no change. A failed sensor is
            silent too, and the service cannot tell it from a quiet one.
        latency_s: The sensors' reporting delay (s), known to the service.
    """

    def __init__(self, capacity: np.ndarray, on_change: bool = False, latency_s: float = 0.0) -> None:
        self.capacity = np.asarray(capacity, dtype=np.int64)
        self.on_change = on_change
        self.latency_s = latency_s
        self.reported = np.full(len(self.capacity), -1, dtype=np.int64)
        self.measured_s = np.full(len(self.capacity), math.nan)
        self._first_s = np.full(len(self.capacity), math.nan)
        self._taken = np.zeros(len(self.capacity), dtype=np.int64)
        self._pending: deque[tuple[float, int, int, float]] = deque()

    def post(self, facility: int, occupied: int, measured_s: float, deliver_s: float) -> None:
        """Queue a report of ``occupied`` spaces taken at ``measured_s``, arriving at ``deliver_s``.

        Reports must be posted in order of arrival time (one latency for every sensor does so).
        """
        self._pending.append((deliver_s, facility, occupied, measured_s))

    def update(self, time_s: float) -> None:
        """Take in every report that has arrived by ``time_s``."""
        pending = self._pending
        while pending and pending[0][0] <= time_s + 1e-9:
            _, facility, occupied, measured_s = pending.popleft()
            if self.reported[facility] >= 0:
                self._taken[facility] += max(0, occupied - int(self.reported[facility]))
            else:
                self._first_s[facility] = measured_s
            self.reported[facility] = occupied
            self.measured_s[facility] = measured_s

    def age_s(self, time_s: float) -> np.ndarray:
        """Per facility, how old the count it holds is at ``time_s`` (s); NaN before any report.

        With sensors that report every change it is the latency, else the time since the reading.
        """
        if self.on_change:
            return np.where(self.reported >= 0, self.latency_s, math.nan)
        return time_s - self.measured_s

    def fill_rate_per_s(self) -> np.ndarray:
        """Per facility, spaces taken per second as the reports show it (0 before two reports).

        The sum of the rises of the reported occupancy over the time spanned by the reports:
        only net changes between readings are visible, and misreadings count as changes.
        """
        span = self.measured_s - self._first_s
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(span > 0.0, self._taken / np.where(span > 0.0, span, 1.0), 0.0)

    def free_spaces(self, time_s: float) -> np.ndarray:
        """Reported free spaces per facility at ``time_s``; -1 where no report has arrived yet."""
        self.update(time_s)
        return np.where(self.reported >= 0, self.capacity - self.reported, -1)


class ParkingSensor(mesa.Agent):
    """A sensor that reports the occupancy of one facility to the information service.

    Args:
        model: The model.
        facility: Index of the facility it watches.
        capacity: The facility's spaces.
        service: Where its reports go.
        rng: Draws its miscounts.
        error: Probability that a space is misread in a reading, in [0, 1].
        latency_s: Delay from reading to arrival at the service (s).
        fails_at_s: Time it stops reporting (s); ``math.inf`` if it never fails.
    """

    def __init__(
        self,
        model: Services,
        facility: int,
        capacity: int,
        service: ParkingInformation,
        rng: np.random.Generator,
        error: float = 0.0,
        latency_s: float = 0.0,
        fails_at_s: float = math.inf,
    ) -> None:
        super().__init__(model)
        self.facility = facility
        self.capacity = capacity
        self.service = service
        self.noise = rng
        self.error = error
        self.latency_s = latency_s
        self.fails_at_s = fails_at_s
        self.readings = 0

    def read(self, occupied: int, time_s: float) -> None:
        """Count the taken spaces now (``occupied`` is the truth) and send the count on, unless failed."""
        if time_s >= self.fails_at_s:
            return
        reported = occupied
        if self.error > 0.0:
            kept = self.noise.binomial(occupied, 1.0 - self.error)
            reported = int(kept + self.noise.binomial(self.capacity - occupied, self.error))
        self.readings += 1
        self.service.post(self.facility, reported, time_s, time_s + self.latency_s)
