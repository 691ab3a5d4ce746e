"""The hooks that agents driving their own vehicles use: events, new routes, removal,
emergency vehicles, timers and signal overrides."""

import numpy as np
import pytest

from sim.agents.vehicle import VehicleEvent
from sim.control.holds import Holder
from sim.model import CityModel
from sim.scenario import scenario_from_dict
from sim.traffic.codes import GREEN, RED, ST_ARRIVED, ST_ON_NETWORK, ST_SCHEDULED


def _scenario(rate_vph=1.0, rows=2, cols=3, **signals):
    return scenario_from_dict(
        {
            "name": "hooks",
            "seed": 5,
            "network": {"type": "grid", "rows": rows, "cols": cols},
            "demand": {"type": "uniform", "rate_vph": rate_vph, "duration_s": 600.0},
            "signals": {"controller": "fixed_time", **signals},
            "simulation": {"max_time_s": 1800.0},
        }
    )


class Recorder:
    def __init__(self, model, on_approach=None, on_stop=None):
        self.model = model
        self.events = []
        self.on_approach = on_approach
        self.on_stop = on_stop

    def on_vehicle_event(self, vid, event):
        self.events.append((self.model.time_s, vid, event))
        handler = {VehicleEvent.APPROACH: self.on_approach, VehicleEvent.STOP: self.on_stop}.get(event)
        if handler is not None:
            handler(vid)


def _run_until(model, predicate, limit_s=900.0):
    while not predicate():
        assert model.time_s < limit_s, "condition never met"
        model.step()


def test_listener_hears_approach_then_stop_and_the_vehicle_waits_at_its_route_end():
    model = CityModel(_scenario())
    rec = Recorder(model)
    vid = model.add_vehicle(["W0", "n0_0", "n1_0"], rec)
    _run_until(model, lambda: any(e[2] == VehicleEvent.STOP for e in rec.events))
    kinds = [e[2] for e in rec.events]
    assert kinds == [VehicleEvent.APPROACH, VehicleEvent.STOP]
    traffic = model.traffic
    edge = model.net.edge_index[("n0_0", "n1_0")]
    assert traffic.statuses()[vid] == ST_ON_NETWORK
    assert model.net.lane_edge[traffic.lanes_of(vid)] == edge
    assert traffic.positions_m(vid) == pytest.approx(model.net.edge_length_m[edge], abs=1.0)
    for _ in range(30):
        model.step()
    assert traffic.statuses()[vid] == ST_ON_NETWORK, "it waits for its agent"
    assert len(rec.events) == 2, "each event is told once per route"


def test_extending_the_route_on_approach_keeps_the_vehicle_moving():
    model = CityModel(_scenario())
    rec = Recorder(model)

    def extend_once(vid):
        if len(rec.events) == 1:
            model.set_route(vid, ["n0_0", "n1_0", "n2_0", "E0"])

    rec.on_approach = extend_once
    rec.on_stop = model.remove_vehicle
    vid = model.add_vehicle(["W0", "n0_0", "n1_0"], rec)
    _run_until(model, lambda: model.traffic.statuses()[vid] == ST_ARRIVED)
    kinds = [e[2] for e in rec.events]
    assert kinds == [VehicleEvent.APPROACH, VehicleEvent.APPROACH, VehicleEvent.STOP]
    assert model.traffic.distances_m(vid) == pytest.approx(200.0 * 4, abs=1.0)


def test_removing_a_stopped_vehicle_counts_it_as_arrived():
    model = CityModel(_scenario())
    rec = Recorder(model)
    rec.on_stop = model.remove_vehicle
    vid = model.add_vehicle(["W0", "n0_0", "n1_0"], rec)
    _run_until(model, lambda: model.traffic.statuses()[vid] == ST_ARRIVED)
    traffic = model.traffic
    assert traffic.lanes_of(vid) == -1
    assert traffic.n_arrived + traffic.n_on_network + traffic.n_waiting == int(
        np.count_nonzero(traffic.statuses() != ST_SCHEDULED)
    )


def test_a_new_route_must_start_on_the_current_link():
    model = CityModel(_scenario())
    vid = model.add_vehicle(["W0", "n0_0", "n1_0"], Recorder(model))
    model.step()
    with pytest.raises(ValueError, match="must start on its current edge"):
        model.set_route(vid, ["n1_0", "n2_0"])


def _queue_at_red(model, n_queued=8):
    """Hold the W0 approach red and queue ordinary vehicles on it."""
    signal = 0
    ew = [
        p
        for p in range(model.net.signal_phase_ptr[0], model.net.signal_phase_ptr[1])
        if model.net.phase_axis[p] == "NS"
    ][0]
    model.holds.hold(signal, ew, Holder.TRANSIT_PRIORITY)
    for _ in range(n_queued):
        model.add_vehicle(["W0", "n0_0", "n1_0", "n2_0", "E0"])
        for _ in range(3):
            model.step()
    for _ in range(40):
        model.step()
    return signal


def test_emergency_vehicle_passes_a_queue_and_crosses_red_at_a_crawl():
    model = CityModel(_scenario())
    _queue_at_red(model)
    traffic = model.traffic
    in_edge = model.net.edge_index[("W0", "n0_0")]
    lane = model.net.edge_lane0[in_edge]
    queued = traffic.lane_vehicles(lane)
    assert len(queued) == 8 and np.all(traffic.speeds_mps(queued) < 0.1)
    ev = model.add_vehicle(["W0", "n0_0", "n1_0", "n2_0", "E0"], emergency=True)
    speed_before_crossing = None
    while traffic.lanes_of(ev) < 0 or model.net.lane_edge[traffic.lanes_of(ev)] == in_edge:
        assert model.time_s < 600.0
        speed_before_crossing = traffic.speeds_mps(ev)
        model.step()
    # it left the approach while the queue still stands at the red
    assert (
        model.traffic.conn_state[model.net.conn_index[(in_edge, model.net.edge_index[("n0_0", "n1_0")])]]
        == RED
    )
    assert all(traffic.lanes_of(v) == lane for v in queued.tolist())
    crawl = model.config.vehicles.emergency_crawl_speed_mps
    assert speed_before_crossing <= crawl + 1e-9
    assert traffic.speeds_mps(ev) <= crawl + 1e-9


def test_a_signal_hold_keeps_a_phase_and_gives_control_back():
    model = CityModel(_scenario())
    net = model.net
    phases = list(range(net.signal_phase_ptr[0], net.signal_phase_ptr[1]))
    ew = [p for p in phases if net.phase_axis[p] == "EW"][0]
    conns = net.phase_conns[net.phase_conn_ptr[ew] : net.phase_conn_ptr[ew + 1]]
    model.holds.hold(0, ew, Holder.TRANSIT_PRIORITY)
    states = []
    for _ in range(200):
        model.step()
        states.append(model.traffic.conn_state[conns[0]])
    # yellow first (NS was green), then EW green held through several fixed-time decisions
    assert states[-150:] == [GREEN] * 150
    model.holds.release(0, Holder.TRANSIT_PRIORITY)
    later = []
    for _ in range(140):
        model.step()
        later.append(model.traffic.conn_state[conns[0]])
    assert RED in later, "the fixed-time controller took over again"


def test_timer_fires_at_its_time_and_link_times_are_free_flow_when_empty():
    model = CityModel(_scenario())
    fired = []
    model.schedule(42.0, lambda: fired.append(model.time_s))
    model.run(until_s=60.0)
    assert fired == [42.0]
    free = model.net.edge_length_m / model.net.edge_speed_mps
    times = model.link_travel_times_s()
    empty = model.traffic.lane_counts()[model.net.edge_lane0] == 0
    assert np.allclose(times[empty], free[empty])


def test_a_vehicle_speed_cap_holds_below_the_link_limit():
    model = CityModel(_scenario())
    vid = model.add_vehicle(["W0", "n0_0", "n1_0", "n2_0", "E0"], max_speed_mps=8.0)
    top = 0.0
    while model.traffic.statuses()[vid] != ST_ARRIVED:
        assert model.time_s < 900.0
        model.step()
        top = max(top, model.traffic.speeds_mps(vid))
    assert 7.0 < top <= 8.0
    assert model.holds.phase(0) is None
    model.holds.hold(0, int(model.net.signal_phase_ptr[0]), Holder.TRANSIT_PRIORITY)
    assert model.holds.phase(0) == int(model.net.signal_phase_ptr[0])
