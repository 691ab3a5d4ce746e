"""One arbiter of signal holds per model: who may keep a signal on a phase above its controller.

A hold keeps a signal on one global phase regardless of the signal's controller. Several
holders may hold the same signal at once; the signal follows the hold of the highest
priority (:class:`Holder`), and its controller gets the signal back only when no hold is
left (its requests are dropped while any hold is active). So releasing a hold of lower
priority never drops one of higher priority, and releasing the top hold hands the
signal to the next one.

Each holder has at most one hold per signal: holding again changes its phase and keeps
its place. Holds of equal priority are served first come, first served (every
:class:`Holder` has its own priority today, so they cannot tie yet).

The arbiter only decides; the phase it picks goes to the kernel through the ``request``
callable it is given, and the kernel still runs the minimum green, yellow and all-red
before that phase shows green.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass
from enum import IntEnum

__all__ = ["Holder", "SignalHolds"]


class Holder(IntEnum):
    """Who holds a signal; a higher value wins. ``CONTROLLER`` runs a signal nobody holds."""

    CONTROLLER = 0
    TRANSIT_PRIORITY = 1
    EMERGENCY_PREEMPTION = 2


@dataclass
class _Hold:
    holder: Holder
    phase: int
    seq: int  # arrival order, for first come first served among equal priorities


class SignalHolds:
    """The holds on every signal of a model and the phase each held signal follows.

    Args:
        request: Called as ``request(signal, phase)`` whenever a hold's phase becomes the
            one a signal follows (the model forwards it to the kernel).
    """

    def __init__(self, request: Callable[[int, int], None]) -> None:
        self._request = request
        self._holds: dict[int, list[_Hold]] = {}
        self._seq = itertools.count()

    def hold(self, signal: int, phase: int, holder: Holder) -> None:
        """Hold ``signal`` on the global ``phase`` for ``holder``; requested at once if it is the top hold.

        Raises:
            ValueError: If ``holder`` is the controller, which requests phases instead.
        """
        if holder is Holder.CONTROLLER:
            raise ValueError("the controller does not hold signals: it requests phases")
        holds = self._holds.setdefault(signal, [])
        mine = next((h for h in holds if h.holder is holder), None)
        if mine is None:
            holds.append(_Hold(holder, phase, next(self._seq)))
            holds.sort(key=lambda h: (-h.holder, h.seq))
        else:
            mine.phase = phase
        if holds[0].holder is holder:
            self._request(signal, phase)

    def release(self, signal: int, holder: Holder, handover_phase: int | None = None) -> None:
        """End ``holder``'s hold on ``signal``; the next hold applies, or the controller's.

        Args:
            signal: The held signal.
            holder: Whose hold ends.
            handover_phase: A global phase to request on the controller's behalf if this
                release gives the signal back to it (e.g. the phase the controller asked
                for while its requests were dropped); ignored while another hold is left.

        Raises:
            KeyError: If ``holder`` does not hold ``signal``.
        """
        holds = self._holds.get(signal, [])
        index = next((i for i, h in enumerate(holds) if h.holder is holder), None)
        if index is None:
            raise KeyError(f"signal {signal} is not held by {holder.name}")
        del holds[index]
        if not holds:
            del self._holds[signal]
            if handover_phase is not None:
                self._request(signal, handover_phase)
        elif index == 0:
            self._request(signal, holds[0].phase)

    def is_held(self, signal: int) -> bool:
        """Whether any hold is active on ``signal`` (then its controller's requests are dropped)."""
        return signal in self._holds

    def phase(self, signal: int) -> int | None:
        """The global phase ``signal`` is held on, or None if its controller runs it."""
        holds = self._holds.get(signal)
        return holds[0].phase if holds else None

    def holder(self, signal: int) -> Holder:
        """Whose hold ``signal`` follows (``Holder.CONTROLLER`` if nobody holds it)."""
        holds = self._holds.get(signal)
        return holds[0].holder if holds else Holder.CONTROLLER
