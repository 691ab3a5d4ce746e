"""Multi-lane links: each vehicle queues in a lane that serves its next turn."""

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
    for _ in range(60):
        model.run(until_s=model.time_s + 10.0)
        on = np.flatnonzero(traffic.statuses() == ST_ON_NETWORK)
        for vid in on.tolist():
            lane = int(traffic.lanes_of(vid))
            edge = int(net.lane_edge[lane])
            if net.edge_lanes[edge] != 3:
                continue
            conn = int(traffic.next_connections(vid))
            if conn < 0:
                continue
            index = lane - int(net.edge_lane0[edge])
            turn = int(net.conn_turn[conn])
            assert net.conn_lane_lo[conn] <= index <= net.conn_lane_hi[conn]
            if turn in seen:
                seen[turn].add(index)
    assert seen[TURN_LEFT] == {2}, "left turns wait in the leftmost lane"
    assert seen[TURN_RIGHT] == {0}, "right turns wait in the rightmost lane"
    assert seen[TURN_THROUGH] == {0, 1, 2}, "through traffic spreads over every lane"
