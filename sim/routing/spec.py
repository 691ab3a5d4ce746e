"""The ``[route_choice]`` scenario table: drivers who re-plan en route, and route sets from an assignment.

Every key has a default; a scenario without the table routes every trip once, on free-flow
times, as before. Example::

    [route_choice]
    equipped_share = 0.3          # drivers with navigation: they re-plan en route
    reroute_period_s = 120.0      # how often each of them re-plans (s)
    reroute_groups = 4            # in this many staggered groups (one every 30 s here)
    adaptation_interval_s = 10.0  # how often link travel times are sampled (s)
    adaptation_steps = 18         # moving average over this many samples (SUMO's adaptation-steps)
    route_set = "grid20_routes.json"   # written by `citysim assign`: each trip's route

As SUMO's rerouting device (``--device.rerouting.probability``, ``.period``,
``.adaptation-interval``, ``.adaptation-steps``, ``.adaptation-weight``).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

from sim.schema import SHARE, Context, integer, number, path, spec_field

__all__ = ["ROUTE_SET_SUFFIX", "Spec"]

ROUTE_SET_SUFFIX = ".json"
"""Suffix of a route set file (:mod:`sim.routing.route_sets`)."""


def _route_set(ctx: Context, key: str, value: Any) -> str:
    """An existing route set file, or ``""`` for none."""
    if value == "":
        return ""
    found: Path = path(ctx, key, value, suffixes=(ROUTE_SET_SUFFIX,))
    return str(found)


@dataclass(frozen=True)
class Spec:
    """The validated ``[route_choice]`` table (times in s, distances in m).

    Attributes:
        equipped_share: Share of the demand's drivers who re-plan en route (drawn per trip from
            the run's seed); the others keep their route unless a closure makes it impossible.
        reroute_period_s: An equipped driver re-plans its remaining route this often (from its
            departure on), from the next junction it can still choose a turn at, on the
            smoothed link travel times; at least ``adaptation_interval_s``.
        reroute_groups: The drivers re-plan in this many groups (by departure time), one group
            every ``reroute_period_s / reroute_groups``: fewer, larger batches cost less.
        adaptation_interval_s: The links' travel times are sampled this often: each link's
            length over the mean speed of the vehicles on it (its free-flow time when empty).
        adaptation_steps: The smoothed travel time is the mean of this many last samples.
        adaptation_weight: If > 0, exponential smoothing instead: each sample keeps this weight
            of the old value (SUMO's ``adaptation-weight``).
        min_gain: A new route replaces the old one only if it is quicker by more than this share
            of the old one's remaining time (SUMO's ``threshold.factor`` is 1 + this); 0: any gain.
        commit_m: A vehicle this close to its stop line keeps its next turn and re-plans from
            the link after it (its lane is chosen for that turn).
        route_set: A route set file written by ``citysim assign`` (``""``: none): each trip of
            the demand takes its route there before it departs.
    """

    equipped_share: float = spec_field(0.0, SHARE)
    reroute_period_s: float = spec_field(120.0, partial(number, ge=1.0, le=86_400.0))
    reroute_groups: int = spec_field(4, partial(integer, ge=1, le=1000))
    adaptation_interval_s: float = spec_field(10.0, partial(number, ge=1.0, le=3600.0))
    adaptation_steps: int = spec_field(18, partial(integer, ge=1, le=10_000))
    adaptation_weight: float = spec_field(0.0, partial(number, ge=0.0, le=0.999))
    min_gain: float = spec_field(0.0, partial(number, ge=0.0, le=0.9))
    commit_m: float = spec_field(50.0, partial(number, ge=0.0, le=1000.0))
    route_set: str = spec_field("", _route_set)

    def validate(self, ctx: Context) -> None:
        """Checks across keys.

        Raises:
            ScenarioError: If the period is shorter than the sampling interval.
        """
        if self.reroute_period_s < self.adaptation_interval_s:
            raise ctx.fail(
                "route_choice.reroute_period_s",
                f"a period >= route_choice.adaptation_interval_s ({self.adaptation_interval_s:g})",
                self.reroute_period_s,
            )
