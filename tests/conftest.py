"""Shared fixtures: the demo scenario and an invariant check of the traffic state."""

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from sim.scenario import Scenario, load_scenario
from sim.traffic import kernel as k
from sim.traffic.state import TrafficState

SCENARIOS = Path(__file__).resolve().parents[1] / "scenarios"


@pytest.fixture(scope="session")
def demo_scenario() -> Scenario:
    return load_scenario(SCENARIOS / "demo.toml")


def _check_state(traffic: TrafficState) -> None:
    """Assert conservation of vehicles and a consistent, overlap-free lane state."""
    n = traffic.n_vehicles
    status = traffic.vi[k.VI_STATUS, :n]
    released = int(np.count_nonzero(status != k.ST_SCHEDULED))
    assert released == traffic.n_arrived + traffic.n_on_network + traffic.n_waiting
    assert traffic.n_entered == traffic.n_arrived + traffic.n_on_network
    assert np.count_nonzero(status == k.ST_WAITING) == traffic.n_waiting
    arrived = np.flatnonzero(status == k.ST_ARRIVED)
    assert len(arrived) == traffic.n_arrived
    assert np.all(traffic.vi[k.VI_LANE, arrived] == -1) and np.all(
        np.isfinite(traffic.vf[k.VF_ARRIVE, arrived])
    )
    waiting = traffic.wait_buf[: traffic.n_waiting]
    assert len(np.unique(waiting)) == len(waiting)
    assert np.all(status[waiting] == k.ST_WAITING)

    net, li = traffic.net, traffic.li
    counts = li[k.LI_COUNT]
    assert np.all(counts <= li[k.LI_CAP])
    # every lane's ring buffer, unrolled from its stop line backwards
    lane = np.repeat(np.arange(net.n_lanes), counts)
    rank = np.arange(len(lane)) - np.repeat(np.cumsum(counts) - counts, counts)
    vids = traffic.lane_buf[li[k.LI_OFF, lane] + (li[k.LI_HEAD, lane] + rank) % li[k.LI_CAP, lane]]
    assert len(np.unique(vids)) == len(vids), "a vehicle id is on two lanes or twice on one"
    np.testing.assert_array_equal(np.sort(vids), np.flatnonzero(status == k.ST_ON_NETWORK))
    np.testing.assert_array_equal(traffic.vi[k.VI_LANE, vids], lane)
    # the lane belongs to the edge the vehicle's route pointer is at
    np.testing.assert_array_equal(traffic.r_edge[traffic.vi[k.VI_RPTR, vids]], net.lane_edge[lane])
    pos, length = traffic.vf[k.VF_POS, vids], traffic.vf[k.VF_LEN, vids]
    assert np.all((pos >= 0.0) & (pos <= net.edge_length_m[net.lane_edge[lane]] + 1e-9))
    # front to back: each follower's front stays behind its leader's rear
    follower = np.flatnonzero(rank > 0)
    assert np.all(pos[follower - 1] - length[follower - 1] >= pos[follower] - 1e-9)


@pytest.fixture
def check_state() -> Callable[[TrafficState], None]:
    """A function that asserts the invariants of a traffic state between steps.

    Released vehicles are conserved (arrived + on a lane + waiting to enter), the status
    counts match the counters, no vehicle id is on two lanes, every on-network vehicle's
    lane is the one it is listed on and lies on the edge of its route pointer, positions
    are within the edge, and consecutive vehicles of a lane do not overlap.
    """
    return _check_state
