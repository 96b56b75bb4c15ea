"""The subset fit two ways: one Newton step from per-task moments against scikit-learn's converged fit.

``estimate.fit: newton_step`` replaces the per-subset logistic regression (``logistic``) by one Newton step from
w = 0 whose gradient and Hessian are sums of per-task moments (estimator.newton_step_direction). This script
measures, on finished runs, what that changes and what it saves. For each run folder (a Snakemake working
directory holding ``config.yaml`` and the run's ``results/<benchmark>/``: its meta-policy and features), the first
``--subsets`` estimation subsets of its config (the subsets the run itself drew) are fitted and scored both ways:

- ``cosine``: cosine of the two fits' dtheta_S (median and minimum over the subsets);
- ``fit_cpu_s``: CPU seconds per subset of the fit alone (for ``newton_step`` the per-task moments, computed once,
  are included, spread over the subsets), and ``estimate_cpu_s``: fit plus scoring, what a subset costs;
- ``row_spearman``: mean row-wise Spearman correlation of the two affinity matrices; ``ari_between``: ARI of the
  two clusterings at the config's k; ``ari_planted_*``: each against the planted groups (where there are some).

One row per run, written to fit.csv / fit.json with the commit; a markdown table is printed.

    python -m benchmarks.fit --runs benchmarks/out/trust_subsets_pm2/pointmass/seed-7 --out benchmarks/out/fit
"""

from __future__ import annotations

import copy
import time
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from sklearn.metrics import adjusted_rand_score

from benchmarks.common import (
    commit,
    markdown_table,
    read_rows,
    run_benchmark,
    run_label,
    script_parser,
    write_rows,
)
from policygradex.clustering import cluster
from policygradex.config import planted_groups, task_names
from policygradex.estimator import SubsetEstimator
from policygradex.subsets import draw_subsets, subset_affinity
from policygradex.trust import row_spearman

FITS = ("logistic", "newton_step")
TABLE = ["run", "benchmark", "score", "subsets", "cosine_median", "cosine_min", "row_spearman", "ari_between",
         "fit_cpu_s_logistic", "fit_cpu_s_newton_step", "fit_speedup", "estimate_cpu_s_logistic",
         "estimate_cpu_s_newton_step", "estimate_speedup", "commit"]  # fmt: skip


def fit_and_score(run: Path, name: str, bench: dict, fit: str, subsets: list[tuple[int, ...]]) -> dict:
    """dtheta_S and the scores of every subset with ``estimate.fit: fit``, and the CPU seconds of each part (a
    fresh estimator per fit, so that newton_step's per-task moments count in its cost)."""
    bench = copy.deepcopy(bench)
    bench["estimate"]["fit"] = fit
    results = run / "results" / name
    estimator = SubsetEstimator(
        bench, results / "meta" / "policy.pt", [results / "features" / f"{t}.npz" for t in task_names(bench)]
    )
    n = len(estimator.names)
    scores, members, deltas = np.full((len(subsets), n), np.nan), np.zeros((len(subsets), n), bool), []
    fit_seconds = score_seconds = 0.0
    for row, subset in enumerate(subsets):
        start = time.process_time()
        delta = estimator.delta_theta(subset)
        fit_seconds += time.process_time() - start
        start = time.process_time()
        for task, score in estimator.scores(subset, delta).items():
            scores[row, task] = score
        score_seconds += time.process_time() - start
        members[row, list(subset)] = True
        deltas.append(delta)
    return {
        "affinity": subset_affinity(scores, members),
        "deltas": torch.stack(deltas),
        "projection_dim": estimator.projection.dim,
        "fit_cpu_s": fit_seconds / len(subsets),
        "estimate_cpu_s": (fit_seconds + score_seconds) / len(subsets),
    }


def measure(run: Path, num_subsets: int | None) -> dict:
    name, bench = run_benchmark(run)
    cfg = bench["estimate"]
    count = num_subsets or cfg["num_subsets"]
    subsets = draw_subsets(len(bench["tasks"]), cfg["subset_size"], count, bench["seed"])
    torch.set_num_threads(1)  # CPU seconds of one thread, comparable between the two fits
    found = {fit: fit_and_score(run, name, bench, fit, subsets) for fit in FITS}
    a, b = (found[fit]["deltas"] for fit in FITS)
    cosine = torch.nn.functional.cosine_similarity(a, b, dim=1).numpy()
    planted = planted_groups(bench)
    k = len(set(planted)) if planted else bench["cluster"]["k"]  # the planted k; else the config's, an integer
    labels = {fit: cluster(found[fit]["affinity"], int(k), bench["cluster"]["method"]) for fit in FITS}
    row = {
        "run": run_label(run),
        "benchmark": name,
        "score": cfg["score"],
        "subsets": count,
        "projection_dim": found["logistic"]["projection_dim"],
        "cosine_median": float(np.median(cosine)),
        "cosine_min": float(cosine.min()),
        "row_spearman": row_spearman(found["logistic"]["affinity"], found["newton_step"]["affinity"]),
        "k": int(k),
        "ari_between": adjusted_rand_score(labels["logistic"], labels["newton_step"]),
    }
    for fit in FITS:
        row[f"fit_cpu_s_{fit}"] = found[fit]["fit_cpu_s"]
        row[f"estimate_cpu_s_{fit}"] = found[fit]["estimate_cpu_s"]
        if planted:
            row[f"ari_planted_{fit}"] = adjusted_rand_score(planted, labels[fit])
    row["fit_speedup"] = row["fit_cpu_s_logistic"] / row["fit_cpu_s_newton_step"]
    row["estimate_speedup"] = row["estimate_cpu_s_logistic"] / row["estimate_cpu_s_newton_step"]
    row["commit"] = commit()
    return row


def readme_table(paths: list[Path]) -> str:
    """The README's table of one or more fit.csv files, each run named by its last two folders."""
    table = pd.concat([read_rows(path) for path in paths], ignore_index=True)
    table["run"] = table["run"].map(lambda run: "/".join(Path(run).parts[-2:]))
    return markdown_table(table[TABLE])


def main() -> None:
    parser = script_parser(__doc__, "fit", table="fit.csv (or several: one README table)", show=readme_table, many=True)
    parser.add_argument("--runs", type=Path, nargs="+", help="finished run folders (workdirs)")
    parser.add_argument("--subsets", type=int, help="the first this many of each run's subsets (default: all)")
    args = parser.parse_args()
    if not args.runs:
        parser.error("give --runs (to measure) or --table (to print)")
    rows = []
    for run in args.runs:
        rows.append(measure(run.resolve(), args.subsets))
        print(rows[-1], flush=True)
    write_rows(rows, args.out, "fit")


if __name__ == "__main__":
    main()
