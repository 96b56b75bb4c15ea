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
from tests.helpers import ROOT, snakemake

pytestmark = pytest.mark.slow

TINY = {
    "episode_length": 40,
    "ppo": {"n_steps": 32, "batch_size": 64, "n_epochs": 1},
    "vec_env": {"envs_per_task": 1},
    "meta_train": {"total_steps": 512},
    "features": {"episodes": 3, "projection_dim": 16},
    # 18 subsets of n/2: each half of the trust check can cover every pair (config check)
    "estimate": {"num_subsets": 18, "num_chunks": 2, "score_episodes": 1},
    "finetune": {"total_steps": 256},
    "evaluate": {"episodes": 2},
    "hessian": {"episodes": 1, "min_probes": 2, "max_probes": 4},
    "approx_error": {"validation_subsets": 1},
    "compare": {"random_seeds": 1},
}
TARGETS = ["report.html", "approx_error.json", "comparison.csv"]


SAC = {"learning_starts": 64, "batch_size": 64, "buffer_size": 5000, "train_freq": 4}


@pytest.mark.parametrize(
    ("name", "trainer"),
    [("halfcheetah", "ppo"), ("hopper", "ppo"), ("ant", "ppo"), ("metaworld", "ppo"), ("hopper", "sac")],
)
def test_real_benchmark_runs_every_stage(tmp_path, name, trainer):
    config = only_benchmark(yaml.safe_load((ROOT / "config.yaml").read_text()), name)
    bench = config["benchmarks"][name]
    # The benchmark's own smoke entry becomes TINY: merged over the shared smoke preset, section by section.
    bench["presets"] = {"smoke": {**TINY, "trainer": trainer, "sac": SAC}}
    (tmp_path / "config.yaml").write_text(yaml.safe_dump(config))
    result = snakemake(tmp_path, *[f"results/{name}/{target}" for target in TARGETS])
    assert result.returncode == 0, result.stderr[-3000:]
    results = tmp_path / "results" / name
    clusters = pd.read_csv(results / "clusters.csv")
    quality = json.loads((results / "cluster_quality.json").read_text())
    k = bench.get("cluster", {}).get("k", "auto")  # Meta-World chooses k from the data
    best_z = max(quality["k_scores"], key=lambda score: score["z"])["k"]  # what k: auto maximises
    assert quality["k"] == (k if k != "auto" else best_z)
    assert clusters["group"].nunique() == quality["k"]
    evaluation = pd.read_csv(results / "evaluation.csv")
    assert set(evaluation["method"]) == {"single", "policygradex"}
    assert evaluation["mean_return"].notna().all() and evaluation["success_rate"].between(0, 1).all()
    for group in clusters["group"].unique():
        assert (results / "groups" / str(group) / "policy.pt").exists()
    assert set(pd.read_csv(results / "comparison.csv")["method"]) >= {"policygradex", "single", "random"}
    assert (results / "plots" / "clusters.png").stat().st_size > 0
