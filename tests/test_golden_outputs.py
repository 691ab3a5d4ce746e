"""Every shipped scenario gives the same trips, byte for byte, and the same summary as recorded.

Refactoring must not change what users get: each ``scenarios/*.toml`` is run to its end with
its own seed, and the SHA-256 of its ``trips.csv`` (as :func:`sim.metrics.results.write_results`
writes it) and its summary metrics must equal the record in ``tests/data/golden_outputs.json``.
A change that is meant to change results records them again, on purpose, with::

    python tests/test_golden_outputs.py --record

and says why in its commit.
"""

import hashlib
import json
import math
import sys
from pathlib import Path

import pytest

from sim.metrics.results import write_results
from sim.metrics.summary import summarize
from sim.model import CityModel
from sim.scenario import load_scenario

REPO = Path(__file__).resolve().parents[1]
RECORD = Path(__file__).resolve().parent / "data" / "golden_outputs.json"
SCENARIOS = sorted((REPO / "scenarios").glob("*.toml"))


def outputs(path: Path, folder: Path) -> dict:
    """The SHA-256 of the scenario's trips.csv and its summary metrics (NaN as None)."""
    results = CityModel(load_scenario(path)).run().results()
    write_results(results, folder)
    digest = hashlib.sha256((folder / "trips.csv").read_bytes()).hexdigest()
    metrics = {key: None if isinstance(value, float) and math.isnan(value) else value
               for key, value in summarize(results).items()}  # fmt: skip
    return {"trips_csv_sha256": digest, "metrics": metrics}


@pytest.mark.parametrize("path", SCENARIOS, ids=lambda p: p.stem)
def test_outputs_are_as_recorded(path, tmp_path):
    recorded = json.loads(RECORD.read_text())
    assert path.stem in recorded, f"no record for {path.name}: run tests/test_golden_outputs.py --record"
    now = outputs(path, tmp_path)
    # metrics to 12 digits: numpy's summation order may depend on the CPU's vector width
    assert now["metrics"] == pytest.approx(recorded[path.stem]["metrics"], rel=1e-12, abs=1e-12, nan_ok=True)
    assert now["trips_csv_sha256"] == recorded[path.stem]["trips_csv_sha256"]


def record() -> None:
    """Run every scenario and write the record."""
    import tempfile

    with tempfile.TemporaryDirectory() as folder:
        RECORD.parent.mkdir(exist_ok=True)
        data = {path.stem: outputs(path, Path(folder) / path.stem) for path in SCENARIOS}
    RECORD.write_text(json.dumps(data, indent=1, sort_keys=True) + "\n")
    print(f"recorded {len(data)} scenarios in {RECORD}")


if __name__ == "__main__":
    if sys.argv[1:] != ["--record"]:
        sys.exit("usage: python tests/test_golden_outputs.py --record")
    record()
