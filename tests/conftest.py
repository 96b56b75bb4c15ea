"""Shared fixtures: small benchmarks built from the real config schema."""

from __future__ import annotations

import copy

import pytest

from policygradex.config import validate_config

TINY_TASKS = [
    {"name": "east-0.5", "goal": [0.5, 0.0], "group": "east"},
    {"name": "east-1.0", "goal": [1.0, 0.0], "group": "east"},
    {"name": "west-0.5", "goal": [-0.5, 0.0], "group": "west"},
    {"name": "west-1.0", "goal": [-1.0, 0.0], "group": "west"},
]


def tiny_config(**overrides) -> dict:
    """A 4-task pointmass config with tiny budgets (not yet validated)."""
    bench = {
        "env": "pointmass",
        "tasks": copy.deepcopy(TINY_TASKS),
        "ppo": {"n_steps": 64, "batch_size": 64, "n_epochs": 2, "envs_per_task": 2},
        "meta_train": {"total_steps": 2048},
        "features": {"episodes": 6, "projection_dim": 16},
        "estimate": {"num_subsets": 8, "subset_size": 2, "num_chunks": 2},
        "cluster": {"k": 2},
        "finetune": {"total_steps": 1024},
        "evaluate": {"episodes": 2},
        "full_training": {"enabled": True, "num_chunks": 2},
        "approx_error": {"validation_subsets": 2},
        "compare": {"random_seeds": 1},
    }
    bench.update(overrides)
    return {"benchmarks": {"tiny": bench}}


@pytest.fixture
def bench() -> dict:
    return validate_config(tiny_config())["benchmarks"]["tiny"]
