"""Verification of the traffic kernel against theory and its own invariants.

Free flow, saturation flow, stop lines, spillback, permitted left turns, signal timing,
conservation and determinism; each test fails if the physics it names were wrong.
"""

import multiprocessing
from concurrent.futures import ProcessPoolExecutor

import networkx as nx
import numpy as np
import pandas as pd
import pytest

from sim.model import CityModel
from sim.network import compile_network, grid, save_network_json
from sim.scenario import Scenario, scenario_from_dict
from sim.traffic import layout as rows
from sim.traffic.codes import GREEN, HALT_MPS, RED, ST_ON_NETWORK, YELLOW
from sim.traffic.state import CarFollowing, TrafficState


# ----- helpers ----------------------------------------------------------------------
def make_state(graph: nx.DiGraph, seed: int = 0, **car_following: float) -> TrafficState:
    return TrafficState(compile_network(graph), CarFollowing(**car_following), dt_s=1.0, seed=seed)


def add_vehicles(state: TrafficState, path: list[str], n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Add ``n`` scheduled vehicles on the node path; returns their ids, route edges and connections."""
    edges = state.net.route_edges(path)
    conns = state.net.route_conns(edges)
    first, last = state.add_routes([edges], [conns])[0]
    return state.add_vehicles(np.full(n, first), np.full(n, last)), edges, conns


def phase_of(state: TrafficState, signal: int, axis: str) -> int:
    net = state.net
    (phase,) = (
        p
        for p in range(net.signal_phase_ptr[signal], net.signal_phase_ptr[signal + 1])
        if net.phase_axis[p] == axis
    )
    return phase


def phase_conns(state: TrafficState, phase: int) -> np.ndarray:
    net = state.net
    return net.phase_conns[net.phase_conn_ptr[phase] : net.phase_conn_ptr[phase + 1]]


def request(state: TrafficState, signal: int, phase: int) -> None:
    state.request_phases(np.array([signal]), np.array([phase]))


def runs(sequence: np.ndarray) -> list[tuple[int, int]]:
    """Run-length encoding: ``(value, length)`` per maximal run of equal values."""
    change = np.flatnonzero(np.diff(sequence)) + 1
    starts, ends = np.r_[0, change], np.r_[change, len(sequence)]
    return [(int(sequence[s]), int(e - s)) for s, e in zip(starts, ends, strict=True)]


def small_scenario(network: dict, demand: dict, **tables: dict) -> Scenario:
    return scenario_from_dict({"name": "test", "seed": 3, "network": network, "demand": demand, **tables})


def arrive_times(scenario: Scenario, seed: int) -> np.ndarray:
    """Arrival times of every trip of a full run (a process-pool worker)."""
    return CityModel(scenario, seed=seed).run().trip_records()["arrive_s"].to_numpy()


# ----- 1. conservation ----------------------------------------------------------------
def test_demo_conserves_vehicles_at_every_step(demo_scenario, check_state):
    model = CityModel(demo_scenario)
    traffic = model.traffic
    depart_s = model.trips.depart_s
    while not model.finished:
        model.step()
        # a trip is released at the first step that starts at or after its departure time
        due = int(np.searchsorted(depart_s, traffic.t_s - model.dt_s + 1e-9, side="right"))
        assert traffic.n_released == due
        assert traffic.n_released == traffic.n_arrived + traffic.n_on_network + traffic.n_waiting
        check_state(traffic)
        assert traffic.t_s <= demo_scenario.simulation.max_time_s
    assert traffic.n_arrived == len(model.trips)


def test_congested_grid_conserves_vehicles_at_every_step(check_state):
    scenario = small_scenario(
        {"type": "grid", "rows": 2, "cols": 2},
        {"type": "uniform", "rate_vph": 20000.0, "duration_s": 300.0},
    )
    model = CityModel(scenario)
    traffic = model.traffic
    halted_max = 0
    for _ in range(600):
        model.step()
        assert traffic.n_released == traffic.n_arrived + traffic.n_on_network + traffic.n_waiting
        check_state(traffic)
        on = traffic.vi[rows.VI_STATUS, : traffic.n_vehicles] == ST_ON_NETWORK
        halted_max = max(
            halted_max, int(np.count_nonzero(traffic.vf[rows.VF_SPEED, : traffic.n_vehicles][on] < HALT_MPS))
        )
    # the case is really congested: long entry queues and standing queues on the links
    assert traffic.n_waiting > 500
    assert halted_max > 40


# ----- 2. free flow -------------------------------------------------------------------
def straight_road_scenario(tmp_path, sigma: float, n_trips: int) -> Scenario:
    """Fringe -> a -> b -> fringe along x, 1 km at 20 m/s, unsignalized; one lone trip per 100 s."""
    graph = nx.DiGraph(name="straight")
    for node, x_m, kind in (
        ("F0", 0.0, "fringe"),
        ("a", 300.0, "intersection"),
        ("b", 700.0, "intersection"),
        ("F1", 1000.0, "fringe"),
    ):
        graph.add_node(node, x=x_m, y=0.0, signalized=False, kind=kind)
    for u, v in (("F0", "a"), ("a", "b"), ("b", "F1")):
        graph.add_edge(u, v, length_m=graph.nodes[v]["x"] - graph.nodes[u]["x"], lanes=1, speed_mps=20.0)
    save_network_json(graph, tmp_path / "network.json")
    rows = "".join(f"t{i},{100 * i},F0,F1\n" for i in range(n_trips))
    (tmp_path / "trips.csv").write_text("id,depart_s,origin,destination\n" + rows, encoding="utf-8")
    return small_scenario(
        {"type": "file", "path": str(tmp_path / "network.json")},
        {"type": "trips", "trips": str(tmp_path / "trips.csv")},
        vehicles={"sigma": sigma, "speed_dev": 0.0},  # identical drivers: each at the limit
    )


def test_lone_vehicle_without_dawdling_takes_length_over_speed(tmp_path):
    model = CityModel(straight_road_scenario(tmp_path, sigma=0.0, n_trips=5)).run()
    trips = model.trip_records()
    np.testing.assert_allclose(trips["free_flow_s"], 50.0)
    np.testing.assert_allclose(trips["distance_m"], 1000.0)
    travel_s = trips["arrive_s"] - trips["depart_s"]
    # measured: 50.0 s to rounding (error 0 %, well inside the 2 % asked for): inserted at the
    # speed limit, an undisturbed Krauss vehicle keeps it exactly
    np.testing.assert_allclose(travel_s, 50.0, rtol=1e-9)
    assert (trips["stops"] == 0).all()


def test_dawdling_slows_a_lone_vehicle_by_a_bounded_amount(tmp_path):
    # At the speed limit each step's speed is v_max - sigma*accel*dt*u, u ~ U[0, 1), so the
    # mean speed is 20 - 0.65 = 19.35 m/s (1,000 m in 51.68 s) and never below 18.7 m/s
    # (53.48 s). Measured over 20 trips: mean 51.65 s, range 51.44-52.02 s.
    model = CityModel(straight_road_scenario(tmp_path, sigma=0.5, n_trips=20)).run()
    trips = model.trip_records()
    travel_s = (trips["arrive_s"] - trips["depart_s"]).to_numpy()
    assert np.all(travel_s > 50.0)
    assert np.all(travel_s <= 1000.0 / (20.0 - 0.5 * 2.6) + 1e-9)
    assert travel_s.mean() == pytest.approx(1000.0 / (20.0 - 0.25 * 2.6), rel=0.01)
    np.testing.assert_allclose(trips["distance_m"], 1000.0)


# ----- 3. saturation flow -------------------------------------------------------------
def queue_discharge(seed: int, n: int) -> tuple[float, np.ndarray]:
    """Stop-line crossing times of a standing queue of ``n`` through vehicles at a green.

    One signalized intersection; ``n`` vehicles S0 -> N0 queue at a red, then the
    north-south phase turns green and stays green. A crossing time is interpolated
    within its step: the vehicle at ``x0`` at step start ``t`` moved at its step speed
    ``v`` (Euler), so its front passed the stop line at ``t + (L - x0) / v``.

    Returns:
        The start of the green (s) and the crossing time (s) of each vehicle, queue order.
    """
    state = make_state(grid(1, 1), seed=seed)
    ids, edges, conns = add_vehicles(state, ["S0", "n0_0", "N0"], n)
    state.set_signal(0, phase_of(state, 0, "EW"), 0.0, 3.0, 0.0, 5.0)
    state.release(ids)
    state.advance(120)
    assert state.n_on_network == n
    assert np.all(state.vf[rows.VF_SPEED, ids] < 0.5), "the queue should stand (the tail still creeps)"
    request(state, 0, phase_of(state, 0, "NS"))
    approach_m = state.net.edge_length_m[edges[0]]
    exits_before = state.acc[rows.ACC_EXITS, edges[0]]
    crossed = np.full(n, np.nan)
    green_s = np.nan
    while np.isnan(crossed).any():
        assert state.t_s < 400.0, "queue did not discharge"
        t_s = state.t_s
        x0 = state.vf[rows.VF_POS, ids].copy()
        rptr0 = state.vi[rows.VI_RPTR, ids].copy()
        state.advance(1)
        if np.isnan(green_s) and state.conn_state[conns[0]] == GREEN:
            green_s = t_s
        moved = np.flatnonzero(state.vi[rows.VI_RPTR, ids] != rptr0)
        crossed[moved] = t_s + (approach_m - x0[moved]) / state.vf[rows.VF_SPEED, ids[moved]]
    assert state.acc[rows.ACC_EXITS, edges[0]] - exits_before == n
    return green_s, crossed


def test_standing_queue_discharges_at_saturation_flow():
    """HCM method: mean headway of queued vehicles 5..n within one green, pooled over 4 greens.

    Measured with the defaults (Krauss, sigma 0.5): 1,850 veh/h/lane here (seeds 0-3); 1,827
    over 40 greens of 20 vehicles and 1,845 over 40 greens of 25; start-up lost time 0.66 s
    (the first vehicle stands at the line, so only the next few vehicles' acceleration is
    lost). Crossing times are interpolated within the step (see ``queue_discharge``);
    ACC_EXITS of the approach counts the same crossings. SUMO gives 1,893 with these
    parameters; HCM's base is 1,900.
    """
    n = 20
    saturation_headways, lost_s = [], []
    for seed in range(4):
        green_s, crossed = queue_discharge(seed, n)
        assert np.all(np.diff(crossed) > 0.0), "the queue discharged out of order"
        headways = np.diff(np.r_[green_s, crossed])  # headway of vehicle j = t_j - t_{j-1}
        h_sat = headways[4:].mean()
        saturation_headways.append(headways[4:])
        lost_s.append(float((headways[:4] - h_sat).sum()))
    flow_vphpl = 3600.0 / np.concatenate(saturation_headways).mean()
    assert 1800.0 <= flow_vphpl <= 2000.0
    assert 0.0 < np.mean(lost_s) < 4.0, "start-up should cost time, as vehicles accelerate"


# ----- 4. stop lines -------------------------------------------------------------------
def test_no_vehicle_crosses_at_red_and_on_yellow_only_those_unable_to_stop(demo_scenario):
    """The signal's rules hold at every crossing; the exceptions are permitted left turners that
    drove into the junction on green to wait for a gap ("sneakers"), and they clear on yellow or red."""
    model = CityModel(demo_scenario)
    traffic, net = model.traffic, model.net
    signalized = np.zeros(len(net.conn_from), dtype=bool)
    signalized[net.phase_conns] = True
    wait_m = traffic.conns.wait_m
    decel = traffic.cf.decel_mps2
    previous = traffic.conn_state.copy()
    at_onset: dict[int, tuple[np.ndarray, np.ndarray, np.ndarray]] = {}  # conn -> rptr, x, v
    crossings = {GREEN: 0, YELLOW: 0}
    held_at_red = sneakers_after_green = 0
    while not model.finished:
        n = traffic.n_vehicles
        rptr0 = traffic.vi[rows.VI_RPTR, :n].copy()
        x0 = traffic.vf[rows.VF_POS, :n].copy()
        v0 = traffic.vf[rows.VF_SPEED, :n].copy()
        inside0 = x0 > net.edge_length_m[traffic.r_edge[rptr0]] + 1e-9
        model.step()
        # signals change only at the start of a step, so this is the state the step ran with
        state = traffic.conn_state
        for conn in np.flatnonzero((state == YELLOW) & (previous == GREEN)).tolist():
            at_onset[conn] = (rptr0, x0, v0)
        previous = state.copy()
        moved = np.flatnonzero(traffic.vi[rows.VI_RPTR, :n] != rptr0)
        assert np.all(traffic.vi[rows.VI_RPTR, moved] == rptr0[moved] + 1), "a vehicle skipped a link"
        crossed = moved[signalized[traffic.r_conn[rptr0[moved]]]]
        sneaked = crossed[inside0[crossed]]
        assert np.all(wait_m[traffic.r_conn[rptr0[sneaked]]] > 0.0), "only a permitted turn waits inside"
        sneakers_after_green += int(np.count_nonzero(state[traffic.r_conn[rptr0[sneaked]]] != GREEN))
        crossed = crossed[~inside0[crossed]]
        conns = traffic.r_conn[rptr0[crossed]]
        at = state[conns]
        assert np.all(at != RED), f"vehicles {crossed[at == RED]} crossed at red at t={traffic.t_s - 1}"
        # dilemma rule: on yellow only a vehicle that could not stop at the comfortable
        # deceleration when the yellow began may go on
        for vid, conn in zip(crossed[at == YELLOW].tolist(), conns[at == YELLOW].tolist(), strict=True):
            rptr_on, x_on, v_on = at_onset[conn]
            assert rptr_on[vid] == rptr0[vid], "it was on the approach when the yellow began"
            to_line_m = net.edge_length_m[traffic.r_edge[rptr0[vid]]] - x_on[vid]
            assert v_on[vid] ** 2 > 2.0 * decel * to_line_m, f"vehicle {vid} could have stopped"
            crossings[YELLOW] += 1
        crossings[GREEN] += int(np.count_nonzero(at == GREEN))

        on = np.flatnonzero(traffic.vi[rows.VI_STATUS, :n] == ST_ON_NETWORK)
        rptr = traffic.vi[rows.VI_RPTR, on]
        pos_m = traffic.vf[rows.VF_POS, on]
        edge_m = net.edge_length_m[traffic.r_edge[rptr]]
        last = rptr == traffic.vi[rows.VI_REND, on]
        conn = np.where(last, 0, traffic.r_conn[rptr])
        beyond = pos_m > edge_m + 1e-9
        assert np.all(~beyond | (~last & (pos_m <= edge_m + wait_m[conn] + 1e-9)))
        # a vehicle drives into the junction to wait only on green
        entered = beyond & ~(inside0[on] & (rptr == rptr0[on]))
        assert np.all(state[conn[entered]] == GREEN), (
            "a permitted turner drove into the junction without green"
        )
        facing_red = ~last & signalized[conn]
        facing_red[facing_red] = state[conn[facing_red]] == RED
        at_line = (pos_m > edge_m - 1.0) & (traffic.vf[rows.VF_SPEED, on] < HALT_MPS)
        held_at_red += int(np.count_nonzero(facing_red & at_line & ~beyond))
    # the run exercised the rules: many crossings, some on yellow, queues standing at red, and
    # left turners clearing from inside the junction after their green
    assert crossings[GREEN] > 500
    assert crossings[YELLOW] > 0
    assert held_at_red > 500
    assert sneakers_after_green > 0


# ----- 5. spillback --------------------------------------------------------------------
def fill_corridor(n: int, hold_s: int, check_state) -> tuple[TrafficState, dict, float]:
    """Hold the eastbound red at n1_0 of a 1x2 grid while ``n`` vehicles drive W0 -> E0.

    n0_0 stays green for them throughout, so only spillback from the full link
    n0_0 -> n1_0 can hold vehicles on W0 -> n0_0. Checks the state at every step.

    Returns:
        The state after the hold; the lanes, edges and vehicles involved; and the start
        time (s) of the step in which the head of W0 -> n0_0 last came to a halt at its stop line.
    """
    state = make_state(grid(1, 2), seed=3)
    ids, edges, conns = add_vehicles(state, ["W0", "n0_0", "n1_0", "E0"], n)
    state.set_signal(0, phase_of(state, 0, "EW"), 0.0, 3.0, 0.0, 5.0)
    state.set_signal(1, phase_of(state, 1, "NS"), 0.0, 3.0, 0.0, 5.0)
    state.release(ids)
    net, cf = state.net, state.cf
    up_lane, mid_lane = int(net.edge_lane0[edges[0]]), int(net.edge_lane0[edges[1]])
    # standing at jam spacing, fronts from the stop line back, rears inside the link
    jam_capacity = int((net.edge_length_m[edges[1]] - cf.length_m) // (cf.length_m + cf.min_gap_m)) + 1
    head, halted_s = -1, np.nan
    for _ in range(hold_s):
        t_s = state.t_s
        state.advance(1)
        check_state(state)
        assert not np.any(state.r_edge[state.vi[rows.VI_RPTR, ids]] == edges[2]), "a vehicle passed the red"
        assert state.li[rows.LI_COUNT, mid_lane] <= jam_capacity, "a vehicle entered a full lane"
        assert state.conn_state[conns[0]] == GREEN
        up = state.lane_vehicles(up_lane)
        if len(up) == 0 or up[0] != head or state.vf[rows.VF_SPEED, head] >= HALT_MPS:
            head, halted_s = (int(up[0]) if len(up) else -1), np.nan
        at_line = len(up) and state.vf[rows.VF_POS, head] > net.edge_length_m[edges[0]] - 1.0
        if at_line and state.vf[rows.VF_SPEED, head] < HALT_MPS and np.isnan(halted_s):
            halted_s = t_s
    where = {
        "ids": ids,
        "edges": edges,
        "up_lane": up_lane,
        "mid_lane": mid_lane,
        "jam_capacity": jam_capacity,
    }
    return state, where, halted_s


def test_spillback_holds_upstream_vehicles_until_the_downstream_link_clears(check_state):
    n, hold_s = 60, 400
    state, where, _ = fill_corridor(n, hold_s, check_state)
    net, cf = state.net, state.cf
    since_s = state.lf[rows.LF_BLOCKED_SINCE]
    # the downstream link is full, and the upstream head waits at its stop line at green
    assert state.li[rows.LI_COUNT, where["mid_lane"]] == where["jam_capacity"]
    up = state.lane_vehicles(where["up_lane"])
    assert len(up) > 20
    assert state.vf[rows.VF_POS, up[0]] > net.edge_length_m[where["edges"][0]] - 1.0
    assert state.vf[rows.VF_SPEED, up[0]] < HALT_MPS
    mid = state.lane_vehicles(where["mid_lane"])
    assert state.vf[rows.VF_POS, mid[-1]] - cf.length_m - cf.min_gap_m < cf.length_m, (
        "no room for a whole vehicle"
    )
    assert 0.0 <= since_s[where["up_lane"]] <= state.t_s - 60.0
    assert since_s[where["mid_lane"]] < 0.0, "a lane held by its own red signal is not spillback"
    assert state.gridlock_cycles(60.0) == [], "spillback from a red signal is no circular wait"

    request(state, 1, phase_of(state, 1, "EW"))
    while state.n_arrived < n:
        assert state.t_s < hold_s + 600.0, "the corridor did not clear"
        state.advance(1)
        check_state(state)
    assert np.all(state.lf[rows.LF_BLOCKED_SINCE] < 0.0)
    assert np.all(np.isfinite(state.vf[rows.VF_ARRIVE, where["ids"]]))


def test_blocked_since_is_when_the_held_head_last_halted(check_state):
    # The head of W0 -> n0_0 halts at its stop line and never gets room for its whole
    # length on the full link ahead; its lane is blocked since it last halted there (speed
    # below 0.1 m/s), even while the tail of the full link creeps forward, compacting its
    # queue without making room.
    state, where, halted_s = fill_corridor(60, 400, check_state)
    assert np.isfinite(halted_s) and halted_s < 300.0
    assert state.lf[rows.LF_BLOCKED_SINCE, where["up_lane"]] == pytest.approx(halted_s, abs=1.0)


# ----- 6. determinism ------------------------------------------------------------------
def test_same_seed_gives_identical_trip_records_and_another_seed_does_not(demo_scenario):
    first = CityModel(demo_scenario, seed=11).run().trip_records()
    second = CityModel(demo_scenario, seed=11).run().trip_records()
    pd.testing.assert_frame_equal(first, second)
    other = CityModel(demo_scenario, seed=12).run().trip_records()
    assert not first.equals(other)


def test_process_pool_reproduces_in_process_results(demo_scenario):
    seeds = [1, 2]
    local = [arrive_times(demo_scenario, seed) for seed in seeds]
    # spawn: fresh interpreters (other hash seeds, cold imports), the hardest case
    with ProcessPoolExecutor(max_workers=2, mp_context=multiprocessing.get_context("spawn")) as pool:
        pooled = list(pool.map(arrive_times, [demo_scenario] * len(seeds), seeds))
    for a, b in zip(local, pooled, strict=True):
        np.testing.assert_array_equal(a, b)
    assert not np.array_equal(local[0], local[1])


# ----- 7. signal timing ---------------------------------------------------------------------
@pytest.mark.parametrize("all_red_s", [0.0, 1.0])
def test_fixed_time_signal_gives_exact_green_yellow_and_red(all_red_s):
    scenario = small_scenario(
        {"type": "grid", "rows": 1, "cols": 1},
        {"type": "uniform", "rate_vph": 300.0, "duration_s": 300.0},
        signals={"timing": "fixed", "green_s": 30.0, "yellow_s": 3.0, "all_red_s": all_red_s},
    )
    model = CityModel(scenario)
    traffic = model.traffic
    cycle = int(2 * (30 + 3 + all_red_s))
    ns, ew = phase_of(traffic, 0, "NS"), phase_of(traffic, 0, "EW")
    conns = np.r_[phase_conns(traffic, ns), phase_conns(traffic, ew)]
    log = []
    for _ in range(3 * cycle):
        model.step()
        log.append(traffic.conn_state[conns].copy())
    states = np.array(log)
    expected_length = {GREEN: 30, YELLOW: 3, RED: cycle - 33}
    following = {GREEN: YELLOW, YELLOW: RED, RED: GREEN}
    for c in range(len(conns)):
        for window in range(3):
            counts = np.bincount(states[window * cycle : (window + 1) * cycle, c], minlength=3)
            assert counts[GREEN] == 30 and counts[YELLOW] == 3 and counts[RED] == cycle - 33
        sequence = runs(states[:, c])
        for (value, length), (after, _) in zip(sequence[1:-1], sequence[2:], strict=True):
            assert length == expected_length[value]
            assert after == following[value]
    # conflicting approaches never move together
    ns_open = (states[:, : len(phase_conns(traffic, ns))] != RED).any(axis=1)
    ew_open = (states[:, len(phase_conns(traffic, ns)) :] != RED).any(axis=1)
    assert not np.any(ns_open & ew_open)


def test_phase_change_waits_for_min_green_and_clearance_runs_in_full():
    state = make_state(grid(1, 1))
    ns, ew = phase_of(state, 0, "NS"), phase_of(state, 0, "EW")
    state.set_signal(0, ns, 0.0, 3.0, 2.0, 10.0)  # yellow 3 s, all-red 2 s, min green 10 s
    request(state, 0, ew)
    log = []
    for step in range(40):
        if step == 11:
            request(state, 0, ns)  # during the yellow: must not cut yellow or all-red short
        state.advance(1)
        ns_state = np.unique(state.conn_state[phase_conns(state, ns)])
        ew_state = np.unique(state.conn_state[phase_conns(state, ew)])
        assert len(ns_state) == len(ew_state) == 1
        log.append((int(ns_state[0]), int(ew_state[0])))
    g, y, r = GREEN, YELLOW, RED
    assert [s[0] for s in log] == [g] * 10 + [y] * 3 + [r] * 17 + [g] * 10
    assert [s[1] for s in log] == [r] * 15 + [g] * 10 + [y] * 3 + [r] * 12

    # a request after the minimum green has run takes effect at once
    state = make_state(grid(1, 1))
    state.set_signal(0, ns, 12.0, 3.0, 2.0, 10.0)
    request(state, 0, ew)
    state.advance(1)
    assert np.all(state.conn_state[phase_conns(state, ns)] == y)


# ----- 8. permitted left turns --------------------------------------------------------------
def left_turn(n_oncoming: int) -> dict:
    """A left-turner S0 -> W0 at a north-south green, with ``n_oncoming`` through vehicles N0 -> S0."""
    state = make_state(grid(1, 1), seed=5)
    left, edges, conns = add_vehicles(state, ["S0", "n0_0", "W0"], 1)
    oncoming, opp_edges, opp_conns = add_vehicles(state, ["N0", "n0_0", "S0"], n_oncoming)
    net, cf = state.net, state.cf
    foes = net.conn_foes[net.conn_foe_ptr[conns[0]] : net.conn_foe_ptr[conns[0] + 1]]
    assert net.conn_turn[conns[0]] == 2 and opp_conns[0] in foes
    state.set_signal(0, phase_of(state, 0, "NS"), 0.0, 3.0, 0.0, 5.0)  # green throughout
    state.release(oncoming)
    state.release(left)
    opp_lane, opp_m = int(net.edge_lane0[opp_edges[0]]), net.edge_length_m[opp_edges[0]]
    turned_s, oncoming_crossed_s = np.nan, []
    while state.n_arrived < n_oncoming + 1:
        assert state.t_s < 600.0
        t_s = state.t_s
        rptr0 = state.vi[rows.VI_RPTR].copy()
        head = state.lane_vehicles(opp_lane)[:1]
        to_line_m, v = opp_m - state.vf[rows.VF_POS, head], state.vf[rows.VF_SPEED, head]
        state.advance(1)
        if state.vi[rows.VI_RPTR, left[0]] != rptr0[left[0]]:
            turned_s = t_s
            # it turned only through an acceptable gap: nothing oncoming within the critical gap
            assert np.all((to_line_m >= cf.critical_gap_s * v) & (to_line_m >= 3.0))
        oncoming_crossed_s += [t_s] * int(
            np.count_nonzero(state.vi[rows.VI_RPTR, oncoming] != rptr0[oncoming])
        )
    return {
        "turned_s": turned_s,
        "oncoming_s": np.array(oncoming_crossed_s),
        "stops": int(state.vi[rows.VI_STOPS, left[0]]),
        "travel_s": float(state.vf[rows.VF_ARRIVE, left[0]] - state.vf[rows.VF_ENTER, left[0]]),
        "free_flow_s": state.free_flow_time_s(edges),
        "critical_gap_s": cf.critical_gap_s,
    }


def test_left_turn_yields_to_continuous_oncoming_traffic():
    run = left_turn(n_oncoming=40)
    oncoming_s = run["oncoming_s"]
    # precondition: the oncoming stream offers no acceptable gap until it ends
    assert np.diff(oncoming_s).max() < run["critical_gap_s"]
    assert oncoming_s[0] < 20.0 < oncoming_s[-1] - 60.0  # it arrives long before the stream ends
    assert oncoming_s[-1] < run["turned_s"] <= oncoming_s[-1] + 3.0
    assert run["stops"] >= 1


def test_left_turn_without_oncoming_traffic_turns_at_green_without_stopping():
    run = left_turn(n_oncoming=0)
    assert run["stops"] == 0
    # free flow plus the slow-down to the turning speed of 8 m/s
    assert run["free_flow_s"] < run["travel_s"] < run["free_flow_s"] + 5.0


def test_cached_machine_code_is_dropped_when_any_source_file_of_the_kernel_changes(tmp_path):
    (tmp_path / "kernel.py").write_text("x = 1\n")
    (tmp_path / "layout.py").write_text("Y = 2\n")
    cache = tmp_path / "__pycache__"
    cache.mkdir()
    stale = [cache / "kernel.advance-1.py311.nbi", cache / "kernel.advance-1.py311.1.nbc"]
    for path in stale:
        path.write_bytes(b"machine code")
    drop = rows.drop_stale_machine_code.__wrapped__
    drop(tmp_path)  # no stamp yet: the cache cannot be trusted
    assert not any(path.exists() for path in stale)
    for path in stale:
        path.write_bytes(b"machine code")
    drop(tmp_path)  # nothing changed since: kept
    assert all(path.exists() for path in stale)
    (tmp_path / "layout.py").write_text("Y = 30\n")  # a constant the kernel inlines
    drop(tmp_path)
    assert not any(path.exists() for path in stale)
