"""Multi-lane links: each vehicle crosses the stop line from a lane that serves its turn."""

import numpy as np

from sim.model import CityModel
from sim.scenario import scenario_from_dict
from sim.traffic.codes import ST_ON_NETWORK, TURN_LEFT, TURN_RIGHT, TURN_THROUGH


def test_vehicles_queue_in_the_lane_of_their_next_turn():
    scenario = scenario_from_dict(
        {
            "name": "lanes",
            "seed": 2,
            "network": {"type": "arterial", "n_intersections": 4, "lanes_main": 3},
            "demand": {"type": "uniform", "rate_vph": 3000.0, "duration_s": 900.0},
            "simulation": {"max_time_s": 1200.0},
        }
    )
    model = CityModel(scenario)
    net, traffic = model.net, model.traffic
    seen = {TURN_LEFT: set(), TURN_RIGHT: set(), TURN_THROUGH: set()}
    n_crossed = 0
    while not model.finished:
        on = np.flatnonzero(traffic.statuses() == ST_ON_NETWORK)
        lanes, conns = traffic.lanes_of(on), traffic.next_connections(on)
        edges_before, changes = traffic.edges_of(on), traffic.lane_changes(on)
        model.step()
        still = traffic.statuses()[on] == ST_ON_NETWORK
        # a vehicle may change lanes and cross in one step: those are left out
        crossed = still & (conns >= 0) & (traffic.lane_changes(on) == changes)
        crossed[crossed] = traffic.edges_of(on[crossed]) != edges_before[crossed]
        crossed &= net.edge_lanes[edges_before] == 3
        for lane, conn in zip(lanes[crossed].tolist(), conns[crossed].tolist(), strict=True):
            index = lane - int(net.edge_lane0[net.lane_edge[lane]])
            assert net.conn_lane_lo[conn] <= index <= net.conn_lane_hi[conn], (
                "crossed from a lane not serving the turn"
            )
            seen.setdefault(int(net.conn_turn[conn]), set()).add(index)
            n_crossed += 1
    assert n_crossed > 500
    assert traffic.lane_changes(np.arange(traffic.n_vehicles)).sum() > 0
    assert seen[TURN_LEFT] == {2}, "left turns go from the leftmost lane"
    assert seen[TURN_RIGHT] == {0}, "right turns go from the rightmost lane"
    assert seen[TURN_THROUGH] == {0, 1, 2}, "through traffic spreads over every lane"
