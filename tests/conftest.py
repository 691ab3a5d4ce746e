"""Shared fixtures: the demo scenario and an invariant check of the traffic state."""

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from sim.scenario import Scenario, load_scenario
from sim.traffic.codes import ST_ARRIVED, ST_ON_NETWORK, ST_SCHEDULED, ST_WAITING
from sim.traffic.state import TrafficState

SCENARIOS = Path(__file__).resolve().parents[1] / "scenarios"


@pytest.fixture(scope="session")
def demo_scenario() -> Scenario:
    return load_scenario(SCENARIOS / "demo.toml")


def _check_state(traffic: TrafficState) -> None:
    """Assert conservation of vehicles and a consistent, overlap-free lane state."""
    status = traffic.statuses()
    released = int(np.count_nonzero(status != ST_SCHEDULED))
    assert released == traffic.n_arrived + traffic.n_on_network + traffic.n_waiting
    assert traffic.n_entered == traffic.n_arrived + traffic.n_on_network
    assert np.count_nonzero(status == ST_WAITING) == traffic.n_waiting
    arrived = np.flatnonzero(status == ST_ARRIVED)
    assert len(arrived) == traffic.n_arrived
    assert np.all(traffic.lanes_of(arrived) == -1) and np.all(
        np.isfinite(traffic.trip_columns(traffic.n_vehicles)["arrive_s"][arrived])
    )
    waiting = traffic.waiting_vehicles()
    assert len(np.unique(waiting)) == len(waiting)
    assert np.all(status[waiting] == ST_WAITING)

    net, counts = traffic.net, traffic.lane_counts()
    assert np.all(counts <= traffic.lane_capacities())
    # every lane's vehicles, from its stop line backwards
    lane, vids = traffic.queued_vehicles()
    rank = np.arange(len(lane)) - np.repeat(np.cumsum(counts) - counts, counts)
    assert len(np.unique(vids)) == len(vids), "a vehicle id is on two lanes or twice on one"
    np.testing.assert_array_equal(np.sort(vids), np.flatnonzero(status == ST_ON_NETWORK))
    np.testing.assert_array_equal(traffic.lanes_of(vids), lane)
    # the lane belongs to the edge the vehicle's route pointer is at
    np.testing.assert_array_equal(traffic.edges_of(vids), net.lane_edge[lane])
    pos, length = traffic.positions_m(vids), traffic.lengths_m(vids)
    # past the stop line only a permitted turner waiting in the junction, and no further than it may
    inside_m = traffic.conns.wait_m.max(initial=0.0)
    assert np.all((pos >= 0.0) & (pos <= net.edge_length_m[net.lane_edge[lane]] + inside_m + 1e-9))
    # front to back: each follower's front stays behind its leader's rear
    follower = np.flatnonzero(rank > 0)
    assert np.all(pos[follower - 1] - length[follower - 1] >= pos[follower] - 1e-9)


@pytest.fixture
def check_state() -> Callable[[TrafficState], None]:
    """A function that asserts the invariants of a traffic state between steps.

    Released vehicles are conserved (arrived + on a lane + waiting to enter), the status
    counts match the counters, no vehicle id is on two lanes, every on-network vehicle's
    lane is the one it is listed on and lies on the edge of its route pointer, positions
    are within the edge (or the junction, for a permitted turner waiting in it), and
    consecutive vehicles of a lane do not overlap.
    """
    return _check_state
