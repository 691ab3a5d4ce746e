"""Tests for sim.scenario: schema defaults, validation errors, overrides and the content key."""

import dataclasses
import json
import textwrap
from dataclasses import asdict, fields
from functools import partial
from pathlib import Path

import pytest

from sim.control.fixed_time import FixedTimeController
from sim.control.registry import (
    CONTROLLERS,
    ControllerRegistryError,
    controller_class,
    controller_names,
    register_controller,
)
from sim.scenario import (
    Scenario,
    ScenarioError,
    SignalSpec,
    load_scenario,
    scenario_from_dict,
)
from sim.schema import integer, spec_field
from sim.tables import RightOfWaySpec

BENCH = Path(__file__).resolve().parents[1] / "sim" / "data" / "bench"

MINIMAL = """
name = "grid3"
[network]
type = "grid"
rows = 3
cols = 4
"""

FULL = """
name = "corridor"
description = "every key set"
seed = 7

[network]
type = "arterial"
n_intersections = 6
block_m = 250
side_street_m = 150.0
lanes_main = 3
lanes_side = 2
speed_main_mps = 16.7
speed_side_mps = 8.3

[demand]
type = "matrix"
matrix = "od.csv"
duration_s = 1800
scale = 1.5
profile = [[0, 0.5], [600, 1.0], [1200, 0.0]]

[signals]
controller = "fixed_time"
timing = "webster"
green_s = 25
yellow_s = 4
all_red_s = 1
min_green_s = 7
offset_s = "green_wave"
lost_time_s = 3.5
saturation_flow_vphpl = 1800

[simulation]
dt_s = 0.5
max_time_s = 3600
report_interval_s = 30
gridlock_s = 120

[vehicles]
length_m = 4.5
min_gap_m = 2.0
accel_mps2 = 2.0
decel_mps2 = 4.0
tau_s = 1.2
turn_speed_mps = 6.0
critical_gap_s = 5.0
"""


def write(folder: Path, text: str, name: str = "scenario.toml") -> Path:
    path = folder / name
    path.write_text(textwrap.dedent(text))
    return path


@pytest.fixture
def minimal(tmp_path: Path) -> Path:
    return write(tmp_path, MINIMAL)


def error_of(path: Path, overrides=()) -> str:
    with pytest.raises(ScenarioError) as info:
        load_scenario(path, overrides)
    return str(info.value)


GRID3_NETWORK = {
    "rows": 3,
    "cols": 4,
    "block_m": 200.0,
    "lanes": 1,
    "speed_mps": 13.89,
    "junction": "traffic_light",
    "roundabout_radius_m": 15.0,
    "roundabout_speed_mps": 8.33,
    "left_bay_m": 0.0,
    "left_bay_lanes": 1,
}
"""The minimal file's network keys, every default filled in."""


def test_minimal_file_gets_every_default(minimal: Path) -> None:
    scenario = load_scenario(minimal)
    assert scenario.source == str(minimal.resolve())
    assert scenario.to_dict() == {
        "name": "grid3",
        "description": "",
        "seed": 42,
        "network": {"type": "grid", **GRID3_NETWORK},
        "demand": {"type": "uniform", "rate_vph": 1000.0, "duration_s": 3600.0, "scale": 1.0, "profile": []},
        # every shared signal key at its declared default (no plan file), and the controller's table
        "signals": {
            **{f.name: f.default for f in fields(SignalSpec) if f.name not in ("settings", "plan_file")},
            "fixed_time": {},
        },
        "simulation": {"dt_s": 1.0, "max_time_s": 7200.0, "report_interval_s": 60.0, "gridlock_s": 300.0},
        "vehicles": {
            "length_m": 5.0,
            "min_gap_m": 2.5,
            "accel_mps2": 2.6,
            "decel_mps2": 4.5,
            "tau_s": 1.0,
            "turn_speed_mps": 8.0,
            "critical_gap_s": 4.5,
            "sigma": 0.5,
            "emergency_pass_speed_mps": 5.0,
            "emergency_crawl_speed_mps": 2.0,
            "speed_factor": 1.0,
            "speed_dev": 0.1,
            "emission_class": "HBEFA4/PC_petrol_Euro-4",
        },
        "right_of_way": asdict(RightOfWaySpec()),
    }
    assert scenario.network.kwargs() == GRID3_NETWORK
    assert scenario.demand.matrix is None and scenario.demand.trips is None


def test_full_file_keeps_every_value_and_converts_ints_to_floats(tmp_path: Path) -> None:
    (tmp_path / "od.csv").write_text("origin,destination,rate_vph\nW0,E0,100\n")
    scenario = load_scenario(write(tmp_path, FULL))
    assert (scenario.name, scenario.description, scenario.seed) == ("corridor", "every key set", 7)
    assert scenario.network.type == "arterial"
    assert scenario.network.kwargs()["lanes_main"] == 3
    assert scenario.network.kwargs()["block_m"] == 250.0
    assert isinstance(scenario.network.kwargs()["block_m"], float)
    assert scenario.demand.matrix == (tmp_path / "od.csv").resolve()
    assert scenario.demand.profile == ((0.0, 0.5), (600.0, 1.0), (1200.0, 0.0))
    assert (scenario.demand.duration_s, scenario.demand.scale, scenario.demand.rate_vph) == (
        1800.0,
        1.5,
        None,
    )
    assert scenario.signals.timing == "webster"
    assert scenario.signals.offset_s == "green_wave"
    assert isinstance(scenario.signals.green_s, float)
    assert scenario.simulation.dt_s == 0.5
    assert scenario.vehicles.critical_gap_s == 5.0
    json.dumps(scenario.to_dict())
    assert scenario_from_dict(scenario.to_dict()) == scenario


def test_scenario_is_frozen(minimal: Path) -> None:
    scenario = load_scenario(minimal)
    with pytest.raises(dataclasses.FrozenInstanceError):
        scenario.seed = 3  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError):
        scenario.signals.green_s = 3.0  # type: ignore[misc]


def test_bench_and_relative_paths_resolve(tmp_path: Path) -> None:
    (tmp_path / "nets").mkdir()
    (tmp_path / "nets" / "city.graphml").write_text("<graphml/>")
    text = """
        name = "bench"
        [network]
        type = "file"
        path = "nets/city.graphml"
        [demand]
        type = "trips"
        trips = "bench:grid5/trips.csv"
    """
    scenario = load_scenario(write(tmp_path, text))
    assert scenario.network.kwargs() == {"path": (tmp_path / "nets" / "city.graphml").resolve()}
    assert scenario.demand.trips == (BENCH / "grid5" / "trips.csv").resolve()
    assert scenario.demand.trips.is_file()
    assert scenario.to_dict()["demand"] == {
        "type": "trips",
        "trips": str(scenario.demand.trips),
        "scale": 1.0,
    }


def test_ring_and_dict_source() -> None:
    scenario = scenario_from_dict({"name": "r", "network": {"type": "ring", "n_nodes": 8}})
    assert scenario.source == "<dict>"
    assert scenario.network.kwargs() == {"n_nodes": 8, "radius_m": 500.0, "lanes": 1, "speed_mps": 13.89}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            'name = "x"\n[network]\ntype = "grid"\nrows = 2\ncols = 2\n[netwrk]\n',
            [
                "netwrk: unknown key",
                "allowed keys at top level: demand, description, emergency, emissions, imported, incidents,",
            ],
        ),
        (
            MINIMAL + "[demand]\nrat_vph = 3\n",
            ["demand.rat_vph: unknown key", "type = 'uniform': duration_s, profile, rate_vph, scale, type"],
        ),
        (MINIMAL + "[signals]\ngreen_s = '30'\n", ["signals.green_s: expected a number > 0, got '30'"]),
        (MINIMAL + "[demand]\nrate_vph = 0\n", ["demand.rate_vph: expected a number > 0, got 0"]),
        (
            MINIMAL + "[simulation]\ndt_s = 2.5\n",
            ["simulation.dt_s: expected a number <= 2, got 2.5; allowed: > 0.01 and <= 2"],
        ),
        (MINIMAL + "[vehicles]\nmin_gap_m = -1\n", ["vehicles.min_gap_m: expected a number >= 0, got -1"]),
        (MINIMAL + "[demand]\nduration_s = nan\n", ["demand.duration_s: expected a number > 0, got nan"]),
        ("seed = -1\n" + MINIMAL, ["seed: expected an integer >= 0, got -1"]),
        (MINIMAL.replace("rows = 3", "rows = true"), ["network.rows: expected an integer >= 1, got True"]),
        (MINIMAL.replace("rows = 3", "rows = 3.0"), ["network.rows: expected an integer >= 1, got 3.0"]),
        (MINIMAL.replace('name = "grid3"', 'name = ""'), ["name: expected a non-empty string, got ''"]),
        (MINIMAL.replace('name = "grid3"', ""), ["name: missing required key at top level"]),
        (
            MINIMAL.replace("rows = 3\n", ""),
            ["network.rows: missing required key for [network] type = 'grid'"],
        ),
        ('name = "x"\n', ["network.type: missing required key in [network]; one of 'grid', 'arterial'"]),
        (
            MINIMAL.replace('"grid"', '"hex"'),
            ["network.type: expected one of 'grid', 'arterial', 'ring', 'roundabout', 'file'"],
        ),
        (
            'name = "x"\n[network]\ntype = "ring"\nn_nodes = 2\n',
            ["network.n_nodes: expected an integer >= 3, got 2"],
        ),
        (
            MINIMAL + "[network.extra]\n",
            ["network.extra: unknown key; allowed keys for [network] type = 'grid'"],
        ),
        ('name = "x"\nnetwork = 3\n', ["network: expected a table [network], got 3"]),
        (
            MINIMAL + "[signals]\ncontroller = 'magic'\n",
            ["signals.controller: expected one of 'fixed_time', 'actuated'", "got 'magic'"],
        ),
        (
            MINIMAL + "[signals]\ntiming = 'adaptive'\n",
            ["signals.timing: expected one of 'fixed', 'webster'"],
        ),
        (
            MINIMAL + "[signals]\noffset_s = 'wave'\n",
            ["signals.offset_s: expected a number of seconds or 'green_wave', got 'wave'"],
        ),
        (
            MINIMAL + "[signals]\ngreen_s = 4\n",
            ["signals.green_s: expected a green >= signals.min_green_s (5), got 4.0"],
        ),
        (
            MINIMAL + "[demand]\nprofile = [[10, 1]]\n",
            ["demand.profile[0]: expected the first piece to start at start_s = 0"],
        ),
        (MINIMAL + "[demand]\nprofile = [[0, 1], [0, 2]]\n", ["demand.profile[1]: expected start_s > 0"]),
        (MINIMAL + "[demand]\nprofile = [[0, -1]]\n", ["demand.profile[0]: expected a number >= 0, got -1"]),
        (
            MINIMAL + "[demand]\nprofile = [[0, 1, 2]]\n",
            ["demand.profile[0]: expected a [start_s, multiplier] pair"],
        ),
        (
            MINIMAL + "[demand]\nprofile = [[0, 1], [3600, 2]]\n",
            ["demand.profile[1]: expected start_s < demand.duration_s (3600), got [3600.0, 2.0]"],
        ),
        (
            MINIMAL + "[demand]\ntype = 'trips'\ntrips = 'bench:grid5/trips.csv'\nscale = 2\n",
            ["demand.scale: expected 1.0 with demand.type = 'trips'", "got 2.0"],
        ),
        (
            MINIMAL + "[demand]\ntype = 'trips'\nrate_vph = 5\ntrips = 'bench:grid5/trips.csv'\n",
            ["demand.rate_vph: unknown key; allowed keys for [demand] type = 'trips': scale, trips, type"],
        ),
        (
            MINIMAL + "[demand]\ntype = 'matrix'\n",
            ["demand.matrix: missing required key for [demand] type = 'matrix'"],
        ),
    ],
)
def test_invalid_files_name_file_key_and_expectation(tmp_path: Path, text: str, expected: list[str]) -> None:
    path = write(tmp_path, text)
    message = error_of(path)
    assert message.startswith(f"{path.resolve()}: ")
    for fragment in expected:
        assert fragment in message


def test_missing_referenced_files_name_key_and_resolved_path(tmp_path: Path) -> None:
    path = write(tmp_path, MINIMAL + "[demand]\ntype = 'matrix'\nmatrix = 'data/od.csv'\n")
    message = error_of(path)
    assert (
        f"demand.matrix: expected an existing file (resolved to {tmp_path.resolve() / 'data' / 'od.csv'})"
        in message
    )
    assert message.endswith("got 'data/od.csv'")
    path = write(tmp_path, 'name = "x"\n[network]\ntype = "file"\npath = "bench:nowhere/network.json"\n')
    assert f"network.path: expected an existing file (resolved to {BENCH.resolve() / 'nowhere'}" in error_of(
        path
    )
    path = write(tmp_path, 'name = "x"\n[network]\ntype = "file"\npath = "city.osm"\n')
    assert "network.path: expected a file ending in .json or .graphml, got 'city.osm'" in error_of(path)


def test_toml_syntax_error_gives_line_and_column(tmp_path: Path) -> None:
    path = write(tmp_path, 'name = "x"\n[network\ntype = "grid"\n')
    message = error_of(path)
    assert message.startswith(f"{path.resolve()}: invalid TOML: ")
    assert "line 2, column" in message


def test_unreadable_scenario_file(tmp_path: Path) -> None:
    message = error_of(tmp_path / "absent.toml")
    assert (
        message
        == f"{(tmp_path / 'absent.toml').resolve()}: cannot read scenario file: No such file or directory"
    )


def test_controller_names_registry_lists_allowed_names(minimal: Path) -> None:
    message = error_of(minimal, ["signals.controller=magic"])
    assert all(repr(name) in message for name in controller_names())


@dataclasses.dataclass(frozen=True)
class _MagicSettings:
    level: int = spec_field(1, partial(integer, ge=0))


def test_a_registered_controller_and_its_table_are_accepted_by_later_scenarios(minimal: Path) -> None:
    class Magic(FixedTimeController):
        settings_class = _MagicSettings

    try:
        assert register_controller("magic", Magic) is Magic
        signals = load_scenario(minimal, ["signals.controller=magic", "signals.magic.level=3"]).signals
        assert signals.controller == "magic" and signals.settings_of("magic") == _MagicSettings(3)
        message = error_of(minimal, ["signals.magic.level=-1"])
        assert "signals.magic.level: expected an integer >= 0" in message
    finally:
        CONTROLLERS.pop("magic", None)
    assert "signals.controller" in error_of(minimal, ["signals.controller=magic"])


@pytest.mark.parametrize(
    ("name", "controller", "problem"),
    [
        ("not a name", FixedTimeController, "identifier"),
        ("mine", object, "SignalController"),
        ("fixed_time", type("Other", (FixedTimeController,), {}), "replace=True"),
    ],
)
def test_registering_a_controller_rejects_bad_names_and_classes(name, controller, problem) -> None:
    with pytest.raises(ControllerRegistryError, match=problem):
        register_controller(name, controller)
    assert controller_class("fixed_time") is FixedTimeController


def test_string_overrides_are_parsed_as_toml_or_bare_strings(minimal: Path) -> None:
    scenario = load_scenario(
        minimal,
        [
            "demand.rate_vph=3000",
            "demand.scale = 1.5",
            "signals.offset_s=green_wave",
            "signals.controller=fixed_time",
            "demand.profile=[[0, 1], [1800, 2]]",
            "seed=7",
            "description=a = b",
        ],
    )
    assert scenario.demand.rate_vph == 3000.0
    assert scenario.demand.scale == 1.5
    assert scenario.signals.offset_s == "green_wave"
    assert scenario.demand.profile == ((0.0, 1.0), (1800.0, 2.0))
    assert scenario.seed == 7
    assert scenario.description == "a = b"


def test_mapping_overrides_and_with_overrides_agree(minimal: Path) -> None:
    by_strings = load_scenario(minimal, ["demand.rate_vph=2500", "network.rows=5"])
    by_mapping = load_scenario(minimal, {"demand.rate_vph": 2500, "network.rows": 5})
    by_method = load_scenario(minimal).with_overrides({"demand.rate_vph": 2500.0, "network.rows": 5})
    assert by_strings == by_mapping == by_method
    assert by_strings.key() == by_mapping.key() == by_method.key()
    assert by_method.source == str(minimal.resolve())


def test_override_of_a_relative_path_resolves_against_the_scenario_folder(
    tmp_path: Path, minimal: Path
) -> None:
    (tmp_path / "od.csv").write_text("origin,destination,rate_vph\n")
    scenario = load_scenario(minimal).with_overrides(["demand.type=matrix", "demand.matrix=od.csv"])
    assert scenario.demand.matrix == (tmp_path / "od.csv").resolve()
    assert scenario.demand.rate_vph is None


def test_override_that_changes_a_type_starts_the_table_afresh(minimal: Path) -> None:
    scenario = load_scenario(minimal, ["network.n_nodes=5", "network.type=ring"])
    assert scenario.network.kwargs() == {"n_nodes": 5, "radius_m": 500.0, "lanes": 1, "speed_mps": 13.89}
    same_type = load_scenario(minimal, ["network.type=grid"])
    assert same_type.network.kwargs()["cols"] == 4
    message = error_of(minimal, ["network.type=ring"])
    assert "network.n_nodes: missing required key for [network] type = 'ring'" in message


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        (
            ["demand.rat_vph=3"],
            "demand.rat_vph: unknown key (set by override); did you mean 'rate_vph'? allowed keys for",
        ),
        (["foo.bar=1"], "foo: unknown key (set by override)"),
        (["demand.rate_vph=fast"], "demand.rate_vph: expected a number > 0, got 'fast' (set by override)"),
        (["demand.scale=-1"], "demand.scale: expected a number > 0, got -1 (set by override)"),
        (["seed=true"], "seed: expected an integer >= 0, got True (set by override)"),
        (["rate_vph"], "expected an override like 'demand.rate_vph=3000', got 'rate_vph'"),
        (["=3"], "expected an override like 'demand.rate_vph=3000', got '=3'"),
        (["demand..rate_vph=3"], "expected an override key like 'demand.rate_vph', got 'demand..rate_vph'"),
        (["name.first=x"], "name: expected a table to hold override 'name.first', got 'grid3'"),
        ({"signals.green_s": "30"}, "signals.green_s: expected a number > 0, got '30' (set by override)"),
    ],
)
def test_bad_overrides_name_file_and_key(minimal: Path, overrides, expected: str) -> None:
    message = error_of(minimal, overrides)
    assert message.startswith(f"{minimal.resolve()}: ")
    assert expected in message


def test_equal_content_gives_equal_key(tmp_path: Path) -> None:
    first = load_scenario(write(tmp_path, MINIMAL, "a.toml"))
    reordered = """
        seed = 42
        [signals]
        green_s = 30
        [network]
        cols = 4
        block_m = 200
        type = "grid"
        rows = 3
        [demand]
        rate_vph = 1000
        profile = []
    """
    other_folder = tmp_path / "elsewhere"
    other_folder.mkdir()
    second = load_scenario(write(other_folder, 'name = "grid3"\n' + textwrap.dedent(reordered), "b.toml"))
    assert first == second
    assert first.key() == second.key()
    assert len(first.key()) == 16 and int(first.key(), 16) >= 0
    assert scenario_from_dict(first.to_dict()).key() == first.key()


def test_bench_prefix_and_absolute_path_give_the_same_key(tmp_path: Path) -> None:
    base = {"name": "g", "network": {"type": "file", "path": "bench:grid5/network.json"}}
    absolute = {"name": "g", "network": {"type": "file", "path": str(BENCH / "grid5" / "network.json")}}
    assert scenario_from_dict(base).key() == scenario_from_dict(absolute).key()


def test_any_content_change_changes_key(minimal: Path) -> None:
    scenario = load_scenario(minimal)
    keys = {
        scenario.key(),
        scenario.with_overrides(["demand.rate_vph=3000"]).key(),
        scenario.with_overrides(["seed=43"]).key(),
        scenario.with_overrides(["signals.offset_s=green_wave"]).key(),
        scenario.with_overrides(["vehicles.tau_s=1.1"]).key(),
        load_scenario(minimal, ["network.cols=5"]).key(),
    }
    assert len(keys) == 6
    assert scenario.with_overrides(["demand.rate_vph=1000"]).key() == scenario.key()


def test_scenario_from_dict_rejects_a_non_table() -> None:
    with pytest.raises(ScenarioError, match=r"^<dict>: expected a table of scenario keys, got \[1\]$"):
        scenario_from_dict([1])  # type: ignore[arg-type]


def test_source_is_not_part_of_equality(minimal: Path) -> None:
    scenario = load_scenario(minimal)
    assert isinstance(scenario, Scenario)
    assert scenario_from_dict(scenario.to_dict(), source="<elsewhere>") == scenario


def test_editing_a_referenced_file_in_place_changes_the_key(tmp_path: Path) -> None:
    table = tmp_path / "od.csv"
    table.write_text("origin,destination,rate_vph\nn0_0,n2_3,300\n")
    path = write(tmp_path, MINIMAL + '[demand]\ntype = "matrix"\nmatrix = "od.csv"\n', "m.toml")
    before = load_scenario(path).key()
    table.write_text("origin,destination,rate_vph\nn0_0,n2_3,300\n")
    assert load_scenario(path).key() == before
    table.write_text("origin,destination,rate_vph\nn0_0,n2_3,600\n")
    assert load_scenario(path).key() != before


@pytest.mark.parametrize(
    ("override", "expected"),
    [
        (
            {"signals.yellow_s": 30},
            "signals.yellow_s: expected a number <= 10, got 30 (set by override); allowed: >= 2 and <= 10",
        ),
        ({"signals.yellow_s": 1}, "signals.yellow_s: expected a number >= 2, got 1"),
        (
            {"network.rows": 10_000},
            "network.rows: expected an integer <= 200, got 10000 (set by override); allowed: >= 1 and <= 200",
        ),
        ({"network.speed_mps": 300.0}, "network.speed_mps: expected a number <= 70, got 300.0"),
        ({"simulation.max_time_s": 1e9}, "simulation.max_time_s: expected a number <= 259200"),
        ({"simulation.dt_s": 1e-9}, "simulation.dt_s: expected a number > 0.01, got 1e-09"),
        ({"vehicles.length_m": 0.1}, "vehicles.length_m: expected a number >= 1, got 0.1"),
        ({"demand.scale": 1e6}, "demand.scale: expected a number <= 100"),
    ],
)
def test_numbers_outside_their_physical_range_are_refused(minimal: Path, override, expected) -> None:
    message = error_of(minimal, override)
    assert message.startswith(f"{minimal.resolve()}: ")
    assert expected in message


def test_a_demand_too_large_for_memory_is_refused_with_its_estimate(minimal: Path) -> None:
    message = error_of(
        minimal, {"demand.rate_vph": 900_000.0, "demand.duration_s": 86_400.0, "demand.scale": 5}
    )
    assert "demand.rate_vph: the demand would create about 108,000,000 trips" in message
    assert "(900000 veh/h x scale 5 x 24 h of profile-weighted duration)" in message
    assert "more than the 2,000,000 a run can hold" in message


def test_a_demand_that_creates_no_trips_names_its_key(minimal: Path) -> None:
    message = error_of(minimal, {"demand.profile": [[0, 0.0], [600, 0.0]]})
    assert "demand.profile: the demand creates no trips (1000 veh/h x scale 1 x 0 h" in message


def test_relative_paths_stay_in_the_scenario_folder_or_the_data_folder(tmp_path: Path) -> None:
    outside = tmp_path / "outside.json"
    outside.write_text("{}")
    folder = tmp_path / "scenario"
    folder.mkdir()
    network = "[network]\ntype = 'file'\npath = '{}'\n"
    path = write(folder, 'name = "x"\n' + network.format("../outside.json"))
    assert "network.path: expected a file path inside" in error_of(path)
    path = write(folder, 'name = "x"\n' + network.format("bench:../helsinki/network.json"))
    assert f"network.path: expected a file path inside {BENCH}" in error_of(path)
    # an absolute path is the user's explicit choice; the shipped data folder is reachable too
    path = write(folder, 'name = "x"\n' + network.format(outside))
    assert load_scenario(path).network.kwargs()["path"] == outside.resolve()
    assert (
        load_scenario(Path(__file__).resolve().parents[1] / "scenarios" / "helsinki.toml").network.type
        == "file"
    )


def test_errors_quote_a_long_value_as_a_short_excerpt(minimal: Path) -> None:
    message = error_of(minimal, {"signals.controller": "x" * 10_000})
    assert "got 'xxxxxxxx" in message and "…" in message
    assert len(message) < 400
