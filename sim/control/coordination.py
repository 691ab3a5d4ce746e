"""Offsets for two-way progression on a common cycle: greens aligned with the platoons between signals.

Every pair of signals joined by a road (directly, or through unsignalized nodes along through
movements, up to :data:`MAX_LINK_M`) is a *link* in each direction it carries traffic. A link's
platoon leaves its upstream signal during the green of the phase that sends the most flow into
it, travels the link at the speed limit, and arrives at its downstream signal, where the phase
that serves the most of its flow should then be green. Its score is the flow that arrives on
green: the platoon's flow times the share of the upstream green that, shifted by the travel
time, falls into the downstream green (both windows taken on the common cycle, modulo it). This
is the "percent arrivals on green" of the Purdue coordination diagram (Day et al. 2010) with
the platoon spread over the upstream green, and a link-by-link version of the bandwidth that
MAXBAND maximizes along an arterial in both directions (Little, Kelson & Gartner 1981); TRANSYT
(Robertson 1969) optimizes offsets on such platoon profiles as well, with dispersion.

The platoon is spread over the whole green on purpose. Platoons discharged at the saturation
flow (a few seconds long) and shifted by the queue of turning vehicles ahead of them made
offsets that fit on paper but stopped more vehicles in the simulation (all-trips delay +25%
on the 10x10 grid at 7,000 veh/h, +33% on the arterial scenario, 3 seeds): a short platoon fits
anywhere in the green, so the optimum is flat and lands at its edge, where start-up loss and
speed spread make vehicles miss it; the spread platoon peaks where the greens line up.

:func:`progression_offsets_s` maximizes the summed score of all links over the offsets, both
directions of a road counting, so a corridor's heavier direction weighs more and a corridor
weighs more than a lightly used cross street. The search is deterministic: offsets are placed
greedily, the busiest signal first at 0 and then always the signal most strongly linked to those
placed, each at its best offset against them; then coordinate ascent (each signal's best offset
against all its neighbours, on a 1 s grid) until no signal changes. On a corridor whose block
travel time is half the cycle this finds the alternating (half-cycle) offsets, which serve both
directions at once; where no offset serves both, it favours the heavier flow.

Limits: free-flow travel times (no start-up loss), no queue ahead of the platoon, no platoon
dispersion within the link length limit, and a local optimum of a piecewise-linear objective.
On congested grids with short blocks, alternating offsets may do better still (they keep queues
from spilling back rather than serve platoons): ``citysim tune`` searches beyond this start.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, NamedTuple

import numpy as np

from sim.traffic.codes import TURN_THROUGH

if TYPE_CHECKING:
    from collections.abc import Sequence

    from sim.network.compile import CompiledNetwork

__all__ = ["MAX_LINK_M", "OFFSET_STEP_S", "SignalLink", "progression_offsets_s", "signal_links"]

MAX_LINK_M = 1000.0
"""Longest road between two signals that coordination considers (m): beyond about 1 km platoons
have dispersed (practice coordinates signals within about half a mile; FHWA Signal Timing Manual,
2nd ed., NCHRP Report 812, 2015)."""
OFFSET_STEP_S = 1.0
"""Resolution of the offset search (s)."""
_MAX_SWEEPS = 20


class SignalLink(NamedTuple):
    """A road between two signals, in one direction, and the platoon it carries.

    Attributes:
        up: Index of the upstream signal.
        down: Index of the downstream signal.
        up_phase: Index, within the upstream signal's phases, of the phase that sends the most
            flow onto the road.
        down_phase: Index, within the downstream signal's phases, of the phase that serves the
            most of the road's flow.
        travel_s: Free-flow travel time from the upstream to the downstream stop line (s).
        flow_vph: The platoon: the up phase's flow onto the road times the share of the road's
            flow that the down phase serves (veh/h).
    """

    up: int
    down: int
    up_phase: int
    down_phase: int
    travel_s: float
    flow_vph: float


def signal_links(net: CompiledNetwork, connection_vph: np.ndarray) -> list[SignalLink]:
    """Every road from one signal to another carrying flow, through unsignalized nodes straight on.

    From each signal's out-edge the road follows the through movement (the busiest, if several)
    across unsignalized nodes until it reaches a signal, stops at a node without a through
    movement, or passes :data:`MAX_LINK_M`.

    Args:
        net: The compiled network.
        connection_vph: The demand's flow on every connection (veh/h).
    """
    signal_of = np.full(len(net.node_ids), -1, dtype=np.int64)
    signal_of[net.signal_nodes] = np.arange(net.n_signals)
    phase_conns = [_phase_members(net, s) for s in range(net.n_signals)]
    links = []
    for s, node in enumerate(net.signal_nodes.tolist()):
        for first in np.flatnonzero(net.edge_from == node).tolist():
            into = _phase_flows(connection_vph, phase_conns[s], net.conn_to, first)
            road = _road(net, connection_vph, signal_of, first)
            if road is None or max(into, default=0.0) <= 0.0:
                continue
            last, travel_s = road
            down = int(signal_of[net.edge_to[last]])
            served = _phase_flows(connection_vph, phase_conns[down], net.conn_from, last)
            total = float(connection_vph[net.conn_from == last].sum())
            if down == s or total <= 0.0 or max(served) <= 0.0:
                continue
            up_phase, down_phase = int(np.argmax(into)), int(np.argmax(served))
            flow = into[up_phase] * served[down_phase] / total
            links.append(SignalLink(s, down, up_phase, down_phase, travel_s, flow))
    return links


def _phase_members(net: CompiledNetwork, signal: int) -> list[np.ndarray]:
    """The connections of each phase of a signal, in phase order."""
    ptr = net.phase_conn_ptr
    phases = range(net.signal_phase_ptr[signal], net.signal_phase_ptr[signal + 1])
    return [net.phase_conns[ptr[p] : ptr[p + 1]] for p in phases]


def _phase_flows(
    connection_vph: np.ndarray, members: list[np.ndarray], ends: np.ndarray, edge: int
) -> list[float]:
    """Per phase, the flow (veh/h) of its connections whose ``ends`` (to or from edge) is ``edge``."""
    return [float(connection_vph[conns[ends[conns] == edge]].sum()) for conns in members]


def _road(
    net: CompiledNetwork, connection_vph: np.ndarray, signal_of: np.ndarray, first: int
) -> tuple[int, float] | None:
    """The last edge and travel time (s) of the road from edge ``first`` to the next signal, or None."""
    edge, length_m = first, float(net.edge_length_m[first])
    travel_s = length_m / float(net.edge_speed_mps[first])
    seen = {first}
    while signal_of[net.edge_to[edge]] < 0:
        through = np.flatnonzero((net.conn_from == edge) & (net.conn_turn == TURN_THROUGH))
        if not len(through):
            return None
        edge = int(net.conn_to[through[np.argmax(connection_vph[through])]])
        length_m += float(net.edge_length_m[edge])
        travel_s += float(net.edge_length_m[edge] / net.edge_speed_mps[edge])
        if edge in seen or length_m > MAX_LINK_M:
            return None
        seen.add(edge)
    return (edge, travel_s) if length_m <= MAX_LINK_M else None


def progression_offsets_s(
    links: Sequence[SignalLink],
    cycle_s: float,
    greens_s: Sequence[Sequence[float]],
    intergreens_s: Sequence[Sequence[float]],
) -> np.ndarray:
    """Per signal, the offset that maximizes the arrivals on green of all links (s).

    See the module docstring for the objective and the search.

    Args:
        links: The roads between signals (:func:`signal_links`).
        cycle_s: The common cycle (s).
        greens_s: Each signal's greens on that cycle, phase by phase (s).
        intergreens_s: Each signal's intergreens, phase by phase (s).

    Returns:
        One offset per signal in [0, cycle_s); 0 for a signal without links.
    """
    n = len(greens_s)
    starts = [
        np.concatenate(([0.0], np.cumsum(np.add(g, i))[:-1]))
        for g, i in zip(greens_s, intergreens_s, strict=True)
    ]
    # per link: the platoon's arrival and the green's start, both relative to their signal's
    # offset; the platoon's and the green's lengths; the weight per second of platoon
    up_s = np.array([starts[k.up][k.up_phase] + k.travel_s for k in links])
    down_s = np.array([starts[k.down][k.down_phase] for k in links])
    platoon_s = np.array([greens_s[k.up][k.up_phase] for k in links])
    green_s = np.array([greens_s[k.down][k.down_phase] for k in links])
    weight = np.array([k.flow_vph for k in links]) / np.maximum(platoon_s, 1e-9)
    touching: list[list[int]] = [[] for _ in range(n)]
    strength = np.zeros(n)
    for index, link in enumerate(links):
        for s in (link.up, link.down):
            touching[s].append(index)
            strength[s] += link.flow_vph
    candidates = np.arange(0.0, cycle_s, OFFSET_STEP_S)
    offsets = np.zeros(n)
    placed = np.zeros(n, dtype=bool)

    def scores(s: int) -> np.ndarray:
        """Per candidate offset of signal ``s``, arrivals on green (veh/h) on links to placed signals."""
        score = np.zeros(len(candidates))
        for index in touching[s]:
            link = links[index]
            other = link.down if link.up == s else link.up
            if not placed[other] or other == s:
                continue
            if link.up == s:
                arrive, green = candidates + up_s[index], offsets[other] + down_s[index]
            else:
                arrive, green = offsets[other] + up_s[index], candidates + down_s[index]
            score += weight[index] * _overlap_s(arrive, platoon_s[index], green, green_s[index], cycle_s)
        return score

    # greedy placement: the busiest signal at 0, then always the one most strongly linked to those placed
    linked = int(np.count_nonzero(strength))
    attached = np.zeros(n)
    for _ in range(linked):
        s = int(np.argmax(np.where(placed | (strength <= 0.0), -np.inf, attached + 1e-12 * strength)))
        if attached[s] > 0.0:
            offsets[s] = candidates[np.argmax(scores(s))]
        placed[s] = True
        for index in touching[s]:
            link = links[index]
            attached[link.down if link.up == s else link.up] += link.flow_vph
    # coordinate ascent: each signal to its best offset against all its neighbours, until none moves
    order = np.argsort(-strength, kind="stable")[:linked].tolist()
    for _ in range(_MAX_SWEEPS):
        changed = False
        for s in order:
            score = scores(s)
            best, now = int(np.argmax(score)), round(offsets[s] / OFFSET_STEP_S)
            if score[best] > score[now] + 1e-9:
                offsets[s], changed = candidates[best], True
        if not changed:
            break
    return offsets % cycle_s


def _overlap_s(
    start_a: np.ndarray | float, length_a: float, start_b: np.ndarray | float, length_b: float, cycle_s: float
) -> np.ndarray:
    """Overlap (s) of the windows ``[start, start + length)`` of two events repeating every ``cycle_s``.

    Both lengths are at most the cycle.
    """
    gap = np.mod(np.asarray(start_b) - np.asarray(start_a), cycle_s)
    # window b starts ``gap`` after window a, and ``cycle_s - gap`` before it
    after = np.clip(np.minimum(length_a, gap + length_b) - gap, 0.0, None)
    before = np.clip(np.minimum(length_a, gap - cycle_s + length_b), 0.0, None)
    return after + before
