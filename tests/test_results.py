import json
import math

import networkx as nx
import numpy as np
import pandas as pd
import pytest

from sim.metrics.catalog import Metric, completion_text, section_declarations
from sim.metrics.results import ResultsError, RunResults, load_results, load_summary, write_results
from sim.metrics.summary import (
    SUMMARY_KEYS,
    MetricsError,
    all_trip_metrics,
    format_summary,
    mean_ci,
    summarize,
    trip_metrics,
)
from sim.network.graph import NetworkError

EXPECTED_FILES = {
    "network.json",
    "trips.csv",
    "series.csv",
    "links.csv",
    "trips.parquet",
    "series.parquet",
    "links.parquet",
    "summary.json",
}


def make_graph() -> nx.DiGraph:
    """a <-> b <-> c two-way, plus a one-way diagonal c -> a."""
    graph = nx.DiGraph(name="tiny")
    graph.add_node("a", x=0.0, y=0.0, kind="fringe", signalized=False)
    graph.add_node("b", x=200.0, y=0.0, kind="intersection", signalized=True)
    graph.add_node("c", x=200.0, y=200.0, kind="fringe", signalized=False)
    for u, v, lanes in (("a", "b", 2), ("b", "a", 2), ("b", "c", 1), ("c", "b", 1), ("c", "a", 1)):
        (x0, y0), (x1, y1) = ((graph.nodes[n]["x"], graph.nodes[n]["y"]) for n in (u, v))
        graph.add_edge(u, v, length_m=math.hypot(x1 - x0, y1 - y0), lanes=lanes, speed_mps=13.9)
    return graph


def make_trips() -> pd.DataFrame:
    """Three completed trips (travel 100, 200, 300 s), one still driving, one never entered."""
    nan = math.nan
    return pd.DataFrame(
        {
            "id": ["t1", "t2", "t3", "t4", "t5"],
            "origin": ["a", "a", "c", "NA", "c"],
            "destination": ["c", "c", "a", "a", "a"],
            "depart_s": [0.0, 10.0, 20.0, 30.0, 50.0],
            "enter_s": [0.0, 20.0, 30.0, 40.0, nan],
            "arrive_s": [100.0, 210.0, 320.0, nan, nan],
            "free_flow_s": [80.0, 150.0, 250.0, 100.0, 100.0],
            "route_length_m": [1000.0, 2000.0, 3000.0, 1000.0, 1000.0],
            "distance_m": [1000.0, 2000.0, 3000.0, 500.0, 0.0],
            "stops": [1, 3, 2, 5, 0],
            "max_link_wait_s": [5.0, 30.0, 12.0, 400.0, 0.0],
        }
    )


def make_series() -> pd.DataFrame:
    """Ten one-minute intervals."""
    return pd.DataFrame(
        {
            "time_s": np.arange(60.0, 601.0, 60.0),
            "vehicles_on_network": [1, 2, 3, 2, 2, 1, 1, 1, 0, 0],
            "entry_backlog": [0, 1, 2, 0, 0, 0, 0, 0, 0, 0],
            "departed": [2, 1, 1, 0, 0, 0, 0, 0, 0, 0],
            "arrived": [0, 1, 0, 0, 1, 0, 1, 0, 0, 0],
            "mean_speed_mps": [12.0, 9.5, 4.0, 6.0, 8.0, 11.0, 12.5, 13.0, math.nan, math.nan],
            "queued_vehicles": [0.0, 0.5, 1.5, 1.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0],
            "vehicle_steps": [60, 110, 170, 120, 120, 60, 60, 60, 0, 0],
            "max_green_wait_s": [0.0, 10.0, 25.0, 40.0, 35.0, 0.0, 0.0, 0.0, 0.0, 0.0],
        }
    )


def make_links(graph: nx.DiGraph) -> pd.DataFrame:
    """Two intervals on every edge except c -> a, which has no records; b -> c is empty in the first."""
    rows = []
    for time_s in (300.0, 600.0):
        for index, (u, v) in enumerate(graph.edges()):
            if (u, v) == ("c", "a"):
                continue
            empty = (u, v) == ("b", "c") and time_s == 300.0
            rows.append(
                {
                    "time_s": time_s,
                    "u": u,
                    "v": v,
                    "flow_vph": 0.0 if empty else 120.0 * (index + 1),
                    "density_vpkm": 0.0 if empty else 2.5 * (index + 1),
                    "mean_speed_mps": math.nan if empty else 3.0 * (index + 1) + time_s / 300.0,
                    "queue_veh": 0.0 if empty else 0.5 * index,
                }
            )
    return pd.DataFrame(rows)


def make_results() -> RunResults:
    graph = make_graph()
    info = {
        "scenario": "tiny",
        "scenario_key": "abc123",
        "seed": np.int64(7),
        "version": "0.1.0",
        "sim_wall_s": 0.25,
        "setup_wall_s": 0.125,
        "vehicle_steps": 760,
        "gridlock": [{"time_s": 420.0, "vehicles": ["t4"]}],
    }
    return RunResults(
        trips=make_trips(), series=make_series(), links=make_links(graph), graph=graph, info=info
    )


def listing(folder) -> set[str]:
    return {path.name for path in folder.iterdir()}


# --- summary -------------------------------------------------------------------------------


def test_trip_metrics_adds_travel_time_and_delay():
    trips = trip_metrics(make_trips())
    assert trips["travel_time_s"].tolist()[:3] == [100.0, 200.0, 300.0]
    assert trips["delay_s"].tolist()[:3] == [20.0, 50.0, 50.0]
    assert trips["travel_time_s"].iloc[3:].isna().all()
    assert "travel_time_s" not in make_trips().columns


def test_summarize_matches_hand_computed_numbers():
    summary = summarize(make_results())
    assert list(summary) == list(SUMMARY_KEYS)
    assert summary["trips"] == 5
    assert summary["completed"] == 3
    assert summary["completion_rate"] == pytest.approx(0.6)
    assert (summary["unfinished"], summary["unfinished_share"]) == (2, pytest.approx(0.4))
    assert (summary["on_network_at_end"], summary["never_entered"], summary["not_due"]) == (1, 1, 0)
    # every trip until the horizon (600 s, the last report): t4 has driven half its route
    # (free-flow 50 s of 100) since 30 s, t5 has waited to enter since 50 s
    assert summary["mean_travel_time_all_s"] == pytest.approx((100 + 200 + 300 + 570 + 550) / 5)
    assert summary["mean_delay_all_s"] == pytest.approx((20 + 50 + 50 + (570 - 50) + 550) / 5)
    assert summary["p95_delay_all_s"] == pytest.approx(520 + 0.8 * 30)
    assert summary["max_green_wait_s"] == 40.0
    assert summary["max_stop_wait_s"] == 400.0
    assert summary["mean_travel_time_completed_s"] == pytest.approx(200.0)
    assert summary["median_travel_time_completed_s"] == pytest.approx(200.0)
    assert summary["p95_travel_time_completed_s"] == pytest.approx(290.0)  # 200 + 0.9 * (300 - 200)
    assert summary["mean_delay_completed_s"] == pytest.approx(40.0)  # (20 + 50 + 50) / 3
    assert summary["mean_stops"] == pytest.approx(11 / 4)  # of the four that entered
    assert summary["mean_speed_completed_mps"] == pytest.approx(10.0)  # 6000 m / 600 s
    assert summary["throughput_vph"] == pytest.approx(18.0)  # 3 trips in 600 s
    assert summary["max_entry_backlog"] == 2
    assert summary["mean_queued_vehicles"] == pytest.approx(0.3)
    assert summary["vehicle_steps"] == 760
    assert all(type(value) in (int, float) for value in summary.values())


def test_all_trip_metrics_count_unfinished_trips_until_the_horizon():
    every = all_trip_metrics(make_trips(), 45.0)
    # t5 departs at 50 s, after the horizon: not due, not counted
    assert every["id"].tolist() == ["t1", "t2", "t3", "t4"]
    assert every["finished"].tolist() == [True, True, True, False]
    assert every["travel_time_s"].tolist() == [100.0, 200.0, 300.0, 15.0]
    assert every["delay_s"].iloc[3] == pytest.approx(15.0 - 50.0)


def test_a_run_that_starves_trips_has_the_worse_all_trips_delay():
    # the completed-only mean rewards leaving the slow trips unfinished; the all-trips mean does not
    served = make_results()
    starving = make_results()
    starving.trips = starving.trips.assign(arrive_s=[100.0, math.nan, math.nan, math.nan, math.nan])
    fair, bad = summarize(served), summarize(starving)
    assert bad["mean_delay_completed_s"] < fair["mean_delay_completed_s"]
    assert bad["mean_delay_all_s"] > fair["mean_delay_all_s"]


def test_the_recorded_horizon_replaces_the_last_report_time():
    results = make_results()
    results.info["horizon_s"] = 1200.0
    summary = summarize(results)
    assert summary["mean_travel_time_all_s"] == pytest.approx((100 + 200 + 300 + 1170 + 1150) / 5)


def test_section_metrics_declared_in_the_info_join_the_summary_with_their_labels():
    results = make_results()
    results.info["emergency"] = {"mean_response_s": 95.5, "reached": 4}
    results.info["section_metrics"] = section_declarations(
        "emergency", [Metric("mean_response_s", "emergency response, mean (s)"), Metric("missing", "m")]
    )
    summary = summarize(results)
    assert summary["emergency_mean_response_s"] == 95.5
    assert math.isnan(summary["emergency_missing"])
    assert "emergency response, mean (s)" in format_summary(summary, results.info)


def test_completion_text_never_rounds_up_to_all():
    assert completion_text(11_054, 11_055) == "11,054 of 11,055 (99.99%)"
    assert completion_text(305, 305) == "305 of 305 (100.00%)"
    assert completion_text(0, 0) == "0 of 0"


def test_summarize_accepts_a_mapping_and_gives_nan_without_completed_trips():
    trips = make_trips().assign(arrive_s=math.nan)
    summary = summarize({"trips": trips, "series": make_series()})
    assert summary["completed"] == 0
    assert summary["completion_rate"] == 0.0
    for key in ("mean_travel_time_completed_s", "p95_travel_time_completed_s", "mean_delay_completed_s",
                "mean_speed_completed_mps"):  # fmt: skip
        assert math.isnan(summary[key]), key
    assert summary["mean_delay_all_s"] > 0
    assert summary["throughput_vph"] == 0.0


def test_summarize_names_a_missing_column():
    with pytest.raises(MetricsError, match=r"trips frame lacks column\(s\) \['stops'\]; it has"):
        summarize({"trips": make_trips().drop(columns="stops"), "series": make_series()})
    with pytest.raises(MetricsError, match=r"\['series'\]"):
        summarize({"trips": make_trips()})


def test_format_summary_is_two_aligned_columns_with_units():
    text = format_summary({**summarize(make_results()), "mean_delay_completed_s": math.nan, "note": "x"})
    lines = text.splitlines()
    # completion rate and unfinished share are shown in the completion line
    assert len(lines) == len(SUMMARY_KEYS) - 2 + 1
    assert len({len(line) for line in lines}) == 1  # right-aligned values: equal widths
    assert any(line.startswith("completed") and line.endswith("3 of 5 (60.00%)") for line in lines)
    assert any(
        line.startswith("mean travel time, all trips (s)") and line.endswith(" 344.0") for line in lines
    )
    assert any(
        line.startswith("mean delay, completed trips only (s)") and line.endswith("n/a") for line in lines
    )
    assert lines[-1].split() == ["note", "x"]


def test_mean_ci_matches_textbook_t_value():
    mean, half_width = mean_ci([1.0, 2.0, 3.0, 4.0, 5.0])
    assert mean == 3.0
    # s = sqrt(2.5), n = 5, t(0.975, 4) = 2.776 (textbook table)
    assert half_width == pytest.approx(2.776 * math.sqrt(2.5) / math.sqrt(5), abs=1e-3)


@pytest.mark.parametrize(
    ("confidence", "df", "t_table"),
    [
        (0.95, 1, 12.706),
        (0.95, 2, 4.303),
        (0.95, 10, 2.228),
        (0.95, 30, 2.042),
        (0.95, 120, 1.980),
        (0.90, 4, 2.132),
        (0.99, 4, 4.604),
        (0.99, 60, 2.660),
    ],
)
def test_mean_ci_half_width_is_t_times_standard_error(confidence, df, t_table):
    sample = np.random.default_rng(df).normal(10.0, 2.0, size=df + 1)
    standard_error = sample.std(ddof=1) / math.sqrt(sample.size)
    mean, half_width = mean_ci(sample, confidence)
    assert mean == pytest.approx(sample.mean())
    assert half_width / standard_error == pytest.approx(t_table, abs=1e-3)


def test_mean_ci_edge_cases_and_errors():
    assert mean_ci([4.0])[0] == 4.0
    assert math.isnan(mean_ci([4.0])[1])
    with pytest.raises(MetricsError, match="at least one value"):
        mean_ci([])
    with pytest.raises(MetricsError, match="finite"):
        mean_ci([1.0, math.nan])
    with pytest.raises(MetricsError, match="between 0 and 1"):
        mean_ci([1.0, 2.0], confidence=95)


# --- persistence ---------------------------------------------------------------------------


def test_write_load_round_trip(tmp_path):
    results = make_results()
    folder = write_results(results, tmp_path / "run")
    assert listing(folder) == EXPECTED_FILES
    loaded = load_results(folder)
    for name in ("trips", "series", "links"):
        pd.testing.assert_frame_equal(getattr(loaded, name), getattr(results, name), check_exact=True)
    assert loaded.trips.loc[3, "origin"] == "NA"
    assert loaded.graph.graph["name"] == "tiny"
    assert dict(loaded.graph.nodes(data=True)) == dict(results.graph.nodes(data=True))
    assert sorted(loaded.graph.edges(data=True)) == sorted(results.graph.edges(data=True))
    assert loaded.info == {**results.info, "seed": 7}
    assert type(loaded.info["seed"]) is int


def test_summary_json_holds_info_and_metrics(tmp_path):
    results = make_results()
    folder = write_results(results, tmp_path)
    stored = json.loads((folder / "summary.json").read_text())
    assert stored["format"] == "citysim-results"
    assert stored["info"]["scenario"] == "tiny"
    assert stored["metrics"] == summarize(results)
    assert load_summary(folder)["metrics"] == summarize(results)


def test_nan_metrics_are_stored_as_null_and_read_back_as_nan(tmp_path):
    results = make_results()
    results.trips = results.trips.assign(arrive_s=math.nan)
    folder = write_results(results, tmp_path)
    assert "NaN" not in (folder / "summary.json").read_text()
    assert json.loads((folder / "summary.json").read_text())["metrics"]["mean_delay_completed_s"] is None
    assert math.isnan(load_summary(folder)["metrics"]["mean_delay_completed_s"])


def test_failed_write_leaves_no_temp_files_and_an_incomplete_folder(tmp_path, monkeypatch):
    folder = write_results(make_results(), tmp_path / "run")

    def disk_full(self, path, **kwargs):
        with open(path, "w") as handle:
            handle.write("id,orig")
        raise OSError("disk full")

    monkeypatch.setattr(pd.DataFrame, "to_csv", disk_full)
    with pytest.raises(OSError, match="disk full"):
        write_results(make_results(), folder)
    assert listing(folder) == EXPECTED_FILES - {"summary.json"}
    assert (folder / "trips.csv").read_text().startswith("id,origin,destination")  # old file intact
    with pytest.raises(ResultsError, match="summary.json is missing"):
        load_results(folder)


def test_bad_input_is_rejected_before_the_folder_is_touched(tmp_path):
    folder = write_results(make_results(), tmp_path)
    before = (folder / "summary.json").read_text()
    bad_trips = make_results()
    bad_trips.trips = bad_trips.trips.drop(columns="free_flow_s")
    with pytest.raises(ResultsError, match=r"RunResults.trips lacks column\(s\) \['free_flow_s'\]"):
        write_results(bad_trips, folder)
    bad_info = make_results()
    bad_info.info["controller"] = object()
    with pytest.raises(ResultsError, match=r"info\['controller'\] is a object"):
        write_results(bad_info, folder)
    bad_stops = make_results()
    bad_stops.trips.loc[0, "stops"] = math.nan
    with pytest.raises(ResultsError, match="RunResults.trips: column 'stops' must be int64"):
        write_results(bad_stops, folder)
    bad_graph = make_results()
    del bad_graph.graph.nodes["a"]["kind"]
    with pytest.raises(NetworkError, match="node 'a': missing attribute 'kind'"):
        write_results(bad_graph, folder)
    assert (folder / "summary.json").read_text() == before
    assert listing(folder) == EXPECTED_FILES


def test_load_rejects_missing_and_incomplete_folders(tmp_path):
    with pytest.raises(ResultsError, match="no such results folder"):
        load_results(tmp_path / "nowhere")
    with pytest.raises(ResultsError, match="not a complete results folder: summary.json is missing"):
        load_results(tmp_path)
    folder = write_results(make_results(), tmp_path / "run")
    (folder / "links.csv").unlink()
    with pytest.raises(ResultsError, match="missing links.csv"):
        load_results(folder)


def test_load_names_the_file_and_column_of_a_bad_csv(tmp_path):
    folder = write_results(make_results(), tmp_path)
    series = pd.read_csv(folder / "series.csv").drop(columns="queued_vehicles")
    series.to_csv(folder / "series.csv", index=False)
    with pytest.raises(ResultsError, match=r"series.csv: missing column\(s\) \['queued_vehicles'\]"):
        load_results(folder)


def test_load_rejects_a_foreign_summary_json(tmp_path):
    (tmp_path / "summary.json").write_text('{"mean": 3}')
    with pytest.raises(ResultsError, match="format"):
        load_results(tmp_path)
    (tmp_path / "summary.json").write_text("{oops")
    with pytest.raises(ResultsError, match="invalid JSON at line 1"):
        load_results(tmp_path)
