"""End-to-end: the real Snakemake workflow on a tiny 4-task config in a temporary directory."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from tests.conftest import tiny_config

ROOT = Path(__file__).resolve().parents[1]
SNAKEMAKE = [sys.executable, "-m", "snakemake", "--snakefile", str(ROOT / "Snakefile"), "--cores", "2"]
CORE = ["meta/policy.pt", "affinity.csv", "clusters.csv", "evaluation.csv", "report.html"]
EVIDENCE = ["approx_error.json", "comparison.csv", "affinity_full.csv", "speedup.json"]
TARGETS = [f"results/tiny/{f}" for f in CORE + EVIDENCE]


def snakemake(workdir: Path, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}"}
    return subprocess.run([*SNAKEMAKE, "--directory", str(workdir), *args], capture_output=True, text=True, env=env)


def planned_jobs(result: subprocess.CompletedProcess) -> set[str]:
    """Rule names of the 'Job stats' table of a dry run."""
    lines = result.stdout.splitlines()
    start = lines.index("Job stats:") + 3
    jobs = set()
    for line in lines[start:]:
        if not line.strip() or line.startswith("total"):
            break
        jobs.add(line.split()[0])
    return jobs


@pytest.fixture(scope="module")
def workdir(tmp_path_factory) -> Path:
    workdir = tmp_path_factory.mktemp("workflow")
    (workdir / "config.yaml").write_text(yaml.safe_dump(tiny_config()))
    result = snakemake(workdir, *TARGETS)
    assert result.returncode == 0, result.stderr[-3000:]
    return workdir


def test_every_stage_writes_its_artifacts(workdir):
    results = workdir / "results" / "tiny"
    names = ["east-0.5", "east-1.0", "west-0.5", "west-1.0"]
    for task in names:
        with np.load(results / "features" / f"{task}.npz") as f:
            assert str(f["task"]) == task
            assert f["projected_grad"].shape == (len(f["advantage"]), 16)
            assert f["heldout"].any() and not f["heldout"].all()
    chunks = pd.concat(pd.read_csv(results / "subsets" / f"chunk_{c}.csv") for c in range(2))
    assert list(chunks.columns) == ["subset_id", "subset", "task", "score"]
    assert sorted(chunks["subset_id"].unique()) == list(range(8))
    affinity = pd.read_csv(results / "affinity.csv", index_col=0)
    assert list(affinity.index) == names and list(affinity.columns) == names
    clusters = pd.read_csv(results / "clusters.csv")
    assert list(clusters["task"]) == names and set(clusters["group"]) == {0, 1}
    quality = json.loads((results / "cluster_quality.json").read_text())
    assert {"ari", "nmi", "k"} <= set(quality)
    for group in (0, 1):
        assert (results / "groups" / str(group) / "policy.pt").exists()
    evaluation = pd.read_csv(results / "evaluation.csv")
    assert list(evaluation.columns) == ["method", "task", "group", "mean_return", "success_rate", "episodes"]
    assert set(evaluation["method"]) == {"single", "policygradex"}
    assert len(evaluation) == 2 * len(names)
    assert "<img" in (results / "report.html").read_text()
    assert (workdir / "logs" / "tiny" / "meta_train.log").exists()


def test_rerun_has_nothing_to_do_and_deleting_affinity_reruns_only_downstream(workdir):
    dry = snakemake(workdir, "-n", *TARGETS)
    assert "Nothing to be done" in dry.stdout, dry.stdout[-2000:]
    (workdir / "results" / "tiny" / "affinity.csv").unlink()
    dry = snakemake(workdir, "-n", *TARGETS)
    # affinity.csv feeds the clustering (and its fine-tunes, planned once the checkpoint has run), the report,
    # the speedup and, through evaluation.csv, the comparison; nothing upstream reruns.
    assert planned_jobs(dry) == {"affinity", "cluster", "evaluate", "report", "speedup", "compare"}


def test_changing_k_reclusters_without_retraining_the_meta_policy(workdir, tmp_path):
    copy = tmp_path / "copy"
    shutil.copytree(workdir, copy)
    config = tiny_config()
    config["benchmarks"]["tiny"]["cluster"]["k"] = 3
    (copy / "config.yaml").write_text(yaml.safe_dump(config))
    dry = snakemake(copy, "-n", *TARGETS)
    assert "meta_train" not in planned_jobs(dry) and "cluster" in planned_jobs(dry)


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda b: b["cluster"].update(k=9), "config.benchmarks.tiny.cluster.k"),
        (lambda b: b["estimate"].update(subset_size=5), "config.benchmarks.tiny.estimate.subset_size"),
        (lambda b: b["tasks"][0].pop("goal"), "'goal' is a required property"),
    ],
)
def test_bad_config_fails_before_any_job(tmp_path, mutate, message):
    config = tiny_config()
    mutate(config["benchmarks"]["tiny"])
    (tmp_path / "config.yaml").write_text(yaml.safe_dump(config))
    result = snakemake(tmp_path, "results/tiny/clusters.csv")
    assert result.returncode != 0
    assert message in result.stderr
    assert not (tmp_path / "results").exists()


def test_unknown_benchmark_fails_before_any_job(tmp_path):
    (tmp_path / "config.yaml").write_text(yaml.safe_dump(tiny_config()))
    result = snakemake(tmp_path, "results/metaworld/clusters.csv")
    assert result.returncode != 0
    assert "unknown benchmark 'metaworld'" in result.stderr
    assert not (tmp_path / "results").exists()
