"""Wall-clock cost of the estimated affinity against the full-training affinity, measured in the same run.

The estimation path is ``features`` (rollouts of theta* and per-sample gradients, per task) plus ``estimate``
(one logistic fit and scoring per subset); the full-training path fine-tunes theta* on every subset with PPO
(``full_finetune``). Both are timed inside the stage (``timing/*.json``: compute seconds, without the Python
start-up of each job), meta-training (shared by both paths) is reported apart. Also records how well the two
affinity matrices agree (Spearman over all entries, and the mean of the per-row Spearman correlations) and
whether clustering them gives the same groups (ARI).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from scipy.stats import spearmanr
from sklearn.metrics import adjusted_rand_score

from policygradex.affinity import read_affinity
from policygradex.cluster import cluster
from policygradex.config import Benchmark, task_names
from policygradex.io import ArtifactError, read_csv, write_json


def total_seconds(paths: Sequence[str | Path]) -> float:
    total = 0.0
    for path in paths:
        try:
            total += float(json.loads(Path(path).read_text())["seconds"])
        except (OSError, ValueError, KeyError) as err:
            raise ArtifactError(f"{path}: not a timing file with 'seconds' ({err})") from err
    return total


def affinity_agreement(estimated: np.ndarray, full: np.ndarray) -> dict[str, float]:
    rows = [spearmanr(e, f).statistic for e, f in zip(estimated, full, strict=True)]
    return {
        "spearman": float(spearmanr(estimated.ravel(), full.ravel()).statistic),
        "spearman_rowwise_mean": float(np.nanmean(rows)),
    }


def run(
    bench: Benchmark,
    feature_timings: Sequence[str | Path],
    estimate_timings: Sequence[str | Path],
    full_timings: Sequence[str | Path],
    meta_log: str | Path,
    affinity_path: str | Path,
    affinity_full_path: str | Path,
    k: int,
    output: str | Path,
) -> None:
    names = task_names(bench)
    features_s, estimate_s = total_seconds(feature_timings), total_seconds(estimate_timings)
    full_s = total_seconds(full_timings)
    estimated = read_affinity(affinity_path, names).to_numpy()
    full = read_affinity(affinity_full_path, names).to_numpy()
    method = bench["cluster"]["method"]
    same_groups = adjusted_rand_score(cluster(estimated, k, method), cluster(full, k, method))
    result = {
        "num_tasks": len(names),
        "num_subsets": bench["estimate"]["num_subsets"],
        "finetune_steps_per_subset": bench["finetune"]["total_steps"],
        "meta_train_seconds": float(read_csv(meta_log, ["seconds"])["seconds"].iloc[-1]),
        "estimation_seconds": {"features": features_s, "estimate": estimate_s, "total": features_s + estimate_s},
        "full_training_seconds": full_s,
        "speedup": full_s / (features_s + estimate_s),
        "clusters_ari_estimated_vs_full": float(same_groups),
        **affinity_agreement(estimated, full),
    }
    write_json(result, output)
    print(f"speedup: {result}")
