"""Stage 5, clustering: partition the n tasks into k groups of high intra-group affinity (clustering.py), choose
k when ``cluster.k: auto``, and judge whether the groups are reproducible and significant (trust.py): clustering
always returns k groups, noise included. cluster_quality.json holds the verdict.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from policygradex.clustering import cluster, partition, quality, similarity
from policygradex.io import read_affinity, read_subset_scores, write_csv, write_json
from policygradex.trust import TrustSettings, assess


def median_consistency(feature_paths: Sequence[str | Path]) -> float | None:
    """Median gradient consistency of the features files (features.py), None if they do not store it."""
    values = []
    for path in feature_paths:
        with np.load(path, allow_pickle=False) as data:
            if "gradient_consistency" not in data.files:
                return None
            values.append(float(data["gradient_consistency"]))
    return float(np.median(values)) if values else None


def run(
    names: Sequence[str],
    planted: Sequence[str] | None,
    cfg: dict[str, Any],
    seed: int,
    affinity_path: str | Path,
    chunk_paths: Sequence[str | Path],
    feature_paths: Sequence[str | Path],
    output: str | Path,
    quality_output: str | Path,
) -> None:
    """Cluster affinity.csv into clusters.csv, and judge the result (trust.py) into cluster_quality.json."""
    affinity = read_affinity(affinity_path, names).to_numpy()
    scores, members = read_subset_scores(chunk_paths, names)
    method = cfg["method"]
    trust = assess(
        affinity,
        scores,
        members,
        k=cfg["k"],
        k_max=cfg["k_max"],
        similarity_fn=similarity,
        partition_fn=lambda sim, k: partition(sim, k, method),
        settings=TrustSettings.from_config(cfg["trust"]),
        seed=seed,
        gradient_consistency=median_consistency(feature_paths),
    )
    labels = cluster(affinity, trust["k"], method)
    columns = {"task": list(names), "group": labels} | ({"planted": list(planted)} if planted is not None else {})
    write_csv(pd.DataFrame(columns), output)
    report = {"k_requested": cfg["k"], "method": method, "num_groups": int(labels.max() + 1)} | trust
    if planted is not None:
        report |= quality(labels, planted)
    write_json(report, quality_output)
    groups = {g: [n for n, label in zip(names, labels, strict=True) if label == g] for g in range(labels.max() + 1)}
    print(f"clusters (k = {trust['k']}, {trust['k_selection']}): {groups}")
    if planted is not None:
        print(f"against the planted groups: ARI {report['ari']:.3f}, NMI {report['nmi']:.3f}")
    print(f"verdict: {trust['verdict']} ({trust['reason']})")
