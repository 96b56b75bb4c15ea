"""Helpers the test modules share: the tiny scenario's config, the shipped benchmarks, Snakemake runs.

Every path is taken from the repository root, so the suite runs from any working directory.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import yaml

from benchmarks.common import TINY_CONFIG as TINY_CONFIG  # one scenario for the tests and the evidence scripts
from benchmarks.common import snakemake_command
from benchmarks.common import tiny_config as tiny_config
from policygradex import artifacts, provenance
from policygradex.config import benchmark, only_benchmark, validate_config

ROOT = Path(__file__).resolve().parents[1]
#: A second scenario whose planted groups are strong enough for the verdict `structure`.
STRUCTURE_CONFIG = ROOT / ".test" / "config_structure" / "config.yaml"
#: What `make evidence` builds on the tiny benchmark: every stage of the workflow.
TINY_TARGETS = artifacts.targets("tiny", full_training=True, evidence=True)
#: Budgets of seconds for any benchmark (as a preset entry): the slow suite's real benchmarks, the own-task runs.
TINY_BUDGETS = {
    "episode_length": 40,
    "ppo": {"n_steps": 32, "batch_size": 64, "n_epochs": 1},
    "vec_env": {"envs_per_task": 1},
    "meta_train": {"total_steps": 512},
    "features": {"episodes": 3, "projection_dim": 16},
    # 18 subsets of n/2: each half of the trust check can cover every pair of 8 tasks (config check)
    "estimate": {"num_subsets": 18, "num_chunks": 2, "score_episodes": 1},
    "finetune": {"total_steps": 256},
    "evaluate": {"episodes": 2},
    "hessian": {"episodes": 1, "min_probes": 2, "max_probes": 4},
    "approx_error": {"validation_subsets": 1},
    "compare": {"random_seeds": 1},
}


def shipped_config() -> dict:
    """The repository's config.yaml, not yet validated."""
    return yaml.safe_load((ROOT / "config.yaml").read_text())


def real_bench(name: str, preset: str | None = None, mutate=None) -> dict:
    """Benchmark ``name`` of the shipped config.yaml, validated (after ``mutate`` on the raw entry, with the
    top-level ``preset`` when given)."""
    config = only_benchmark(shipped_config(), name)
    if preset is not None:
        config["preset"] = preset
    if mutate is not None:
        mutate(config["benchmarks"][name])
    return benchmark(validate_config(config), name)


def snakemake(workdir: Path, *args: str, importable: bool = False) -> subprocess.CompletedProcess:
    """Snakemake on ``workdir`` with the venv off PATH and a ``python`` there that fails: the jobs must run the
    package with the interpreter that runs Snakemake, as ``.venv/bin/snakemake`` without activation does.
    ``importable``: the repository root on PYTHONPATH, so that a config may import ``tests.tiny_envs`` (as a
    user's own environment package, installed in the venv, would be)."""
    fake = workdir / "wrong-python"
    fake.mkdir(exist_ok=True)
    (fake / "python").write_text("#!/bin/sh\necho 'the PATH python ran a job' >&2\nexit 97\n")
    (fake / "python").chmod(0o755)
    venv = str(Path(sys.executable).parent)
    path = ":".join([str(fake), *(p for p in os.environ["PATH"].split(":") if p != venv)])
    env = {**os.environ, "PATH": path}
    if importable:
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))
    return subprocess.run(snakemake_command(workdir, 2, *args), capture_output=True, text=True, env=env)


def checkout_commit() -> str:
    """This checkout's HEAD, or "unknown" outside git (what provenance.json should name)."""
    return provenance.checkout_commit(ROOT)[0]


def run_scenario(workdir: Path, config: dict, *targets: str, importable: bool = False) -> Path:
    """Write ``config`` into ``workdir`` and build ``targets`` there (see :func:`snakemake`), which must succeed;
    the console is kept in ``console.txt``, the checkout's commit when the run started in ``commit.txt`` (a
    commit landing while the suite runs moves HEAD). Returns ``workdir``."""
    (workdir / "config.yaml").write_text(yaml.safe_dump(config))
    (workdir / "commit.txt").write_text(checkout_commit())
    result = snakemake(workdir, *targets, importable=importable)
    assert result.returncode == 0, result.stderr[-3000:]
    (workdir / "console.txt").write_text(result.stdout + result.stderr)
    return workdir
