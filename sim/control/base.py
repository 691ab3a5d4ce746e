"""The signal controller interface: one Mesa agent per signalized intersection."""

from __future__ import annotations

import mesa

__all__ = ["SignalController"]


class SignalController(mesa.Agent):
    """Chooses the phases of one signalized intersection.

    The intersection itself (the kernel) enforces minimum green, yellow and all-red, so
    a controller only requests phases; it cannot make an unsafe switch. The model calls
    :meth:`decide` when the simulated time reaches :attr:`next_decision_s`.

    Attributes:
        signal: Index of the signal in the compiled network.
        node: Node id of the intersection.
        phases: Global phase indices of this intersection, in cycle order.
        next_decision_s: Simulated time (s) of the next call to :meth:`decide`.
    """

    def __init__(self, model: mesa.Model, signal: int, node: str, phases: tuple[int, ...]) -> None:
        super().__init__(model)
        self.signal = signal
        self.node = node
        self.phases = phases
        self.next_decision_s = 0.0

    def start(self) -> tuple[int, float]:
        """The phase to start with (index into :attr:`phases`) and how long it has run (s)."""
        return 0, 0.0

    def decide(self, now_s: float) -> int | None:
        """Return the index into :attr:`phases` to request, or None to keep the current one.

        Implementations also set :attr:`next_decision_s`.
        """
        raise NotImplementedError
