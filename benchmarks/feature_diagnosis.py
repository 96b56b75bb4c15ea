"""What the meta-policy's rollouts give the estimate to work with, per task of finished runs.

The estimate fits the tasks' policy gradients at theta*; they carry signal only when theta*'s actions still vary
and its episodes' returns differ. Per run and task, from features/<task>.npz:

- ``gradient_consistency``: cosine of the task's policy gradient on the fitted and on the held-out samples
  (features.py; below 0.2 the estimate warns that the gradients are mostly noise);
- ``return_mean``, ``return_std``: the episodes' returns (std near 0: every episode the same);
- ``top_action_share`` (Discrete actions): the share of samples taking the policy's most frequent action, or
  ``action_std`` (Box actions): the mean per-dimension std of the actions taken.

Writes feature_diagnosis.csv / .json under ``--out`` and prints the rows.

    python -m benchmarks.feature_diagnosis --runs benchmarks/out/tune_reacher/seed-0
"""

from __future__ import annotations

import numpy as np

from benchmarks.common import commit, run_benchmark, run_folders_args, run_label, write_rows
from policygradex.artifacts import FEATURE_KEYS
from policygradex.config import task_names
from policygradex.diagnosis import consistency_of
from policygradex.io import read_npz


def task_row(features: dict[str, np.ndarray]) -> dict[str, float]:
    """The diagnosis of one task's features (module docstring)."""
    actions = np.asarray(features["actions"])
    row = {
        "gradient_consistency": consistency_of(features),
        "return_mean": float(np.mean(features["episode_return"])),
        "return_std": float(np.std(features["episode_return"])),
        "samples": len(actions),
    }
    if actions.ndim == 1:  # Discrete actions, stored as their index
        row["top_action_share"] = float(np.bincount(actions.astype(int)).max() / len(actions))
    else:
        row["action_std"] = float(actions.std(axis=0).mean())
    return row


def main() -> None:
    args = run_folders_args(__doc__, "feature_diagnosis")
    rows = []
    for run in args.runs:
        name, bench = run_benchmark(run)
        for task in task_names(bench):
            features = read_npz(run / "results" / name / "features" / f"{task}.npz", FEATURE_KEYS)
            rows.append({"run": run_label(run), "benchmark": name, "task": task} | task_row(features))
    for row in rows:
        row["commit"] = commit()
    write_rows(rows, args.out, "feature_diagnosis", hide=("commit",))


if __name__ == "__main__":
    main()
