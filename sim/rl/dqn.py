"""Double DQN with a target network and experience replay, shared by every intersection.

One :class:`PhaseScorer` (the torch twin of :class:`sim.rl.policy.Policy`) scores each
phase of an intersection from :func:`sim.rl.features.phase_inputs`, so one set of weights
serves every intersection, whatever its number of phases; transitions of all agents go to
one replay memory per phase count. Targets are double-DQN
``r + gamma * Q_target(s', argmax_a Q_online(s', a))`` (van Hasselt et al. 2016) with a
Huber loss; the target network follows the online one by Polyak averaging.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch import nn

from sim.rl.features import N_PHASE_INPUTS, observation_size, phase_inputs
from sim.rl.policy import Policy

__all__ = ["DQNConfig", "DoubleDQN", "PhaseScorer", "ReplayMemory"]


@dataclass(frozen=True)
class DQNConfig:
    """Network and learning hyper-parameters.

    Attributes:
        hidden: Width of each hidden layer.
        layers: Number of hidden layers.
        gamma: Discount per decision interval.
        learning_rate: Adam step size.
        batch_size: Transitions per gradient step.
        memory_size: Transitions kept per phase count (oldest dropped first).
        min_memory: Transitions stored before learning starts.
        tau: Polyak factor of the target network per gradient step.
        grad_clip: Gradient norm clip.
    """

    hidden: int = 64
    layers: int = 2
    gamma: float = 0.9
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
        self.done = np.zeros(capacity, dtype=np.float32)
        self.count = 0

    def __len__(self) -> int:
        return min(self.count, self.capacity)

    def add(
        self, obs: np.ndarray, action: np.ndarray, reward: np.ndarray, next_obs: np.ndarray, done: np.ndarray
    ) -> None:
        """Store a batch of transitions (first axis: one per agent)."""
        idx = (self.count + np.arange(len(action))) % self.capacity
        self.obs[idx], self.action[idx], self.reward[idx] = obs, action, reward
        self.next_obs[idx], self.done[idx] = next_obs, done
        self.count += len(action)

    def sample(self, rng: np.random.Generator, n: int) -> tuple[np.ndarray, ...]:
        """``n`` transitions drawn uniformly with replacement: obs, action, reward, next obs, done."""
        idx = rng.integers(len(self), size=n)
        return self.obs[idx], self.action[idx], self.reward[idx], self.next_obs[idx], self.done[idx]

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


_MEMORY_ARRAYS = ("obs", "next_obs", "action", "reward", "done")


class DoubleDQN:
    """The learner: online and target scorers, optimizer and replay memories.

    Args:
        config: Hyper-parameters.
        seed: Seeds the weights and the replay sampling.
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

    def remember(
        self,
        n_phases: int,
        obs: np.ndarray,
        action: np.ndarray,
        reward: np.ndarray,
        next_obs: np.ndarray,
        done: np.ndarray,
    ) -> None:
        """Store a batch of transitions of intersections with ``n_phases`` phases."""
        memory = self.memories.get(n_phases)
        if memory is None:
            memory = self.memories[n_phases] = ReplayMemory(n_phases, self.config.memory_size)
        memory.add(obs, action, reward, next_obs, done)

    def learn(self) -> float | None:
        """One gradient step on a batch from one memory (chosen by size); None until ``min_memory``."""
        sizes = np.array([len(m) for m in self.memories.values()], dtype=float)
        if sizes.sum() < self.config.min_memory:
            return None
        memory = list(self.memories.values())[int(self.rng.choice(len(sizes), p=sizes / sizes.sum()))]
        obs, action, reward, next_obs, done = memory.sample(self.rng, self.config.batch_size)
        n = memory.n_phases
        x = torch.from_numpy(phase_inputs(obs, n))
        x_next = torch.from_numpy(phase_inputs(next_obs, n))
        with torch.no_grad():
            best = self.online(x_next).argmax(dim=-1, keepdim=True)
            q_next = self.target(x_next).gather(-1, best).squeeze(-1)
            target = torch.from_numpy(reward) + self.config.gamma * (1.0 - torch.from_numpy(done)) * q_next
        q = self.online(x).gather(-1, torch.from_numpy(action)[:, None]).squeeze(-1)
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
