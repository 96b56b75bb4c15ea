"""Stage 7, evaluation: returns and success of the grouped policies and of the meta-policy alone.

Each group policy is evaluated on the tasks of its group (method ``policygradex``); the meta-policy theta* on
every task (method ``single``, one group 0). Actions are deterministic (the Gaussian's mean).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from policygradex.artifacts import EVALUATION_COLUMNS
from policygradex.config import Benchmark, task_names
from policygradex.errors import ArtifactError
from policygradex.io import read_clusters, write_csv
from policygradex.policy import load_policy
from policygradex.progress import progress
from policygradex.rollouts import collect_task_episodes
from policygradex.seeds import derive


def evaluate_policy(
    bench: Benchmark, policy_path: str | Path, task_ids: Sequence[int], method: str, group: int, seed: int
) -> list[dict]:
    """One row per task of ``task_ids``: the policy's mean return and success rate over the evaluation's
    deterministic episodes."""
    policy, _ = load_policy(policy_path, bench)
    names = task_names(bench)
    episodes_per_task = bench["evaluate"]["episodes"]
    rows = []
    found = collect_task_episodes(policy, bench, {t: seed + t for t in task_ids}, episodes_per_task, deterministic=True)
    for task, episodes in found.items():
        rows.append(
            {
                "method": method,
                "task": names[task],
                "group": group,
                "mean_return": float(np.mean([ep.total_return for ep in episodes])),
                "success_rate": float(np.mean([ep.success for ep in episodes])),
                "episodes": len(episodes),
            }
        )
    return rows


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
    seed = derive(bench["seed"], "evaluate")  # task t's episodes: seed + t (seeds.STREAMS)
    rows = [] if policy is None else evaluate_policy(bench, policy, range(len(names)), "single", 0, seed)
    for group in progress(range(num_groups), total=num_groups, desc=f"evaluate {method}"):
        members = [names.index(t) for t in table.loc[table["group"] == group, "task"]]
        rows += evaluate_policy(bench, group_policies[group], members, method, group, seed)
    write_csv(pd.DataFrame(rows, columns=EVALUATION_COLUMNS), output)
