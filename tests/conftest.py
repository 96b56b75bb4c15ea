"""Fixtures every test shares: fixed threads and seeds, the tiny benchmark, and the tiny workflow run.

Environment variables for checking that no result depends on the machine or on test order:
``POLICYGRADEX_TEST_THREADS`` (torch's intra-op threads in every test; default: torch's own default) and
``POLICYGRADEX_TEST_ORDER`` (``reverse``, or ``shuffle-<seed>``: modules and the tests within each in a seeded
random order, as pytest-randomly does).
"""

from __future__ import annotations

import os
import random
from pathlib import Path

import numpy as np
import pytest
import torch

from policygradex.config import validate_config
from tests.helpers import TINY_TARGETS, run_scenario, tiny_config

_DEFAULT_THREADS = torch.get_num_threads()


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    order = os.environ.get("POLICYGRADEX_TEST_ORDER", "")
    if order == "reverse":
        items.reverse()
    elif order.startswith("shuffle-"):
        rng = random.Random(int(order.removeprefix("shuffle-")))
        modules: dict[str, list[pytest.Item]] = {}
        for item in items:
            modules.setdefault(item.nodeid.split("::")[0], []).append(item)
        groups = list(modules.values())
        rng.shuffle(groups)
        for group in groups:
            rng.shuffle(group)
        items[:] = [item for group in groups for item in group]
    elif order:
        raise pytest.UsageError(f"POLICYGRADEX_TEST_ORDER={order!r}: use 'reverse' or 'shuffle-<seed>'")


@pytest.fixture(autouse=True)
def fixed_threads_and_seeds():
    """Every test starts with the same torch threads and the same global seeds, whatever ran before it (the CLI
    sets the threads of a job; rollouts seed torch): a result never depends on test order."""
    threads = int(os.environ.get("POLICYGRADEX_TEST_THREADS", _DEFAULT_THREADS))
    torch.set_num_threads(threads)
    torch.manual_seed(0)
    np.random.seed(0)
    random.seed(0)
    yield
    torch.set_num_threads(threads)


@pytest.fixture
def bench() -> dict:
    return validate_config(tiny_config())["benchmarks"]["tiny"]


@pytest.fixture(scope="session")
def tiny_run(tmp_path_factory) -> Path:
    """One finished run of the whole tiny workflow (evidence included), shared by every test that only reads it;
    a test that changes files works on a copy."""
    return run_scenario(tmp_path_factory.mktemp("tiny-run"), tiny_config(), *TINY_TARGETS)
