"""Double DQN with a target network and experience replay, shared by every intersection.

One :class:`PhaseScorer` (the torch twin of :class:`sim.control.learned.policy.Policy`) scores each
phase of an intersection from :func:`sim.control.learned.features.phase_inputs`, so one set of weights
serves every intersection, whatever its number of phases; transitions of all agents go to
one replay memory per phase count. Targets are n-step double-DQN,
``R_n + gamma**n * Q_target(s_n, argmax_a Q_online(s_n, a))`` (van Hasselt et al. 2016;
``R_n`` the discounted rewards of the next ``n`` decisions, :class:`NStepReturns`), with a
Huber loss; the target network follows the online one by Polyak averaging. The n-step
returns matter: with one-step ones the learned policy switched every ~10 s, because the
cost of a switch (yellow and all-red serve nobody) reached the decision that caused it too
slowly, and lost capacity at heavy demand.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch import nn

from sim.control.learned.features import N_PHASE_INPUTS, observation_size, phase_inputs
from sim.control.learned.policy import Policy

__all__ = ["DQNConfig", "DoubleDQN", "NStepReturns", "PhaseScorer", "ReplayMemory", "Transitions"]


@dataclass(frozen=True)
class DQNConfig:
    """Network and learning hyper-parameters.

    Attributes:
        hidden: Width of each hidden layer.
        layers: Number of hidden layers.
        gamma: Discount per decision interval.
        n_step: Decisions summed in a return before bootstrapping.
        learning_rate: Adam step size.
        batch_size: Transitions per gradient step.
        memory_size: Transitions kept per phase count (oldest dropped first).
        min_memory: Transitions stored before learning starts.
        tau: Polyak factor of the target network per gradient step.
        grad_clip: Gradient norm clip.
    """

    hidden: int = 64
    layers: int = 2
    gamma: float = 0.95
    n_step: int = 5
    learning_rate: float = 5e-4
    batch_size: int = 128
    memory_size: int = 100_000
    min_memory: int = 2_000
    tau: float = 0.01
    grad_clip: float = 10.0


class PhaseScorer(nn.Module):
    """A ReLU network from one phase's input row to that phase's Q-value.

    Args:
        hidden: Width of each hidden layer.
        layers: Number of hidden layers.
    """

    def __init__(self, hidden: int, layers: int) -> None:
        super().__init__()
        widths = [N_PHASE_INPUTS] + [hidden] * layers
        modules: list[nn.Module] = []
        for width_in, width_out in zip(widths[:-1], widths[1:], strict=True):
            modules += [nn.Linear(width_in, width_out), nn.ReLU()]
        modules.append(nn.Linear(widths[-1], 1))
        self.net = nn.Sequential(*modules)

    def forward(self, inputs: torch.Tensor) -> torch.Tensor:
        """Q-values, shape ``inputs.shape[:-1]``, from phase input rows ``(..., P, N_PHASE_INPUTS)``."""
        return self.net(inputs).squeeze(-1)

    def to_policy(self, decision_interval_s: float) -> Policy:
        """The numpy :class:`Policy` with these weights (layers as ``(inputs, outputs)`` matrices)."""
        linears = [m for m in self.net if isinstance(m, nn.Linear)]
        weights = tuple(
            (m.weight.detach().numpy().T.astype(np.float32), m.bias.detach().numpy().astype(np.float32))
            for m in linears
        )
        return Policy(weights, float(decision_interval_s))


@dataclass(frozen=True)
class Transitions:
    """A batch of (n-step) transitions, first axis one per transition.

    Attributes:
        obs: Observations where the actions were taken.
        action: Actions (phase indices).
        reward: Discounted reward sums over the steps until ``next_obs``.
        next_obs: Observations the returns bootstrap from.
        discount: Factor of the bootstrap value: ``gamma ** steps``, 0 after a termination.
    """

    obs: np.ndarray
    action: np.ndarray
    reward: np.ndarray
    next_obs: np.ndarray
    discount: np.ndarray


class NStepReturns:
    """Turns one-step transitions of a fixed group of agents into n-step ones.

    Args:
        n_step: Steps per return.
        gamma: Discount per step.
    """

    def __init__(self, n_step: int, gamma: float) -> None:
        self.n_step = n_step
        self.gamma = gamma
        self._pending: deque[tuple[np.ndarray, np.ndarray, np.ndarray]] = deque()

    def push(
        self, obs: np.ndarray, action: np.ndarray, reward: np.ndarray, next_obs: np.ndarray, terminated: bool
    ) -> list[Transitions]:
        """Add one step of every agent of the group; return the transitions now complete.

        After a termination every pending step is returned, without bootstrap.
        """
        self._pending.append((obs, action, reward))
        if terminated:
            return self._drain(next_obs, bootstrap=False)
        if len(self._pending) < self.n_step:
            return []
        return [self._pop(next_obs, bootstrap=True)]

    def flush(self, next_obs: np.ndarray) -> list[Transitions]:
        """At a truncation: return every pending step, bootstrapping from ``next_obs``."""
        return self._drain(next_obs, bootstrap=True)

    def _drain(self, next_obs: np.ndarray, bootstrap: bool) -> list[Transitions]:
        out = []
        while self._pending:
            out.append(self._pop(next_obs, bootstrap))
        return out

    def _pop(self, next_obs: np.ndarray, bootstrap: bool) -> Transitions:
        steps = len(self._pending)
        total = sum(self.gamma**i * reward for i, (_, _, reward) in enumerate(self._pending))
        obs, action, _ = self._pending.popleft()
        discount = self.gamma**steps if bootstrap else 0.0
        return Transitions(
            obs,
            action,
            np.asarray(total, dtype=np.float32),
            next_obs,
            np.full(len(action), discount, np.float32),
        )


class ReplayMemory:
    """A ring buffer of transitions of intersections with ``n_phases`` phases.

    Args:
        n_phases: Phases of the intersections whose transitions it holds.
        capacity: Transitions kept; the oldest are overwritten.
    """

    def __init__(self, n_phases: int, capacity: int) -> None:
        size = observation_size(n_phases)
        self.n_phases = n_phases
        self.capacity = capacity
        self.obs = np.zeros((capacity, size), dtype=np.float32)
        self.next_obs = np.zeros((capacity, size), dtype=np.float32)
        self.action = np.zeros(capacity, dtype=np.int64)
        self.reward = np.zeros(capacity, dtype=np.float32)
        self.discount = np.zeros(capacity, dtype=np.float32)
        self.count = 0

    def __len__(self) -> int:
        return min(self.count, self.capacity)

    def add(self, batch: Transitions) -> None:
        """Store a batch of transitions."""
        idx = (self.count + np.arange(len(batch.action))) % self.capacity
        self.obs[idx], self.action[idx], self.reward[idx] = batch.obs, batch.action, batch.reward
        self.next_obs[idx], self.discount[idx] = batch.next_obs, batch.discount
        self.count += len(batch.action)

    def sample(self, rng: np.random.Generator, n: int) -> Transitions:
        """``n`` transitions drawn uniformly with replacement."""
        idx = rng.integers(len(self), size=n)
        return Transitions(
            self.obs[idx], self.action[idx], self.reward[idx], self.next_obs[idx], self.discount[idx]
        )

    def state(self) -> dict[str, Any]:
        """Everything needed to restore the memory (for checkpoints)."""
        n = len(self)
        return {
            "n_phases": self.n_phases,
            "count": self.count,
            **{name: getattr(self, name)[:n].copy() for name in _MEMORY_ARRAYS},
        }

    def restore(self, state: dict[str, Any]) -> None:
        """Load a :meth:`state`."""
        n = len(state["action"])
        for name in _MEMORY_ARRAYS:
            getattr(self, name)[:n] = state[name]
        self.count = int(state["count"])


_MEMORY_ARRAYS = ("obs", "next_obs", "action", "reward", "discount")


class DoubleDQN:
    """The learner: online and target scorers, optimizer and replay memories.

    Args:
        config: Hyper-parameters.
        seed: Seeds the weights (through ``torch.manual_seed``) and the replay sampling.
    """

    def __init__(self, config: DQNConfig, seed: int) -> None:
        self.config = config
        torch.manual_seed(seed)
        self.online = PhaseScorer(config.hidden, config.layers)
        self.target = PhaseScorer(config.hidden, config.layers)
        self.target.load_state_dict(self.online.state_dict())
        self.target.requires_grad_(False)
        self.optimizer = torch.optim.Adam(self.online.parameters(), lr=config.learning_rate)
        self.memories: dict[int, ReplayMemory] = {}
        self.rng = np.random.default_rng(seed)
        self.updates = 0

    def q_values(self, obs: np.ndarray, n_phases: int) -> np.ndarray:
        """Online Q-values of a batch of observations, shape ``(batch, n_phases)``."""
        with torch.no_grad():
            return self.online(torch.from_numpy(phase_inputs(obs, n_phases))).numpy()

    def remember(self, n_phases: int, batch: Transitions) -> None:
        """Store transitions of intersections with ``n_phases`` phases."""
        memory = self.memories.get(n_phases)
        if memory is None:
            memory = self.memories[n_phases] = ReplayMemory(n_phases, self.config.memory_size)
        memory.add(batch)

    def learn(self) -> float | None:
        """One gradient step on a batch from one memory (chosen by size); None until ``min_memory``."""
        sizes = np.array([len(m) for m in self.memories.values()], dtype=float)
        if sizes.sum() < self.config.min_memory:
            return None
        memory = list(self.memories.values())[int(self.rng.choice(len(sizes), p=sizes / sizes.sum()))]
        batch = memory.sample(self.rng, self.config.batch_size)
        n = memory.n_phases
        x = torch.from_numpy(phase_inputs(batch.obs, n))
        x_next = torch.from_numpy(phase_inputs(batch.next_obs, n))
        with torch.no_grad():
            best = self.online(x_next).argmax(dim=-1, keepdim=True)
            q_next = self.target(x_next).gather(-1, best).squeeze(-1)
            target = torch.from_numpy(batch.reward) + torch.from_numpy(batch.discount) * q_next
        q = self.online(x).gather(-1, torch.from_numpy(batch.action)[:, None]).squeeze(-1)
        loss = nn.functional.smooth_l1_loss(q, target)
        self.optimizer.zero_grad()
        loss.backward()
        nn.utils.clip_grad_norm_(self.online.parameters(), self.config.grad_clip)
        self.optimizer.step()
        with torch.no_grad():
            for p_target, p_online in zip(self.target.parameters(), self.online.parameters(), strict=True):
                p_target.lerp_(p_online, self.config.tau)
        self.updates += 1
        return loss.item()

    def state(self) -> dict[str, Any]:
        """Everything needed to resume learning (for checkpoints)."""
        return {
            "online": self.online.state_dict(),
            "target": self.target.state_dict(),
            "optimizer": self.optimizer.state_dict(),
            "memories": [m.state() for m in self.memories.values()],
            "rng": self.rng.bit_generator.state,
            "updates": self.updates,
        }

    def restore(self, state: dict[str, Any]) -> None:
        """Load a :meth:`state`."""
        self.online.load_state_dict(state["online"])
        self.target.load_state_dict(state["target"])
        self.optimizer.load_state_dict(state["optimizer"])
        self.memories = {}
        for memory_state in state["memories"]:
            memory = ReplayMemory(int(memory_state["n_phases"]), self.config.memory_size)
            memory.restore(memory_state)
            self.memories[memory.n_phases] = memory
        self.rng.bit_generator.state = state["rng"]
        self.updates = int(state["updates"])
