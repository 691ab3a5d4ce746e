"""SUMO demand import: vehicles, trips, flows, routes, types and distributions, exactly as written."""

import gzip
import time
from pathlib import Path

import numpy as np
import pytest

from sim.demand import read_trip_table
from sim.interop.errors import InteropError
from sim.interop.sumo.flows import flow_departures_ms
from sim.interop.sumo.net import read_sumo_net
from sim.interop.sumo.routes import (
    DISCONNECTED,
    LOOP,
    NO_ENDS,
    NO_JUNCTION,
    NOT_IMPORTED,
    read_sumo_routes,
    write_trip_table,
)
from sim.network import compile_network
from sim.routing import BANNED_TURN, Router

DATA = Path(__file__).parent / "data" / "sumo_small"
NET, ROUTES = DATA / "small.net.xml", DATA / "small.rou.xml"
SUMO_DEFAULTS = {
    "length_m": 5.0,
    "min_gap_m": 2.5,
    "accel_mps2": 2.6,
    "decel_mps2": 4.5,
    "tau_s": 1.0,
    "sigma": 0.5,
    "max_speed_mps": pytest.approx(200 / 3.6),
    "speed_factor": 1.0,
    "speed_dev": 0.1,
}


@pytest.fixture(scope="module")
def network():
    return read_sumo_net(NET)


@pytest.fixture(scope="module")
def demand(network):
    return read_sumo_routes(ROUTES, network, seed=7)


def trips_of(demand, prefix):
    """``(depart_s, origin, destination, route, type)`` of the trips whose id starts with ``prefix``."""
    trips = demand.trips
    return [
        (float(trips.depart_s[i]), trips.origin[i], trips.destination[i], trips.routes[i], trips.types[i])
        for i in range(len(trips))
        if trips.ids[i].startswith(prefix)
    ]


def test_vehicles_with_routes_keep_them_as_node_paths(demand):
    assert trips_of(demand, "v_named") == [(5.0, "N", "S", ("N", "C", "S"), "truck")]
    assert trips_of(demand, "v_embedded") == [(8.0, "E", "X", ("E", "P", "X"), "DEFAULT_VEHTYPE")]
    assert trips_of(demand, "f_vph") == [
        (t, "W", "E", ("W", "C", "P", "E"), "car") for t in (0.0, 15.0, 30.0, 45.0)
    ]
    assert trips_of(demand, "v_late") == [(150.0, "W", "E", ("W", "C", "P", "E"), "car")]


def test_trips_are_routed_and_left_to_citysim_where_it_routes_them_alike(demand, network):
    assert trips_of(demand, "f_period") == [
        (t, "E", "C", None, "car") for t in (10.0, 17.0, 24.0, 31.0, 38.0)
    ]
    assert trips_of(demand, "f_number") == [
        (t, "X", "W", None, "DEFAULT_VEHTYPE") for t in (20.0, 30.0, 40.0)
    ]
    assert trips_of(demand, "t_north") == [(25.0, "N", "P", None, "car")]
    # the via edge P2E makes the route differ from citysim's own: it is kept
    assert trips_of(demand, "t_via") == [
        (35.0, "S", "W", ("S", "C", "P", "E", "P", "C", "W"), "DEFAULT_VEHTYPE")
    ]
    # W -> C -> N is banned: citysim's router drives round by E's dead end, as SUMO does
    assert trips_of(demand, "t_banned") == [(30.0, "W", "N", None, "car")]
    router = Router(network.graph, compile_network(network.graph))
    assert router.shortest_path("W", "N") == ("W", "C", "P", "E", "P", "C", "N")


def test_distributions_are_drawn_per_vehicle_from_the_seed(demand, network):
    drawn = trips_of(demand, "f_prob")
    assert drawn
    for depart_s, origin, destination, route, vtype in drawn:
        assert depart_s == int(depart_s) and 0 <= depart_s < 120
        assert route in (("S", "C", "N"), ("S", "C", "P", "E"))
        assert (origin, destination) == (route[0], route[-1])
        assert vtype in ("small", "van")
    poisson = trips_of(demand, "f_poisson")
    assert all(50 <= t < 110 and route == ("N", "C", "S") for t, _, _, route, _ in poisson)
    again = read_sumo_routes(ROUTES, network, seed=7)
    assert again.trips == demand.trips
    other = read_sumo_routes(ROUTES, network, seed=8)
    assert trips_of(other, "f_prob") != drawn


def test_vehicle_types_take_sumo_defaults_for_what_they_leave_out(demand):
    assert demand.types["car"] == SUMO_DEFAULTS
    assert demand.types["DEFAULT_VEHTYPE"] == SUMO_DEFAULTS
    assert demand.types["truck"] == {
        "length_m": 12.0,
        "min_gap_m": 3.0,
        "accel_mps2": 1.2,
        "decel_mps2": 4.0,
        "tau_s": 1.5,
        "sigma": 0.3,
        "max_speed_mps": 25.0,
        "speed_factor": 0.9,
        "speed_dev": 0.05,
    }
    assert demand.types["small"] == SUMO_DEFAULTS | {"length_m": 4.0}
    assert demand.types["van"] == SUMO_DEFAULTS | {"length_m": 6.5, "accel_mps2": 2.0, "speed_dev": 0.0}
    assert set(demand.types) == {"car", "truck", "bus", "small", "van", "DEFAULT_VEHTYPE"}
    assert demand.types["bus"]["length_m"] == 12.0 and demand.types["bus"]["accel_mps2"] == 1.2
    assert demand.vtypes["bus"].vclass == "bus" and demand.vtypes["bus"].length_m == 12.0


def test_the_report_counts_what_was_skipped_unsupported_and_approximated(demand):
    report = demand.report
    assert report.skipped == {"vehicle class 'bicycle'": 1}
    assert report.skipped_ids == {"vehicle class 'bicycle'": ("bike_1",)}
    assert "bus_1" in demand.trips.ids
    assert report.kept == len(demand.trips) and report.vehicles == report.kept + 1
    assert report.routed_by_citysim == 5 + 3 + 1 + 1
    assert report.unsupported == {"<stop> (driven through)": 1, "<person>": 1}
    assert report.approximated == {'departPos="last"': 1, "arrivalPos=<number>": 1}
    assert report.outside_period == 0
    text = report.summary()
    assert "vehicle class 'bicycle': 1 (bike_1)" in text
    assert f"{report.kept} imported (" in text


def test_the_period_leaves_out_earlier_and_later_departures(network):
    demand = read_sumo_routes(ROUTES, network, seed=7, begin_s=10.0, end_s=30.0)
    assert all(10.0 <= t < 30.0 for t in demand.trips.depart_s)
    assert [t for t, *_ in trips_of(demand, "f_vph")] == [15.0]
    # v_named (5 s), v_embedded (8 s), t_banned (30 s), t_via (35 s), bus_1 (3 s) and bike_1 (4 s) are outside
    assert demand.report.outside_period >= 5
    assert demand.report.skipped == {}


def test_the_trip_table_reads_back_as_the_same_trips(demand, network, tmp_path):
    write_trip_table(demand, tmp_path / "trips.csv")
    assert (tmp_path / "trips.csv").read_text().splitlines()[0] == "id,depart_s,origin,destination,route,type"
    assert read_trip_table(tmp_path / "trips.csv", network.graph, list(demand.types)) == demand.trips


def routes_file(tmp_path, body):
    path = tmp_path / "extra.rou.xml"
    path.write_text(f'<routes>\n    <vType id="car"/>\n{body}\n</routes>\n')
    return path


def test_vehicles_that_cannot_be_driven_are_skipped_and_counted_by_reason(network, tmp_path):
    path = routes_file(
        tmp_path,
        """
    <vehicle id="banned" depart="0"><route edges="W2C C2N"/></vehicle>
    <vehicle id="gap" depart="1"><route edges="W2C P2E"/></vehicle>
    <vehicle id="unknown" depart="2"><route edges="W2C nowhere"/></vehicle>
    <vehicle id="loop" depart="3"><route edges="P2C C2N N2C C2P"/></vehicle>
    <trip id="junctions" depart="4" fromJunction="S" toJunction="E"/>
    <trip id="no_junction" depart="5" fromJunction="S" toJunction="Q"/>
    <trip id="taz" depart="6" fromTaz="a" toTaz="b"/>
    <vehicle id="triggered" depart="triggered" route="r"/>
    <flow id="lanes" begin="0" number="2" end="10" from="N2C" to="C2S" departLane="1"/>
    """,
    )
    demand = read_sumo_routes(path, network)
    assert demand.trips.ids == ("lanes.0", "junctions", "lanes.1")
    assert trips_of(demand, "junctions") == [(4.0, "S", "E", None, "DEFAULT_VEHTYPE")]
    assert demand.report.skipped == {
        BANNED_TURN: 1,
        DISCONNECTED: 1,
        NOT_IMPORTED: 1,
        LOOP: 1,
        NO_JUNCTION: 1,
        NO_ENDS: 1,
        "depart='triggered' (unsupported)": 1,
    }
    assert demand.report.approximated == {"departLane=<number>": 2}


def test_distributions_by_reference_intervals_and_gzipped_files(network, tmp_path):
    path = routes_file(
        tmp_path,
        """
    <vType id="long" length="7"/>
    <vTypeDistribution id="only_long" vTypes="car long" probabilities="0 1"/>
    <route id="r1" edges="N2C C2S"/>
    <route id="r2" edges="N2C C2W"/>
    <routeDistribution id="only_r2" routes="r1 r2" probabilities="0 2"/>
    <routeDistribution id="only_r1"><route refId="r1" probability="1"/><route refId="r2" probability="0"/>
    </routeDistribution>
    <interval begin="100" end="130">
        <flow id="a" type="only_long" route="only_r2" period="10"/>
        <flow id="b" route="only_r1" number="2"/>
    </interval>
    """,
    )
    (tmp_path / "extra.rou.xml.gz").write_bytes(gzip.compress(path.read_bytes()))
    for source in (path, tmp_path / "extra.rou.xml.gz"):
        demand = read_sumo_routes(source, network)
        assert trips_of(demand, "a") == [
            (t, "N", "W", ("N", "C", "W"), "long") for t in (100.0, 110.0, 120.0)
        ]
        assert trips_of(demand, "b") == [
            (t, "N", "S", ("N", "C", "S"), "DEFAULT_VEHTYPE") for t in (100.0, 115.0)
        ]


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (
            '<vehicle id="v" depart="0" route="nope"/>',
            "line 3: <vehicle id='v'>: route: no route or routeDistribution 'nope'",
        ),
        (
            '<vehicle id="v" depart="0" type="nope"><route edges="W2C"/></vehicle>',
            "line 3: <vehicle id='v'>: type: no vType",
        ),
        (
            '<flow id="f" begin="0" end="9" period="3" number="2" from="W2C" to="C2P"/>',
            "at most one of 'end' and 'number'",
        ),
        ('<flow id="f" begin="0" end="9" from="W2C" to="C2P"/>', "expected one of period, vehsPerHour"),
        (
            '<flow id="f" begin="0" end="9" probability="1.5" from="W2C" to="C2P"/>',
            "probability: expected a number > 0 and <= 1",
        ),
        ('<vehicle id="v" depart="soon"><route edges="W2C"/></vehicle>', "depart: expected a time"),
        ('<vType id="car"/>', "line 3: <vType id='car'>: the id 'car' is defined twice"),
        ('<vType id="t" length="long"/>', "length: expected a number, got 'long'"),
        (
            '<routeDistribution id="d"><route edges="W2C" probability="-1"/></routeDistribution>',
            "probabilities >= 0",
        ),
        ('<trip id="v" depart="0" from="W2C"/>', "expected both 'from' and 'to'"),
        (
            '<flow id="f" begin="0" period="0.01" number="3000000" from="W2C" to="C2P"/>',
            "line 3: <flow id='f'>: more than 2,000,000 vehicles",
        ),
        (
            '<vehicle id="v" depart="0" route="r"/><vehicle id="v" depart="1" route="r"/>',
            "vehicle id 'v' is taken",
        ),
    ],
)
def test_malformed_demand_names_the_file_line_and_element(network, tmp_path, body, message):
    path = routes_file(tmp_path, f'    <route id="r" edges="W2C C2P"/>{body}')
    with pytest.raises(InteropError) as error:
        read_sumo_routes(path, network)
    assert str(error.value).startswith(f"{path}: ")
    assert message in str(error.value)


def test_files_that_are_not_route_files_are_refused(network, tmp_path):
    broken = tmp_path / "broken.rou.xml"
    broken.write_text("<routes>\n  <vehicle id='v'>\n</routes>\n")
    with pytest.raises(InteropError, match=r"broken.rou.xml: invalid XML at line 3, column 2"):
        read_sumo_routes(broken, network)
    with pytest.raises(InteropError, match="this is a SUMO network"):
        read_sumo_routes(NET, network)
    with pytest.raises(InteropError, match="file not found"):
        read_sumo_routes(tmp_path / "missing.rou.xml", network)


SUMO_FLOWS = [
    # attributes, the run's end, departures (s) as SUMO 1.28 gives them (--vehroute-output.intended-depart)
    ({"begin": "5", "end": "100", "vehsPerHour": "700"}, None,
     [5.0, 10.14, 15.29, 20.43, 25.57, 30.72, 35.86, 41.0, 46.14, 51.29, 56.43, 61.57, 66.72, 71.86, 77.0,
      82.15, 87.29, 92.43, 97.57]),
    ({"begin": "0", "end": "50", "period": "7.3"}, None, [0.0, 7.3, 14.6, 21.9, 29.2, 36.5, 43.8]),
    ({"begin": "10", "end": "100", "number": "7"}, None, [10.0, 22.86, 35.71, 48.57, 61.43, 74.29, 87.14]),
    ({"begin": "2", "period": "3", "number": "5"}, None, [2.0, 5.0, 8.0, 11.0, 14.0]),
    ({"begin": "0", "number": "4"}, 1000.0, [0.0, 250.0, 500.0, 750.0]),
    ({"begin": "0", "vehsPerHour": "1000", "number": "3"}, None, [0.0, 3.6, 7.2]),
    ({"begin": "0", "end": "35", "period": "10"}, None, [0.0, 10.0, 20.0, 30.0]),
    ({"begin": "0", "end": "30", "period": "10"}, None, [0.0, 10.0, 20.0]),
]  # fmt: skip


@pytest.mark.parametrize(("attrs", "end_s", "expected"), SUMO_FLOWS)
def test_flow_departures_are_spaced_as_sumo_spaces_them(attrs, end_s, expected):
    end_ms = None if end_s is None else int(end_s * 1000)
    departs_ms = flow_departures_ms(attrs, np.random.default_rng(0), 0, end_ms)
    # SUMO writes times with 2 decimals, rounding half up
    assert (np.floor(departs_ms / 10 + 0.5) / 100).tolist() == expected


def test_a_flow_without_end_or_number_lasts_24_hours():
    departs = flow_departures_ms({"begin": "100", "period": "3600"}, np.random.default_rng(0), 0, None)
    assert departs.tolist() == [100_000 + 3_600_000 * i for i in range(24)]


def test_random_flows_follow_their_rates():
    rng = np.random.default_rng(3)
    bernoulli = flow_departures_ms({"begin": "0.5", "end": "40000", "probability": "0.25"}, rng, 0, None)
    assert np.all(bernoulli % 1000 == 0) and bernoulli[0] >= 1000 and np.all(np.diff(bernoulli) > 0)
    assert bernoulli.size == pytest.approx(0.25 * 40_000, rel=0.03)
    capped = flow_departures_ms({"begin": "3", "probability": "0.5", "number": "4"}, rng, 0, None)
    assert capped.size == 4 and capped[0] >= 3000
    poisson = flow_departures_ms({"begin": "10", "end": "20010", "period": "exp(0.5)"}, rng, 0, None)
    assert poisson[0] > 10_000 and poisson[-1] < 20_010_000
    assert poisson.size == pytest.approx(0.5 * 20_000, rel=0.03)
    assert np.diff(poisson).mean() == pytest.approx(2000, rel=0.03)


def test_sumo_routes_the_small_demand_as_the_import_does(network, demand, tmp_path):
    """SUMO itself, on the same files: the same deterministic departures, routes and types."""
    pytest.importorskip("sumo")
    from sim.interop.sumo.binaries import run_tool

    out = tmp_path / "vehroutes.xml"
    run_tool("sumo", ["-n", str(NET), "-r", str(ROUTES), "--end", "1000", "--no-step-log",
                      "--vehroute-output", str(out), "--vehroute-output.intended-depart"])  # fmt: skip
    import xml.etree.ElementTree as ET

    router = Router(network.graph, compile_network(network.graph))
    ours = {demand.trips.ids[i]: i for i in range(len(demand.trips))}
    compared = 0
    for vehicle in ET.parse(out).getroot().iter("vehicle"):
        vid = vehicle.get("id")
        if vid.startswith(("f_prob", "f_poisson")) or vid == "bike_1":
            continue  # drawn from another generator, or of another class (skipped)
        i = ours[vid]
        edges = vehicle.find("route").get("edges").split()
        nodes = tuple([network.edges[edges[0]][0][0]] + [network.edges[e][-1][1] for e in edges])
        route = demand.trips.routes[i] or router.shortest_path(
            demand.trips.origin[i], demand.trips.destination[i]
        )
        assert (float(demand.trips.depart_s[i]), route) == (float(vehicle.get("depart")), nodes), vid
        compared += 1
    assert compared == len([i for i in demand.trips.ids if not i.startswith(("f_prob", "f_poisson"))])


def test_a_large_sumo_demand_reads_in_well_under_a_second():
    sumo = pytest.importorskip("sumo")
    folder = Path(sumo.SUMO_HOME) / "tools" / "game" / "A10KW"
    network = read_sumo_net(folder / "osm.net.xml")
    files = [
        folder / name for name in ("osm.passenger.rou.xml", "osm.passenger_mw.rou.xml", "osm.truck.rou.xml")
    ]
    t0 = time.perf_counter()
    demand = read_sumo_routes(files, network, end_s=1800.0)
    assert time.perf_counter() - t0 < 1.5
    assert demand.report.kept > 4000
    assert not demand.report.skipped and demand.types["truck_truck"]["length_m"] == 7.1
