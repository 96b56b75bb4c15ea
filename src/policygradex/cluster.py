"""Stage 5, clustering: partition the n tasks into k groups of high intra-group affinity.

The raw affinity mixes tasks whose scores live on different scales and noise levels, so before clustering each
row is replaced by the ranks of its off-diagonal entries (which partners help task i most, whatever the units
and spread of task i's scores), the matrix is symmetrised, and mapped to a non-negative similarity
exp((S - max S) / std S). (Row z-scores were tried first: they amplify the noise of rows whose scores barely
vary, and mis-grouped one task of pointmass seed 0 where ranks recover every planted group.)
Two algorithms maximise the
intra-group similarity: spectral clustering on the precomputed similarity (default), or the SDP relaxation
of Grad-TAE (max <S, X> s.t. X psd, X >= 0, X 1 = 1, tr X = k; cvxpy) rounded by thresholding X > 1/n.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import cvxpy as cp
import numpy as np
import pandas as pd
from scipy.stats import rankdata
from sklearn.cluster import SpectralClustering
from sklearn.metrics import adjusted_rand_score, normalized_mutual_info_score

from policygradex.affinity import read_affinity
from policygradex.io import ArtifactError, read_csv, write_csv, write_json

CLUSTER_COLUMNS = ["task", "group"]


def similarity(affinity: np.ndarray) -> np.ndarray:
    """Row-ranked, symmetrised, exponentiated affinity (see module docstring); diagonal set to 1."""
    t = np.asarray(affinity, dtype=float)
    n = len(t)
    off = ~np.eye(n, dtype=bool)
    ranks = np.zeros_like(t)
    for i in range(n):
        ranks[i, off[i]] = rankdata(t[i, off[i]])
    s = (ranks + ranks.T) / 2
    spread = s[off].std() + 1e-12
    s = np.exp((s - s[off].max()) / spread)
    np.fill_diagonal(s, 1.0)
    return s


def relabel(labels: Sequence[int]) -> np.ndarray:
    """Renumber groups 0..g-1 in order of first appearance, so equal partitions give equal files."""
    mapping: dict[int, int] = {}
    return np.array([mapping.setdefault(int(label), len(mapping)) for label in labels])


def spectral(sim: np.ndarray, k: int, seed: int) -> np.ndarray:
    if k == 1:
        return np.zeros(len(sim), dtype=int)
    model = SpectralClustering(n_clusters=k, affinity="precomputed", n_init=100, random_state=seed)
    return relabel(model.fit_predict(sim))


def sdp(sim: np.ndarray, k: int) -> np.ndarray:
    """Grad-TAE's SDP relaxation, rounded greedily; may return fewer or more than k groups."""
    n = len(sim)
    x = cp.Variable((n, n), symmetric=True)
    constraints = [x >> 0, x >= 0, cp.sum(x, axis=1) == 1, cp.trace(x) == k]
    cp.Problem(cp.Maximize(cp.trace(sim @ x)), constraints).solve(solver=cp.SCS, eps=1e-6)
    if x.value is None:
        raise RuntimeError("the SDP solver returned no solution")
    close = x.value > 1.0 / n
    labels = np.full(n, -1)
    group = 0
    for i in range(n):
        if labels[i] >= 0:
            continue
        members = [j for j in range(n) if labels[j] < 0 and (close[i, j] or j == i)]
        labels[members] = group
        group += 1
    return labels


def cluster(affinity: np.ndarray, k: int, method: str, seed: int) -> np.ndarray:
    sim = similarity(affinity)
    if method == "spectral":
        return spectral(sim, k, seed)
    if method == "sdp":
        return relabel(sdp(sim, k))
    raise ValueError(f"cluster.method must be 'spectral' or 'sdp', got {method!r}")


def quality(labels: Sequence[int], planted: Sequence[str]) -> dict[str, float]:
    return {
        "ari": float(adjusted_rand_score(planted, labels)),
        "nmi": float(normalized_mutual_info_score(planted, labels)),
    }


def read_clusters(path: str | Path, names: Sequence[str]) -> pd.DataFrame:
    """Read clusters.csv and check it assigns every task of the benchmark exactly once to groups 0..g-1."""
    frame = read_csv(path, CLUSTER_COLUMNS)
    unknown = sorted(set(frame["task"]) - set(names))
    if unknown:
        raise ArtifactError(
            f"{path}: unknown tasks {', '.join(map(str, unknown))}; the benchmark has {', '.join(names)}"
        )
    if sorted(frame["task"]) != sorted(names):
        raise ArtifactError(f"{path}: every task must appear exactly once; got {list(frame['task'])}")
    groups = sorted(frame["group"].unique())
    if groups != list(range(len(groups))):
        raise ArtifactError(f"{path}: groups must be numbered 0..g-1, got {groups}")
    return frame


def run(
    names: Sequence[str],
    planted: Sequence[str] | None,
    affinity_path: str | Path,
    k: int,
    method: str,
    seed: int,
    output: str | Path,
    quality_output: str | Path,
) -> None:
    affinity = read_affinity(affinity_path, names)
    labels = cluster(affinity.to_numpy(), k, method, seed)
    write_csv(pd.DataFrame({"task": list(names), "group": labels}), output)
    report = {"k": k, "method": method, "num_groups": int(labels.max() + 1)}
    if planted is not None:
        report |= quality(labels, planted)
    write_json(report, quality_output)
    print(f"clusters: {report}")
