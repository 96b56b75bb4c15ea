"""How each affinity sees a benchmark's planted groups: block means of row ranks, per finished run.

Clustering ranks each row of an affinity (clustering.similarity): which partners help task i most. This script
asks, for the matrices that the workflow clusters in a run, how those ranks fall on the planted groups:

- ``cosine``: gradient similarity's matrix (the cosine of the tasks' mean policy gradients at theta*);
- ``T``: PolicyGradEx's estimated affinity (affinity.csv);
- ``T_full``: the affinity of real fine-tuning on the same subsets (affinity_full.csv, where
  ``full_training.enabled``): what joint training does, the quantity T estimates.

For every task, its partners' ranks in its row (0: the partner that helps least, 1: the one that helps most)
are averaged over the partners of each planted group. Per run and matrix, one summary row: the mean rank of a
task's own group (``own_group_rank``), the mean rank of the other group that its row ranks highest
(``rival_group_rank``, e.g. the other group on the same side of pointmass_near_far), their difference
(``separation``: > 0 when the matrix puts a task's own group first), the mean raw value within the own group and
towards the rival (``own_group_value``, ``rival_group_value``: for the cosine, whether the gradients agree), and
the ARI of the matrix's clusters against the planted groups at the run's k.
Writes planted_blocks.csv / .json (summary) and planted_blocks_cells.csv (every task and group) under ``--out``
and prints the summary.

    python -m benchmarks.planted_blocks --runs benchmarks/out/near_far/seed-10
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.metrics import adjusted_rand_score

from benchmarks.common import commit, mean_gradients, run_benchmark, run_folders_args, run_label, save, write_rows
from policygradex.baselines import gradient_similarity
from policygradex.clustering import cluster, row_ranks
from policygradex.config import planted_groups, task_names
from policygradex.io import read_affinity


def block_cells(matrix: np.ndarray, names: list[str], planted: list[str]) -> pd.DataFrame:
    """One row per task and planted group: the mean rank and mean value of the task's partners in that group."""
    measured = {"mean_rank": row_ranks(matrix), "mean_value": np.asarray(matrix, dtype=float)}
    groups = np.asarray(planted)
    rows = []
    for i, task in enumerate(names):
        for group in dict.fromkeys(planted):
            partners = (groups == group) & (np.arange(len(names)) != i)  # empty for a group of one's own
            rows.append(
                {"task": task, "task_group": planted[i], "partner_group": group}
                | {key: float(m[i, partners].mean()) if partners.any() else np.nan for key, m in measured.items()}
            )
    return pd.DataFrame(rows)


def summarise(cells: pd.DataFrame) -> dict[str, float]:
    """Own group against the rival group (the other group a task's row ranks highest), averaged over tasks."""
    own = cells[cells["task_group"] == cells["partner_group"]].set_index("task")
    others = cells[cells["task_group"] != cells["partner_group"]]
    rival = others.loc[others.groupby("task")["mean_rank"].idxmax()].set_index("task").reindex(own.index)
    return {
        "own_group_rank": float(own["mean_rank"].mean()),
        "rival_group_rank": float(rival["mean_rank"].mean()),
        "separation": float((own["mean_rank"] - rival["mean_rank"]).mean()),
        "own_group_value": float(own["mean_value"].mean()),
        "rival_group_value": float(rival["mean_value"].mean()),
    }


def matrices(results: Path, names: list[str]) -> dict[str, np.ndarray]:
    """The run's matrices that are clustered (module docstring); T_full only where full training ran."""
    grads = mean_gradients(results, names)
    found = {"cosine": gradient_similarity(grads), "T": read_affinity(results / "affinity.csv", names).to_numpy()}
    if (results / "affinity_full.csv").exists():
        found["T_full"] = read_affinity(results / "affinity_full.csv", names).to_numpy()
    return found


def measure(run: Path) -> tuple[list[dict], pd.DataFrame]:
    name, bench = run_benchmark(run)
    results = run / "results" / name
    names, planted = task_names(bench), planted_groups(bench)
    if planted is None:
        raise SystemExit(f"{run}: benchmark {name} has no planted groups (tasks[].group)")
    k = int(json.loads((results / "cluster_quality.json").read_text())["k"])
    base = {"run": run_label(run), "benchmark": name, "seed": bench["seed"], "commit": commit(), "k": k}
    rows, cells = [], []
    for label, matrix in matrices(results, names).items():
        found = block_cells(matrix, names, planted)
        labels = cluster(matrix, k, bench["cluster"]["method"])
        rows.append(
            base | {"matrix": label} | summarise(found) | {"ari": adjusted_rand_score(np.asarray(planted), labels)}
        )
        cells.append(found.assign(run=base["run"], seed=base["seed"], matrix=label))
    return rows, pd.concat(cells, ignore_index=True)


def main() -> None:
    args = run_folders_args(__doc__, "planted_blocks")
    measured = [measure(run.resolve()) for run in args.runs]
    write_rows([row for rows, _ in measured for row in rows], args.out, "planted_blocks", hide=("run", "commit"))
    save(pd.concat([cells for _, cells in measured]), args.out, "planted_blocks_cells")


if __name__ == "__main__":
    main()
