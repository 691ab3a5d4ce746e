"""The verdict of ``citysim validate``: completions, travel time and delay each within tolerance."""

import json
import math

import pandas as pd
import pytest

from sim.cli import main
from sim.commands.validate import EXIT_DISAGREE
from sim.interop import validate
from sim.interop.agreement import DEFAULT_TOLERANCES, Tolerance, ToleranceError, parse_tolerance
from sim.interop.validate import SimulatorSummary, Validation

SCENARIO = (
    'name = "tiny"\n[network]\ntype = "grid"\nrows = 2\ncols = 2\n'
    '[demand]\ntype = "uniform"\nrate_vph = 300.0\nduration_s = 300.0\n'
)


def summary(name, completed=1000, travel_time_s=200.0, delay_s=60.0):
    return SimulatorSummary(name, 1000, completed, travel_time_s, delay_s, 8.0, 1.0)


def make_validation(citysim, sumo, tolerances=None):
    links = pd.DataFrame(
        {
            "u": ["a", "b", "c"],
            "v": ["b", "c", "a"],
            "edge": ["a-b", "b-c", "c-a"],
            "flow_citysim": [10, 20, 30],
            "flow_sumo": [11, 19, 30],
            "speed_citysim_mps": [8.0, 9.0, 10.0],
            "speed_sumo_mps": [8.5, 9.0, 9.5],
        }
    )
    return Validation("tiny", 42, citysim, sumo, 0, links, {} if tolerances is None else tolerances)


# The ring scenario measured against SUMO 1.28: travel time 127.5 vs 143.7 s (-11%, agrees),
# mean delay 10.0 vs 26.2 s (-62%).
DELAY_OFF = make_validation(
    summary("citysim", travel_time_s=127.5, delay_s=10.0), summary("SUMO", travel_time_s=143.7, delay_s=26.2)
)
ALL_HOLD = make_validation(
    summary("citysim", completed=995, travel_time_s=190.0, delay_s=52.0), summary("SUMO", delay_s=60.0)
)


def test_delay_outside_its_tolerance_is_no_agreement_although_the_rest_agrees():
    verdict = DELAY_OFF.verdict()
    assert [m.agrees for m in verdict.metrics] == [True, True, False]
    assert not verdict.agrees and verdict.failing == ("delay",)
    delay = verdict.metrics[2]
    assert delay.difference == pytest.approx(-16.2)
    assert delay.allowed == pytest.approx(0.25 * 26.2)
    lines = DELAY_OFF.table().splitlines()
    assert lines[-1] == "no agreement: delay outside tolerance"
    delay_line = next(line for line in lines if line.startswith("delay (s)"))
    assert delay_line.split()[2:5] == ["10.0", "26.2", "-16.2"]
    assert "max(25%, 5 s) = 6.5" in delay_line and delay_line.endswith("FAILS")


def test_all_metrics_within_tolerance_is_agreement():
    verdict = ALL_HOLD.verdict()
    assert verdict.agrees and verdict.failing == ()
    assert verdict.summary() == "agreement: completed, travel_time and delay within tolerance"
    assert all(line.endswith("holds") for line in ALL_HOLD.table().splitlines()[-4:-1])


@pytest.mark.parametrize(
    ("ours", "theirs", "agrees"),
    [(3.0, 7.0, True), (2.0, 7.0, True), (1.0, 7.0, False), (40.0, 50.0, True), (37.0, 50.0, False)],
)
def test_the_delay_floor_governs_small_delays_and_the_share_large_ones(ours, theirs, agrees):
    # Within max(25% of SUMO's delay, 5 s): 5 s up to a SUMO delay of 20 s, 12.5 s at 50 s.
    validation = make_validation(summary("citysim", delay_s=ours), summary("SUMO", delay_s=theirs))
    assert validation.verdict().agrees is agrees


def test_a_metric_neither_simulator_could_measure_does_not_agree():
    nothing = summary("citysim", completed=0, travel_time_s=math.nan, delay_s=math.nan)
    validation = make_validation(
        nothing, summary("SUMO", completed=0, travel_time_s=math.nan, delay_s=math.nan)
    )
    assert validation.verdict().failing == ("travel_time", "delay")
    assert "n/a" in validation.table().splitlines()[-2]


def test_tolerances_given_to_a_validation_override_the_defaults():
    looser = make_validation(DELAY_OFF.citysim, DELAY_OFF.sumo, {"delay": Tolerance(0.7)})
    assert looser.verdict().agrees
    assert looser.tolerances["travel_time"] == DEFAULT_TOLERANCES["travel_time"]
    with pytest.raises(
        ToleranceError, match="unknown metric 'speed'; judged metrics: completed, travel_time"
    ):
        make_validation(DELAY_OFF.citysim, DELAY_OFF.sumo, {"speed": Tolerance(0.1)})
    with pytest.raises(ToleranceError, match="the tolerance of 'delay' must be a Tolerance, got 0.3"):
        make_validation(DELAY_OFF.citysim, DELAY_OFF.sumo, {"delay": 0.3})


def test_the_verdict_is_written_to_json_and_csv(tmp_path):
    DELAY_OFF.write(tmp_path)
    written = json.loads((tmp_path / "validation.json").read_text())
    assert written["agreement"] is False and written["failing"] == ["delay"]
    assert written["judged"]["delay"]["agrees"] is False
    assert written["judged"]["travel_time"]["tolerance_relative"] == 0.15
    rows = pd.read_csv(tmp_path / "agreement.csv")
    assert rows["metric"].tolist() == ["completed", "travel_time", "delay"]
    assert rows["agrees"].tolist() == [True, True, False]
    assert rows.loc[2, "tolerance_floor"] == 5.0


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("delay=0.3", ("delay", Tolerance(0.3, 5.0))),
        ("delay=0.3,10", ("delay", Tolerance(0.3, 10.0))),
        ("delay=0.3,0", ("delay", Tolerance(0.3, 0.0))),
        ("travel_time=0.1", ("travel_time", Tolerance(0.1))),
        ("completed=0", ("completed", Tolerance(0.0))),
    ],
)
def test_a_tolerance_parses_as_name_relative_and_optional_floor(text, expected):
    assert parse_tolerance(text) == expected


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("speed=0.1", "unknown metric 'speed'; judged metrics: completed, travel_time, delay"),
        ("delay", r"expected NAME=RELATIVE\[,FLOOR\], e.g. delay=0.3, got 'delay'"),
        ("=0.2", r"expected NAME=RELATIVE\[,FLOOR\]"),
        ("delay=abc", "'delay=abc': not a number"),
        ("delay=0.2,ten", "'delay=0.2,ten': not a number"),
        ("delay=25", r"from 0 to 1 \(0.25 = 25%\), got 25.0"),
        ("delay=nan", "from 0 to 1"),
        ("delay=-0.1", "from 0 to 1"),
        ("delay=0.2,-1", "a tolerance floor is a finite number >= 0, got -1.0"),
        ("delay=0.2,inf", "a tolerance floor is a finite number >= 0, got inf"),
    ],
)
def test_a_bad_tolerance_is_refused_with_a_clear_message(text, message):
    with pytest.raises(ToleranceError, match=message):
        parse_tolerance(text)


@pytest.fixture
def fake_run(tmp_path, monkeypatch):
    """``validate --against sumo`` on a tiny scenario whose comparison is DELAY_OFF's figures."""
    (tmp_path / "tiny.toml").write_text(SCENARIO, encoding="utf-8")

    def fake_validate(scenario, out_dir, seed, options, progress, tolerances, time_to_teleport_s):
        assert time_to_teleport_s == 300.0  # SUMO's default unless --teleport-after says otherwise
        return make_validation(DELAY_OFF.citysim, DELAY_OFF.sumo, tolerances)

    monkeypatch.setattr(validate, "validate_against_sumo", fake_validate)
    command = ["validate", "--against", "sumo", str(tmp_path / "tiny.toml"), "--out", str(tmp_path / "out")]
    return lambda *extra: main([*command, "--no-plots", "--quiet", *extra])


def test_the_command_exits_disagree_when_delay_fails(fake_run, capsys):
    assert fake_run() == EXIT_DISAGREE
    assert "no agreement: delay outside tolerance" in capsys.readouterr().out


def test_a_tolerance_from_the_command_line_reaches_the_verdict(fake_run, capsys):
    assert fake_run("--tolerance", "delay=0.5", "--tolerance", "delay=0.7") == 0
    assert "agreement: completed, travel_time and delay within tolerance" in capsys.readouterr().out


def test_the_command_refuses_a_bad_tolerance_as_a_usage_error(fake_run, capsys):
    assert fake_run("--tolerance", "speed=0.1") == 2
    assert "argument --tolerance: unknown metric 'speed'" in capsys.readouterr().err


def test_the_help_names_the_judged_metrics_and_their_tolerances(capsys):
    assert main(["validate", "--help"]) == 0
    text = " ".join(capsys.readouterr().out.split())
    assert "completed 2%, travel_time 15%, delay max(25%, 5 s)" in text
    assert f"{EXIT_DISAGREE} when a judged metric is outside its tolerance" in text
