"""The conda env of the rules pins exactly what pyproject.toml pins."""

import tomllib
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]


def test_conda_env_pins_match_pyproject():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    env = yaml.safe_load((ROOT / "envs" / "policygradex.yaml").read_text())
    pip = next(d["pip"] for d in env["dependencies"] if isinstance(d, dict))
    assert sorted(pip) == sorted(project)
    assert all("==" in pin for pin in project)
    assert "python=3.11" in env["dependencies"]


def test_slurm_profile_memory_covers_the_measured_peaks():
    """The profile's mem_mb of the two stages whose memory grew with the data is at least 1.5x the largest peak
    RSS that benchmarks/memory.py measured at the full presets' sizes (docs/results/memory_*.csv)."""
    import pandas as pd

    profile = yaml.safe_load((ROOT / "workflow" / "profiles" / "slurm" / "config.yaml").read_text())
    measured = pd.concat(pd.read_csv(path) for path in sorted((ROOT / "docs" / "results").glob("memory_*.csv")))
    for stage in ("features", "approx_error"):
        mem_mb = eval(str(profile["set-resources"][stage]["mem_mb"]), {"attempt": 1})  # first attempt
        peak = measured.loc[measured["stage"] == stage, "peak_rss_mb"].max()
        assert peak > 0 and mem_mb >= 1.5 * peak, f"{stage}: mem_mb {mem_mb} for a measured peak of {peak:.0f} MB"
