"""Signal timing plans: Webster's cycle and greens (Webster 1958), coordinated plans, offsets, own plans.

Every signal runs a :class:`~sim.control.base.SignalPlan`. A node that carries a
``signal_plan`` (e.g. one imported from SUMO) runs its own greens and offset; the others
run the scenario's: ``signals.green_s`` per phase or Webster greens from the demand's
flows, with the offset ``signals.offset_s`` or, for ``"green_wave"``, a green wave along x.
With ``timing = "coordinated"`` every signal, its own plan's nodes included (with their own
phase order, intergreens and minimum greens), runs one common cycle (:func:`common_cycle_s`:
the critical intersection's Webster cycle, clipped to [40, 150] s), Webster greens on it and
offsets for two-way progression (:mod:`sim.control.coordination`); ``offset_s`` is not used.
Last, the nodes of ``signals.plan_file`` run the file's plans (:mod:`sim.control.plans`).
Webster's critical flow of a phase is its busiest approach's flow per lane, counting on
each approach the movements the phase serves over the lanes they use, so that a left-turn
phase counts the left turns over their own lanes (:func:`critical_lane_flows_vphpl`).
Each phase's yellow, all-red, minimum and maximum green are its ``signal_plan``'s where it
gives them (:attr:`~sim.network.compile.CompiledNetwork.phase_yellow_s` and the like), else
the scenario's (no maximum: the controller's own setting).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import TYPE_CHECKING, Any, NamedTuple, Protocol

import numpy as np

from sim.control.base import SignalPlan
from sim.control.coordination import progression_offsets_s, signal_links
from sim.control.plans import apply_plan_file, load_plan_file
from sim.network.graph import SIGNAL_PLAN, per_phase
from sim.network.phasing import gives_way_within

if TYPE_CHECKING:
    import networkx as nx

    from sim.network.compile import CompiledNetwork
    from sim.tables import SignalSpec

__all__ = [
    "COORDINATED_MAX_CYCLE_S",
    "COORDINATED_MIN_CYCLE_S",
    "MAX_CYCLE_S",
    "MIN_CYCLE_S",
    "DemandFlows",
    "FlowSource",
    "common_cycle_s",
    "coordinated_plans",
    "critical_lane_flows_vphpl",
    "green_wave_offsets_s",
    "signal_plans",
    "timing_label",
    "webster_cycle_s",
    "webster_delay_s",
    "webster_greens_s",
    "webster_timing",
]

MIN_CYCLE_S = 30.0
MAX_CYCLE_S = 180.0
COORDINATED_MIN_CYCLE_S = 40.0
"""Shortest common cycle of coordinated plans (s): below it the intergreens of four-phase signals eat
most of the cycle, and progression bands get too narrow to carry a platoon."""
COORDINATED_MAX_CYCLE_S = 150.0
"""Longest common cycle of coordinated plans (s), the usual upper bound of urban practice (FHWA
Signal Timing Manual, 2nd ed., NCHRP Report 812, 2015): longer cycles add delay for little capacity."""


class FlowSource(Protocol):
    """What knows the demand's flows (:class:`sim.routing.Router`)."""

    def edge_flows_vph(self, trips: Any) -> np.ndarray:
        """Hourly flow per edge of ``trips`` (veh/h)."""

    def connection_flows_vph(self, trips: Any) -> np.ndarray:
        """Hourly flow per connection of ``trips`` (veh/h)."""


class DemandFlows(NamedTuple):
    """The demand's hourly flows, for Webster greens.

    Attributes:
        edge_vph: Flow of every edge (veh/h).
        connection_vph: Flow of every connection, i.e. turning movement (veh/h).
    """

    edge_vph: np.ndarray
    connection_vph: np.ndarray

    @classmethod
    def of(cls, source: FlowSource, trips: Any) -> DemandFlows:
        """The flows of ``trips`` on their routes, from ``source`` (the model's router)."""
        return cls(source.edge_flows_vph(trips), source.connection_flows_vph(trips))


def webster_cycle_s(
    critical_flows_vphpl: Sequence[float],
    lost_time_per_phase_s: float,
    saturation_flow_vphpl: float,
    intergreen_s: float | Sequence[float],
    min_green_s: float | Sequence[float],
) -> float:
    """Webster's optimal cycle ``C0 = (1.5 L + 5) / (1 - Y)`` (s).

    Args:
        critical_flows_vphpl: Per phase, the highest approach flow per lane (veh/h/lane).
        lost_time_per_phase_s: Start-up plus clearance lost time of each phase (s).
        saturation_flow_vphpl: Saturation flow per lane (veh/h/lane).
        intergreen_s: Yellow plus all-red after each phase, or one for all (s).
        min_green_s: Shortest displayed green of each phase, or one for all (s).

    Returns:
        The cycle, clipped to [30, 180] s and raised to the shortest one the minimum greens and
        intergreens fill; 180 s when the flow ratios sum to 0.95 or more.
    """
    n = len(critical_flows_vphpl)
    intergreens = per_phase(intergreen_s, n)
    min_greens = per_phase(min_green_s, n)
    total_ratio = sum(_flow_ratios(critical_flows_vphpl, saturation_flow_vphpl))
    lost_s = n * lost_time_per_phase_s
    cycle = MAX_CYCLE_S if total_ratio >= 0.95 else (1.5 * lost_s + 5.0) / (1.0 - total_ratio)
    shortest = sum(g + i for g, i in zip(min_greens, intergreens, strict=True))
    return min(max(cycle, MIN_CYCLE_S, shortest), MAX_CYCLE_S)


def webster_greens_s(
    cycle_s: float,
    critical_flows_vphpl: Sequence[float],
    lost_time_per_phase_s: float,
    saturation_flow_vphpl: float,
    intergreen_s: float | Sequence[float],
    min_green_s: float | Sequence[float],
) -> tuple[float, ...]:
    """Webster's greens on a given cycle: the effective green split in proportion to the flow ratios.

    Args:
        cycle_s: The cycle (s), at least the minimum greens plus the intergreens.
        critical_flows_vphpl: Per phase, the highest approach flow per lane (veh/h/lane).
        lost_time_per_phase_s: Start-up plus clearance lost time of each phase (s).
        saturation_flow_vphpl: Saturation flow per lane (veh/h/lane).
        intergreen_s: Yellow plus all-red after each phase, or one for all (s).
        min_green_s: Shortest displayed green of each phase, or one for all (s).

    Returns:
        The displayed green of each phase (s): effective green + lost time - its intergreen, at
        least its minimum green (the longest green gives up what the minimums add, so greens and
        intergreens fill the cycle). Without flow every phase gets an equal share.
    """
    n = len(critical_flows_vphpl)
    intergreens = per_phase(intergreen_s, n)
    min_greens = per_phase(min_green_s, n)
    ratios = _flow_ratios(critical_flows_vphpl, saturation_flow_vphpl)
    total_ratio = sum(ratios)
    effective = cycle_s - n * lost_time_per_phase_s
    shares = [r / total_ratio for r in ratios] if total_ratio > 0 else [1.0 / n] * n
    greens = [
        max(g_min, effective * s + lost_time_per_phase_s - i)
        for s, g_min, i in zip(shares, min_greens, intergreens, strict=True)
    ]
    # a green raised to the minimum is paid for by the longest one, so the cycle holds
    longest = greens.index(max(greens))
    greens[longest] -= sum(greens) + sum(intergreens) - cycle_s
    return tuple(greens)


def webster_timing(
    critical_flows_vphpl: Sequence[float],
    lost_time_per_phase_s: float,
    saturation_flow_vphpl: float,
    intergreen_s: float | Sequence[float],
    min_green_s: float | Sequence[float],
) -> tuple[float, tuple[float, ...]]:
    """Webster's optimal cycle (:func:`webster_cycle_s`) and its greens (:func:`webster_greens_s`).

    The arguments are :func:`webster_cycle_s`'s.

    Returns:
        The cycle (s), clipped to [30, 180], and the displayed green of each phase (s).
    """
    args = (critical_flows_vphpl, lost_time_per_phase_s, saturation_flow_vphpl, intergreen_s, min_green_s)
    cycle = webster_cycle_s(*args)
    return cycle, webster_greens_s(cycle, *args)


def _flow_ratios(critical_flows_vphpl: Sequence[float], saturation_flow_vphpl: float) -> list[float]:
    """Each phase's critical flow over the saturation flow (negative flows count as 0)."""
    return [max(q, 0.0) / saturation_flow_vphpl for q in critical_flows_vphpl]


def webster_delay_s(cycle_s: float, effective_green_s: float, flow_vph: float, capacity_vph: float) -> float:
    """Webster's mean delay per vehicle (s) on one approach.

    ``d = C(1-λ)² / (2(1-λx)) + x² / (2q(1-x)) - 0.65 (C/q²)^(1/3) x^(2+5λ)``, with
    ``λ = g/C`` and ``x = q / capacity``; flows are converted to veh/s.
    """
    lam = effective_green_s / cycle_s
    q = flow_vph / 3600.0
    x = flow_vph / capacity_vph
    uniform = cycle_s * (1.0 - lam) ** 2 / (2.0 * (1.0 - lam * x))
    random = x * x / (2.0 * q * (1.0 - x))
    correction = 0.65 * (cycle_s / (q * q)) ** (1.0 / 3.0) * x ** (2.0 + 5.0 * lam)
    return uniform + random - correction


def critical_lane_flows_vphpl(net: CompiledNetwork, signal: int, flows: DemandFlows) -> list[float]:
    """Per phase of a signal, the highest flow per lane among its approaches (veh/h/lane, 0 if none).

    On each approach a phase counts the movements it serves, except those it shares with
    another phase of the signal in which they give way to no movement green with them (a
    permitted-protected left turn counts in its protected phase only). An approach whose
    every movement the phase counts has its edge flow over its lanes (as with the two
    permitted phases); another the flow of the counted movements over the lanes they use (a
    left-turn phase: the left turns over their own lanes; the through phase beside it: the
    through and right turns over theirs).

    Args:
        net: The compiled network.
        signal: Index of the signal.
        flows: The demand's flows.
    """
    ptr = net.phase_conn_ptr
    phases = range(net.signal_phase_ptr[signal], net.signal_phase_ptr[signal + 1])
    members = {p: net.phase_conns[ptr[p] : ptr[p + 1]] for p in phases}
    counted = _counted_phases(net, members)
    movements_of = np.bincount(net.conn_from, minlength=net.n_edges)
    critical = []
    for p, conns in members.items():
        mine = conns[np.array([counted[c] == p for c in conns.tolist()], dtype=bool)]
        per_lane = []
        for e in np.unique(net.conn_from[conns]).tolist():
            counted_here = mine[net.conn_from[mine] == e]
            if len(counted_here) == movements_of[e]:
                per_lane.append(flows.edge_vph[e] / net.edge_lanes[e])
            elif len(counted_here):
                lanes = {
                    lane
                    for c in counted_here.tolist()
                    for lane in range(net.conn_lane_lo[c], net.conn_lane_hi[c] + 1)
                }
                per_lane.append(flows.connection_vph[counted_here].sum() / len(lanes))
        critical.append(float(max(per_lane, default=0.0)))
    return critical


def _counted_phases(net: CompiledNetwork, members: Mapping[int, np.ndarray]) -> dict[int, int]:
    """The phase whose critical flow counts each movement of one signal's phases ``members``.

    A movement green in several phases counts in the first where it gives way to none of the
    movements green with it, else in the first that serves it.
    """
    foes = (net.conn_foe_ptr, net.conn_foes, net.conn_foe_kind)
    greens = {p: set(conns.tolist()) for p, conns in members.items()}
    serving: dict[int, list[int]] = {}
    for p, conns in greens.items():
        for c in conns:
            serving.setdefault(c, []).append(p)
    return {
        c: ps[0]
        if len(ps) == 1
        else next((p for p in ps if not gives_way_within(c, greens[p], *foes)), ps[0])
        for c, ps in serving.items()
    }


def green_wave_offsets_s(net: CompiledNetwork) -> np.ndarray:
    """Per signal, the offset of a green wave travelling east along x at the median link speed (s).

    A signal starts its first green as late as a vehicle at that speed takes to reach it
    from ``x = min(0, x of the westernmost signal)``.
    """
    speed_mps = float(np.median(net.edge_speed_mps))
    x0_m = float(net.node_x[net.signal_nodes].min(initial=0.0))
    return (net.node_x[net.signal_nodes] - x0_m) / speed_mps


def signal_plans(
    signals: SignalSpec, graph: nx.DiGraph, net: CompiledNetwork, flows: DemandFlows | None
) -> list[SignalPlan]:
    """The plan of every signal of a network, in signal order.

    A node's own ``signal_plan`` replaces the scenario's greens and offset; each phase keeps
    the plan's yellow, all-red, minimum and maximum green where the plan gives them (else
    the scenario's, without a maximum). An own plan's minimum greens are capped at its
    greens, so that its cycle is kept. With ``timing = "coordinated"`` every signal then gets
    :func:`coordinated_plans`; last, the nodes of ``signals.plan_file`` get the file's plans.

    Args:
        signals: The scenario's ``[signals]``.
        graph: The network graph (its nodes may carry a ``signal_plan``).
        net: Its compiled form.
        flows: The demand's flows for Webster greens and coordination, or None for
            ``signals.green_s`` (not with ``timing = "coordinated"``).

    Raises:
        ValueError: If ``timing = "coordinated"`` comes without flows.
        ScenarioError: If the plan file does not fit the network (naming the file, node and key).
    """
    wave_s = green_wave_offsets_s(net)
    yellows = _or_scenario(net.phase_yellow_s, signals.yellow_s)
    all_reds = _or_scenario(net.phase_all_red_s, signals.all_red_s)
    min_greens = _or_scenario(net.phase_min_green_s, signals.min_green_s)
    max_greens = [None if math.isnan(g) else g for g in net.phase_max_green_s.tolist()]
    plans = []
    for s, node in enumerate(net.signal_nodes):
        phases = range(net.signal_phase_ptr[s], net.signal_phase_ptr[s + 1])
        own_phases = slice(phases.start, phases.stop)
        yellow, all_red, min_green = yellows[own_phases], all_reds[own_phases], min_greens[own_phases]
        own = graph.nodes[net.node_ids[node]].get(SIGNAL_PLAN)
        if own is None:
            intergreens = [y + r for y, r in zip(yellow, all_red, strict=True)]
            greens = _scenario_greens(signals, net, s, flows, intergreens, min_green)
            offset_s = float(wave_s[s] if signals.offset_s == "green_wave" else signals.offset_s)
        else:
            greens = tuple(float(g) for g in own["greens_s"])
            offset_s = float(own["offset_s"])
            min_green = [min(g_min, g) for g_min, g in zip(min_green, greens, strict=True)]
        plans.append(SignalPlan(greens, yellow, all_red, offset_s, min_green, max_greens[own_phases]))
    if signals.timing == "coordinated":
        if flows is None:
            raise ValueError("timing 'coordinated' needs the demand's flows")
        plans = coordinated_plans(signals, graph, net, flows, plans)
    if signals.plan_file is not None:
        plans = apply_plan_file(load_plan_file(signals.plan_file), net, plans)
    return plans


def common_cycle_s(
    plans: Sequence[SignalPlan],
    critical_flows_vphpl: Sequence[Sequence[float]],
    lost_time_per_phase_s: float,
    saturation_flow_vphpl: float,
    own_cycles_s: Sequence[float] = (),
) -> float:
    """The common cycle of coordinated plans: the critical intersection's Webster cycle (s).

    The critical intersection is the one that needs the longest cycle: its Webster cycle
    (:func:`webster_cycle_s`) or, for a node with its own ``signal_plan``, the cycle its engineers
    gave it if that is longer and at most :data:`COORDINATED_MAX_CYCLE_S` (a longer "cycle" is a
    signal that never switches, such as SUMO's 10,000 s greens). The own cycle counts because
    Webster's capacity, a saturation flow per lane, ignores what such junctions lose to lane
    choice: on SUMO's ``cross`` scenario (one lane per movement, 90 s program) Webster's 56 s
    cycle queued the approaches past their turn lanes until the stop lines locked, while 90 s ran
    with 27 s of delay. The cycle is clipped to [:data:`COORDINATED_MIN_CYCLE_S`,
    :data:`COORDINATED_MAX_CYCLE_S`] and raised to the shortest cycle any signal's minimum greens
    and intergreens fill.

    Args:
        plans: Each signal's plan (its intergreens and minimum greens).
        critical_flows_vphpl: Each signal's critical flow per phase (:func:`critical_lane_flows_vphpl`).
        lost_time_per_phase_s: Lost time of each phase (s).
        saturation_flow_vphpl: Saturation flow per lane (veh/h/lane).
        own_cycles_s: The cycles of the nodes that have their own ``signal_plan`` (s).
    """
    cycles = [
        webster_cycle_s(q, lost_time_per_phase_s, saturation_flow_vphpl, plan.intergreens_s, plan.min_green_s)
        for plan, q in zip(plans, critical_flows_vphpl, strict=True)
    ]
    cycles += [cycle for cycle in own_cycles_s if cycle <= COORDINATED_MAX_CYCLE_S]
    critical = min(max(cycles, default=0.0), COORDINATED_MAX_CYCLE_S)
    return max(critical, COORDINATED_MIN_CYCLE_S, *(_shortest_cycle_s(plan) for plan in plans))


def _shortest_cycle_s(plan: SignalPlan) -> float:
    """The cycle a plan's minimum greens and intergreens fill (s)."""
    return sum(plan.min_green_s) + sum(plan.intergreens_s)


def coordinated_plans(
    signals: SignalSpec,
    graph: nx.DiGraph,
    net: CompiledNetwork,
    flows: DemandFlows,
    plans: Sequence[SignalPlan],
    cycle_s: float | None = None,
) -> list[SignalPlan]:
    """Every signal on one cycle, with Webster greens on it and offsets for two-way progression.

    Each signal keeps its phases, intergreens and minimum and maximum greens; its greens are
    :func:`webster_greens_s` on the common cycle, and its offset
    :func:`~sim.control.coordination.progression_offsets_s`'s.

    Args:
        signals: The scenario's ``[signals]`` (``lost_time_s``, ``saturation_flow_vphpl``).
        graph: The network graph (its nodes may carry a ``signal_plan``).
        net: Its compiled form.
        flows: The demand's flows.
        plans: Each signal's plan before coordination (:func:`signal_plans`' without
            ``"coordinated"``), in signal order.
        cycle_s: The common cycle (s), raised to the shortest cycle any signal fills; None for
            :func:`common_cycle_s`.
    """
    critical = [critical_lane_flows_vphpl(net, s, flows) for s in range(net.n_signals)]
    webster = (signals.lost_time_s, signals.saturation_flow_vphpl)
    if cycle_s is None:
        own = [plan.cycle_s for plan, node in zip(plans, net.signal_nodes.tolist(), strict=True)
               if SIGNAL_PLAN in graph.nodes[net.node_ids[node]]]  # fmt: skip
        cycle_s = common_cycle_s(plans, critical, *webster, own)
    cycle_s = max([cycle_s, *(_shortest_cycle_s(plan) for plan in plans)])
    greens = [
        webster_greens_s(cycle_s, q, *webster, plan.intergreens_s, plan.min_green_s)
        for plan, q in zip(plans, critical, strict=True)
    ]
    intergreens = [plan.intergreens_s for plan in plans]
    links = signal_links(net, flows.connection_vph)
    offsets = progression_offsets_s(links, cycle_s, greens, intergreens)
    return [
        replace(plan, greens_s=g, offset_s=float(offset))
        for plan, g, offset in zip(plans, greens, offsets.tolist(), strict=True)
    ]


def timing_label(signals: SignalSpec, graph: nx.DiGraph | None = None) -> str:
    """How the scenario times its signals, in a few words, for reports: ``"coordinated: ..."``.

    Args:
        signals: The scenario's ``[signals]``.
        graph: The network graph, to count the nodes that run their own ``signal_plan`` (they
            keep it under ``"fixed"`` and ``"webster"``); None leaves them out of the label.
    """
    offsets = "green wave along x" if signals.offset_s == "green_wave" else f"offsets {signals.offset_s:g} s"
    label = {
        "fixed": f"fixed {signals.green_s:g} s greens, {offsets}",
        "webster": f"Webster greens per signal, {offsets}",
        "coordinated": "coordinated: common cycle, Webster splits, two-way progression offsets",
    }[signals.timing]
    own = 0 if graph is None else sum(SIGNAL_PLAN in data for _, data in graph.nodes(data=True))
    if own and signals.timing != "coordinated":
        label += f"; own programs kept at {own} signal{'s' if own > 1 else ''}"
    if signals.plan_file is None:
        return label
    return f"plan file {signals.plan_file.name} (other signals: {label})"


def _or_scenario(per_phase_s: np.ndarray, scenario_s: float) -> list[float]:
    """Each phase's value from its node's plan, or the scenario's where the plan gives none (NaN)."""
    return np.where(np.isnan(per_phase_s), scenario_s, per_phase_s).tolist()


def _scenario_greens(
    signals: SignalSpec,
    net: CompiledNetwork,
    signal: int,
    flows: DemandFlows | None,
    intergreens_s: list[float],
    min_greens_s: list[float],
) -> tuple[float, ...]:
    """``signals.green_s`` for every phase of signal ``signal``, or Webster greens from the flows."""
    if flows is None:
        return (signals.green_s,) * len(intergreens_s)
    critical = critical_lane_flows_vphpl(net, signal, flows)
    _, greens = webster_timing(
        critical, signals.lost_time_s, signals.saturation_flow_vphpl, intergreens_s, min_greens_s
    )
    return greens
