"""The key reference (citysim keys, docs/scenario-keys.md), the scenarios' JSON Schema, "did you mean"."""

import json
import re
import tomllib
from functools import partial
from pathlib import Path

import jsonschema
import pytest

from sim.cli import main
from sim.keys import catalog, markdown, scenario_json_schema, section_text
from sim.keys.render import WIDTH, section_names
from sim.scenario import ScenarioError, load_scenario, scenario_from_dict
from sim.schema import DURATION, json_schema, number, schema_of
from sim.tables import SignalSpec

ROOT = Path(__file__).resolve().parents[1]
REFERENCE = ROOT / "docs" / "scenario-keys.md"
SCHEMA_FILE = ROOT / "docs" / "scenario.schema.json"
SCENARIOS = sorted((ROOT / "scenarios").glob("*.toml"))
MINIMAL = {"name": "x", "network": {"type": "grid", "rows": 2, "cols": 2}}


def without_none(value):
    if isinstance(value, dict):
        return {key: without_none(item) for key, item in value.items() if item is not None}
    return [without_none(item) for item in value] if isinstance(value, list) else value


@pytest.fixture(scope="module")
def validator() -> jsonschema.Draft7Validator:
    schema = scenario_json_schema()
    jsonschema.Draft7Validator.check_schema(schema)
    return jsonschema.Draft7Validator(schema)


def test_reference_is_current():
    assert REFERENCE.read_text(encoding="utf-8") == markdown(), (
        "docs/scenario-keys.md is out of date: citysim keys --markdown > docs/scenario-keys.md"
    )


def test_json_schema_is_current():
    assert json.loads(SCHEMA_FILE.read_text(encoding="utf-8")) == scenario_json_schema(), (
        "docs/scenario.schema.json is out of date: citysim keys --json-schema > docs/scenario.schema.json"
    )


def test_taplo_maps_the_scenarios_to_the_schema():
    config = tomllib.loads((ROOT / ".taplo.toml").read_text(encoding="utf-8"))
    rule = next(rule for rule in config["rule"] if "scenarios/*.toml" in rule["include"])
    assert (ROOT / rule["schema"]["path"]).resolve() == SCHEMA_FILE


@pytest.mark.parametrize("path", SCENARIOS, ids=lambda path: path.stem)
def test_every_shipped_scenario_passes_the_json_schema(path, validator):
    document = tomllib.loads(path.read_text(encoding="utf-8"))
    assert list(validator.iter_errors(document)) == []
    # the loader's own view, every default filled in, passes too: the schema accepts what citysim
    # accepts (without its None values: TOML has no null, a key left out is None)
    assert list(validator.iter_errors(without_none(load_scenario(path).to_dict()))) == []


@pytest.mark.parametrize(
    ("change", "path"),
    [
        ({"demand": {"rate_vhp": 3}}, ["demand"]),
        ({"demand": {"rate_vph": 0}}, ["demand", "rate_vph"]),
        ({"network": {"type": "grid", "rows": 2}}, ["network"]),
        ({"network": {"type": "ring", "n_nodes": 5, "rows": 2}}, ["network"]),
        (
            {"signals": {"controller": "fixed_time", "max_pressure": {"green_s": 3}}},
            ["signals", "max_pressure"],
        ),
        ({"vehicle_types": {"default": {"share": 0.1}}}, ["vehicle_types"]),
        ({"shuttles": {"fleet_size": 2}}, ["shuttles"]),
        ({"sede": 3}, []),
    ],
)
def test_json_schema_rejects_what_the_loader_rejects(change, path, validator):
    errors = list(validator.iter_errors(MINIMAL | change))
    assert errors and list(errors[0].absolute_path)[: len(path)] == path
    with pytest.raises(ScenarioError):
        scenario_from_dict(MINIMAL | change)


def test_every_example_block_passes_the_json_schema(validator):
    blocks = re.findall(r"```toml\n(.*?)```", markdown(), flags=re.DOTALL)
    assert len(blocks) == sum(1 for _ in catalog()) + 1  # and the #:schema line of the editors' section
    for block in blocks[1:]:
        table = tomllib.loads(block)
        assert list(validator.iter_errors(MINIMAL | table)) == [], block


def test_every_key_has_a_description_and_an_example():
    for table in catalog():
        for key in table.keys:
            assert key.description, f"{table.name}.{key.name}"
            assert key.example is not None, f"{table.name}.{key.name}"


def test_keys_demand_lists_rate_vph_with_default_and_range(capsys):
    assert main(["keys", "demand"]) == 0
    out = capsys.readouterr().out
    line = next(line for line in out.splitlines() if line.strip().startswith("rate_vph:"))
    assert "veh/h" in line and "default 1000.0" in line and "(0, 1,000,000]" in line
    assert 'type = "matrix"' in out and "matrix: string; required" in out


def test_keys_lists_every_section_and_fits_100_columns(capsys):
    assert main(["keys"]) == 0
    summary = capsys.readouterr().out
    for name in section_names():
        assert f"  {name} " in summary
        assert max(map(len, section_text(name).splitlines())) <= WIDTH, name
    assert max(map(len, summary.splitlines())) <= WIDTH
    assert {"top", "network", "signals.max_pressure", "emergency", "parking", "shuttles"} <= set(
        section_names()
    )


def test_keys_unknown_section_suggests_the_closest(capsys):
    assert main(["keys", "shutles"]) == 2
    assert "unknown section 'shutles'; did you mean 'shuttles'?" in capsys.readouterr().err


def test_markdown_and_json_schema_commands_print_the_files(capsys):
    assert main(["keys", "--json-schema"]) == 0
    assert json.loads(capsys.readouterr().out) == scenario_json_schema()
    assert main(["keys", "--markdown"]) == 0
    assert capsys.readouterr().out == markdown()


@pytest.mark.parametrize(
    ("overrides", "hint"),
    [
        (
            ["demand.rate_vhp=3"],
            "demand.rate_vhp: unknown key (set by override); did you mean 'rate_vph'? allowed",
        ),
        (["sede=3"], "sede: unknown key (set by override); did you mean 'seed'? allowed keys at top level"),
        (["signals.max_presure.decision_interval_s=3"], "did you mean 'max_pressure'?"),
        (
            ["signals.controller=max_presure"],
            "got 'max_presure' (set by override); did you mean 'max_pressure'?",
        ),
        (["network.type=gird"], "did you mean 'grid'?"),
    ],
)
def test_a_typo_gets_a_suggestion(overrides, hint):
    with pytest.raises(ScenarioError) as error:
        load_scenario(ROOT / "scenarios" / "demo.toml", overrides)
    assert hint in str(error.value)


def test_no_suggestion_without_a_close_key():
    with pytest.raises(ScenarioError) as error:
        scenario_from_dict(MINIMAL | {"demand": {"xyz": 1}})
    assert "did you mean" not in str(error.value)
    assert "demand.xyz: unknown key; allowed keys for [demand]" in str(error.value)


def test_a_typo_in_a_list_of_tables_gets_a_suggestion():
    stations = [{"name": "a", "nod": "n0_0"}]
    with pytest.raises(ScenarioError, match=r"stations\[0\]\.nod: unknown key; did you mean 'node'\?"):
        scenario_from_dict(MINIMAL | {"emergency": {"stations": stations}})


def test_checks_describe_themselves():
    assert json_schema(partial(number, gt=0.0, le=70.0)) == {
        "type": "number",
        "exclusiveMinimum": 0.0,
        "maximum": 70.0,
    }
    assert json_schema(DURATION) == {"type": "number", "exclusiveMinimum": 0.0, "maximum": 259_200.0}
    timings = ["fixed", "webster", "coordinated"]
    assert json_schema(schema_of(SignalSpec)["timing"][1]) == {"type": "string", "enum": timings}
    assert json_schema(lambda ctx, key, value: value) is None


def test_a_controller_registered_at_run_time_leaves_the_reference_alone(monkeypatch):
    from sim.control import registry
    from sim.control.base import SignalController

    class Mine(SignalController):
        pass

    monkeypatch.setitem(registry.CONTROLLERS, "mine", Mine)
    assert "mine" in registry.controller_names()
    assert markdown() == REFERENCE.read_text(encoding="utf-8")
