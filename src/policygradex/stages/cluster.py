"""Stage 5, clustering: partition the n tasks into k groups of high intra-group affinity (clustering.py), choose
k when ``cluster.k: auto``, and judge whether the groups are reproducible and significant (trust.py): clustering
always returns k groups, noise included. cluster_quality.json holds the verdict.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from policygradex import clustering
from policygradex.clustering import cluster
from policygradex.config import Benchmark, planted_groups, task_names
from policygradex.diagnosis import as_records, diagnose, median_consistency, rollout_summaries
from policygradex.io import read_affinity, read_subset_scores, write_csv, write_json
from policygradex.logs import LOGGER
from policygradex.trust import STRUCTURE, judge


def run(
    bench: Benchmark,
    affinity: str | Path,
    chunks: Sequence[str | Path],
    features: Sequence[str | Path],
    output: str | Path,
    quality: str | Path,
) -> None:
    """Cluster affinity.csv into clusters.csv (``output``), and judge the result (trust.py) into
    cluster_quality.json (``quality``)."""
    names, planted, cfg = task_names(bench), planted_groups(bench), bench["cluster"]
    matrix = read_affinity(affinity, names).to_numpy()
    scores, members = read_subset_scores(chunks, names)
    method = cfg["method"]
    summaries = rollout_summaries(features)
    trust = judge(matrix, scores, members, cfg, bench["seed"], median_consistency(summaries))
    found = diagnose(scores, members, list(names), summaries, bench["estimate"]["score"])
    labels = cluster(matrix, trust["k"], method)
    columns = {"task": list(names), "group": labels} | ({"planted": list(planted)} if planted is not None else {})
    write_csv(pd.DataFrame(columns), output)
    report = {"k_requested": cfg["k"], "method": method, "num_groups": int(labels.max() + 1)} | trust
    report |= {"gradient_consistency": median_consistency(summaries), "diagnoses": as_records(found)}
    if planted is not None:
        report |= clustering.quality(labels, planted)
    write_json(report, quality)
    groups = {g: [n for n, label in zip(names, labels, strict=True) if label == g] for g in range(labels.max() + 1)}
    print(f"clusters (k = {trust['k']}, {trust['k_selection']}): {groups}")
    if planted is not None:
        print(f"against the planted groups: ARI {report['ari']:.3f}, NMI {report['nmi']:.3f}")
    print(f"verdict: {trust['verdict']} ({trust['reason']})")
    for item in found:  # a warning (the summary repeats it) where it may explain a negative verdict, else a note
        say = LOGGER.warning if trust["verdict"] != STRUCTURE else LOGGER.info
        say(f"{item.cause}: {item.detail}; {item.fix}")
