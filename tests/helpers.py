"""Helpers the test modules share: the tiny scenario's config, the shipped benchmarks, Snakemake runs.

Every path is taken from the repository root, so the suite runs from any working directory.
"""

from __future__ import annotations

import copy
import os
import subprocess
import sys
from pathlib import Path

import yaml

from policygradex import artifacts
from policygradex.config import benchmark, only_benchmark, validate_config

ROOT = Path(__file__).resolve().parents[1]
TINY_CONFIG = ROOT / ".test" / "config" / "config.yaml"
#: A second scenario whose planted groups are strong enough for the verdict `structure`.
STRUCTURE_CONFIG = ROOT / ".test" / "config_structure" / "config.yaml"
#: What `make evidence` builds on the tiny benchmark: every stage of the workflow.
TINY_TARGETS = artifacts.targets("tiny", full_training=True, evidence=True)
SNAKEMAKE = [sys.executable, "-m", "snakemake", "--snakefile", str(ROOT / "workflow" / "Snakefile"), "--cores", "2"]


def tiny_config(**overrides) -> dict:
    """The 4-task pointmass scenario of .test/config/config.yaml (not yet validated), sections replaced."""
    config = yaml.safe_load(TINY_CONFIG.read_text())
    config["benchmarks"]["tiny"].update(copy.deepcopy(overrides))
    return config


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


def snakemake(workdir: Path, *args: str) -> subprocess.CompletedProcess:
    """Snakemake on ``workdir`` with the venv off PATH and a ``python`` there that fails: the jobs must run the
    package with the interpreter that runs Snakemake, as ``.venv/bin/snakemake`` without activation does."""
    fake = workdir / "wrong-python"
    fake.mkdir(exist_ok=True)
    (fake / "python").write_text("#!/bin/sh\necho 'the PATH python ran a job' >&2\nexit 97\n")
    (fake / "python").chmod(0o755)
    venv = str(Path(sys.executable).parent)
    path = ":".join([str(fake), *(p for p in os.environ["PATH"].split(":") if p != venv)])
    return subprocess.run(
        [*SNAKEMAKE, "--directory", str(workdir), *args],
        capture_output=True,
        text=True,
        env={**os.environ, "PATH": path},
    )


def run_scenario(workdir: Path, config: dict, *targets: str) -> Path:
    """Write ``config`` into ``workdir`` and build ``targets`` there, which must succeed; the console is kept in
    ``console.txt``. Returns ``workdir``."""
    (workdir / "config.yaml").write_text(yaml.safe_dump(config))
    result = snakemake(workdir, *targets)
    assert result.returncode == 0, result.stderr[-3000:]
    (workdir / "console.txt").write_text(result.stdout + result.stderr)
    return workdir
