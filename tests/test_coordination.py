"""The best fixed-time baseline: coordinated plans, plan files and ``citysim tune`` (issue 18)."""

import tomllib
from pathlib import Path

import numpy as np
import pytest

from sim.cli import main
from sim.compare import compare_controllers, format_comparison
from sim.control.base import SignalPlan
from sim.control.coordination import SignalLink, progression_offsets_s
from sim.control.plans import NodePlan, load_plan_file, write_plan_file
from sim.control.timing import (
    COORDINATED_MAX_CYCLE_S,
    COORDINATED_MIN_CYCLE_S,
    DemandFlows,
    common_cycle_s,
    critical_lane_flows_vphpl,
    timing_label,
    webster_greens_s,
    webster_timing,
)
from sim.interop.demand import write_od_matrix
from sim.interop.sumo.net import read_sumo_net
from sim.model import CityModel
from sim.network import save_network_json
from sim.scenario import ScenarioError, load_scenario, scenario_from_dict
from sim.tuning import TuneError, tune

SMALL_SUMO = Path(__file__).parent / "data" / "sumo_small" / "small.net.xml"
SIGNALS = {"yellow_s": 3.0, "all_red_s": 1.0}


def plans_of(model):
    return [controller.intersection.plan for controller in model.controllers]


def grid_scenario(**signals):
    return scenario_from_dict(
        {
            "name": "grid3",
            "seed": 3,
            "network": {"type": "grid", "rows": 3, "cols": 3},
            "demand": {"rate_vph": 4000.0, "duration_s": 600.0},
            "signals": {"timing": "coordinated", **SIGNALS, **signals},
            "simulation": {"max_time_s": 1200.0},
        }
    )


def corridor_scenario(folder, n_intersections=4, duration_s=900.0, **signals):
    """An arterial whose demand runs end to end both ways, with a little cross traffic."""
    od = folder / "od.csv"
    (folder / "corridor.toml").touch()  # the source file: relative paths resolve beside it
    od.write_text("origin,destination,rate_vph\nW0,E0,500\nE0,W0,500\nS1,N1,60\nN2,S2,60\n")
    return scenario_from_dict(
        {
            "name": "corridor",
            "seed": 1,
            "network": {"type": "arterial", "n_intersections": n_intersections, "block_m": 250.0},
            "demand": {"type": "matrix", "matrix": str(od), "duration_s": duration_s},
            "signals": {"timing": "coordinated", **SIGNALS, **signals},
            "simulation": {"max_time_s": 2 * duration_s},
        },
        source=str(folder / "corridor.toml"),
    )


def node_plans(model, offset_s=None):
    """The model's plans as plan-file entries, with every offset replaced by ``offset_s`` if given."""
    nodes = [model.net.node_ids[node] for node in model.net.signal_nodes]
    return [
        (
            node,
            NodePlan.of(plan.greens_s, plan.intergreens_s, plan.offset_s if offset_s is None else offset_s),
        )
        for node, plan in zip(nodes, plans_of(model), strict=True)
    ]


# ----- the common cycle and Webster splits ----------------------------------------------------
def test_every_signal_runs_the_critical_intersections_webster_cycle_with_webster_splits():
    model = CityModel(grid_scenario())
    plans = plans_of(model)
    flows = DemandFlows.of(model.router, model.trips)
    critical = [critical_lane_flows_vphpl(model.net, s, flows) for s in range(model.net.n_signals)]
    own_cycles = [
        webster_timing(q, 4.0, 1900.0, plan.intergreens_s, plan.min_green_s)[0]
        for q, plan in zip(critical, plans, strict=True)
    ]
    expected = max(own_cycles)
    # the demand makes the critical cycle fall inside the clip range, and the signals differ
    assert COORDINATED_MIN_CYCLE_S < expected < COORDINATED_MAX_CYCLE_S
    assert min(own_cycles) < expected - 5.0
    assert [plan.cycle_s for plan in plans] == pytest.approx([expected] * len(plans))
    for plan, q in zip(plans, critical, strict=True):
        greens = webster_greens_s(expected, q, 4.0, 1900.0, plan.intergreens_s, plan.min_green_s)
        assert plan.greens_s == pytest.approx(greens)
    assert len({plan.offset_s for plan in plans}) > 1


def test_the_common_cycle_is_clipped_and_counts_own_programs_that_switch():
    plan = SignalPlan((20.0, 20.0), 3.0, 1.0, 0.0, 5.0)
    light, saturated = [[100.0, 100.0]], [[1000.0, 900.0]]
    assert common_cycle_s([plan], light, 4.0, 1900.0) == COORDINATED_MIN_CYCLE_S
    assert common_cycle_s([plan], saturated, 4.0, 1900.0) == COORDINATED_MAX_CYCLE_S
    assert common_cycle_s([plan, plan], light * 2, 4.0, 1900.0, own_cycles_s=[90.0]) == 90.0
    # a program of 10,000 s greens never switches: it sets no cycle
    assert common_cycle_s([plan], light, 4.0, 1900.0, own_cycles_s=[20_008.0]) == COORDINATED_MIN_CYCLE_S


def test_imported_programs_keep_their_phases_and_intergreens_on_the_common_cycle(tmp_path):
    small = read_sumo_net(SMALL_SUMO)
    save_network_json(small.graph, tmp_path / "network.json")
    write_od_matrix(small.graph, tmp_path / "od.csv", rate_vph=600.0)

    def model(timing):
        return CityModel(
            scenario_from_dict(
                {
                    "name": "small",
                    "network": {"type": "file", "path": str(tmp_path / "network.json")},
                    "demand": {"type": "matrix", "matrix": str(tmp_path / "od.csv"), "duration_s": 600.0},
                    "signals": {"timing": timing},
                    "simulation": {"max_time_s": 1800.0},
                }
            )
        )

    fixed = model("fixed")
    (own,) = plans_of(fixed)
    assert (
        timing_label(fixed.config.signals, fixed.graph)
        == "fixed 30 s greens, offsets 0 s; own programs kept at 1 signal"
    )
    coordinated = model("coordinated")
    (plan,) = plans_of(coordinated)
    assert (plan.yellow_s, plan.all_red_s, plan.min_green_s) == (own.yellow_s, own.all_red_s, own.min_green_s)
    assert len(plan.greens_s) == 3
    assert plan.greens_s != own.greens_s
    assert plan.cycle_s >= own.cycle_s  # the program's own cycle counts as a need
    assert coordinated.run().results().trips["arrive_s"].notna().all()


# ----- offsets for two-way progression ---------------------------------------------------------
@pytest.mark.parametrize("two_way", [True, False])
def test_offsets_serve_both_directions_where_a_block_takes_half_a_cycle(two_way):
    # two signals of equal halves (25 s green + 5 s intergreen, cycle 60 s), blocks of 30 s
    greens, intergreens = [(25.0, 25.0)] * 2, [(5.0, 5.0)] * 2
    links = [SignalLink(0, 1, 0, 0, 30.0, 600.0)]
    if two_way:
        links.append(SignalLink(1, 0, 0, 0, 30.0, 500.0))
    offsets = progression_offsets_s(links, 60.0, greens, intergreens)
    # one way: a green wave (the downstream green starts as the platoon arrives); two ways:
    # half a cycle apart, which is the same 30 s here, and serves the way back as well
    assert (offsets[1] - offsets[0]) % 60.0 == pytest.approx(30.0)
    late = progression_offsets_s([SignalLink(0, 1, 0, 0, 20.0, 600.0)], 60.0, greens, intergreens)
    assert (late[1] - late[0]) % 60.0 == pytest.approx(20.0)


def test_coordinated_offsets_stop_corridor_platoons_less_than_zero_offsets(tmp_path):
    scenario = corridor_scenario(tmp_path)
    write_plan_file(tmp_path / "zero.toml", node_plans(CityModel(scenario), offset_s=0.0))
    unaligned = scenario.with_overrides({"signals.plan_file": str(tmp_path / "zero.toml")})

    def corridor_stops(spec):
        stops = []
        for seed in (1, 2):
            trips = CityModel(spec, seed=seed).run().results().trips
            through = trips["origin"].isin(["W0", "E0"]) & trips["destination"].isin(["W0", "E0"])
            stops.append(trips.loc[through, "stops"].mean())
        return float(np.mean(stops))

    coordinated, zero = corridor_stops(scenario), corridor_stops(unaligned)
    assert coordinated < 0.5 * zero


# ----- plan files ------------------------------------------------------------------------------
def test_a_plan_file_round_trips_and_replaces_the_timing_of_its_nodes_only(tmp_path):
    scenario = corridor_scenario(tmp_path, timing="fixed")
    model = CityModel(scenario)
    nodes = [node for node, _ in node_plans(model)]
    planned = [
        (
            nodes[0],
            NodePlan.of((20.0, 30.0), (4.0, 4.0), 12.5, min_greens_s=(6.0, 6.0), max_greens_s=(40.0, 50.0)),
        ),
        (nodes[2], NodePlan.of((25.0, 25.0), (4.0, 4.0), 70.0)),
    ]
    path = write_plan_file(
        tmp_path / "plans.toml", planned, tuning={"note": 'quoted "text"', "seeds": [1, 2]}
    )
    assert load_plan_file(path).plans == tuple(planned)
    assert planned[1][1].offset_s == 12.0  # taken modulo its 58 s cycle
    planned_scenario = scenario.with_overrides({"signals.plan_file": "plans.toml"})
    # the file is part of the scenario: its absolute path round-trips, its content makes the key
    assert planned_scenario.to_dict()["signals"]["plan_file"] == str(path)
    assert planned_scenario.with_overrides({}) == planned_scenario
    assert "plan_file" not in scenario.to_dict()["signals"]
    key = planned_scenario.key()
    plans = plans_of(CityModel(planned_scenario))
    assert plans[0] == SignalPlan((20.0, 30.0), 3.0, 1.0, 12.5, (6.0, 6.0), (40.0, 50.0))
    assert plans[2] == SignalPlan((25.0, 25.0), 3.0, 1.0, 12.0, 5.0)
    assert plans[1] == plans_of(model)[1]  # not in the file: the scenario's fixed timing
    actuated = CityModel(
        scenario.with_overrides({"signals.plan_file": "plans.toml", "signals.controller": "actuated"})
    )
    assert actuated.controllers[0].intersection.plan.max_green_s == (40.0, 50.0)
    assert actuated.run().results().trips["arrive_s"].notna().all()
    path.write_text(path.read_text().replace("offset_s = 12.5", "offset_s = 13.5"))
    assert planned_scenario.key() != key


GOOD = '[plans."n0_0"]\ncycle_s = 58.0\ngreens_s = [25.0, 25.0]\noffset_s = 0.0\n'


@pytest.mark.parametrize(
    ("text", "key", "expected"),
    [
        ("[plans.n0_0\n", "", "invalid TOML"),
        (GOOD + "[extra]\n", "extra", "unknown key"),
        ("[tuning]\n", "plans", "missing required key"),
        (GOOD.replace("cycle_s = 58.0\n", ""), 'plans."n0_0".cycle_s', "missing required key"),
        (GOOD + "speed = 1\n", 'plans."n0_0".speed', "unknown key"),
        (GOOD.replace("[25.0, 25.0]", "25.0"), 'plans."n0_0".greens_s', "a non-empty list of times"),
        (GOOD.replace("[25.0, 25.0]", "[25.0, -1.0]"), 'plans."n0_0".greens_s[1]', "a number > 0"),
        (GOOD.replace("58.0", "40.0"), 'plans."n0_0".cycle_s', "at least the sum of greens_s (50)"),
        (GOOD + "min_greens_s = [5.0]\n", 'plans."n0_0".min_greens_s', "a list of 2 times"),
        (GOOD + "min_greens_s = [5.0, 30.0]\n", 'plans."n0_0".min_greens_s[1]', "<= 25"),
        (GOOD + "max_greens_s = [0.0, 30.0]\n", 'plans."n0_0".max_greens_s[0]', "a number > 0"),
        (
            GOOD + "min_greens_s = [5.0, 5.0]\nmax_greens_s = [4.0, 30.0]\n",
            'plans."n0_0".max_greens_s[0]',
            "> 5",
        ),
    ],
)
def test_a_bad_plan_file_is_refused_when_the_scenario_loads(tmp_path, text, key, expected):
    (tmp_path / "plans.toml").write_text(text)
    with pytest.raises(ScenarioError) as caught:
        corridor_scenario(tmp_path, plan_file="plans.toml")
    message = str(caught.value)
    assert message.startswith(f"{tmp_path / 'corridor.toml'}: signals.plan_file: {tmp_path / 'plans.toml'}: ")
    assert f": {key}: " in message if key else ": invalid TOML" in message
    assert expected in message


@pytest.mark.parametrize(
    ("text", "key", "expected"),
    [
        (GOOD.replace("n0_0", "n9_0"), 'plans."n9_0"', "not a signalized node of the network (4 signalized"),
        (GOOD.replace("n0_0", "n0_O"), 'plans."n0_O"', "did you mean 'n0_0'?"),
        (
            GOOD.replace("[25.0, 25.0]", "[20.0, 15.0, 15.0]"),
            'plans."n0_0".greens_s',
            "expected 2 greens, one per phase of the node (NS, EW)",
        ),
        (GOOD.replace("58.0", "60.0"), 'plans."n0_0".cycle_s', "intergreens (4, 4 s) = 58 s, got 60"),
    ],
)
def test_a_plan_file_that_does_not_fit_the_network_is_refused_when_the_model_builds(
    tmp_path, text, key, expected
):
    (tmp_path / "plans.toml").write_text(text)
    scenario = corridor_scenario(tmp_path, plan_file="plans.toml")
    with pytest.raises(ScenarioError) as caught:
        CityModel(scenario)
    assert str(caught.value).startswith(f"{tmp_path / 'plans.toml'}: {key}: ")
    assert expected in str(caught.value)


# ----- tune ------------------------------------------------------------------------------------
def test_tune_improves_or_keeps_the_delay_is_deterministic_and_writes_a_plan_file_scenarios_use(
    tmp_path, capsys
):
    scenario_path = tmp_path / "corridor.toml"
    (tmp_path / "od.csv").write_text(
        "origin,destination,rate_vph\nW0,E0,600\nE0,W0,500\nS1,N1,200\nN0,S0,150\n"
    )
    scenario_path.write_text(
        'name = "corridor"\nseed = 1\n[network]\ntype = "arterial"\nn_intersections = 3\nblock_m = 250.0\n'
        '[demand]\ntype = "matrix"\nmatrix = "od.csv"\nduration_s = 300.0\n'
        '[signals]\ntiming = "webster"\nyellow_s = 3.0\nall_red_s = 1.0\n[simulation]\nmax_time_s = 900.0\n'
    )
    argv = ["tune", str(scenario_path), "--budget", "7", "--seeds", "11,12", "--quiet", "--jobs", "1"]
    outputs, written = [], []
    for _ in range(2):
        assert main([*argv, "--out", str(tmp_path / "plans0.toml")]) == 0
        outputs.append(capsys.readouterr().out)
        written.append((tmp_path / "plans0.toml").read_bytes())
    assert written[0] == written[1]
    assert outputs[0] == outputs[1]
    assert "scenario as it is (Webster greens per signal, offsets 0 s)" in outputs[0]
    assert "--set signals.plan_file=" in outputs[0]
    tuning = load_plan_file(tmp_path / "plans0.toml")
    assert len(tuning.plans) == 3
    record = tomllib.loads((tmp_path / "plans0.toml").read_text())["tuning"]
    assert record["seeds"] == [11, 12] and record["evaluations"] == 7
    assert record["tuned_delay_s"] <= record["start_delay_s"]
    # the plan file runs in the scenario: every signal on the tuned plan
    tuned = CityModel(load_scenario(scenario_path, {"signals.plan_file": "plans0.toml"}))
    for (_, planned), plan in zip(tuning.plans, plans_of(tuned), strict=True):
        assert (plan.greens_s, plan.offset_s) == (planned.greens_s, planned.offset_s)
        assert plan.cycle_s == pytest.approx(planned.cycle_s)


def test_tune_actuated_tunes_max_greens_and_passage_time_from_its_best_start(tmp_path):
    scenario = corridor_scenario(tmp_path, n_intersections=3, duration_s=300.0, timing="fixed")
    result = tune(scenario, "actuated", seeds=(11,), budget=6)
    # the scenario's own settings are one start: the better start is no worse than the scenario
    assert result.tuned.delay_s <= result.start.delay_s <= result.before.delay_s + 1e-9
    assert 0.5 <= result.passage_time_s <= 8.0
    assert all(plan.max_greens_s is not None and plan.min_greens_s is not None for _, plan in result.plans)
    with pytest.raises(TuneError, match="expected a controller among fixed_time, actuated"):
        tune(scenario, "max_pressure", seeds=(11,), budget=2)


# ----- comparisons state their baseline ----------------------------------------------------------
def test_comparisons_state_the_baselines_timing(tmp_path):
    scenario = corridor_scenario(tmp_path, duration_s=120.0)
    comparison = compare_controllers(scenario, ["fixed_time", "max_pressure"], [1])
    assert comparison.baseline_timing == timing_label(scenario.signals)
    text = format_comparison(
        comparison.table, comparison.baseline, comparison.metrics, comparison.baseline_timing
    )
    assert text.splitlines()[0] == (
        "baseline: fixed_time, coordinated: common cycle, Webster splits, two-way progression offsets"
    )
    assert timing_label(grid_scenario(timing="fixed").signals) == "fixed 30 s greens, offsets 0 s"
    assert timing_label(grid_scenario(timing="webster", offset_s="green_wave").signals) == (
        "Webster greens per signal, green wave along x"
    )
    write_plan_file(tmp_path / "p.toml", [("n0_0", NodePlan.of((20.0, 20.0), (4.0, 4.0), 0.0))])
    planned = scenario.with_overrides({"signals.plan_file": str(tmp_path / "p.toml")})
    assert timing_label(planned.signals).startswith("plan file p.toml (other signals: coordinated")
