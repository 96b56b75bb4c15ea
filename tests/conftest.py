"""Shared fixtures: small benchmarks built from the real config schema."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest
import yaml

from policygradex.config import validate_config

TINY_CONFIG = Path(__file__).resolve().parents[1] / ".test" / "config" / "config.yaml"


def tiny_config(**overrides) -> dict:
    """The 4-task pointmass scenario of .test/config/config.yaml (not yet validated), sections replaced."""
    config = yaml.safe_load(TINY_CONFIG.read_text())
    config["benchmarks"]["tiny"].update(copy.deepcopy(overrides))
    return config


@pytest.fixture
def bench() -> dict:
    return validate_config(tiny_config())["benchmarks"]["tiny"]
