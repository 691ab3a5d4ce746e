"""Verification of permitted left turns at a signal against the HCM, and of sneakers.

Set-up (driven through :class:`~sim.traffic.state.TrafficState`, as
``tests/test_gap_acceptance_hcm.py`` does): the four-leg crossroads of
``tests/test_right_of_way.py`` (node ``J``, ``junction = "traffic_light"``, 200 m legs at
13.89 m/s) with

* a westbound approach ``E -> J`` of two lanes: lane 1 an exclusive left-turn lane (its
  ``turns`` send ``S`` to lane 1 only, ``W`` and ``N`` to lane 0). The movement tested is
  the left turn ``E -> J -> S``, fed by a saturated queue (every vehicle scheduled at 0 s);
* the opposing eastbound through stream ``W -> J -> E`` on one or two lanes (``W -> J`` and
  ``J -> E``), Poisson at ``v_o`` veh/h in total. As in the two-way-stop test, the
  opposing vehicles are short point-like cars (``MAJOR_TYPE`` there: the formula takes
  exponential headways) and every vehicle drives with ``sigma = 0``.

**Permitted left-turn saturation flow.** HCM 2010, Chapter 31 (Signalized Intersections:
Supplemental), the permitted left-turn saturation flow rate of an exclusive lane against an
opposing flow ``v_o`` (veh/h, all opposing lanes)::

    s_p = v_o exp(-v_o t_cg / 3600) / (1 - exp(-v_o t_fh / 3600))        [veh/h/ln]

with critical headway ``t_cg = 4.5 s`` and follow-up headway ``t_fh = 2.5 s``. It is the
form of Harders' formula (``harders_capacity_vph`` of the two-way-stop test, reused here).
The same equation is numbered 31-100 in the HCM 7th edition, whose Example Problem 1 gives
813 veh/h/ln at ``v_o`` = 624 veh/h: :func:`test_formula_reproduces_the_hcm_example` checks
the form against that figure. With the approach and its opposing approach green throughout,
the measured discharge (left turners leaving ``E -> J`` per hour after a warm-up) must be
within 15 % of ``s_p`` at every ``v_o`` from 200 to 1,000 veh/h, on one and on two
opposing lanes.

**Sneakers.** With a saturated opposing queue (no gap of 4.5 s ever opens during the green),
fixed-time cycles (east-west green 30 s, yellow 3 s, all-red 2 s; north-south green 20 s,
same clearance) and a saturated left-turn queue, 1-2 left turners must clear per cycle
after the green has ended, once the opposing stream stops (the HCM's capacity of a
permitted left counts two such "sneakers" per cycle): the mean over the cycles after a
warm-up must lie in [1, 2]. A left turner counts when it has *cleared* the junction,
:data:`CLEARED_M` along its exit link (or arrived), so that one waiting inside the
junction is not counted when it enters, however the kernel places it; both tests count
that way. The failure message gives the lefts that cleared during the green too.
"""

from __future__ import annotations

from dataclasses import dataclass

import networkx as nx
import numpy as np
import pytest
import test_gap_acceptance_hcm as hcm
from test_engine import phase_of, request
from test_right_of_way import crossroads

from sim.network.validate import validate_network
from sim.traffic.codes import ST_ARRIVED, TURN_LEFT
from sim.traffic.state import TrafficState

CRITICAL_HEADWAY_S = 4.5
FOLLOW_UP_HEADWAY_S = 2.5
"""HCM 2010 ch. 31: t_cg and t_fh of a permitted left turn (s)."""
OPPOSING_FLOWS_VPH = (200.0, 400.0, 600.0, 800.0, 1000.0)
TOLERANCE = 0.15
WARM_UP_S = 300.0
DISCHARGES = 1500
"""Left turners counted per measurement (at least one hour): Poisson noise ~3 %."""
YELLOW_S, ALL_RED_S = 3.0, 2.0
EW_GREEN_S, NS_GREEN_S = 30.0, 20.0
SNEAKER_CYCLES, SNEAKER_WARM_UP_CYCLES = 30, 3
SNEAKERS_PER_CYCLE = (1.0, 2.0)
CLEARED_M = 15.0
"""A left turner has cleared the junction this far along its exit link (m): past any place to wait in it."""


def permitted_left_saturation_vph(v_o: float) -> float:
    """HCM 2010 ch. 31 permitted left-turn saturation flow (veh/h/ln) against ``v_o`` veh/h."""
    return float(hcm.harders_capacity_vph(v_o, CRITICAL_HEADWAY_S, FOLLOW_UP_HEADWAY_S))


def signal_crossroads(opposing_lanes: int) -> nx.DiGraph:
    """The crossroads with an exclusive left lane on ``E -> J`` and ``opposing_lanes`` on ``W -> J -> E``."""
    graph = crossroads("traffic_light")
    graph.edges["E", "J"].update(lanes=2, turns={"S": [1, 1], "W": [0, 0], "N": [0, 0]})
    for edge in (("W", "J"), ("J", "E")):
        graph.edges[edge]["lanes"] = opposing_lanes
    return graph


@dataclass(frozen=True)
class SignalLeftCase(hcm.Case):
    """The two-way-stop test's :class:`Case` for the permitted left at the signal.

    Attributes:
        opposing_lanes: Lanes of the opposing approach.
    """

    opposing_lanes: int = 1

    @property
    def gaps_s(self) -> tuple[float, float]:
        """HCM critical and follow-up headway of the permitted left (s)."""
        return CRITICAL_HEADWAY_S, FOLLOW_UP_HEADWAY_S

    def graph(self, control: str | None = None) -> nx.DiGraph:
        """The signalized crossroads (``control`` is not used: the junction is a signal)."""
        graph = signal_crossroads(self.opposing_lanes)
        validate_network(graph)
        return graph


def left_case(opposing_lanes: int) -> SignalLeftCase:
    """The permitted left ``E -> J -> S`` against the through stream ``W -> J -> E``."""
    return SignalLeftCase(
        f"signal_left_{opposing_lanes}",
        "traffic_light",
        "signal_left",
        ("W", "J", "E"),
        ("E", "J", "S"),
        opposing_lanes,
    )


def start(case: SignalLeftCase, opposing_s: np.ndarray, n_lefts: int) -> tuple[TrafficState, np.ndarray]:
    """A traffic state with the streams scheduled and the east-west phase green; the left turners' ids."""
    state, _, lefts = hcm.simulate(case, opposing_s, np.zeros(n_lefts))
    left = state.net.route_conns(state.net.route_edges(case.minor_path))[0]
    assert state.net.conn_turn[left] == TURN_LEFT
    assert state.net.conn_lane_lo[left] == state.net.conn_lane_hi[left] == 1  # the exclusive lane
    state.set_signal(0, phase_of(state, 0, "EW"), 0.0, YELLOW_S, ALL_RED_S, 0.0)
    return state, lefts


def cleared(state: TrafficState, case: SignalLeftCase, vids: np.ndarray) -> int:
    """How many of the left turners ``vids`` have cleared the junction (see :data:`CLEARED_M`)."""
    on_exit = state.edges_of(vids) != state.net.route_edges(case.minor_path)[0]
    away = (state.statuses()[vids] == ST_ARRIVED) | (state.positions_m(vids) >= CLEARED_M)
    return int(np.count_nonzero(on_exit & away))


def measured_left_discharge_vph(case: SignalLeftCase, v_o: float, seed: int = 0) -> float:
    """Left turners leaving the saturated exclusive lane per hour, green throughout, after the warm-up."""
    hours = max(1.0, DISCHARGES / permitted_left_saturation_vph(v_o))
    duration_s = WARM_UP_S + hours * 3600.0
    opposing_s = hcm.poisson_times_s(np.random.default_rng(seed), v_o, duration_s)
    state, lefts = start(case, opposing_s, int(duration_s / FOLLOW_UP_HEADWAY_S * 1.5))
    state.advance(round(WARM_UP_S / hcm.DT_S))
    before = cleared(state, case, lefts)
    state.advance(round(hours * 3600.0 / hcm.DT_S))
    assert cleared(state, case, lefts) < len(lefts), "the left-turn queue ran empty"
    return (cleared(state, case, lefts) - before) / hours


def lefts_per_cycle(case: SignalLeftCase) -> tuple[np.ndarray, np.ndarray]:
    """Left turners that cleared in each cycle after the warm-up: during the east-west green, and after it.

    A cycle runs from the start of one east-west green to the next; "after it" is its yellow,
    all-red and the north-south phase.
    """
    cycle_s = EW_GREEN_S + NS_GREEN_S + 2 * (YELLOW_S + ALL_RED_S)
    duration_s = (SNEAKER_CYCLES + SNEAKER_WARM_UP_CYCLES) * cycle_s
    saturated_s = np.zeros(int(duration_s))  # one entry a second: the opposing approach never runs dry
    state, lefts = start(case, saturated_s, int(duration_s))
    ew, ns = phase_of(state, 0, "EW"), phase_of(state, 0, "NS")
    in_green, after_green = [], []
    for _ in range(SNEAKER_WARM_UP_CYCLES + SNEAKER_CYCLES):
        at_start = cleared(state, case, lefts)
        state.advance(round(EW_GREEN_S / hcm.DT_S))
        at_end_of_green = cleared(state, case, lefts)
        request(state, 0, ns)
        state.advance(round((YELLOW_S + ALL_RED_S + NS_GREEN_S) / hcm.DT_S))
        request(state, 0, ew)
        state.advance(round((YELLOW_S + ALL_RED_S) / hcm.DT_S))
        in_green.append(at_end_of_green - at_start)
        after_green.append(cleared(state, case, lefts) - at_end_of_green)
        assert state.next_phase(0) == ew  # its green starts with the next step
    assert cleared(state, case, lefts) < len(lefts), "the left-turn queue ran empty"
    warm = SNEAKER_WARM_UP_CYCLES
    return np.array(in_green[warm:]), np.array(after_green[warm:])


# ----- tests ----------------------------------------------------------------------------
def test_formula_reproduces_the_hcm_example():
    # HCM 7th ed. Example Problem 1 (eq. 31-100): s_p = 813 veh/h/ln against 624 veh/h
    assert permitted_left_saturation_vph(624.0) == pytest.approx(813.0, abs=1.0)


@pytest.mark.parametrize("opposing_lanes", [1, 2])
@pytest.mark.parametrize("v_o", OPPOSING_FLOWS_VPH, ids=lambda v: f"{v:.0f}vph")
def test_permitted_left_discharge_within_15_percent_of_hcm(opposing_lanes: int, v_o: float):
    theory = permitted_left_saturation_vph(v_o)
    measured = measured_left_discharge_vph(left_case(opposing_lanes), v_o)
    assert abs(measured / theory - 1.0) <= TOLERANCE, (
        f"permitted left against {v_o:.0f} veh/h on {opposing_lanes} lane(s): discharge "
        f"{measured:.0f} veh/h, HCM s_p {theory:.0f} veh/h (t_cg {CRITICAL_HEADWAY_S} s, "
        f"t_fh {FOLLOW_UP_HEADWAY_S} s), ratio {measured / theory:.2f}"
    )


@pytest.mark.parametrize("opposing_lanes", [1, 2])
def test_one_or_two_sneakers_clear_per_cycle_against_a_saturated_opposing_stream(opposing_lanes: int):
    in_green, after_green = lefts_per_cycle(left_case(opposing_lanes))
    sneakers = float(np.mean(after_green))
    low, high = SNEAKERS_PER_CYCLE
    assert low <= sneakers <= high, (
        f"{opposing_lanes} opposing lane(s), saturated: {sneakers:.2f} left turns per cycle cleared "
        f"after the green (per cycle {after_green.tolist()}), {in_green.mean():.2f} during it; "
        f"expected {low:.0f}-{high:.0f} after it"
    )
