"""`citysim plot` on each kind of folder: what it writes, what it tells, what it refuses."""

from pathlib import Path

import pytest

from sim.cli import main
from sim.commands.plot import COMPARE_KINDS, KINDS, OUT_PREFIX

DEMO = Path(__file__).resolve().parents[1] / "scenarios" / "demo.toml"
SHORT = ["--set", "simulation.max_time_s=180", "--quiet"]
PNG = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def run_folder(tmp_path_factory):
    folder = tmp_path_factory.mktemp("run")
    assert main(["run", str(DEMO), "--out", str(folder), "--quiet"]) == 0  # the demo empties in ~18 min
    return folder


@pytest.fixture(scope="module")
def compare_folder(tmp_path_factory):
    folder = tmp_path_factory.mktemp("compare")
    command = ["compare", str(DEMO), "--out", str(folder), "--controllers", "fixed_time,max_pressure"]
    assert main([*command, "--seeds", "2", "--jobs", "1", *SHORT]) == 0
    return folder


def _plot(folder: Path, *options: str) -> int:
    return main(["plot", str(folder), *options])


def test_a_run_folder_figure_gets_its_own_name_and_the_path_is_printed(run_folder, capsys):
    own = {name: (run_folder / name).read_bytes() for name in ("series.png", "map_speed.png")}
    capsys.readouterr()
    assert _plot(run_folder, "--kind", "series") == 0
    out = run_folder / f"{OUT_PREFIX}series.png"
    assert capsys.readouterr().out.strip() == f"wrote {out}"
    assert out.read_bytes().startswith(PNG)
    assert _plot(run_folder, "--kind", "map", "--metric", "speed") == 0
    assert capsys.readouterr().out.strip() == f"wrote {run_folder / f'{OUT_PREFIX}map-speed.png'}"
    # the figures citysim run drew are untouched
    assert {name: (run_folder / name).read_bytes() for name in own} == own
    # drawing the same figure again says that it replaced the file
    assert _plot(run_folder, "--kind", "series") == 0
    assert capsys.readouterr().out.strip() == f"replaced {out} (a file of that name was there)"


def test_out_names_the_file_and_may_replace_a_run_figure_on_request(run_folder, tmp_path, capsys):
    target = tmp_path / "figures" / "delay.svg"
    assert _plot(run_folder, "--kind", "mfd", "--out", str(target)) == 0
    assert capsys.readouterr().out.strip() == f"wrote {target}"
    assert target.read_bytes().startswith(b"<?xml")
    before = (run_folder / "series.png").read_bytes()
    explicit = run_folder / "series.png"
    assert _plot(run_folder, "--kind", "series", "--metric", "queued_vehicles", "--out", str(explicit)) == 0
    assert capsys.readouterr().out.strip().startswith(f"replaced {explicit}")
    assert explicit.read_bytes() != before


def test_a_compare_folder_draws_bars_and_the_delay_over_time(compare_folder, capsys):
    own = {name: (compare_folder / name).read_bytes() for name in ("compare_bars.png", "delay_over_time.png")}
    capsys.readouterr()
    for kind in COMPARE_KINDS:
        assert _plot(compare_folder, "--kind", kind) == 0
        out = compare_folder / f"{OUT_PREFIX}{kind}.png"
        assert capsys.readouterr().out.strip() == f"wrote {out}"
        assert out.read_bytes().startswith(PNG)
    assert _plot(compare_folder, "--kind", "bars", "--metric", "mean_delay_all_s") == 0
    one = compare_folder / f"{OUT_PREFIX}bars-mean_delay_all_s.png"
    assert one.read_bytes().startswith(PNG)
    # one panel instead of every metric's: a smaller figure
    assert one.stat().st_size < (compare_folder / f"{OUT_PREFIX}bars.png").stat().st_size
    assert {name: (compare_folder / name).read_bytes() for name in own} == own


@pytest.mark.parametrize("kind", [kind for kind in KINDS if kind not in COMPARE_KINDS])
def test_kinds_a_compare_folder_cannot_draw_are_refused_with_the_reason(compare_folder, capsys, kind):
    assert _plot(compare_folder, "--kind", kind) == 2
    err = capsys.readouterr().err
    assert f"--kind {kind} does not apply to a compare folder" in err
    assert "draw bars or series from it" in err
    assert not (compare_folder / f"{OUT_PREFIX}{kind}.png").exists()


def test_compare_folder_metric_errors_name_the_choices(compare_folder, tmp_path, capsys):
    assert _plot(compare_folder, "--kind", "bars", "--metric", "nope") == 2
    err = capsys.readouterr().err
    assert "--metric 'nope' is not in" in err and "comparison.csv; its metrics: mean_delay_all_s" in err
    assert _plot(compare_folder, "--kind", "series", "--metric", "queued_vehicles") == 2
    assert "a compare folder has one series, the mean delay over time" in capsys.readouterr().err
    partial = tmp_path / "partial"
    partial.mkdir()
    (partial / "comparison.csv").write_bytes((compare_folder / "comparison.csv").read_bytes())
    assert _plot(partial, "--kind", "series") == 2
    assert "delay_over_time.csv is missing: run citysim compare" in capsys.readouterr().err


def test_a_folder_of_no_kind_is_named(tmp_path, capsys):
    assert _plot(tmp_path, "--kind", "bars") == 2
    err = capsys.readouterr().err
    assert "neither a sweep folder (sweep.json) nor a run's results folder (summary.json)" in err
    assert "nor a compare folder (comparison.csv)" in err
