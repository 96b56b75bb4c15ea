"""Stage 6, fine-tuning: one policy per group, starting from theta* and trained only on the group's tasks."""

from __future__ import annotations

from pathlib import Path

from policygradex.config import Benchmark, task_names
from policygradex.io import read_clusters
from policygradex.training import train_policy


def run(
    bench: Benchmark,
    meta_policy: str | Path,
    clusters_path: str | Path,
    group: int,
    output: str | Path,
    log_csv: str | Path,
    total_steps: int | None = None,
) -> None:
    """Fine-tune group ``group`` of ``clusters_path`` for ``total_steps`` (default: finetune.total_steps)."""
    names = task_names(bench)
    clusters = read_clusters(clusters_path, names)
    members = list(clusters.loc[clusters["group"] == group, "task"])
    if not members:
        raise ValueError(f"{clusters_path} has no group {group}; groups are {sorted(clusters['group'].unique())}")
    train_policy(
        bench,
        [names.index(t) for t in members],
        total_steps or bench["finetune"]["total_steps"],
        seed=bench["seed"] + 1 + group,
        output=output,
        log_csv=log_csv,
        init_policy=meta_policy,
        desc=f"finetune {Path(output).parent}",  # on the console beside other jobs: say which group of which run
    )
