"""Each real benchmark's whole DAG (every stage, the evidence included) on a tiny budget: slow, `make test-slow`.

The benchmark's entry of config.yaml with its smoke preset, shrunk further, runs in a temporary folder; the
default suite checks the same entries' configs and environments (test_config, test_envs) without training.
"""

from __future__ import annotations

import json

import pandas as pd
import pytest
import yaml

from policygradex.config import only_benchmark
from tests.helpers import ROOT, TINY_BUDGETS, snakemake

pytestmark = pytest.mark.slow

TARGETS = ["report.html", "approx_error.json", "comparison.csv"]


SAC = {"learning_starts": 64, "batch_size": 64, "buffer_size": 5000, "train_freq": 4}


@pytest.mark.parametrize(
    ("name", "trainer"),
    [
        ("halfcheetah", "ppo"),
        ("hopper", "ppo"),
        ("ant", "ppo"),
        ("metaworld", "ppo"),
        ("hopper", "sac"),
        ("halfcheetah_kwargs", "ppo"),
        ("reacher", "ppo"),
    ],  # fmt: skip
)
def test_real_benchmark_runs_every_stage(tmp_path, name, trainer):
    config = only_benchmark(yaml.safe_load((ROOT / "config.yaml").read_text()), name)
    bench = config["benchmarks"][name]
    # The benchmark's own smoke entry becomes TINY_BUDGETS: merged over the shared smoke preset, section by section.
    bench["presets"] = {"smoke": {**TINY_BUDGETS, "trainer": trainer, "sac": SAC}}
    bench.pop("default_preset", None)
    config["preset"] = "smoke"  # named, as the tests and CI name it: MT10's default is workstation
    (tmp_path / "config.yaml").write_text(yaml.safe_dump(config))
    result = snakemake(tmp_path, *[f"results/{name}/{target}" for target in TARGETS])
    assert result.returncode == 0, result.stderr[-3000:]
    results = tmp_path / "results" / name
    clusters = pd.read_csv(results / "clusters.csv")
    quality = json.loads((results / "cluster_quality.json").read_text())
    k = bench.get("cluster", {}).get("k", "auto")  # Meta-World chooses k from the data
    # k: auto takes the largest k whose split-half stability is within the margin of the best (trust.choose_k)
    stability = {score["k"]: score["stability"] for score in quality["k_scores"]}
    best = max(stability.values())
    margin = quality["thresholds"]["k_stability_margin"]
    chosen = max(c for c, value in stability.items() if value >= best - margin)
    assert quality["k"] == (k if k != "auto" else chosen)
    assert clusters["group"].nunique() == quality["k"]
    evaluation = pd.read_csv(results / "evaluation.csv")
    assert set(evaluation["method"]) == {"single", "policygradex"}
    assert evaluation["mean_return"].notna().all() and evaluation["success_rate"].between(0, 1).all()
    for group in clusters["group"].unique():
        assert (results / "groups" / str(group) / "policy.pt").exists()
    assert set(pd.read_csv(results / "comparison.csv")["method"]) >= {"policygradex", "single", "random"}
    assert (results / "plots" / "clusters.png").stat().st_size > 0
