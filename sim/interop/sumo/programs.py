"""Read SUMO traffic-light programs and turn them into citysim's own signal plans.

:func:`read_programs` keeps, for each traffic light, the program SUMO runs by default: the
one loaded last (SUMO: "when loaded, the last program will be used"; switching to another
needs a WAUT or TraCI). A ``tlLogic`` that repeats a ``programID`` already loaded for its
light is refused by SUMO and skipped here, and so is one without phases (SUMO's ``off``
program, or an offset change to a loaded program).

:func:`signal_plans` turns each program into the node's own ``signal_plan`` (see
:mod:`sim.network.graph`), node by node (a light that controls several junctions gives
each its own plan from its own links):

1. a SUMO phase's **green set** is the node's connections whose links show ``G`` or ``g``
   (``s``, ``u``, ``o`` and ``O`` count as red);
2. a SUMO phase is a **transition** if it gives the node no green, or if it shows yellow
   (``y``/``Y``) at the node and its green set is within that of the phase before it (a
   yellow that keeps some links green, e.g. a left turn that continues into a protected
   phase). Its duration joins the intergreen after the phase before it: its yellow if it
   shows yellow at the node, else its all-red;
3. every other SUMO phase serves its green set; consecutive phases with the same set are
   one serving. The plan's **phases** are the distinct green sets in cycle order of their
   first serving (from SUMO's phase 0), each with the total duration of its servings as its
   green and the transitions after its first serving as its own ``yellow_s`` and
   ``all_red_s``. A program that serves a set twice per cycle (e.g. NS, EW, NS, EW) has
   it served once per cycle in citysim, for the time SUMO gives it in all; the transitions
   after its later servings are added to its green too, so the cycle keeps SUMO's length
   (and its coordination with its neighbours);
4. an ``actuated`` or ``delay_based`` program also gives each phase ``min_green_s`` and
   ``max_green_s``: the sum of its SUMO phases' ``minDur`` and ``maxDur``, with SUMO's
   defaults (``minDur`` = ``duration``; ``maxDur`` = ``duration`` without ``minDur``, no
   limit with it: then :data:`~sim.schema.MAX_GREEN_S`). Other types (``static``, ...)
   keep their nominal durations and give none;
5. the **offset** is the time at which the first phase's green starts in the common cycle:
   SUMO's ``offset`` (when SUMO's phase 0 starts) plus the start of that green;
6. a turn that citysim allows but the program does not control (no link index controls it)
   gets green in every phase that gives its approach a green (in every phase, if its
   approach never gets one), so that every route can be driven. So does a link the program
   controls but never gives green (SUMO keeps it red for good: a program meant to be
   switched by hand, as the SUMO games' ones); :func:`signal_plans` counts those.

So a fixed-time run of the plan repeats SUMO's cycle: same length, same order, each
intergreen the program's own. Limits: during an intergreen citysim keeps green exactly the
connections green in both phases, so a link that a transition keeps green but the next
phase does not is yellow from the start of the intergreen; phase jumps (``next``) and
detector parameters are not read.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from xml.etree.ElementTree import Element

import networkx as nx
import numpy as np

from sim.interop.sumo.xmlfile import parse_tree
from sim.network.compile import CompiledNetwork, compile_network
from sim.schema import MAX_GREEN_S

__all__ = ["ACTUATED_TYPES", "TlsPhase", "TlsProgram", "additional_logics", "read_programs", "signal_plans"]

EdgeKey = tuple[str, str]
_GREEN = frozenset("Gg")
_YELLOW = frozenset("yY")
ACTUATED_TYPES = frozenset({"actuated", "delay_based"})
"""SUMO program types that time their phases between ``minDur`` and ``maxDur``."""


@dataclass(frozen=True)
class TlsPhase:
    """One phase of a SUMO program.

    Attributes:
        duration_s: Duration (s).
        state: One letter per link index (``G``, ``g``, ``y``, ``r``, ...).
        min_dur_s: SUMO's ``minDur`` (s), or None if not given.
        max_dur_s: SUMO's ``maxDur`` (s), or None if not given.
    """

    duration_s: float
    state: str
    min_dur_s: float | None = None
    max_dur_s: float | None = None

    @property
    def min_green_s(self) -> float:
        """Shortest green SUMO gives the phase in an actuated program (s)."""
        return self.duration_s if self.min_dur_s is None else self.min_dur_s

    @property
    def max_green_s(self) -> float:
        """Longest green SUMO gives the phase in an actuated program (s); :data:`MAX_GREEN_S` if unlimited."""
        if self.max_dur_s is not None:
            return self.max_dur_s
        return self.duration_s if self.min_dur_s is None else MAX_GREEN_S


@dataclass(frozen=True)
class TlsProgram:
    """A SUMO traffic-light program.

    Attributes:
        tl_id: Traffic-light id.
        offset_s: SUMO's ``offset``: the time (s) at which its first phase starts.
        phases: The phases in cycle order.
        links: (from edge, to edge) SUMO ids of each controlled link, by link index.
        kind: SUMO's ``type`` (``static``, ``actuated``, ``delay_based``, ...).
        program_id: SUMO's ``programID``.
    """

    tl_id: str
    offset_s: float
    phases: tuple[TlsPhase, ...]
    links: Mapping[int, tuple[str, str]]
    kind: str = "static"
    program_id: str = "0"

    @property
    def cycle_s(self) -> float:
        """Cycle length (s)."""
        return sum(p.duration_s for p in self.phases)


def read_programs(
    logics: Iterable[Element], tl_links: Mapping[str, Mapping[int, tuple[str, str]]]
) -> tuple[dict[str, TlsProgram], int]:
    """The program SUMO runs by default for each traffic light that controls a kept link.

    Args:
        logics: ``tlLogic`` elements in the order SUMO loads them (the net's, then those of
            additional files).
        tl_links: Each traffic light's controlled links, (from edge, to edge) by link index.

    Returns:
        The default program by tl id (rules in the module docstring), and the number of
        the other ``tlLogic`` elements of those lights (not run).
    """
    loaded: dict[str, set[str]] = {}
    programs: dict[str, TlsProgram] = {}
    read = 0
    for logic in logics:
        tl_id, program_id = logic.get("id"), logic.get("programID", "")
        if tl_id not in tl_links:
            continue
        read += 1
        phases = tuple(_phase(p) for p in logic.iter("phase"))
        if program_id in loaded.get(tl_id, ()) or not phases:
            continue
        loaded.setdefault(tl_id, set()).add(program_id)
        offset_s, kind = float(logic.get("offset", "0")), logic.get("type", "static")
        programs[tl_id] = TlsProgram(tl_id, offset_s, phases, tl_links[tl_id], kind, program_id)
    return programs, read - len(programs)


def additional_logics(paths: Iterable[str | os.PathLike[str]]) -> list[Element]:
    """The ``tlLogic`` elements of SUMO additional files, in file order (as SUMO loads them).

    Raises:
        InteropError: If a file is missing, unreadable or not well-formed XML.
    """
    return [logic for path in paths for logic in parse_tree(path).iter("tlLogic")]


def _phase(element: Element) -> TlsPhase:
    min_dur, max_dur = element.get("minDur"), element.get("maxDur")
    return TlsPhase(
        float(element.get("duration")),
        element.get("state"),
        None if min_dur is None else float(min_dur),
        None if max_dur is None else float(max_dur),
    )


def signal_plans(
    graph: nx.DiGraph, edge_map: Mapping[str, tuple[EdgeKey, ...]], programs: Mapping[str, TlsProgram]
) -> tuple[dict[str, dict], int]:
    """Each signalized node's own ``signal_plan`` from its SUMO program (rules in the module docstring).

    Args:
        graph: The imported graph, its signalized nodes marked, without signal plans.
        edge_map: Graph edges of each SUMO edge, in travel order.
        programs: The SUMO programs by tl id.

    Returns:
        The plan of every signalized node that a program gives a green, by node id, and the
        number of links a program controls but never gives green (served with their approach).
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
    never_green = 0
    for node_index in net.signal_nodes.tolist():
        node = net.node_ids[node_index]
        if node not in links:
            continue
        tl_id, node_links = max(links[node].items(), key=lambda item: len(item[1]))
        plan = _own_plan(programs[tl_id], node_links)
        if plan is not None:
            phases = plan.pop("phases")
            added = _serve_uncontrolled(phases, node_conns[node], net.conn_from)
            never_green += len(added & {c for _, c in node_links})
            plans[node] = {"phases": [[list(movement[c]) for c in sorted(conns)] for conns in phases], **plan}
    return plans, never_green


@dataclass
class _Serving:
    """Consecutive SUMO phases that give a node the same green set, and the transitions after them."""

    green: frozenset[int]
    first: int
    start_s: float
    green_s: float = 0.0
    min_green_s: float = 0.0
    max_green_s: float = 0.0
    yellow_s: float = 0.0
    all_red_s: float = 0.0

    @property
    def intergreen_s(self) -> float:
        """Duration of the transitions after it (s)."""
        return self.yellow_s + self.all_red_s

    def add(self, green_s: float, min_green_s: float, max_green_s: float) -> None:
        """Run on for another green (s), with its shortest and longest duration (s)."""
        self.green_s += green_s
        self.min_green_s += min_green_s
        self.max_green_s += max_green_s


def _servings(program: TlsProgram, links: list[tuple[int, int]]) -> list[_Serving]:
    """The node's servings in SUMO's cycle, from a phase that surely starts one (none without greens)."""
    greens, yellows, starts = [], [], []
    start_s = 0.0
    for phase in program.phases:
        state = phase.state
        greens.append(frozenset(c for i, c in links if c >= 0 and i < len(state) and state[i] in _GREEN))
        yellows.append(any(i < len(state) and state[i] in _YELLOW for i, _ in links))
        starts.append(start_s)
        start_s += phase.duration_s
    served = [i for i, phase in enumerate(program.phases) if greens[i] and phase.duration_s > 0]
    if not served:
        return []
    first = next((i for i in served if not yellows[i]), served[0])
    servings: list[_Serving] = []
    n = len(program.phases)
    for i in [(first + k) % n for k in range(n)]:
        phase, last = program.phases[i], servings[-1] if servings else None
        if phase.duration_s <= 0:
            continue
        if last is not None and (not greens[i] or (yellows[i] and greens[i] <= last.green)):
            if yellows[i]:
                last.yellow_s += phase.duration_s
            else:
                last.all_red_s += phase.duration_s
            continue
        if last is None or greens[i] != last.green or last.intergreen_s > 0:
            last = _Serving(greens[i], i, starts[i])
            servings.append(last)
        last.add(phase.duration_s, phase.min_green_s, phase.max_green_s)
    wrapped = servings[-1]
    if len(servings) > 1 and wrapped.green == servings[0].green and wrapped.intergreen_s == 0:
        # the cycle's last serving runs on into its first one: one serving, from the earlier start
        servings.pop()
        servings[0].add(wrapped.green_s, wrapped.min_green_s, wrapped.max_green_s)
        servings[0].start_s = wrapped.start_s
    return servings


def _own_plan(program: TlsProgram, links: list[tuple[int, int]]) -> dict | None:
    """A node's plan, each phase as a set of connection indices, or ``None`` if SUMO gives it no green."""
    servings = _servings(program, links)
    if not servings:
        return None
    by_set: dict[frozenset[int], list[_Serving]] = {}
    for serving in sorted(servings, key=lambda s: s.first):
        by_set.setdefault(serving.green, []).append(serving)
    phases = list(by_set.values())
    greens = [sum(s.green_s for s in runs) + sum(s.intergreen_s for s in runs[1:]) for runs in phases]
    cycle_s = program.cycle_s
    plan = {
        "phases": [set(green) for green in by_set],
        "greens_s": greens,
        "yellow_s": [runs[0].yellow_s for runs in phases],
        "all_red_s": [runs[0].all_red_s for runs in phases],
        "offset_s": (program.offset_s + phases[0][0].start_s) % cycle_s,
    }
    if program.kind in ACTUATED_TYPES:
        plan["min_green_s"] = [sum(s.min_green_s for s in runs) for runs in phases]
        plan["max_green_s"] = [min(sum(s.max_green_s for s in runs), MAX_GREEN_S) for runs in phases]
    return plan


def _serve_uncontrolled(phases: list[set[int]], conns: list[int], conn_from: np.ndarray) -> set[int]:
    """Give each of ``conns`` that no phase serves green where its approach has green (else everywhere).

    Returns:
        The connections given green so.
    """
    served = set().union(*phases)
    added = set()
    for c in conns:
        if c in served:
            continue
        added.add(c)
        approach = [green for green in phases if any(conn_from[g] == conn_from[c] for g in green)]
        for green in approach or phases:
            green.add(c)
    return added


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
