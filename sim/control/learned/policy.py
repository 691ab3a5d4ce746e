"""A trained signal policy: its ``.npz`` file format and its numpy forward pass.

The policy is a shared phase scorer: a small ReLU network maps each row of
:func:`sim.control.learned.features.phase_inputs` (one per phase) to that phase's Q-value, and the
greedy action is the phase with the highest value. The same weights serve every
intersection, whatever its number of phases. numpy only: running a policy needs no PyTorch.

File format (``numpy.savez``): ``w0, b0, w1, b1, ...`` the layers' weights, shape
``(inputs, outputs)``, and biases; ``features_version``; ``decision_interval_s`` (the
interval the policy was trained at, s). A JSON sidecar beside it (``<name>.json``) describes
the training; it is informative and not needed to run. The shipped policy is a single linear
layer learned by :mod:`sim.rl.search`; ``citysim train`` writes deeper ones (DQN).
"""

from __future__ import annotations

import os
import zipfile
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

from sim.control.learned.features import FEATURES_VERSION, N_PHASE_INPUTS, phase_inputs
from sim.rl.files import atomic_open

__all__ = ["BUILTIN", "BUILTIN_POLICY", "Policy", "PolicyError", "load_policy", "save_policy"]

BUILTIN = "builtin"
"""The name that selects the policy shipped with citysim."""

BUILTIN_POLICY = Path(__file__).resolve().parents[2] / "data" / "policies" / "builtin.npz"
"""The shipped policy file."""


class PolicyError(ValueError):
    """A policy file that is missing, unreadable or does not fit the current features.

    Attributes:
        path: The policy file.
    """

    def __init__(self, path: str | os.PathLike[str], problem: str) -> None:
        super().__init__(f"{path}: {problem}")
        self.path = str(path)


@dataclass(frozen=True, eq=False)
class Policy:
    """The weights of a shared phase scorer.

    Attributes:
        weights: ``(W, b)`` per layer, ``W`` of shape ``(inputs, outputs)``; ReLU between
            layers; the last layer has one output.
        decision_interval_s: Decision interval the policy was trained at (s).
        features_version: :data:`sim.control.learned.features.FEATURES_VERSION` at training time.
    """

    weights: tuple[tuple[np.ndarray, np.ndarray], ...]
    decision_interval_s: float
    features_version: int = FEATURES_VERSION

    def q_values(self, obs: np.ndarray, n_phases: int) -> np.ndarray:
        """Q-value of each phase, shape ``obs.shape[:-1] + (n_phases,)``.

        Args:
            obs: Observations from :func:`sim.control.learned.features.observe`, shape ``(..., size)``.
            n_phases: Phases of the intersection.
        """
        h = phase_inputs(obs, n_phases)
        last = len(self.weights) - 1
        for i, (w, b) in enumerate(self.weights):
            h = h @ w + b
            if i < last:
                np.maximum(h, 0.0, out=h)
        return h[..., 0]

    def act(self, obs: np.ndarray, n_phases: int) -> int:
        """The greedy action for one observation: the phase with the highest Q-value."""
        return int(np.argmax(self.q_values(obs, n_phases)))


def save_policy(policy: Policy, path: str | os.PathLike[str]) -> Path:
    """Write ``policy`` to a ``.npz`` file atomically (a crash leaves the old file or none).

    Returns:
        The path written.
    """
    target = Path(path)
    arrays: dict[str, np.ndarray] = {
        "features_version": np.array(policy.features_version, dtype=np.int64),
        "decision_interval_s": np.array(policy.decision_interval_s, dtype=np.float64),
    }
    for i, (w, b) in enumerate(policy.weights):
        arrays[f"w{i}"] = np.asarray(w, dtype=np.float32)
        arrays[f"b{i}"] = np.asarray(b, dtype=np.float32)
    with atomic_open(target) as handle:
        np.savez(handle, **arrays)
    return target


def load_policy(source: str | os.PathLike[str]) -> Policy:
    """Read a policy file, or the shipped one for ``"builtin"``.

    Loaded files are cached by path and modification time, so every intersection of a
    model shares one :class:`Policy`.

    Raises:
        PolicyError: If the file is missing or unreadable, or its arrays do not form a
            phase scorer for the current features.
    """
    path = BUILTIN_POLICY if str(source) == BUILTIN else Path(source).resolve()
    try:
        mtime_ns = path.stat().st_mtime_ns
    except OSError as exc:
        raise PolicyError(path, f"cannot read policy file: {exc.strerror or exc}") from None
    return _load(path, mtime_ns)


@lru_cache(maxsize=8)
def _load(path: Path, mtime_ns: int) -> Policy:
    if not zipfile.is_zipfile(path):
        raise PolicyError(
            path, "expected a numpy .npz policy file (a zip archive of arrays), got another format"
        )
    try:
        with np.load(path, allow_pickle=False) as data:
            arrays = {name: data[name] for name in data.files}
    except (OSError, ValueError, zipfile.BadZipFile) as exc:
        raise PolicyError(path, f"expected a numpy .npz policy file: {exc}") from None
    for name in ("features_version", "decision_interval_s", "w0", "b0"):
        if name not in arrays:
            raise PolicyError(path, f"missing array {name!r}; the file has {sorted(arrays)}")
    version = int(arrays["features_version"])
    if version != FEATURES_VERSION:
        raise PolicyError(
            path,
            f"trained on features version {version}, this citysim computes version {FEATURES_VERSION}; "
            "train the policy again",
        )
    layers = []
    width = N_PHASE_INPUTS
    while f"w{len(layers)}" in arrays:
        i = len(layers)
        w, b = arrays[f"w{i}"], arrays.get(f"b{i}")
        if w.ndim != 2 or w.shape[0] != width or b is None or b.shape != (w.shape[1],):
            raise PolicyError(
                path,
                f"layer {i}: expected w{i} of shape ({width}, n) and b{i} of shape (n,), got "
                f"{w.shape} and {None if b is None else b.shape}",
            )
        layers.append((w.astype(np.float32), b.astype(np.float32)))
        width = w.shape[1]
    if width != 1:
        raise PolicyError(path, f"expected the last layer to have 1 output (a phase's value), got {width}")
    interval_s = float(arrays["decision_interval_s"])
    if not interval_s > 0.0:
        raise PolicyError(path, f"expected decision_interval_s > 0, got {interval_s}")
    return Policy(tuple(layers), interval_s, version)
