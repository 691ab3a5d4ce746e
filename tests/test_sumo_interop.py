"""SUMO interop: reading nets, exporting and re-importing, the shipped SUMO examples, validation."""

import gzip
import hashlib
import json
from pathlib import Path

import networkx as nx
import numpy as np
import pytest

import sim
from sim.cli import main
from sim.interop.demand import drivable_fringe_pairs, write_od_matrix
from sim.interop.errors import InteropError
from sim.interop.sumo.export import ExportOptions, SignalTiming
from sim.interop.sumo.net import read_sumo_net
from sim.interop.sumo.programs import TlsPhase, TlsProgram, map_programs
from sim.model import CityModel
from sim.network import compile_network, grid, load_network_json, save_network_json
from sim.scenario import scenario_from_dict

BENCH = Path(sim.__file__).parent / "data" / "bench"
NOT_FOR_CARS = {"net.net.xml": "rail", "spreewaldring.net.xml": "racing"}


def sumo_examples():
    """Every distinct ``.net.xml`` in the eclipse-sumo wheel's tools/game and tools/sumolib/scenario."""
    try:
        import sumo
    except ImportError:
        return []
    tools = Path(sumo.SUMO_HOME) / "tools"
    found, seen = [], set()
    for folder in ("game", "sumolib/scenario"):
        for path in sorted((tools / folder).rglob("*.net.xml*")):
            digest = hashlib.sha256(path.read_bytes()).hexdigest()
            if digest not in seen:
                seen.add(digest)
                found.append(path)
    return found


@pytest.fixture(scope="module")
def sumo_tools():
    pytest.importorskip("sumo")
    from sim.interop import sumo

    return sumo


def timings_for(graph, greens=(30.0, 30.0), offset_s=0.0):
    net = compile_network(graph)
    return {net.node_ids[n]: SignalTiming(greens, 3.0, 0.0, offset_s) for n in net.signal_nodes.tolist()}


def phase_movements(net):
    """Per signalized node, the set of movements (from node, to node) green in each phase, in order."""
    phases = {}
    for s, node in enumerate(net.signal_nodes.tolist()):
        phases[net.node_ids[node]] = [
            {
                (net.edge_keys[net.conn_from[c]][0], net.edge_keys[net.conn_to[c]][1])
                for c in net.phase_conns[net.phase_conn_ptr[p] : net.phase_conn_ptr[p + 1]].tolist()
            }
            for p in range(net.signal_phase_ptr[s], net.signal_phase_ptr[s + 1])
        ]
    return phases


# ----- reading, no SUMO needed ---------------------------------------------------------------
def test_a_file_that_is_not_a_sumo_net_is_rejected(tmp_path):
    with pytest.raises(InteropError, match="missing.net.xml: file not found"):
        read_sumo_net(tmp_path / "missing.net.xml")
    (tmp_path / "nodes.xml").write_text("<nodes/>")
    with pytest.raises(InteropError, match=r"expected a SUMO network \(root element <net>\), got <nodes>"):
        read_sumo_net(tmp_path / "nodes.xml")
    (tmp_path / "broken.net.xml").write_text("<net><edge></net>")
    with pytest.raises(InteropError, match="invalid XML at line 1"):
        read_sumo_net(tmp_path / "broken.net.xml")
    (tmp_path / "odd.net.xml").write_text('<net><junction id="a" type="priority"/></net>')
    with pytest.raises(InteropError, match=r"odd.net.xml: malformed SUMO network \(TypeError"):
        read_sumo_net(tmp_path / "odd.net.xml")


def test_a_program_maps_onto_the_geometric_phases_keeping_its_cycle():
    graph = grid(1, 1)
    net = compile_network(graph)
    edge_map = {f"{u}-{v}": ((u, v),) for u, v in graph.edges}
    ns_in = [f"{u}-n0_0" for u in ("S0", "N0")]
    ew_in = [f"{u}-n0_0" for u in ("W0", "E0")]
    links, index = {}, 0
    for e_in in ns_in + ew_in:
        for v in ("S0", "N0", "W0", "E0"):
            if not e_in.startswith(v):
                links[index] = (e_in, f"n0_0-{v}")
                index += 1
    ns = "".join("G" if links[i][0] in ns_in else "r" for i in range(index))
    ew = "".join("G" if links[i][0] in ew_in else "r" for i in range(index))
    phases = (
        TlsPhase(20.0, ew),
        TlsPhase(4.0, ew.replace("G", "y")),
        TlsPhase(2.0, "r" * index),
        TlsPhase(40.0, ns),
        TlsPhase(4.0, ns.replace("G", "y")),
        TlsPhase(2.0, "r" * index),
    )
    plans, matches = map_programs(graph, edge_map, {"n0_0": TlsProgram("n0_0", 5.0, phases, links)})
    assert net.phase_axis == ("NS", "EW")
    assert plans["n0_0"] == SignalTiming((40.0, 20.0), 4.0, 2.0, offset_s=5.0 + 26.0)
    assert plans["n0_0"].cycle_s == 72.0
    assert matches["n0_0"].share == 1.0


def test_od_pairs_of_a_one_way_corridor_follow_the_traffic():
    graph = nx.DiGraph(name="corridor")
    for i, kind in enumerate(["fringe", "intersection", "fringe"]):
        graph.add_node(f"n{i}", x=100.0 * i, y=0.0, signalized=False, kind=kind)
    for i in range(2):
        graph.add_edge(f"n{i}", f"n{i + 1}", length_m=100.0, lanes=1, speed_mps=10.0)
    assert drivable_fringe_pairs(graph) == [("n0", "n2")]


# ----- export, re-import and the shipped examples ----------------------------------------------
def test_an_exported_grid5_reimported_is_the_same_graph_and_plans(sumo_tools, tmp_path):
    graph = load_network_json(BENCH / "grid5" / "network.json")
    timings = timings_for(graph, greens=(25.0, 35.0), offset_s=10.0)
    sumo_tools.build_net(graph, tmp_path / "grid5.net.xml", timings)
    back = read_sumo_net(tmp_path / "grid5.net.xml")
    assert back.graph.graph["name"] == "grid5"
    without_plans = {
        node: {k: v for k, v in attrs.items() if k != "signal_plan"}
        for node, attrs in back.graph.nodes(data=True)
    }
    assert without_plans == dict(graph.nodes(data=True))
    assert phase_movements(compile_network(back.graph)) == phase_movements(compile_network(graph))
    assert {(u, v): d for u, v, d in back.graph.edges(data=True)} == {
        (u, v): d for u, v, d in graph.edges(data=True)
    }
    assert back.plans == timings
    assert back.report.plan_match == 1.0 and back.report.turns_not_in_sumo == 0
    assert back.edges["n0_0-n1_0"] == (("n0_0", "n1_0"),)


def test_a_gzipped_net_reads_the_same(sumo_tools, tmp_path):
    graph = grid(2, 2)
    sumo_tools.build_net(graph, tmp_path / "g.net.xml", timings_for(graph))
    (tmp_path / "g.net.xml.gz").write_bytes(gzip.compress((tmp_path / "g.net.xml").read_bytes()))
    plain, packed = read_sumo_net(tmp_path / "g.net.xml"), read_sumo_net(tmp_path / "g.net.xml.gz")
    assert list(packed.graph.edges(data=True)) == list(plain.graph.edges(data=True))


def test_export_needs_a_timing_per_signal_and_sumo_safe_ids(sumo_tools, tmp_path):
    graph = grid(2, 2)
    with pytest.raises(InteropError, match="signalized node 'n0_0' has no signal timing"):
        sumo_tools.build_net(graph, tmp_path / "g.net.xml", {})
    bad = nx.relabel_nodes(graph, {"n0_0": "n0 0"})
    with pytest.raises(InteropError, match="node id 'n0 0' cannot be a SUMO id"):
        sumo_tools.build_net(bad, tmp_path / "g.net.xml", timings_for(bad))
    with pytest.raises(InteropError, match="ExportOptions.unsignalized"):
        ExportOptions(unsignalized="zipper")


def test_sumo_ships_examples():
    if not sumo_examples():
        pytest.skip("eclipse-sumo is not installed")
    assert len(sumo_examples()) >= 20


@pytest.mark.parametrize("path", sumo_examples(), ids=lambda p: f"{p.parent.name}/{p.name}")
def test_every_sumo_example_imports_and_runs_ten_minutes_without_gridlock(path, tmp_path):
    if path.name in NOT_FOR_CARS and NOT_FOR_CARS[path.name] in str(path):
        with pytest.raises(InteropError, match="no edge has a lane open to vehicle class 'passenger'"):
            read_sumo_net(path)
        return
    network = read_sumo_net(path)
    assert network.report.plan_match >= 0.7
    save_network_json(network.graph, tmp_path / "network.json")
    write_od_matrix(network.graph, tmp_path / "od.csv", rate_vph=300.0)
    scenario = scenario_from_dict(
        {
            "name": path.name,
            "network": {"type": "file", "path": str(tmp_path / "network.json")},
            "demand": {"type": "matrix", "matrix": str(tmp_path / "od.csv"), "duration_s": 600.0},
            "simulation": {"max_time_s": 600.0, "gridlock_s": 120.0},
        }
    )
    model = CityModel(scenario).run()
    assert model.time_s == pytest.approx(600.0)
    assert model.recorder.gridlock == [] and model.recorder.stalled_at_s is None
    # The game nets (corridor, A10KW) hold each green ~10000 s, for the player to switch; run
    # as SUMO's own plan, the approaches on red wait the whole ten minutes.
    held = any(program.cycle_s > 600.0 for program in network.programs.values())
    assert model.traffic.n_arrived >= (0.25 if held else 0.6) * len(model.trips) > 0


def test_an_imported_net_runs_its_own_sumo_program(tmp_path):
    path = next((p for p in sumo_examples() if p.name == "cross.net.xml"), None)
    if path is None:
        pytest.skip("eclipse-sumo is not installed")
    network = read_sumo_net(path)
    (program,) = network.programs.values()
    assert program.cycle_s == 90.0 and len(program.phases) == 8
    plan = network.graph.nodes["0"]["signal_plan"]
    assert plan["greens_s"] == [33.0, 3.0, 6.0, 33.0, 3.0, 6.0]
    assert (plan["yellow_s"], plan["all_red_s"], plan["offset_s"]) == (1.0, 0.0, 0.0)
    save_network_json(network.graph, tmp_path / "network.json")
    write_od_matrix(network.graph, tmp_path / "od.csv", rate_vph=300.0)
    scenario = scenario_from_dict(
        {
            "name": "cross",
            "network": {"type": "file", "path": str(tmp_path / "network.json")},
            "demand": {"type": "matrix", "matrix": str(tmp_path / "od.csv"), "duration_s": 600.0},
            "signals": {"green_s": 20.0, "yellow_s": 4.0, "all_red_s": 2.0},
            "simulation": {"max_time_s": 600.0, "dt_s": 1.0},
        }
    )
    model = CityModel(scenario)
    net = model.net
    assert net.phase_axis == ("plan",) * 6
    assert [len(movements) for movements in phase_movements(net)["0"]] == [6, 2, 2, 6, 2, 2]
    states = []
    while model.time_s < 600.0:
        model.step()
        states.append(model.traffic.conn_state.copy())
    states = np.array(states)
    period = next(p for p in range(1, 300) if (states[p:] == states[:-p]).all())
    assert period == program.cycle_s
    assert model.recorder.gridlock == [] and model.traffic.n_arrived > 0.6 * len(model.trips)


# ----- validation ---------------------------------------------------------------------------
def small_scenario(tmp_path):
    path = tmp_path / "small.toml"
    path.write_text(
        'name = "small"\n[network]\ntype = "grid"\nrows = 3\ncols = 3\n'
        '[demand]\ntype = "uniform"\nrate_vph = 900.0\nduration_s = 600.0\n'
        "[signals]\ngreen_s = 25.0\nyellow_s = 3.0\nall_red_s = 1.0\noffset_s = 7.0\n",
        encoding="utf-8",
    )
    return path


def test_citysim_agrees_with_sumo_on_a_small_grid(sumo_tools, tmp_path, capsys):
    out = tmp_path / "out"
    code = main(
        ["validate", "--against", "sumo", str(small_scenario(tmp_path)), "--out", str(out), "--quiet"]
    )
    printed = capsys.readouterr().out
    assert code == 0, printed
    assert "vehicles completed" in printed and "per-link flow correlation" in printed
    assert "agreement: completed, travel_time and delay within tolerance" in printed
    summary = json.loads((out / "validation.json").read_text())
    assert summary["agreement"] is True and summary["failing"] == []
    assert list(summary["judged"]) == ["completed", "travel_time", "delay"]
    assert abs(summary["ratios"]["completed"] - 1) <= 0.02
    assert abs(summary["ratios"]["mean_travel_time_s"] - 1) <= 0.15
    assert abs(summary["ratios"]["mean_delay_s"] - 1) <= 0.25
    assert summary["flow_correlation"] > 0.95
    assert summary["sumo"]["trips"] == summary["citysim"]["trips"] > 100
    for name in ("network.net.xml", "routes.rou.xml", "links.csv", "agreement.csv", "link_speeds.png"):
        assert (out / name).is_file()


def test_validation_needs_fixed_time_signals(sumo_tools, tmp_path, monkeypatch, capsys):
    from sim.control.fixed_time import FixedTimeController
    from sim.interop import validate

    monkeypatch.setattr(validate, "FixedTimeController", type("Other", (FixedTimeController,), {}))
    code = main(
        ["validate", "--against", "sumo", str(small_scenario(tmp_path)), "--out", str(tmp_path / "o")]
    )
    assert code == 2
    assert "validation against SUMO needs fixed-time signals" in capsys.readouterr().err
