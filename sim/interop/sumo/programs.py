"""Map SUMO traffic-light programs onto citysim's phases, as fixed-time plans.

:func:`signal_plans` turns each program into the node's own ``signal_plan`` (see
:mod:`sim.network.graph`), which the importer stores on the node:

1. every SUMO phase that gives some movement of the node a green (``G`` or ``g``) is a
   phase of the plan, in SUMO's order, with SUMO's duration as its green and the movements
   it gives green (those citysim connects). Phases with only yellow and red at the node are
   transitions; their total, split evenly between the phases, becomes the yellow (time of
   transitions with a yellow link) and all-red (the rest) after each green, so the cycle
   keeps SUMO's length. The offset is the time at which the first green starts in SUMO's cycle;
2. a turn that citysim allows but the program does not control (SUMO does not connect it,
   or no link index controls it) gets green in every phase that gives its approach a green
   (in every phase, if its approach never gets one), so that every route can be driven.

:func:`map_programs` maps a program onto the geometric phases instead (the approaches of
a node split by bearing into a north-south and an east-west phase, see
:func:`sim.network.compile_network`), node by node, and measures how much of it they keep:

1. every SUMO phase that gives some link of the node a green (``G`` or ``g``) is a green
   phase; it is assigned to the citysim phase holding most of its green links. Phases with
   only yellow and red at the node are transitions;
2. a citysim phase's green is the total duration of the SUMO phases assigned to it, and
   the transitions' total, split evenly between the phases, becomes the yellow (time of
   transitions with a yellow link) and all-red (the rest) after each green, so the cycle
   keeps SUMO's length;
3. the offset is the time at which the first citysim phase's green starts in SUMO's cycle.

Limits: protected turn phases, overlaps and split phases cannot be represented, so their
time goes to the approach's phase; a program that serves an approach twice per cycle
(e.g. NS, EW, NS, EW) is run once per cycle with the summed greens; a citysim phase that
SUMO never serves gets a 1 s green. :class:`PlanMatch` measures the result: the share of
SUMO's green link-seconds that the mapped citysim phase also gives green.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import networkx as nx
import numpy as np

from sim.interop.sumo.export import SignalTiming
from sim.network.compile import CompiledNetwork, compile_network

__all__ = ["FILL_GREEN_S", "PlanMatch", "TlsPhase", "TlsProgram", "map_programs", "signal_plans"]

EdgeKey = tuple[str, str]
FILL_GREEN_S = 1.0
"""Green (s) given to a citysim phase that the SUMO program never serves."""
_GREEN = frozenset("Gg")
_YELLOW = frozenset("yY")


@dataclass(frozen=True)
class TlsPhase:
    """One phase of a SUMO program.

    Attributes:
        duration_s: Duration (s).
        state: One letter per link index (``G``, ``g``, ``y``, ``r``, ...).
    """

    duration_s: float
    state: str


@dataclass(frozen=True)
class TlsProgram:
    """A SUMO traffic-light program.

    Attributes:
        tl_id: Traffic-light id.
        offset_s: SUMO's ``offset``: the time (s) at which its first phase starts.
        phases: The phases in cycle order.
        links: (from edge, to edge) SUMO ids of each controlled link, by link index.
    """

    tl_id: str
    offset_s: float
    phases: tuple[TlsPhase, ...]
    links: Mapping[int, tuple[str, str]]

    @property
    def cycle_s(self) -> float:
        """Cycle length (s)."""
        return sum(p.duration_s for p in self.phases)


@dataclass(frozen=True)
class PlanMatch:
    """How well a node's citysim plan reproduces its SUMO program.

    Attributes:
        tl_id: The SUMO program mapped.
        green_link_s: Green link-seconds SUMO gives the node's links over a cycle.
        matched_link_s: Of those, the ones the mapped citysim phase also gives green.
        unserved_phases: citysim phases SUMO never serves (given :data:`FILL_GREEN_S`).
    """

    tl_id: str
    green_link_s: float
    matched_link_s: float
    unserved_phases: int

    @property
    def share(self) -> float:
        """``matched_link_s / green_link_s`` (1.0 without green links)."""
        return self.matched_link_s / self.green_link_s if self.green_link_s > 0 else 1.0


def map_programs(
    graph: nx.DiGraph, edge_map: Mapping[str, tuple[EdgeKey, ...]], programs: Mapping[str, TlsProgram]
) -> tuple[dict[str, SignalTiming], dict[str, PlanMatch]]:
    """Fixed-time plans on the geometric phases of the signalized nodes of ``graph`` from the SUMO programs.

    Args:
        graph: The imported graph, its signalized nodes marked, without signal plans.
        edge_map: Graph edges of each SUMO edge, in travel order.
        programs: The SUMO programs by tl id.

    Returns:
        The plan and the match of every signalized node that a program controls, by node id.
    """
    net = compile_network(graph)
    links = _node_links(net, edge_map, programs)
    plans, matches = {}, {}
    for s, node_index in enumerate(net.signal_nodes.tolist()):
        node = net.node_ids[node_index]
        if node not in links:
            continue
        tl_id, node_links = max(links[node].items(), key=lambda item: len(item[1]))
        first = int(net.signal_phase_ptr[s])
        n_phases = int(net.signal_phase_ptr[s + 1]) - first
        phase_of = {
            int(c): p - first
            for p in range(first, first + n_phases)
            for c in net.phase_conns[net.phase_conn_ptr[p] : net.phase_conn_ptr[p + 1]]
        }
        plans[node], matches[node] = _plan(programs[tl_id], node_links, phase_of, n_phases)
    return plans, matches


def signal_plans(
    graph: nx.DiGraph, edge_map: Mapping[str, tuple[EdgeKey, ...]], programs: Mapping[str, TlsProgram]
) -> dict[str, dict]:
    """Each signalized node's own ``signal_plan`` from its SUMO program (rules in the module docstring).

    Args:
        graph: The imported graph, its signalized nodes marked, without signal plans.
        edge_map: Graph edges of each SUMO edge, in travel order.
        programs: The SUMO programs by tl id.

    Returns:
        The plan of every signalized node that a program gives a green, by node id.
    """
    net = compile_network(graph)
    links = _node_links(net, edge_map, programs)
    movement = {
        c: (net.node_ids[net.edge_from[net.conn_from[c]]], net.node_ids[net.edge_to[net.conn_to[c]]])
        for c in range(len(net.conn_from))
    }
    node_conns: dict[str, list[int]] = {}
    for c in range(len(net.conn_from)):
        node_conns.setdefault(net.node_ids[net.edge_to[net.conn_from[c]]], []).append(c)
    plans = {}
    for node_index in net.signal_nodes.tolist():
        node = net.node_ids[node_index]
        if node not in links:
            continue
        tl_id, node_links = max(links[node].items(), key=lambda item: len(item[1]))
        phases = _own_phases(programs[tl_id], node_links, node_conns[node], net.conn_from)
        if phases is not None:
            plans[node] = {
                **phases,
                "phases": [[list(movement[c]) for c in conns] for conns in phases["phases"]],
            }
    return plans


def _own_phases(
    program: TlsProgram, links: list[tuple[int, int]], conns: list[int], conn_from: np.ndarray
) -> dict | None:
    """A node's plan with each phase as connection indices, or ``None`` if SUMO gives it no green."""
    greens: list[tuple[float, set[int]]] = []
    yellow_s = red_s = 0.0
    start_s = offset_s = 0.0
    for phase in program.phases:
        state = phase.state
        green = {c for index, c in links if c >= 0 and index < len(state) and state[index] in _GREEN}
        if green and phase.duration_s > 0:
            if not greens:
                offset_s = start_s
            greens.append((phase.duration_s, green))
        elif any(index < len(state) and state[index] in _YELLOW for index, _ in links):
            yellow_s += phase.duration_s
        else:
            red_s += phase.duration_s
        start_s += phase.duration_s
    if not greens:
        return None
    served = set().union(*(green for _, green in greens))
    for c in conns:
        if c in served:
            continue
        approach = [green for _, green in greens if any(conn_from[g] == conn_from[c] for g in green)]
        for green in approach or [green for _, green in greens]:
            green.add(c)
    cycle_s = program.cycle_s
    return {
        "phases": [sorted(green) for _, green in greens],
        "greens_s": [duration_s for duration_s, _ in greens],
        "yellow_s": yellow_s / len(greens),
        "all_red_s": red_s / len(greens),
        "offset_s": (program.offset_s + offset_s) % cycle_s if cycle_s > 0 else 0.0,
    }


def _node_links(
    net: CompiledNetwork, edge_map: Mapping[str, tuple[EdgeKey, ...]], programs: Mapping[str, TlsProgram]
) -> dict[str, dict[str, list[tuple[int, int]]]]:
    """Every program's links by node and tl id, as [(link index, connection or -1)]."""
    links: dict[str, dict[str, list[tuple[int, int]]]] = {}
    for tl_id, program in programs.items():
        for index, (sumo_from, sumo_to) in program.links.items():
            a, b = edge_map[sumo_from][-1], edge_map[sumo_to][0]
            c = net.conn_index.get((net.edge_index[a], net.edge_index[b]), -1)
            links.setdefault(a[1], {}).setdefault(tl_id, []).append((index, c))
    return links


def _plan(
    program: TlsProgram, links: list[tuple[int, int]], phase_of: Mapping[int, int], n_phases: int
) -> tuple[SignalTiming, PlanMatch]:
    assigned: list[int | None] = []
    greens = [0.0] * n_phases
    yellow_s = red_s = green_link_s = matched_link_s = 0.0
    for phase in program.phases:
        state = phase.state
        green = [c for index, c in links if index < len(state) and state[index] in _GREEN]
        if not green:
            assigned.append(None)
            if any(index < len(state) and state[index] in _YELLOW for index, _ in links):
                yellow_s += phase.duration_s
            else:
                red_s += phase.duration_s
            continue
        votes = [sum(phase_of.get(c) == p for c in green) for p in range(n_phases)]
        best = max(range(n_phases), key=lambda p: (votes[p], -p))
        assigned.append(best)
        greens[best] += phase.duration_s
        green_link_s += phase.duration_s * len(green)
        matched_link_s += phase.duration_s * votes[best]
    unserved = sum(g == 0.0 for g in greens)
    timing = SignalTiming(
        greens_s=tuple(g if g > 0 else FILL_GREEN_S for g in greens),
        yellow_s=yellow_s / n_phases,
        all_red_s=red_s / n_phases,
        offset_s=_offset(program, assigned),
    )
    return timing, PlanMatch(program.tl_id, green_link_s, matched_link_s, unserved)


def _offset(program: TlsProgram, assigned: list[int | None]) -> float:
    """Time in the cycle at which the first green assigned to citysim phase 0 starts a run."""
    start_s = 0.0
    starts = []
    for i, phase in enumerate(program.phases):
        if assigned[i] == 0 and assigned[i - 1] != 0:
            starts.append(start_s)
        start_s += phase.duration_s
    cycle_s = program.cycle_s
    first = starts[0] if starts else 0.0
    return (program.offset_s + first) % cycle_s if cycle_s > 0 else 0.0
