"""Can the groups be trusted? Split-half reliability, a permutation test, and k chosen from the data.

Clustering always returns k groups, also from an affinity that is pure noise, and the rank transform of
:func:`policygradex.clustering.similarity` gives any matrix full spread. Three measurements tell structure from noise:

- **Split-half reliability.** The m estimation subsets are split at random into two disjoint halves; each half
  gives its own affinity T_a, T_b (a pair that no subset of a half holds is left undefined, neutral for the
  clustering). The mean row-wise Spearman correlation of T_a and T_b (which partners help task i most, the
  quantity the clustering reads) measures the reliability at m/2 subsets; the Spearman-Brown formula 2r/(1+r)
  corrects it to the m subsets of the real affinity. The *stability* is the ARI between the clusterings of T_a
  and T_b: how far two independent runs of half the size agree. Both are means over ``splits`` random splits.
- **Permutation test, on held-out subsets.** One random split of the subsets into halves a and b: the groups
  found on half a are judged on half b's affinity and those of b on a's, so that the clustering never sees the
  subsets that judge it. The statistic is the mean within-group similarity (on the matrix the clustering sees)
  of those held-out judgements. Its null distribution judges the same groups on affinities whose structure is
  destroyed: each row's off-diagonal entries permuted independently (a task keeps its scores, but which partner
  gave which score is forgotten). p = (1 + #null >= observed) / (1 + permutations). Held out because groups
  judged on the data that found them beat their own null too easily at small groups (the clustering also finds
  the best pairing in every null matrix); one split, because splits share subsets, so a mean over splits would
  understate the null's spread (the measurements behind both: docs/trust.md).
- **k from the data** (``cluster.k: auto``): the largest k in 2..k_max whose split-half stability is within
  ``k_stability_margin`` (cluster.trust) of the best k's: the finest level of
  the structure that two independent halves of the subsets reproduce as well as any level. Structure often has
  levels (pointmass and the ant: two halves of the compass, then four directions, both reproduced at
  stability 1.0), and a user who asks for groups wants the finest level that is as reliable as the coarse one.
  Recorded for every k but not choosing it: z(k) = (within-group similarity at k - mean of the null at k) / its
  standard deviation, with the groups judged on the whole affinity and the null clustering each row-permuted
  affinity itself (gap-statistic style; Tibshirani, Walther and Hastie 2001), which chose k before the
  stability rule (why it no longer does: docs/trust.md); and the eigengap of the normalised Laplacian (von
  Luxburg 2007, 8.3), which prefers the coarse level.

The verdict is ``structure`` when the p-value, the corrected reliability and the stability all pass their
thresholds (``cluster.trust``), and ``no_reliable_structure`` otherwise, with the failed checks as the reason.
Everything is seeded by the benchmark seed. numpy, scipy and scikit-learn only: the cluster stage stays seconds.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
from scipy.stats import rankdata
from sklearn.metrics import adjusted_rand_score

from policygradex.clustering import partition, similarity
from policygradex.seeds import derive
from policygradex.subsets import subset_affinity

#: The matrix the clustering sees, from an affinity (e.g. :func:`policygradex.clustering.similarity`).
SimilarityFn = Callable[[np.ndarray], np.ndarray]
#: Labels of the clustering of such a matrix at k groups (e.g. :func:`policygradex.clustering.partition`).
PartitionFn = Callable[[np.ndarray, int], np.ndarray]

STRUCTURE = "structure"
NO_STRUCTURE = "no_reliable_structure"


@dataclass(frozen=True)
class TrustSettings:
    """The ``cluster.trust`` section of the config, as the schema fills it (its defaults live there alone:
    workflow/schemas/config.schema.yaml)."""

    splits: int
    permutations: int
    alpha: float
    min_reliability: float
    min_stability: float
    k_stability_margin: float

    @classmethod
    def from_config(cls, section: dict[str, Any]) -> TrustSettings:
        """The settings of the config's ``cluster.trust`` section."""
        return cls(**section)


def row_spearman(a: np.ndarray, b: np.ndarray) -> float:
    """Mean over rows i of the Spearman correlation of a[i, j] and b[i, j], j != i, where both are defined."""
    n = len(a)
    values = []
    for i in range(n):
        keep = (np.arange(n) != i) & np.isfinite(a[i]) & np.isfinite(b[i])
        if keep.sum() >= 3 and np.ptp(a[i, keep]) > 0 and np.ptp(b[i, keep]) > 0:
            values.append(np.corrcoef(rankdata(a[i, keep]), rankdata(b[i, keep]))[0, 1])
    return float(np.mean(values)) if values else float("nan")


def spearman_brown(r: float, factor: float = 2.0) -> float:
    """The reliability of a measure ``factor`` times as long as one of reliability ``r`` (here: m vs m/2)."""
    return factor * r / (1 + (factor - 1) * r) if r > -1 / (factor - 1) else float("nan")


def eigengaps(sim: np.ndarray, k_values: Sequence[int]) -> dict[int, float]:
    """lambda_{k+1} - lambda_k of the symmetric normalised Laplacian I - D^-1/2 S D^-1/2, per k (eigenvalues
    ascending; self-similarities left out, as in :func:`policygradex.clustering.spectral`)."""
    s = (sim + sim.T) / 2
    np.fill_diagonal(s, 0.0)
    d = 1 / np.sqrt(s.sum(axis=1))
    eigenvalues = np.linalg.eigvalsh(np.eye(len(s)) - d[:, None] * s * d[None, :])
    return {k: float(eigenvalues[k] - eigenvalues[k - 1]) for k in k_values}


def intra_group_similarity(sim: np.ndarray, labels: np.ndarray) -> float:
    """Mean similarity of the pairs i != j that share a group (0 when every group is a single task)."""
    same = (labels[:, None] == labels[None, :]) & ~np.eye(len(labels), dtype=bool)
    return float(sim[same].mean()) if same.any() else 0.0


def candidate_ks(n: int, k_max: int) -> list[int]:
    """2..min(k_max, n - 1): k = 1 and k = n (every task alone) group nothing."""
    return list(range(2, max(2, min(k_max, n - 1)) + 1))


def split_half(
    scores: np.ndarray,
    members: np.ndarray,
    k_values: Sequence[int],
    similarity_fn: SimilarityFn,
    partition_fn: PartitionFn,
    splits: int,
    seed: int,
) -> dict[str, Any]:
    """Row Spearman of the halves' affinities, their pair coverage, and the ARI of their clusterings per k."""
    rng = np.random.default_rng(seed)
    m, n = members.shape
    off = ~np.eye(n, dtype=bool)
    rhos, coverage = [], []
    agreement: dict[int, list[float]] = {k: [] for k in k_values}
    for _ in range(splits):
        t_a, t_b = half_affinities(scores, members, rng)
        rhos.append(row_spearman(t_a, t_b))
        coverage.append(float((np.isfinite(t_a) & np.isfinite(t_b))[off].mean()))
        sim_a, sim_b = similarity_fn(t_a), similarity_fn(t_b)
        for k in k_values:
            agreement[k].append(adjusted_rand_score(partition_fn(sim_a, k), partition_fn(sim_b, k)))
    rho = float(np.nanmean(rhos)) if np.isfinite(rhos).any() else float("nan")
    return {
        "splits": splits,
        "half_subsets": m // 2,
        "pair_coverage": float(np.mean(coverage)),
        "row_spearman_half": rho,
        "row_spearman": spearman_brown(rho),
        "stability_by_k": {k: float(np.mean(v)) for k, v in agreement.items()},
    }


def null_contrast(
    affinity: np.ndarray,
    k_values: Sequence[int],
    similarity_fn: SimilarityFn,
    partition_fn: PartitionFn,
    permutations: int,
    seed: int,
) -> dict[int, dict[str, float]]:
    """Per k: the found partition's intra-group similarity, that of the same clustering of ``permutations``
    row-permuted affinities (mean, standard deviation, 95% quantile), z and the p-value (module doc)."""
    rng = np.random.default_rng(seed)
    sim = similarity_fn(affinity)
    observed = {k: intra_group_similarity(sim, partition_fn(sim, k)) for k in k_values}
    null = np.empty((permutations, len(k_values)))
    for r in range(permutations):
        null_sim = similarity_fn(permute_rows(affinity, rng))
        null[r] = [intra_group_similarity(null_sim, partition_fn(null_sim, k)) for k in k_values]
    return {k: _against_null(observed[k], null[:, column]) for column, k in enumerate(k_values)}


def half_affinities(scores: np.ndarray, members: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, ...]:
    """The affinities of a random split of the m subsets into two disjoint halves of m // 2 each."""
    m = len(members)
    order = rng.permutation(m)
    return tuple(
        subset_affinity(scores[half], members[half]) for half in (order[: m // 2], order[m // 2 : 2 * (m // 2)])
    )


def held_out_tests(
    scores: np.ndarray,
    members: np.ndarray,
    k_values: Sequence[int],
    similarity_fn: SimilarityFn,
    partition_fn: PartitionFn,
    permutations: int,
    seed: int,
) -> dict[int, dict[str, float]]:
    """Per k: the permutation test of the groups at k, each half's groups judged on the other half (module doc).
    One split and one set of permuted halves serve every k."""
    rng = np.random.default_rng(seed)
    t_a, t_b = half_affinities(scores, members, rng)
    sim_a, sim_b = similarity_fn(t_a), similarity_fn(t_b)
    labels = {k: (partition_fn(sim_a, k), partition_fn(sim_b, k)) for k in k_values}

    def judged(u_a: np.ndarray, u_b: np.ndarray) -> list[float]:
        """Each candidate k's agreement of the halves: each half's groups judged on the other half's similarity."""
        return [
            (intra_group_similarity(u_b, labels_a) + intra_group_similarity(u_a, labels_b)) / 2
            for labels_a, labels_b in labels.values()
        ]

    observed = judged(sim_a, sim_b)
    null = np.array(
        [
            judged(similarity_fn(permute_rows(t_a, rng)), similarity_fn(permute_rows(t_b, rng)))
            for _ in range(permutations)
        ]
    )
    return {k: _against_null(observed[column], null[:, column]) for column, k in enumerate(labels)}


def permute_rows(affinity: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """The affinity with each row's off-diagonal entries permuted independently (the null of no structure)."""
    n = len(affinity)
    off = ~np.eye(n, dtype=bool)
    shuffled = affinity.copy()
    shuffled[off] = rng.permuted(affinity[off].reshape(n, n - 1), axis=1).ravel()
    return shuffled


def _against_null(observed: float, null: np.ndarray) -> dict[str, float]:
    """The statistic against its null draws: their mean, standard deviation and 95% quantile, z and p."""
    return {
        "statistic": float(observed),
        "null_mean": float(null.mean()),
        "null_sd": float(null.std()),
        "null_q95": float(np.quantile(null, 0.95)),
        "z": float((observed - null.mean()) / max(null.std(), 1e-12)),
        "permutations": len(null),
        "p_value": float((1 + (null >= observed).sum()) / (1 + len(null))),
    }


def choose_k(stability_by_k: dict[int, float], settings: TrustSettings) -> int:
    """``k: auto``: the largest k whose split-half stability is within ``k_stability_margin`` of the best
    (module doc). The held-out p-values do not take part, so that choosing k does not bias the chosen k's test."""
    best = max(stability_by_k.values())
    return max(c for c, stability in stability_by_k.items() if stability >= best - settings.k_stability_margin)


def assess(
    affinity: np.ndarray,
    scores: np.ndarray,
    members: np.ndarray,
    k: int | str,
    k_max: int,
    similarity_fn: SimilarityFn,
    partition_fn: PartitionFn,
    settings: TrustSettings,
    seed: int,
    gradient_consistency: float | None = None,
) -> dict[str, Any]:
    """Choose k (when ``k == "auto"``), measure reliability and significance, and give the verdict.

    The splits, the permutations behind each k's z and the held-out tests draw from their own streams of ``seed``
    (seeds.STREAMS: independent draws).
    Returns the fields of cluster_quality.json that this module owns: ``k``, ``k_selection``, ``k_scores``,
    ``also_supported`` (other k that pass the significance and stability checks, with ``k: auto``),
    ``reliability``, ``p_value``, ``permutation``, ``verdict``, ``reason`` and ``thresholds``.
    """
    n = len(affinity)
    ks = candidate_ks(n, k_max) if k == "auto" else [int(k)]
    gaps = eigengaps(similarity_fn(affinity), candidate_ks(n, max(k_max, max(ks))))
    fns = (similarity_fn, partition_fn)
    halves = split_half(scores, members, ks, *fns, settings.splits, derive(seed, "trust_splits"))
    stability_by_k = halves.pop("stability_by_k")
    contrast = null_contrast(affinity, ks, *fns, settings.permutations, derive(seed, "trust_null"))
    tests = held_out_tests(scores, members, ks, *fns, settings.permutations, derive(seed, "trust_held_out"))
    if k == "auto":
        chosen = choose_k(stability_by_k, settings)
        selection = "largest k whose split-half stability is within k_stability_margin of the best"
    else:
        chosen, selection = int(k), "config"
    # Structure often has levels (pointmass: two halves of the compass, then four directions): name the other k
    # that pass the same checks, so that a user can pick the level they need.
    also = [
        {"k": c, "z": contrast[c]["z"], "stability": stability_by_k[c], "p_value": tests[c]["p_value"]}
        for c in ks
        if c != chosen and stability_by_k[c] >= settings.min_stability and tests[c]["p_value"] <= settings.alpha
    ]
    stability, test = stability_by_k[chosen], tests[chosen]
    checks = [  # (what, value, limit, True when a value below the limit passes)
        ("permutation p-value (held-out halves)", test["p_value"], settings.alpha, True),
        ("split-half reliability (row Spearman, corrected to m)", halves["row_spearman"], settings.min_reliability,
         False),
        (f"split-half stability ARI at k = {chosen}", stability, settings.min_stability, False),
    ]  # fmt: skip
    passed, failed = [], []
    for what, value, limit, below in checks:
        ok = value <= limit if below else value >= limit  # NaN fails
        relation = ("<=" if ok else ">") if below else (">=" if ok else "<")
        (passed if ok else failed).append(f"{what} {value:.3f} {relation} {limit}")
    verdict = NO_STRUCTURE if failed else STRUCTURE
    reason = "; ".join(failed or passed)
    if gradient_consistency is not None:
        reason += f"; median gradient consistency {gradient_consistency:.2f}"
    return {
        "k": chosen,
        "k_selection": selection,
        "k_scores": [
            {
                "k": c,
                "z": contrast[c]["z"],
                "p_value": tests[c]["p_value"],
                "stability": stability_by_k[c],
                "eigengap": gaps[c],
            }
            for c in ks
        ],
        "also_supported": also,
        "reliability": {**halves, "stability": stability},
        "p_value": test["p_value"],
        "permutation": test,
        "verdict": verdict,
        "reason": reason,
        "thresholds": asdict(settings),
    }


def judge(
    matrix: np.ndarray,
    scores: np.ndarray,
    members: np.ndarray,
    cfg: dict,
    seed: int,
    gradient_consistency: float | None = None,
) -> dict:
    """The trust check (trust.assess) of ``matrix`` with the clustering this stage uses: ``cfg`` is a config's
    ``cluster`` section (k, k_max, method, and trust, whose missing settings take their defaults). One wiring for
    the stage and for the benchmarks and tests that judge scores outside a run."""
    method = cfg["method"]
    return assess(
        matrix,
        scores,
        members,
        k=cfg["k"],
        k_max=cfg["k_max"],
        similarity_fn=similarity,
        partition_fn=lambda sim, k: partition(sim, k, method),
        settings=TrustSettings.from_config(cfg["trust"]),
        seed=seed,
        gradient_consistency=gradient_consistency,
    )
