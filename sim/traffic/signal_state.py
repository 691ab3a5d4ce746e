"""Named readers of the signals' state for :class:`sim.traffic.state.TrafficState` (numpy only).

Outside ``sim/traffic/`` nothing indexes the signal rows: preemption, transit priority and
the tests ask these readers, and :meth:`SignalReaders.time_to_green_s` runs the kernel's own
signal stage rather than a copy of its green -> yellow -> all-red rules.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from sim.traffic import kernel
from sim.traffic.codes import STAGE_GREEN
from sim.traffic.layout import (
    PF_ALL_RED,
    PF_MIN_GREEN,
    PF_YELLOW,
    SF_ELAPSED,
    SI_NEXT,
    SI_PHASE,
    SI_STAGE,
    SI_TARGET,
    Signals,
)

__all__ = ["SignalReaders", "SignalStates"]


class SignalStates(NamedTuple):
    """Every signal's state machine now, one array each indexed by signal.

    Attributes:
        phase: The global phase it shows green, or showed last during its yellow and all-red.
        stage: ``STAGE_GREEN``, ``STAGE_YELLOW`` or ``STAGE_ALL_RED`` of :mod:`sim.traffic.codes`.
        next_phase: The global phase it is changing to during yellow and all-red (-1 while green).
        elapsed_s: Time since the current stage began (s).
        min_green_s: The minimum green of its phase (s).
    """

    phase: np.ndarray
    stage: np.ndarray
    next_phase: np.ndarray
    elapsed_s: np.ndarray
    min_green_s: np.ndarray


class SignalReaders:
    """Signal readers mixed into ``TrafficState``, which provides the attributes below.

    Attributes:
        net: The compiled network (``signal_phase_ptr``).
        signals: The kernel's signal container (``si``/``sf``/``pf`` rows, phases).
        si: ``(4, n_signals)`` int rows ``SI_*``.
        sf: ``(1, n_signals)`` float rows ``SF_*`` (s).
        pf: ``(3, n_phases)`` float rows ``PF_*`` (s).
        conn_state: ``RED``/``YELLOW``/``GREEN`` per connection.
        dt_s: Step length (s).
    """

    net: object
    signals: Signals
    si: np.ndarray
    sf: np.ndarray
    pf: np.ndarray
    conn_state: np.ndarray
    dt_s: float

    def signal_states(self) -> SignalStates:
        """Every signal's phase, stage, next phase, stage age (s) and phase min green (s) now (copies)."""
        si = self.si
        return SignalStates(
            si[SI_PHASE].copy(),
            si[SI_STAGE].copy(),
            si[SI_NEXT].copy(),
            self.sf[SF_ELAPSED].copy(),
            self.pf[PF_MIN_GREEN, si[SI_PHASE]],
        )

    def green_phase(self, signal: int) -> int | None:
        """The global phase ``signal`` shows green now, or None during its yellow or all-red."""
        if self.si[SI_STAGE, signal] != STAGE_GREEN:
            return None
        return int(self.si[SI_PHASE, signal])

    def intergreen_s(self, signal: int) -> float:
        """Yellow plus all-red after the phase ``signal`` shows (s): the clearance before its next green."""
        phase = self.si[SI_PHASE, signal]
        return float(self.pf[PF_YELLOW, phase] + self.pf[PF_ALL_RED, phase])

    def min_green_s(self, signal: int) -> float:
        """Minimum green of the phase ``signal`` shows (s): how long it runs before a requested change."""
        return float(self.pf[PF_MIN_GREEN, self.si[SI_PHASE, signal]])

    def next_phase(self, signal: int) -> int | None:
        """The global phase ``signal`` is changing to during its yellow and all-red, or None while green."""
        nxt = int(self.si[SI_NEXT, signal])
        return nxt if nxt >= 0 else None

    def time_to_green_s(self, signal: int, phase: int) -> float:
        """Minimum time (s) until ``phase`` shows green if it is requested now (0 if green now).

        Runs the kernel's own signal stage (the rest of the minimum green, yellow and
        all-red, in whole steps) on a scratch copy of the signal, with ``phase`` as its
        only request, so a pending request for another phase is not counted. ``phase``
        is green during the step that starts this long from now.

        Args:
            signal: The signal's index.
            phase: A global phase index of ``signal``.

        Raises:
            ValueError: If ``phase`` is not a phase of ``signal``.
        """
        ptr = self.net.signal_phase_ptr
        if not ptr[signal] <= phase < ptr[signal + 1]:
            raise ValueError(f"phase {phase} is not a phase of signal {signal}")
        si = self.si[:, signal : signal + 1].copy()
        scratch = self.signals._replace(si=si, sf=self.sf[:, signal : signal + 1].copy())
        conn_state = self.conn_state.copy()
        si[SI_TARGET] = phase
        steps = 0
        while True:
            kernel._update_signals(scratch, conn_state)
            if si[SI_STAGE, 0] == STAGE_GREEN and si[SI_PHASE, 0] == phase:
                return steps * self.dt_s
            kernel._tick_signals(scratch, self.dt_s)
            steps += 1
