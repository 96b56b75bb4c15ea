"""Clustering a task-affinity matrix into k groups of high intra-group similarity (used by the cluster stage, the
trust check, the baselines and the speedup's comparison of the estimated and the fully trained affinity).

The raw affinity mixes tasks whose scores live on different scales and noise levels, so before clustering each
row is replaced by the ranks of its off-diagonal entries (which partners help task i most, whatever the units
and spread of task i's scores), the matrix is symmetrised, and mapped to a non-negative similarity
exp((S - max S) / std S) (why ranks and not row z-scores: docs/configuration.md, "Why these settings"). Two algorithms
maximise the intra-group similarity: spectral clustering on the precomputed similarity (default), or the SDP
relaxation of Grad-TAE (max <S, X> s.t. X psd, X >= 0, X 1 = 1, tr X = k; cvxpy) rounded by thresholding X > 1/n.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from scipy.linalg import qr
from scipy.stats import rankdata, spearmanr
from sklearn.metrics import adjusted_rand_score, normalized_mutual_info_score


def row_ranks(affinity: np.ndarray) -> np.ndarray:
    """Each row's off-diagonal entries ranked and scaled to [0, 1]: which partners help task i most (1) and least
    (0). The diagonal and an undefined entry (NaN: a pair that no subset held, as in one half of the subsets, see
    trust.py) get the neutral rank 0.5."""
    t = np.asarray(affinity, dtype=float)
    n = len(t)
    off = ~np.eye(n, dtype=bool)
    ranks = np.full((n, n), 0.5)
    if np.isfinite(t[off]).all():  # the usual case, ranked in one call (the trust check ranks hundreds)
        ranks[off] = ((rankdata(t[off].reshape(n, n - 1), axis=1) - 1) / max(n - 2, 1)).ravel()
    else:
        for i in range(n):
            defined = off[i] & np.isfinite(t[i])
            if defined.sum() > 1:
                ranks[i, defined] = (rankdata(t[i, defined]) - 1) / (defined.sum() - 1)
    return ranks


def similarity(affinity: np.ndarray) -> np.ndarray:
    """Row-ranked (:func:`row_ranks`), symmetrised, exponentiated affinity (see module docstring); diagonal set
    to 1."""
    ranks = row_ranks(affinity)
    off = ~np.eye(len(ranks), dtype=bool)
    s = (ranks + ranks.T) / 2
    spread = s[off].std() + 1e-12
    s = np.exp((s - s[off].max()) / spread)
    np.fill_diagonal(s, 1.0)
    return s


def relabel(labels: Sequence[int]) -> np.ndarray:
    """Renumber groups 0..g-1 in order of first appearance, so equal partitions give equal files."""
    mapping: dict[int, int] = {}
    return np.array([mapping.setdefault(int(label), len(mapping)) for label in labels])


def spectral(sim: np.ndarray, k: int) -> np.ndarray:
    """Normalised spectral clustering of a precomputed similarity, labels assigned by the QR method of Damle,
    Minden and Ying (2019).

    The same partition as scikit-learn's ``SpectralClustering(affinity="precomputed", assign_labels=
    "cluster_qr")`` (tests/test_affinity_cluster.py checks them against each other), written out with one dense
    eigendecomposition: the trust check (trust.py) clusters hundreds of matrices, and scikit-learn's iterative
    eigensolver and input validation take ten times as long on matrices of tens of tasks. Deterministic: no
    random starts, unlike k-means on the embedding (which gave the same accuracy on planted blocks).
    """
    if k == 1:
        return np.zeros(len(sim), dtype=int)
    adjacency = np.array(sim, dtype=float)
    np.fill_diagonal(adjacency, 0.0)  # as scipy's normalised graph Laplacian, which ignores self-loops
    d = 1 / np.sqrt(adjacency.sum(axis=1))
    # The k smallest eigenvectors of I - D^-1/2 A D^-1/2 are the k largest of D^-1/2 A D^-1/2.
    maps = np.linalg.eigh(d[:, None] * adjacency * d[None, :])[1][:, -k:] * d[:, None]
    _, pivots = qr(maps.T, pivoting=True, mode="r")
    u, _, vt = np.linalg.svd(maps[pivots[:k], :].T)
    return relabel(np.abs(maps @ (u @ vt)).argmax(axis=1))


def sdp(sim: np.ndarray, k: int) -> np.ndarray:
    """Grad-TAE's SDP relaxation, rounded greedily; may return fewer or more than k groups."""
    import cvxpy as cp  # about a second to import, and only `method: sdp` uses it

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


def partition(sim: np.ndarray, k: int, method: str) -> np.ndarray:
    """Labels 0..k-1 (numbered by first appearance) of the tasks of a similarity matrix by ``method``."""
    if method == "spectral":
        return spectral(sim, k)
    if method == "sdp":
        return relabel(sdp(sim, k))
    raise ValueError(f"cluster.method must be 'spectral' or 'sdp', got {method!r}")


def cluster(affinity: np.ndarray, k: int, method: str) -> np.ndarray:
    """Labels of the tasks of an affinity matrix: :func:`partition` of its :func:`similarity`."""
    return partition(similarity(affinity), k, method)


def quality(labels: Sequence[int], planted: Sequence[str]) -> dict[str, float]:
    """Agreement of the found groups with the planted ones: adjusted Rand index and normalised mutual information."""
    return {
        "ari": float(adjusted_rand_score(planted, labels)),
        "nmi": float(normalized_mutual_info_score(planted, labels)),
    }


def affinity_agreement(estimated: np.ndarray, full: np.ndarray, k: int, method: str) -> dict[str, float]:
    """How well an estimated affinity agrees with a reference one (full training's): whether clustering both at
    ``k`` gives the same groups (ARI), the Spearman correlation over all entries (which also rewards each task's
    scale) and, averaged, row by row (each row one task's ranking of its co-trained tasks)."""
    rows = [spearmanr(e, f).statistic for e, f in zip(estimated, full, strict=True)]
    return {
        "clusters_ari_estimated_vs_full": float(
            adjusted_rand_score(cluster(estimated, k, method), cluster(full, k, method))
        ),
        "spearman": float(spearmanr(estimated.ravel(), full.ravel()).statistic),
        "spearman_rowwise_mean": float(np.nanmean(rows)),
    }
