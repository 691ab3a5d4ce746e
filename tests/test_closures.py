"""Traffic incidents (``[[incidents]]``): lane and road closures, merging out, drivers who react."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from sim.model import CityModel
from sim.scenario import ScenarioError, scenario_from_dict
from sim.traffic.codes import ST_ON_NETWORK

SCENARIOS = Path(__file__).resolve().parents[1] / "scenarios"

BASE = {
    "name": "closures",
    "seed": 5,
    "network": {"type": "grid", "rows": 3, "cols": 3, "lanes": 3},
    "demand": {"type": "uniform", "rate_vph": 3000.0, "duration_s": 1800.0},
    "simulation": {"max_time_s": 5400.0},
}
LINK = "n0_1->n1_1"


def _model(incidents: list[dict], **routing) -> CityModel:
    data = {**BASE, "incidents": incidents, **({"route_choice": routing} if routing else {})}
    return CityModel(scenario_from_dict(data))


def test_incidents_are_read_from_an_array_of_tables_and_checked():
    spec = scenario_from_dict({**BASE, "incidents": [{"link": LINK, "start_s": 60.0, "end_s": 600.0}]})
    (closure,) = spec.section("incidents").entries
    assert closure.nodes == ("n0_1", "n1_1") and closure.full and closure.id == "incident0"
    assert spec.with_overrides({}).section("incidents") == spec.section("incidents")
    with pytest.raises(ScenarioError, match=r"incidents.entries\[0\].end_s"):
        scenario_from_dict({**BASE, "incidents": [{"link": LINK, "start_s": 600.0, "end_s": 60.0}]})
    with pytest.raises(ScenarioError, match="u->v"):
        scenario_from_dict({**BASE, "incidents": [{"link": "n0_1", "start_s": 0.0, "end_s": 60.0}]})


@pytest.mark.parametrize(
    ("entry", "key"),
    [({"link": "n0_1->n9_9"}, "link"), ({"link": LINK, "lanes": 4}, "lanes")],
)
def test_a_link_or_lane_count_the_network_lacks_is_an_error_naming_the_key(entry, key):
    with pytest.raises(ScenarioError, match=rf"incidents.entries\[0\].{key}"):
        _model([{**entry, "start_s": 0.0, "end_s": 60.0}])


def test_vehicles_leave_closed_lanes_and_the_lanes_reopen():
    model = _model([{"link": LINK, "lanes": 2, "start_s": 300.0, "end_s": 1200.0}])
    traffic, net = model.traffic, model.net
    e = net.edge_index[("n0_1", "n1_1")]
    base = traffic.connection_lanes()
    model.run(until_s=600.0)
    lo, hi = traffic.connection_lanes()
    out = net.conn_from == e
    assert (lo[out] == 2).all() and (hi[out] == 2).all()
    seen = []
    # from five minutes into the closure on, every vehicle on the link drives in the open lane 2
    for until in np.arange(610.0, 1200.0, 10.0):
        model.run(until_s=until)
        lanes = traffic.lanes_of(np.flatnonzero(traffic.statuses() == ST_ON_NETWORK))
        seen += (lanes[net.lane_edge[lanes] == e] - net.edge_lane0[e]).tolist()
    assert seen and set(seen) == {2}
    model.run(until_s=1300.0)
    lo, hi = traffic.connection_lanes()
    assert (lo == base[0]).all() and (hi == base[1]).all()
    model.run()
    assert model.status == "completed"


def test_nobody_enters_a_closed_road_when_there_is_another_way():
    model = _model([{"link": LINK, "lanes": "all", "start_s": 300.0, "end_s": 1500.0}])
    model.run()
    results = model.results()
    links = results.links
    flow = links[(links.u == "n0_1") & (links.v == "n1_1")].set_index("time_s")["flow_vph"]
    inside = flow[(flow.index > 300.0 + 240.0) & (flow.index <= 1500.0)]
    assert len(inside) and (inside == 0.0).all()
    assert (flow[flow.index > 1500.0 + 300.0] > 0.0).any()  # it carries traffic again afterwards
    info = results.info["incidents"]
    assert info["found_closed"] > 0
    assert model.status == "completed"


def test_informed_drivers_cut_the_delay_of_a_closure_on_a_busy_link():
    def during(share: float) -> float:
        model = CityModel.from_file(
            SCENARIOS / "incident.toml", overrides={"route_choice.equipped_share": share}
        )
        model.run()
        return model.results().info["incidents"]["delay_during_s"]

    uninformed, informed = during(0.0), during(1.0)
    assert informed < 0.5 * uninformed


def test_an_emergency_call_can_name_a_traffic_incident_as_its_scene(tmp_path):
    table = tmp_path / "calls.csv"
    table.write_text("time_s,location,severity\n400,traffic:crash,1\n")
    emergency = {"stations": [{"name": "s", "node": "n2_2"}], "source": "table", "table": str(table)}
    crash = {"id": "crash", "link": LINK, "lanes": 1, "start_s": 300.0, "end_s": 900.0}
    model = CityModel(scenario_from_dict({**BASE, "incidents": [crash], "emergency": emergency}))
    (call,) = model.features["emergency"].incidents
    assert call.scene.target_edges == (model.net.edge_index[("n0_1", "n1_1")],)
    unknown = {**emergency, "table": str(tmp_path / "other.csv")}
    (tmp_path / "other.csv").write_text("time_s,location,severity\n400,traffic:fire,1\n")
    with pytest.raises(ScenarioError, match="no traffic incident 'fire'"):
        CityModel(scenario_from_dict({**BASE, "incidents": [crash], "emergency": unknown}))


def test_a_speed_limit_holds_on_its_link_while_the_incident_lasts():
    model = _model([{"link": LINK, "lanes": 0, "speed_mps": 4.0, "start_s": 300.0, "end_s": 900.0}])
    e = model.net.edge_index[("n0_1", "n1_1")]
    limit = float(model.traffic.link_speeds_mps()[e])
    model.run(until_s=600.0)
    speeds = model.traffic.link_speeds_mps()
    assert (
        speeds[e] == 4.0 and np.delete(speeds, e).tolist() == np.delete(model.net.edge_speed_mps, e).tolist()
    )
    on = np.flatnonzero(model.traffic.statuses() == ST_ON_NETWORK)
    here = on[model.net.lane_edge[model.traffic.lanes_of(on)] == e]
    assert (model.traffic.speeds_mps(here) <= 4.0 + 1e-9).all()
    model.run(until_s=1000.0)
    assert model.traffic.link_speeds_mps()[e] == limit
    assert model.net.edge_speed_mps[e] == limit  # the compiled network stays as built
