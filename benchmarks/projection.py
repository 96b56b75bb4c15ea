"""Dense against Kronecker projection of the gradient features: the same groups?

``features.projection: kronecker`` projects each layer's per-sample gradient with a Kronecker product of two
small Rademacher matrices and never forms the gradient (src/policygradex/gradients.py), which is much faster
for large networks (benchmarks/throughput.py --gradients) but is a different, more structured random sketch.
This script measures what that costs the answer, in this process, on the small pointmass of
tests/test_recovery.py (4 directions x 2 distances, planted groups = directions, surrogate scores): per seed,
one meta-policy, then features, estimated affinity and clusters once per (projection, projection_dim), all on
the same subsets. Per row: the projection's real d, the ARI of the clusters against the planted groups, and the
mean row-wise Spearman of the affinity against the dense projection at the reference d.

Writes projection.csv / .json (with the commit) under ``--out`` and prints a markdown table.

    python -m benchmarks.projection --seeds 3 4 5
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np

from benchmarks.common import commit, script_parser, tiny_config, write_rows
from policygradex.clustering import cluster, quality
from policygradex.config import task_names, validate_config
from policygradex.estimator import SubsetEstimator
from policygradex.features import compute_features
from policygradex.io import write_npz
from policygradex.subsets import draw_subsets, subset_affinity
from policygradex.training import train_policy
from policygradex.trust import row_spearman

#: (projection, projection_dim); the first is the reference of the row Spearman.
CASES = [("dense", 200), ("dense", 32), ("kronecker", 200), ("kronecker", 1000)]
SUBSETS = 40
#: Four directions at two distances (the tests' small recovery case): 8 tasks in 4 planted groups.
TASKS = [
    {"name": f"{direction}-{radius}", "goal": [radius * dx, radius * dy], "group": direction}
    for direction, (dx, dy) in {"east": (1, 0), "north": (0, 1), "west": (-1, 0), "south": (0, -1)}.items()
    for radius in (0.5, 1.0)
]


def run_seed(seed: int, workdir: Path) -> list[dict]:
    settings = {
        "tasks": TASKS,
        "seed": seed,
        "meta_train": {"total_steps": 24_576},
        "estimate": {"num_subsets": SUBSETS, "subset_size": 4, "num_chunks": 1, "score": "surrogate"},
        "cluster": {"k": 4},
    }
    planted = [task["group"] for task in TASKS]
    rows, reference = [], None
    policy = workdir / "policy.pt"
    for kind, dim in CASES:
        config = tiny_config(**settings, features={"episodes": 32, "projection_dim": dim, "projection": kind})
        bench = validate_config(config)["benchmarks"]["tiny"]
        names = task_names(bench)
        if not policy.exists():
            train_policy(bench, range(len(names)), bench["meta_train"]["total_steps"], 0, policy, workdir / "log.csv")
        paths = [workdir / f"{kind}-{dim}-{name}.npz" for name in names]
        for name, path in zip(names, paths, strict=True):
            write_npz(path, **compute_features(bench, policy, name))
        estimator = SubsetEstimator(bench, policy, paths)
        scores, members = np.full((SUBSETS, len(names)), np.nan), np.zeros((SUBSETS, len(names)), dtype=bool)
        for row, subset in enumerate(draw_subsets(len(names), 4, SUBSETS, seed=seed)):
            for task, score in estimator.estimate(subset).items():
                scores[row, task], members[row, task] = score, True
        affinity = subset_affinity(scores, members)
        reference = affinity if reference is None else reference
        rows.append({
            "seed": seed,
            "commit": commit(),
            "projection": kind,
            "projection_dim": dim,
            "real_dim": estimator.projection.dim,
            "ari": quality(cluster(affinity, 4, bench["cluster"]["method"]), planted)["ari"],
            "row_spearman_vs_reference": row_spearman(affinity, reference),
        })  # fmt: skip
        print(rows[-1], flush=True)
    return rows


def main() -> None:
    parser = script_parser(__doc__, "projection", table="projection.csv")
    parser.add_argument("--seeds", type=int, nargs="+", default=[3, 4, 5])
    args = parser.parse_args()
    rows = []
    for seed in args.seeds:
        with tempfile.TemporaryDirectory() as workdir:
            rows += run_seed(seed, Path(workdir))
    write_rows(rows, args.out, "projection")


if __name__ == "__main__":
    main()
