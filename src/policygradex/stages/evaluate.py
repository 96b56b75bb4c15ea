"""Stage 7, evaluation: returns and success of the grouped policies and of the meta-policy alone.

Each group policy is evaluated on the tasks of its group (method ``policygradex``); the meta-policy theta* on
every task (method ``single``, one group 0). Actions are deterministic (the Gaussian's mean).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from policygradex.artifacts import EVALUATION_COLUMNS
from policygradex.config import Benchmark, task_names
from policygradex.errors import ArtifactError
from policygradex.io import read_clusters, write_csv
from policygradex.progress import progress
from policygradex.rollouts import evaluate_policy


def run(
    bench: Benchmark,
    clusters: str | Path,
    group_policies: Sequence[str | Path],
    output: str | Path,
    method: str = "policygradex",
    policy: str | Path | None = None,
) -> None:
    """Evaluate each group policy on its group's tasks as ``method``; and theta* (``policy``) on all tasks when
    given."""
    names = task_names(bench)
    table = read_clusters(clusters, names)
    num_groups = table["group"].nunique()
    if len(group_policies) != num_groups:
        raise ArtifactError(f"{clusters} has {num_groups} groups but {len(group_policies)} group policies were given")
    rows = [] if policy is None else evaluate_policy(bench, policy, range(len(names)), "single", 0)
    for group in progress(range(num_groups), total=num_groups, desc=f"evaluate {method}"):
        members = [names.index(t) for t in table.loc[table["group"] == group, "task"]]
        rows += evaluate_policy(bench, group_policies[group], members, method, group)
    write_csv(pd.DataFrame(rows, columns=EVALUATION_COLUMNS), output)
