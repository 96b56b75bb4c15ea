"""Why PolicyGradEx and gradient similarity give the same groups under first-order scoring: a measurement.

The algebra (README, "Grouping quality against the baselines"): the logistic fit of a subset S starts from
w = 0, where its gradient is X^T A, the sum of the subset's advantage-weighted projected gradients, i.e. the
tasks' mean policy gradients g_l; for a weak signal the fitted w is close to H^-1 sum_{l in S} n_l g_l (H the
Hessian of the fit). The surrogate score of task i after a short step along R w is, to first order,
g_i^T u_S with u_S the unit step. So T[i, j], averaged over the subsets holding i and j, ranks the partners j
of task i mostly by g_i^T g_j: the cosine of gradient similarity times |g_j|. The two can only differ through
the gradient norms, the preconditioner H^-1, and what is not first order (clipping, the step's length,
rollout returns).

Per finished run (a Snakemake working directory with results/<benchmark>/: features, subsets, affinity.csv),
in this process: the mean row-wise Spearman of the estimated affinity T against (a) the cosine matrix that
gradient similarity clusters, and (b) T_lin, the affinity rebuilt from the same subsets with score_i(S) =
g_i^T u_S and u_S = sum_{l in S} g_l / |sum_{l in S} g_l| (no logistic fit, no rollout); and the ARI between
the clusters of T and those of the cosine matrix at the run's k. To tell the gradient norms from the rest, the
same linear model with every g_l scaled to unit length (T_unit: blind to the norms, as the cosine is) is
clustered too: where T_lin's clusters leave the cosine's and T_unit's do not, the norms made the difference.
Where the run has planted groups and the comparison, the row adds both methods' ARI against the planted groups
and their mean returns (comparison.csv): whether parting helped.
Writes first_order_vs_cosine.csv / .json under ``--out`` and prints a markdown table.

    python -m benchmarks.first_order_vs_cosine --runs benchmarks/out/claims/seed-3
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from sklearn.metrics import adjusted_rand_score

from benchmarks.common import (
    baseline_ari,
    chunk_scores,
    commit,
    comparison_returns,
    mean_gradients,
    run_benchmark,
    run_folders_args,
    run_label,
    write_rows,
)
from policygradex.baselines import gradient_similarity
from policygradex.clustering import cluster
from policygradex.config import task_names
from policygradex.io import read_affinity
from policygradex.subsets import linear_affinity
from policygradex.trust import row_spearman


def measure(run: Path) -> dict:
    name, bench = run_benchmark(run)
    results = run / "results" / name
    names = task_names(bench)
    grads = mean_gradients(results, names)
    _, members = chunk_scores(results, "subsets", names)
    affinity = read_affinity(results / "affinity.csv", names).to_numpy()
    cosine = gradient_similarity(grads)
    norms = np.linalg.norm(grads, axis=1)
    linear = linear_affinity(grads, members)
    unit = linear_affinity(grads / np.maximum(norms, 1e-12)[:, None], members)
    quality = json.loads((results / "cluster_quality.json").read_text())
    k = int(quality["k"])
    method = bench["cluster"]["method"]
    groups = {name: cluster(matrix, k, method) for name, matrix in (("T", affinity), ("cosine", cosine))}
    groups |= {name: cluster(matrix, k, method) for name, matrix in (("linear", linear), ("unit", unit))}
    return {
        "run": run_label(run),
        "benchmark": name,
        "seed": bench["seed"],
        "score": bench["estimate"]["score"],
        "commit": commit(),
        "k": k,
        "row_spearman_T_vs_cosine": row_spearman(affinity, cosine),
        "row_spearman_T_vs_linear": row_spearman(affinity, linear),
        "ari_T_vs_cosine_clusters": adjusted_rand_score(groups["T"], groups["cosine"]),
        "ari_T_vs_linear_clusters": adjusted_rand_score(groups["T"], groups["linear"]),
        "ari_linear_vs_cosine_clusters": adjusted_rand_score(groups["linear"], groups["cosine"]),
        "ari_unit_vs_cosine_clusters": adjusted_rand_score(groups["unit"], groups["cosine"]),
        "gradient_norm_ratio": float(norms.max() / norms.min()),
        "ari_policygradex": quality.get("ari", float("nan")),
        "ari_grad_similarity": baseline_ari(results, "grad_similarity"),
    } | comparison_returns(results, ["policygradex", "grad_similarity"])


def main() -> None:
    args = run_folders_args(__doc__, "first_order_vs_cosine")
    rows = [measure(run.resolve()) for run in args.runs]
    for row in rows:
        print(row, flush=True)
    write_rows(rows, args.out, "first_order_vs_cosine", hide=("run", "commit"))


if __name__ == "__main__":
    main()
