"""Shared fixtures: small benchmarks built from the real config schema."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest
import yaml

from policygradex.config import benchmark, only_benchmark, validate_config

ROOT = Path(__file__).resolve().parents[1]
TINY_CONFIG = ROOT / ".test" / "config" / "config.yaml"


def tiny_config(**overrides) -> dict:
    """The 4-task pointmass scenario of .test/config/config.yaml (not yet validated), sections replaced."""
    config = yaml.safe_load(TINY_CONFIG.read_text())
    config["benchmarks"]["tiny"].update(copy.deepcopy(overrides))
    return config


def real_bench(name: str, preset: str | None = None, mutate=None) -> dict:
    """Benchmark ``name`` of the shipped config.yaml, validated (after ``mutate`` on the raw entry, with the
    top-level ``preset`` when given)."""
    config = only_benchmark(yaml.safe_load((ROOT / "config.yaml").read_text()), name)
    if preset is not None:
        config["preset"] = preset
    if mutate is not None:
        mutate(config["benchmarks"][name])
    return benchmark(validate_config(config), name)


@pytest.fixture
def bench() -> dict:
    return validate_config(tiny_config())["benchmarks"]["tiny"]
