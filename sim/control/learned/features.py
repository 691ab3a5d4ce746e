"""Observation features and rewards of one intersection, from its :class:`IntersectionView`.

The same code builds the environments' observations during training and the learned
controller's inputs at run time, so a policy sees at run time exactly what it learned on.
numpy only.

Observation of an intersection with ``P`` phases: a float32 vector of
``P * N_PHASE_FEATURES + N_GLOBAL_FEATURES`` values, phase blocks in the controller's phase
order followed by the global block. Per phase, over the movements the phase gives green:

====================  ===========================================================
``queue``             halted vehicles (speed < 0.1 m/s), summed, / ``QUEUE_SCALE_VEH``
``approaching``       moving vehicles within the observation horizon, summed, / ``QUEUE_SCALE_VEH``
``pressure``          the movements' max-pressure weights (:meth:`sim.control.base.Intersection.pressure`,
                      vehicle-lanes, Varaiya's), summed, / ``QUEUE_SCALE_VEH``; the only feature that may be
                      negative
``spillback``         what max-pressure's spillback weight takes off that pressure: lanes x vehicles fed
                      downstream x the exit's standing queue over its jam capacity x
                      ``SPILLBACK_WEIGHT``, summed, / ``QUEUE_SCALE_VEH`` (:mod:`sim.control.max_pressure`)
``waiting``           summed waiting time on the approach links, / ``WAITING_SCALE_S``
``upstream_occ``      mean occupancy (vehicles / jam capacity, 0..1) of the approach links
``downstream_full``   highest occupancy of the exit links (spillback blocks a green)
``lanes``             approach lanes serving the movements, summed, / ``LANES_SCALE`` (the
                      phase's saturation flow in lanes)
``served``            1 if the phase is green now, or comes next during yellow / all-red
``served_age``        ``served`` times the stage age feature: how long the served phase has run
``metered``           what max-pressure's entry metering takes off that pressure: lanes x vehicles of
                      the movements that enter the network x (1 - their weight under
                      ``ENTRY_METERING``, :func:`sim.control.base.entry_weight`), summed,
                      / ``QUEUE_SCALE_VEH`` (so ``pressure - spillback - metered`` is max-pressure's rule)
``idle``              1 if no vehicle of its movements is halted or within the horizon (the actuated
                      controller's empty detectors: a green with nobody to serve gaps out)
====================  ===========================================================

Global: ``green`` (1 in a green stage, 0 in yellow or all-red), ``stage_age`` (how long
the stage has run, / ``AGE_SCALE_S``, capped at ``MAX_AGE``) and ``can_switch`` (1 when
green and past the minimum green, so a request takes effect at once). Every feature is
clipped to [0, ``FEATURE_MAX``] (``pressure`` to [-``FEATURE_MAX``, ``FEATURE_MAX``]), far
beyond anything a real intersection reaches (``FEATURE_MAX * QUEUE_SCALE_VEH`` halted vehicles
per phase), so observations stay bounded.

Movements are summed per phase rather than listed one by one because a controller's
movements are ordered by connection index, not by geometry: per-phase features mean the
same thing at every intersection, whatever its phases (two-phase, protected lefts, an
imported multi-phase program), and :func:`phase_inputs` lets one network score every phase
with shared weights (a phase-agnostic scorer, as FRAP and MPLight are).

Rewards (per agent, after each decision interval), named in :data:`REWARDS`:

- ``"queue"`` (the default, and the shipped policy's): minus the halted vehicles on the
  approaches, / ``QUEUE_SCALE_VEH``. Its sum over time is the stopped delay at the
  intersection (in units of ``QUEUE_SCALE_VEH`` vehicle-intervals), the part of trip delay
  a signal controls; with n-step returns it also charges each switch for the vehicles that
  queue while yellow and all-red serve nobody.
- ``"pressure"``: minus the absolute pressure, ``|sum of approach occupancies - sum of
  exit occupancies|`` over the movements (PressLight's reward, in occupancy units).
- ``"waiting"``: the decrease of the summed waiting time on the approaches since the
  previous decision, / ``WAITING_SCALE_S`` (sumo-rl's default reward).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import TYPE_CHECKING

import numpy as np

from sim.control.base import Stage, entry_weight
from sim.control.max_pressure import MaxPressureSettings

if TYPE_CHECKING:
    from sim.control.base import IntersectionView

__all__ = [
    "AGE_SCALE_S",
    "ENTRY_METERING",
    "FEATURES_VERSION",
    "FEATURE_MAX",
    "GLOBAL_FEATURES",
    "LANES_SCALE",
    "MAX_AGE",
    "N_GLOBAL_FEATURES",
    "N_PHASE_FEATURES",
    "N_PHASE_INPUTS",
    "PHASE_FEATURES",
    "QUEUE_SCALE_VEH",
    "REWARDS",
    "SPILLBACK_WEIGHT",
    "WAITING_SCALE_S",
    "Reward",
    "observation_size",
    "observe",
    "phase_inputs",
    "requested_phase",
]

FEATURES_VERSION = 3
"""Bumped whenever the features change; a policy file records the version it was trained on."""

PHASE_FEATURES = (
    "queue",
    "approaching",
    "pressure",
    "waiting",
    "upstream_occ",
    "downstream_full",
    "lanes",
    "served",
    "served_age",
    "spillback",
    "metered",
    "idle",
)
"""Names of the per-phase features, in observation order."""

GLOBAL_FEATURES = ("green", "stage_age", "can_switch")
"""Names of the intersection-wide features, in observation order."""

N_PHASE_FEATURES = len(PHASE_FEATURES)
N_GLOBAL_FEATURES = len(GLOBAL_FEATURES)
N_PHASE_INPUTS = 2 * N_PHASE_FEATURES + N_GLOBAL_FEATURES
"""Width of one row of :func:`phase_inputs`: own features, the other phases' mean, global."""

QUEUE_SCALE_VEH = 10.0
"""Vehicles per unit of the queue and approaching features and of the queue reward."""

WAITING_SCALE_S = 300.0
"""Seconds of summed waiting time per unit of the waiting feature and reward."""

FEATURE_MAX = 100.0
"""Upper bound of every feature (they are clipped to it)."""

LANES_SCALE = 4.0
"""Approach lanes per unit of the ``lanes`` feature."""

AGE_SCALE_S = 60.0
"""Seconds of stage age per unit of the ``stage_age`` feature."""

MAX_AGE = 2.0
"""Cap of the ``stage_age`` feature (``2 * AGE_SCALE_S`` = 120 s)."""

SPILLBACK_WEIGHT = MaxPressureSettings().spillback_weight
"""Weight of the exit's standing queue in the ``spillback`` feature: max-pressure's default."""

ENTRY_METERING = MaxPressureSettings().entry_metering
"""Exponent of the ``metered`` feature's entry weight: max-pressure's default."""


_SUM_SCALES = np.array(
    [1.0 / QUEUE_SCALE_VEH, 1.0 / QUEUE_SCALE_VEH, 1.0 / QUEUE_SCALE_VEH, 1.0 / WAITING_SCALE_S]
)
_FEATURE_LOW = np.array([0.0, 0.0, -FEATURE_MAX, *(0.0,) * (len(PHASE_FEATURES) - 3)])


def observation_size(n_phases: int) -> int:
    """Length of the observation vector of an intersection with ``n_phases`` phases."""
    return n_phases * N_PHASE_FEATURES + N_GLOBAL_FEATURES


def observe(view: IntersectionView) -> np.ndarray:
    """The observation vector of one intersection (float32, see the module docstring)."""
    members = view.phase_movements.astype(np.float64)
    n_phases = len(members)
    queue, approaching, lanes = view.queue, view.approaching, view.movement_lanes
    exit_occupancy = view.downstream_occupancy
    per_movement = np.stack([queue, approaching, view.pressure, view.waiting_s], axis=1)
    phase = np.empty((n_phases, N_PHASE_FEATURES))
    phase[:, :4] = members @ per_movement * _SUM_SCALES
    phase[:, 4] = members @ view.upstream_occupancy / np.maximum(members.sum(axis=1), 1.0)
    phase[:, 5] = (members * exit_occupancy).max(axis=1, initial=0.0)
    phase[:, 6] = members @ lanes / LANES_SCALE
    green = view.stage == Stage.GREEN
    age = min(float(view.stage_age_s) / AGE_SCALE_S, MAX_AGE)
    phase[:, 7] = np.arange(n_phases) == (view.phase if green else view.next_phase)
    phase[:, 8] = phase[:, 7] * age
    held_back = lanes * view.downstream_vehicles * view.downstream_queue_occupancy
    phase[:, 9] = members @ held_back * (SPILLBACK_WEIGHT / QUEUE_SCALE_VEH)
    vehicles = queue + approaching
    kept_out = 1.0 - entry_weight(view.movement_enters, exit_occupancy, ENTRY_METERING)
    phase[:, 10] = members @ (lanes * vehicles * kept_out) / QUEUE_SCALE_VEH
    phase[:, 11] = members @ vehicles == 0.0
    np.clip(phase, _FEATURE_LOW, FEATURE_MAX, out=phase)
    glob = (float(green), age, float(green and view.stage_age_s >= view.min_green_s - 1e-9))
    return np.concatenate([phase.ravel(), glob]).astype(np.float32)


def phase_inputs(obs: np.ndarray, n_phases: int) -> np.ndarray:
    """Rearrange observations into one input row per phase for a shared phase scorer.

    Row ``p`` holds phase ``p``'s features, the mean of the other phases' features (zeros
    for a single phase) and the global features, so the same weights score every phase and
    swapping two phases swaps their scores.

    Args:
        obs: Observations, shape ``(..., observation_size(n_phases))``.
        n_phases: Phases of the intersection.

    Returns:
        float32 array of shape ``(..., n_phases, N_PHASE_INPUTS)``.

    Raises:
        ValueError: If the last axis does not fit ``n_phases``.
    """
    obs = np.asarray(obs, dtype=np.float32)
    if n_phases < 1 or obs.shape[-1] != observation_size(n_phases):
        raise ValueError(
            f"expected observations of length {observation_size(max(n_phases, 1))} for {n_phases} "
            f"phase(s), got shape {obs.shape}"
        )
    split = n_phases * N_PHASE_FEATURES
    own = obs[..., :split].reshape(*obs.shape[:-1], n_phases, N_PHASE_FEATURES)
    glob = np.broadcast_to(obs[..., None, split:], (*obs.shape[:-1], n_phases, N_GLOBAL_FEATURES))
    others = (own.sum(axis=-2, keepdims=True) - own) / max(n_phases - 1, 1)
    return np.concatenate([own, others, glob], axis=-1)


def requested_phase(view: IntersectionView, action: int) -> int | None:
    """The phase a controller requests for ``action``, or None to leave the signal alone.

    During yellow and all-red the next phase is already fixed and a request would only
    queue a change after it, so actions then are ignored.
    """
    return int(action) if view.stage == Stage.GREEN else None


@dataclass(frozen=True)
class Reward:
    """A per-agent reward from an intersection's cost at consecutive decisions.

    Attributes:
        cost: Cost of the intersection's state (the feature units of the module docstring).
        change: If True, the reward is the decrease of the cost since the previous decision;
            otherwise it is minus the cost after the decision interval.
    """

    cost: Callable[[IntersectionView], float]
    change: bool

    def __call__(self, cost_before: float, cost_after: float) -> float:
        """Reward for one decision interval, from the costs at its start and end."""
        return cost_before - cost_after if self.change else -cost_after


def _queue_cost(view: IntersectionView) -> float:
    return float(view.queue.sum()) / QUEUE_SCALE_VEH


def _pressure_cost(view: IntersectionView) -> float:
    return abs(float(view.upstream_occupancy.sum() - view.downstream_occupancy.sum()))


def _waiting_cost(view: IntersectionView) -> float:
    return float(view.waiting_s.sum()) / WAITING_SCALE_S


REWARDS: Mapping[str, Reward] = MappingProxyType(
    {
        "queue": Reward(_queue_cost, change=False),
        "pressure": Reward(_pressure_cost, change=False),
        "waiting": Reward(_waiting_cost, change=True),
    }
)
"""Reward name -> :class:`Reward` (see the module docstring)."""
