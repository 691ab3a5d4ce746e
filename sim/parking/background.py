"""Background parkers: arrivals and departures of vehicles that are not simulated trips.

Each facility is an Erlang loss system: background parkers arrive as a Poisson stream,
stay an exponential time (mean ``background_stay_s``, capped at the facility's maximum
stay) and go elsewhere if they find it full. The arrival rate of each facility is set
so that its stationary occupancy equals the target (``occupancy`` for streets,
``garage_occupancy`` for garages), and the run starts from a draw of that stationary
distribution (a Poisson distribution truncated at the capacity). Simulated drivers take
spaces on top, so occupancy drifts above the target where many of them park.

The process advances in steps of ``background_step_s``: per facility, departures are
binomial (each parker leaves with probability ``1 - exp(-dt / stay)``), then arrivals
are Poisson and fill free spaces only.
"""

from __future__ import annotations

import functools
import math

import numpy as np

from sim.parking.supply import GARAGE, Facility, Occupancy

__all__ = ["BackgroundParkers", "erlang_load"]

_MAX_LOAD_PER_SPACE = 1e6


@functools.cache
def erlang_load(capacity: int, occupancy: float) -> float:
    """Offered load (Erlangs) at which an Erlang loss system of ``capacity`` servers is ``occupancy`` busy.

    The carried load is ``a * (1 - B(c, a))`` with ``B`` Erlang's loss formula; it grows
    with ``a`` towards ``c``. Found by bisection on ``log a``; an occupancy of 1 returns
    ``1e6 * capacity`` (every space refilled at once).

    Args:
        capacity: Number of spaces (>= 1).
        occupancy: Target share of busy spaces in [0, 1].

    Returns:
        The offered load ``a`` = arrival rate x mean stay.
    """
    if occupancy <= 0.0:
        return 0.0
    high = _MAX_LOAD_PER_SPACE * capacity
    if occupancy >= 1.0:
        return high
    low = 1e-9
    for _ in range(200):
        mid = math.sqrt(low * high)
        blocking = 1.0
        for k in range(1, capacity + 1):
            blocking = mid * blocking / (k + mid * blocking)
        if mid * (1.0 - blocking) / capacity < occupancy:
            low = mid
        else:
            high = mid
    return math.sqrt(low * high)


def _stationary_draw(capacity: int, load: float, rng: np.random.Generator) -> int:
    """A draw of the busy servers of an Erlang loss system: Poisson(load) truncated at capacity."""
    if load <= 0.0:
        return 0
    n = np.arange(capacity + 1)
    log_p = n * math.log(load) - np.array([math.lgamma(k + 1.0) for k in n.tolist()])
    p = np.exp(log_p - log_p.max())
    return int(rng.choice(capacity + 1, p=p / p.sum()))


class BackgroundParkers:
    """The background parkers of every facility.

    Args:
        facilities: The facilities.
        street_occupancy: Target occupancy of streets in [0, 1].
        garage_occupancy: Target occupancy of garages in [0, 1].
        mean_stay_s: Mean stay of a background parker (s), capped per facility at its
            maximum stay.
        rng: The stream of background arrivals, departures and initial counts.
    """

    def __init__(
        self,
        facilities: list[Facility],
        street_occupancy: float,
        garage_occupancy: float,
        mean_stay_s: float,
        rng: np.random.Generator,
    ) -> None:
        self.rng = rng
        self.stay_s = np.array([min(mean_stay_s, f.max_stay_s) for f in facilities])
        targets = [garage_occupancy if f.kind == GARAGE else street_occupancy for f in facilities]
        self.load = np.array([erlang_load(f.capacity, t) for f, t in zip(facilities, targets, strict=True)])
        self.targets = np.array(targets)
        self._facilities = facilities

    def initial_counts(self) -> np.ndarray:
        """Background parkers at the start: the listed counts, else stationary draws."""
        return np.array(
            [
                f.initial if f.initial is not None else _stationary_draw(f.capacity, load, self.rng)
                for f, load in zip(self._facilities, self.load.tolist(), strict=True)
            ],
            dtype=np.int64,
        )

    def step(self, occupancy: Occupancy, dt_s: float, time_s: float) -> None:
        """Advance the background parkers by ``dt_s`` seconds: departures, then arrivals into free spaces."""
        rng = self.rng
        stay = occupancy.background - rng.binomial(occupancy.background, -np.expm1(-dt_s / self.stay_s))
        arrivals = rng.poisson(self.load / self.stay_s * dt_s)
        room = occupancy.capacity - occupancy.drivers - stay
        occupancy.set_background(stay + np.minimum(arrivals, room), time_s)
