"""Stage 6, fine-tuning: one policy per group, starting from theta* and trained only on the group's tasks.

The group is one value of clusters.csv's ``group`` column (the clustering checkpoint decides how many there
are); its policy starts from the meta-policy's parameters and trains for finetune.total_steps environment steps
with the benchmark's trainer. The baselines' groupings are fine-tuned by the same code (finetune_baseline), so
every method of the comparison gets the same budget per group. Writes the policy and its training curve; a killed
run resumes from the checkpoint beside the output.
"""

from __future__ import annotations

from pathlib import Path

from policygradex.config import Benchmark, task_names
from policygradex.errors import ArtifactError
from policygradex.io import read_clusters
from policygradex.seeds import derive
from policygradex.training import train_policy


def run(
    bench: Benchmark,
    policy: str | Path,
    clusters: str | Path,
    group: int,
    output: str | Path,
    log_csv: str | Path,
    total_steps: int | None = None,
) -> None:
    """Fine-tune theta* (``policy``) on group ``group`` of ``clusters`` for ``total_steps`` (default:
    finetune.total_steps)."""
    names = task_names(bench)
    table = read_clusters(clusters, names)
    members = list(table.loc[table["group"] == group, "task"])
    if not members:
        raise ArtifactError(f"{clusters} has no group {group}; groups are {sorted(table['group'].unique())}")
    train_policy(
        bench,
        [names.index(t) for t in members],
        total_steps or bench["finetune"]["total_steps"],
        seed=derive(bench["seed"], "finetune", group),
        output=output,
        log_csv=log_csv,
        init_policy=policy,
        desc=f"finetune {Path(output).parent}",  # on the console beside other jobs: say which group of which run
    )
