"""What `make demo` answers is recorded: the pointmass benchmark's affinity.csv and clusters.csv at seed 0, as the
README shows them (docs/results/demo_pointmass_72ef279_seed0_*.csv). A change of the numbers is seen when it
happens, not found later by a reader: this slow test runs the demo's benchmark up to its clusters (4-10 minutes
on 2 cores) and compares both files byte for byte. Run it with `pytest -m slow tests/test_demo_record.py`."""

from __future__ import annotations

import pytest

from policygradex.config import only_benchmark
from tests.helpers import ROOT, run_scenario, shipped_config

pytestmark = pytest.mark.slow

RECORD = ROOT / "docs" / "results" / "demo_pointmass_72ef279_seed0"


def test_the_demo_gives_the_recorded_affinity_and_clusters(tmp_path):
    run_scenario(tmp_path, only_benchmark(shipped_config(), "pointmass"), "results/pointmass/clusters.csv")
    for name in ("affinity", "clusters"):
        made = (tmp_path / "results" / "pointmass" / f"{name}.csv").read_bytes()
        assert made == RECORD.with_name(f"{RECORD.name}_{name}.csv").read_bytes(), f"{name}.csv differs"
