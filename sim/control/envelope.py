"""The safety envelope around every signal controller: a maximum red, a fixed-time fallback, a decision log.

The model asks each signal's controller through :meth:`SafetyEnvelope.decide`, outside the
controller, which gets the same read-only view as without the envelope and never sees its
state (docs/safety_envelope.md). Per intersection the envelope

- **bounds the wait for green.** When halted vehicles of a movement may have waited
  ``max_red_s`` less the lead a change may take (the plan's longest minimum green plus two
  intergreens; :mod:`sim.control.wait_clocks` bounds the waits), it requests the phase
  serving them with the most halted vehicles through the controller's request path (the
  kernel still runs minimum green, yellow and all-red), unless the phase last sent serves them
  and may still come. That phase holds its planned green (cut short if another movement
  starves meanwhile); the controller's requests are held back, the last one sent at the end.
- **falls back to the fixed-time plan.** A controller that raises, or returns anything but a
  ``Decision(phase, next_decision_s)`` with ``phase`` None or an index into its phases and
  ``next_decision_s`` a time later than now, is replaced at that intersection by the
  fixed-time controller on its own plan (restarted from the phase showing now, without its
  offset) for ``fallback_s`` (default: the rest of the run), then restarted with ``start()``.
  Where detectors fail (``detector_failures``) the plan runs for the failure's window, the
  controller is not asked, and the max-red check, which reads the same detectors, pauses.
- **logs** every decision and override when ``log = true`` (:data:`LOG_COLUMNS`, in
  ``RunResults.extras["decisions"]``; ``decisions.csv`` of ``citysim run`` and ``compare``).

Results check the bound with ``max_green_wait_s`` (run summary, ``compare``): it stays within
``max_red_s``, plus one intergreen where the signal was already changing to a third phase,
unless a signal hold (preemption, transit priority) kept the signal: the model drops a held
signal's requests, the envelope's too. Controllers installed with
``CityModel.replace_controller`` (the RL environments') run inside the envelope too.
"""

from __future__ import annotations

import logging
import math
from collections import Counter
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

import numpy as np

from sim.control.base import Decision, IntersectionView, NoSettings, SignalController, Stage
from sim.control.registry import controller_class
from sim.control.safety import ON_ERROR, DetectorFailure, Spec
from sim.control.wait_clocks import WaitClocks
from sim.schema import ScenarioError, excerpt

if TYPE_CHECKING:
    import pandas as pd

    from sim.metrics.catalog import Metric
    from sim.services import Services

__all__ = [
    "DECISIONS",
    "LOG_COLUMNS",
    "ON_ERROR",
    "DetectorFailure",
    "SafetyEnvelope",
    "SignalControllerError",
    "Spec",
    "attach",
]

_log = logging.getLogger(__name__)
_EPS = 1e-9

DECISIONS = "decisions"
"""Name of the decision log among the run's extra record frames (``decisions.csv``)."""

LOG_COLUMNS = (
    "time_s",
    "node",
    "controller",
    "phase",
    "queue_veh",
    "phase_queues_veh",
    "longest_wait_s",
    "requested",
    "decision",
    "override",
    "detail",
)
"""Columns of the decision log: simulated time (s); the intersection's node; its controller (the
scenario's name, or the class name of one installed later); the phase showing (or ending) then;
halted vehicles on its approaches, in total and per phase (space-separated, phase order); the
longest any vehicles halted at a red may have waited (s; an upper bound, see
:mod:`sim.control.wait_clocks`); the phase the deciding controller (or the fixed-time fallback)
requested (empty: none, or not asked); the phase sent to the kernel (empty: none); the
override: ``none``, ``max_red`` (a phase forced, or the controller's request held back while it
runs), ``fallback:<reason>`` (``error``, ``invalid_decision``, ``detectors``; on every row while
the plan runs) or ``resume`` (the controller has its signal back); and what happened, in words."""


class SignalControllerError(RuntimeError):
    """A controller raised or returned an invalid decision, and ``[safety] on_error = "raise"``."""


@dataclass
class _Fallback:
    """The fixed-time plan running an intersection in its controller's place."""

    controller: SignalController
    reason: str
    next_s: float
    until_s: float


class _Guard:
    """The envelope's state of one intersection; its controller never sees it.

    Args:
        controller: The intersection's controller now.
        name: Its name in the log.
        failures: ``(from_s, to_s)`` of its detector failures.
        max_red_s: The envelope's bound (s).
    """

    def __init__(
        self, controller: SignalController, name: str, failures: list[tuple[float, float]], max_red_s: float
    ) -> None:
        crossing = controller.intersection
        self.plan = plan = crossing.plan
        # a forced phase shows green at most this long after its request
        self.lead_s = lead_s = max(plan.min_green_s) + 2.0 * max(plan.intergreens_s)
        self.clocks = WaitClocks(crossing, max(max_red_s - lead_s, 0.0), max(lead_s, 1.0))
        # the phase last sent to the kernel, until it shows green or cannot be coming any more
        self.sent: int | None = None
        self.sent_until_s = -math.inf
        self.failures = sorted(failures)
        self.step_s = crossing.step_s
        self.n_phases = len(plan.greens_s)
        self.forced: int | None = None
        self.forced_green_s: float | None = None
        self.handover: int | None = None
        self.wait_s = 0.0  # how long the group a forced phase rescues may have waited
        self.install(controller, name, -math.inf)

    def install(self, controller: SignalController, name: str, due_s: float) -> None:
        """Make ``controller`` the one asked, first at ``due_s`` (s); any fallback ends."""
        self.controller = controller
        self.name = name
        self.next_s = due_s
        self.fallback: _Fallback | None = None

    def observe(self, view: IntersectionView) -> tuple[int, ...]:
        """Bring the clocks and the forced phase's green up to date; the movement groups red now."""
        # a signal with no next phase shows green (no enum to build on the common path)
        phase, stage = view.phase, Stage.GREEN if view.next_phase is None else view.stage
        if self.forced == phase and self.forced_green_s is None:
            # green now, or already ending: it has had its green
            self.forced_green_s = view.now_s - view.stage_age_s if stage is Stage.GREEN else -math.inf
        return self.clocks.observe(view.now_s, phase, stage, view.stage_age_s)

    def wake_s(self, view: IntersectionView, red: tuple[int, ...], failing: bool) -> float:
        """When the envelope must look again, whoever decides meanwhile (s); at least a step ahead."""
        now, forced = view.now_s, self.forced
        times = [self.fallback.until_s] if self.fallback is not None else []
        times += [start for start, _ in self.failures if start > now + _EPS]
        if forced is not None and self.forced_green_s is None:
            times.append(now + max(self._time_to_green_s(view, forced), 1.0))
        elif forced is not None:
            times += [self.hold_end_s(), self.clocks.due_s(now, red)]
        elif not failing:
            times.append(self.clocks.due_s(now, red))
        return max(min(times, default=math.inf), now + self.step_s)

    def coming(self, view: IntersectionView) -> tuple[int, ...]:
        """The movement groups of the phase last sent to the kernel while it may still be coming.

        They get their green as soon as a forced phase would: the envelope leaves them be.
        """
        if self.sent is None or view.now_s >= self.sent_until_s or self.sent == view.phase:
            return ()
        return self.clocks.phase_groups[self.sent]

    def hold_end_s(self) -> float:
        """When the forced phase, green since ``forced_green_s``, has had its planned green (s)."""
        plan, forced = self.plan, self.forced
        return self.forced_green_s + max(plan.greens_s[forced], plan.min_green_s[forced])

    def _time_to_green_s(self, view: IntersectionView, phase: int) -> float:
        """About how long ``phase``, requested now, takes to show green (s)."""
        plan, current, age_s = self.plan, view.phase, view.stage_age_s
        if view.stage is Stage.GREEN:
            return max(view.min_green_s - age_s, 0.0) + plan.intergreens_s[current]
        left_s = (
            plan.all_red_s[current] - age_s + (plan.yellow_s[current] if view.stage is Stage.YELLOW else 0.0)
        )
        following = view.next_phase
        if following is not None and following != phase:
            left_s += plan.min_green_s[following] + plan.intergreens_s[following]
        return left_s

    def failure_end_s(self, now_s: float) -> float | None:
        """The end of a detector failure going on at ``now_s`` (s), or None."""
        ends = [end for start, end in self.failures if start <= now_s + _EPS < end]
        return max(ends) if ends else None


def _problem(decision: Any, n_phases: int, now_s: float) -> str:
    """What is wrong with a controller's decision, or ``""``."""
    try:
        phase, next_s = decision
    except (TypeError, ValueError):
        return f"returned {excerpt(decision)}, not a Decision(phase, next_decision_s)"
    is_index = isinstance(phase, int | np.integer) and not isinstance(phase, bool)
    if phase is not None and not (is_index and 0 <= phase < n_phases):
        return f"requested phase {excerpt(phase)}, not None or a phase index in 0..{n_phases - 1}"
    is_time = isinstance(next_s, int | float | np.integer | np.floating) and not isinstance(next_s, bool)
    if not (is_time and next_s > now_s):
        return f"next_decision_s {excerpt(next_s)} is not a time later than now ({now_s:g} s)"
    return ""


class SafetyEnvelope:
    """The ``[safety]`` section of a model: it asks every signal's controller and overrides it when needed.

    Args:
        spec: The validated ``[safety]`` table.
        controller: The scenario's controller name (``signals.controller``), for the log.
        failures: Per signal index, ``(from_s, to_s)`` of its detector failures.

    Attributes:
        headline_metrics: None: the bound is checked with the run's ``max_green_wait_s``.
    """

    headline_metrics: tuple[Metric, ...] = ()

    def __init__(self, spec: Spec, controller: str, failures: dict[int, list[tuple[float, float]]]) -> None:
        self.spec = spec
        self._controller = controller
        self._failures = failures
        self._guards: dict[int, _Guard] = {}
        self._rows: list[tuple] = []
        self._events: Counter[str] = Counter()
        self._fallbacks: list[dict[str, Any]] = []

    def decide(self, controller: SignalController, view: IntersectionView) -> Decision:
        """The decision of ``controller`` at its intersection, within the envelope.

        Args:
            controller: The signal's controller now (the model's ``controllers[signal]``).
            view: What it may see of its intersection now.

        Returns:
            The phase to request (None: none) and when to ask again (s): at the controller's
            own next decision, or earlier when the envelope must look.

        Raises:
            SignalControllerError: If the controller errs and ``on_error = "raise"``.
        """
        if not self.spec.enabled:
            return controller.decide(view)
        now, signal = view.now_s, controller.intersection.signal
        guard = self._guards.get(signal)
        if guard is None or guard.controller is not controller:
            guard = self._guard(controller, now)
        red = guard.observe(view)
        events = self._fallback_changes(guard, view) if guard.failures or guard.fallback else []
        requested = None
        asked = guard.fallback is None and now >= guard.next_s - _EPS
        if asked:
            requested, reason, detail = self._ask(guard, view)
            if reason:
                events.append(self._fall_back(guard, view, reason, detail, now + self.spec.fallback_s))
        fallback = guard.fallback
        if fallback is not None and now >= fallback.next_s - _EPS:
            asked = True
            requested, fallback.next_s = fallback.controller.decide(view)
        watch_s = guard.clocks.watch_from_s(red)
        if fallback is None and guard.forced is None and not guard.failures and now < watch_s - _EPS:
            # the common case: no long red, nothing for the envelope to do but to look at its start
            phase, next_s = requested, min(guard.next_s, max(watch_s, now + guard.step_s))
        else:
            failing = bool(guard.failures) and guard.failure_end_s(now) is not None
            phase = (
                requested
                if failing and guard.forced is None
                else self._max_red(guard, view, red, requested, events)
            )
            next_s = guard.next_s if guard.fallback is None else guard.fallback.next_s
            next_s = min(next_s, guard.wake_s(view, red, failing))
        if self.spec.log and (asked or events or phase is not None):
            self._record(guard, view, red, requested, phase, events)
        if phase is not None:
            guard.sent, guard.sent_until_s = phase, now + guard.lead_s + guard.step_s
        return Decision(phase, next_s)

    def _guard(self, controller: SignalController, now_s: float) -> _Guard:
        """The guard of ``controller``'s intersection, made on its first decision or after a replacement."""
        signal = controller.intersection.signal
        own = type(controller) is controller_class(self._controller)
        name = self._controller if own else type(controller).__name__
        guard = self._guards.get(signal)
        if guard is None:
            failures = self._failures.get(signal, [])
            guard = self._guards[signal] = _Guard(controller, name, failures, self.spec.max_red_s)
        else:  # installed by CityModel.replace_controller: it decides now
            guard.install(controller, name, now_s)
        return guard

    def _ask(self, guard: _Guard, view: IntersectionView) -> tuple[int | None, str, str]:
        """The controller's requested phase, or the reason and detail of its failure (``""``: none)."""
        try:
            decision = guard.controller.decide(view)
        except Exception as error:  # a controller's own code may raise anything
            return None, "error", self._failure(guard, view, "decide()", error)
        if type(decision) is Decision:  # the usual, valid decision, checked quickly
            phase, next_s = decision
            valid_phase = phase is None or type(phase) is int and 0 <= phase < guard.n_phases
            if valid_phase and type(next_s) is float and next_s > view.now_s:
                guard.next_s = next_s
                return phase, "", ""
        detail = _problem(decision, guard.n_phases, view.now_s)
        if detail:
            self._stop_if_raising(guard, view, detail, None)
            return None, "invalid_decision", detail
        phase, guard.next_s = decision
        return (None if phase is None else int(phase)), "", ""

    def _failure(self, guard: _Guard, view: IntersectionView, what: str, error: Exception) -> str:
        """What a controller's call raised, in words (raised on if ``on_error = "raise"``)."""
        detail = f"{what} raised {type(error).__name__}: {error}"
        self._stop_if_raising(guard, view, detail, error)
        return detail

    def _stop_if_raising(
        self, guard: _Guard, view: IntersectionView, detail: str, error: Exception | None
    ) -> None:
        """Raise :class:`SignalControllerError` on a controller's failure if ``on_error = "raise"``."""
        if self.spec.on_error == "raise":
            node = guard.controller.intersection.node
            message = f"signal controller {guard.name!r} at node {node!r}, t = {view.now_s:g} s: {detail}"
            raise SignalControllerError(message) from error

    # ----- the fixed-time fallback -------------------------------------------------------
    def _fallback_changes(self, guard: _Guard, view: IntersectionView) -> list[str]:
        """Start the plan where detectors fail now; give the signal back where a fallback ended."""
        now = view.now_s
        failure_end_s = guard.failure_end_s(now)
        if failure_end_s is not None:
            if guard.fallback is None:
                detail = f"detectors failed until {failure_end_s:g} s"
                return [self._fall_back(guard, view, "detectors", detail, failure_end_s)]
            guard.fallback.until_s = max(guard.fallback.until_s, failure_end_s)
            return []
        if guard.fallback is None or now < guard.fallback.until_s - _EPS:
            return []
        guard.install(guard.controller, guard.name, now)
        try:
            guard.controller.start()
        except Exception as error:  # a controller's own code may raise anything
            detail = self._failure(guard, view, "start()", error)
            return [self._fall_back(guard, view, "error", detail, now + self.spec.fallback_s)]
        self._events["resume"] += 1
        return ["resume"]

    def _fall_back(
        self, guard: _Guard, view: IntersectionView, reason: str, detail: str, until_s: float
    ) -> str:
        """Hand the intersection to the fixed-time plan until ``until_s``, from the phase showing now.

        The phase showing (or coming, during a change) keeps its planned green; the plan's
        cycle follows from there.
        """
        crossing, plan, now = guard.controller.intersection, guard.plan, view.now_s
        phase = view.phase if view.next_phase is None else view.next_phase
        green_left_s = plan.greens_s[phase]
        if view.stage is Stage.GREEN:
            green_left_s -= view.stage_age_s
        else:
            green_left_s += plan.all_red_s[view.phase] - view.stage_age_s
            green_left_s += plan.yellow_s[view.phase] if view.stage is Stage.YELLOW else 0.0
        # an offset that starts the plan's cycle with that phase's green at time 0
        start_s = sum(plan.greens_s[:phase]) + sum(plan.intergreens_s[:phase])
        own = replace(crossing, plan=replace(plan, offset_s=-start_s))
        fixed = controller_class("fixed_time")(own, NoSettings())
        fixed.start()
        guard.fallback = _Fallback(fixed, reason, now + max(green_left_s, guard.step_s), until_s)
        override = f"fallback:{reason}"
        self._events[override] += 1
        self._fallbacks.append({"node": crossing.node, "time_s": now, "reason": reason, "detail": detail})
        _log.warning(
            "node %s, t = %g s: %s; the fixed-time plan runs until %g s", crossing.node, now, detail, until_s
        )
        return override

    # ----- the maximum red ---------------------------------------------------------------
    def _max_red(
        self,
        guard: _Guard,
        view: IntersectionView,
        red: tuple[int, ...],
        requested: int | None,
        events: list[str],
    ) -> int | None:
        """The phase to send the kernel when a phase is, or may have to be, forced.

        A forced phase is requested until it shows green, then holds its planned green, cut
        short when another group starves meanwhile (that group's phase is forced next). The
        deciding controller's requests are held back meanwhile; the last one is sent when the
        hold ends. Appends ``"max_red"`` to ``events`` when it forces a phase now.
        """
        forced = guard.forced
        if forced is not None:
            if requested is not None:
                guard.handover = requested
            if guard.forced_green_s is None:
                return forced  # again, in case a signal hold dropped the request
        failing = bool(guard.failures) and guard.failure_end_s(view.now_s) is not None
        coming = guard.coming(view)
        starved = None if failing else guard.clocks.starved(view, tuple(g for g in red if g not in coming))
        if starved is not None:
            if forced is None:
                guard.handover = requested
            guard.forced, guard.forced_green_s, guard.wait_s = starved[0], None, starved[1]
            self._events["max_red"] += 1
            events.append("max_red")
            return starved[0]
        if forced is None:
            return requested
        if view.now_s < guard.hold_end_s() - _EPS:
            return None
        phase, guard.forced, guard.forced_green_s, guard.handover = guard.handover, None, None, None
        return phase

    # ----- the log and the summary -----------------------------------------------------
    def _record(
        self,
        guard: _Guard,
        view: IntersectionView,
        red: tuple[int, ...],
        requested: int | None,
        phase: int | None,
        events: list[str],
    ) -> None:
        """Add the log's row of this decision (see :data:`LOG_COLUMNS`)."""
        queue = view.queue
        if "max_red" in events or (not events and guard.forced is not None):
            override = "max_red"
        elif events:
            override = events[0]
        else:
            override = "none" if guard.fallback is None else f"fallback:{guard.fallback.reason}"
        words = {
            "max_red": f"phase {guard.forced} forced: a movement may have waited {guard.wait_s:.0f} s",
            "resume": "controller restarted",
        }
        detail = "; ".join(words.get(event) or self._fallbacks[-1]["detail"] for event in events)
        phase_queues = " ".join(str(int(q)) for q in guard.clocks.movements @ queue)
        node = guard.controller.intersection.node
        self._rows.append(
            (view.now_s, node, guard.name, view.phase, int(queue.sum()), phase_queues,
             guard.clocks.longest_wait_s(view, red), requested, phase, override, detail)
        )  # fmt: skip

    def records(self) -> dict[str, pd.DataFrame]:
        """The decision log as ``{"decisions": frame}`` (:data:`LOG_COLUMNS`) if ``log``, else nothing."""
        if not self.spec.log:
            return {}
        # imported here: every scenario's validation loads this module (its [safety] table), without pandas
        import pandas as pd

        frame = pd.DataFrame(self._rows, columns=list(LOG_COLUMNS))
        for column in ("phase", "requested", "decision"):
            frame[column] = frame[column].astype("Int64")
        return {DECISIONS: frame}

    def summary(self) -> dict:
        """The bound, overrides by kind (``max_red``, ``fallback:<reason>``, ``resume``), each fallback."""
        return {
            "enabled": self.spec.enabled,
            "max_red_s": self.spec.max_red_s,
            "overrides": dict(sorted(self._events.items())),
            "fallbacks": list(self._fallbacks),
        }


def attach(model: Services, spec: Spec) -> SafetyEnvelope:
    """The safety envelope of a model (called at the end of ``CityModel.__init__``).

    Raises:
        ScenarioError: If a detector failure names a node that is not a signalized intersection.
    """
    net = model.net
    nodes = [str(net.node_ids[node]) for node in net.signal_nodes]
    signal_of = {node: signal for signal, node in enumerate(nodes)}
    failures: dict[int, list[tuple[float, float]]] = {}
    for index, failure in enumerate(spec.detector_failures):
        if failure.node not in signal_of:
            examples = ", ".join(map(repr, nodes[:5])) or "none in this network"
            raise ScenarioError(
                model.config.source,
                f"safety.detector_failures[{index}].node",
                f"expected a signalized node of the network (e.g. {examples}), got {failure.node!r}",
            )
        failures.setdefault(signal_of[failure.node], []).append((failure.from_s, failure.to_s))
    return SafetyEnvelope(spec, model.config.signals.controller, failures)
