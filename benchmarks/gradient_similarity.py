"""Does an estimate built from theta* see what the gradient cosine cannot? Both against real fine-tuning.

Real fine-tuning of every subset (``full_training``: T_full, the affinity of really fine-tuned subsets) is what
PolicyGradEx approximates. Per finished run that has it (a Snakemake working directory with features, the
estimate's and full training's chunks), on the subsets that were really fine-tuned:

- each matrix against T_full: the mean row-wise Spearman (which partners help task i most, what the clustering
  reads) and the ARI of its clusters against T_full's at the run's k (and against the planted groups). The
  matrices: the gradient cosine of gradient similarity; T, the run's own estimate on those subsets; and T under
  each estimate variant (:data:`VARIANTS`), re-estimated in this process from the run's theta* and features;
- the ceiling of any estimate: how well T_full reproduces itself (split halves of its subsets, their row
  Spearman corrected to all of them, and the ARI of the halves' clusters);
- each variant's CPU seconds against the default estimate's, on the same subsets in this process;
- how pairwise the subset scores are: per task, its score in each subset it belongs to fitted from the subset's
  membership by a linear model (partners' effects add up: what an affinity matrix holds) and by an RBF kernel
  ridge (any interaction), 5-fold held-out R^2 and Spearman, for T_full's scores and for T's.

Writes, under ``--out``, gradient_similarity.csv (one row per run and matrix), subset_models.csv (one row per
run, scores and model) and, over the runs, gradient_similarity_summary.csv (mean and 95% t-interval per matrix)
and prints them as markdown tables. Each row names the commit that made the run (its provenance.json) and the
commit of this measurement.

    python -m benchmarks.gradient_similarity --runs benchmarks/out/near_far/seed-0 benchmarks/out/near_far/seed-1
    python -m benchmarks.gradient_similarity --table docs/results/gradient_similarity_..._summary.csv
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from scipy.stats import spearmanr
from sklearn.kernel_ridge import KernelRidge
from sklearn.linear_model import RidgeCV
from sklearn.metrics import adjusted_rand_score, r2_score
from sklearn.model_selection import GridSearchCV, KFold, cross_val_predict

from benchmarks.common import (
    chunk_scores,
    ci95,
    commit,
    made_at,
    mean_gradients,
    read_rows,
    run_benchmark,
    run_label,
    script_parser,
    write_rows,
)
from policygradex.baselines import gradient_similarity
from policygradex.clustering import cluster, partition, similarity
from policygradex.config import full_training_subsets, planted_groups, task_names
from policygradex.estimator import SubsetEstimator
from policygradex.subsets import subset_affinity
from policygradex.trust import row_spearman, split_half

#: The estimate variants compared with the default (README, "PolicyGradEx against gradient similarity"): each
#: name's estimate settings over the run's own.
VARIANTS: dict[str, dict] = {
    "line_search": {"step": "line_search"},
    "unit_gradients": {"gradients": "unit"},
    "first_order": {"score": "first_order"},
    "second_order": {"score": "second_order"},
    "fitted_C0.01": {"fit": "logistic", "l2_inverse": 0.01, "step": "fitted"},
    "fitted_C1": {"fit": "logistic", "l2_inverse": 1.0, "step": "fitted"},
    "fitted_C100": {"fit": "logistic", "l2_inverse": 100.0, "step": "fitted"},
}
SPLITS = 50  # random halvings of T_full's subsets for its ceiling


def reestimate(bench: dict, results: Path, subsets: dict[int, tuple[int, ...]], settings: dict) -> dict:
    """Scores of ``subsets`` (id -> task indices) under the run's theta* and features with ``settings`` over the
    run's estimate settings, the CPU seconds they took, and each subset's step (for the fitted steps' regime)."""
    names = task_names(bench)
    variant = {**bench, "estimate": {**bench["estimate"], **settings}}
    estimator = SubsetEstimator(
        variant, results / "meta" / "policy.pt", [results / "features" / f"{t}.npz" for t in names]
    )
    start = time.process_time()
    scores = np.full((len(subsets), len(names)), np.nan)
    steps = []
    for row, subset in enumerate(subsets.values()):
        steps.append(estimator.delta_theta(subset))
        for task, score in estimator.estimate_at(subset, steps[-1]).items():
            scores[row, task] = score
    seconds = time.process_time() - start
    return {"scores": scores, "cpu_seconds": seconds, "steps": torch.stack(steps).numpy(),
            "theta_norm": float(estimator.theta_flat.norm())}  # fmt: skip


def agreement(matrix: np.ndarray, full: np.ndarray, k: int, method: str, planted: list | None) -> dict:
    """A matrix against T_full: row Spearman and the ARI of the clusterings (and of its clusters vs planted)."""
    labels = cluster(matrix, k, method)
    return {
        "row_spearman_vs_full": row_spearman(matrix, full),
        "ari_vs_full_clusters": float(adjusted_rand_score(cluster(full, k, method), labels)),
        "ari_vs_planted": float(adjusted_rand_score(planted, labels)) if planted else float("nan"),
    }


def subset_models(scores: np.ndarray, members: np.ndarray, seed: int) -> dict[str, float]:
    """Mean over tasks of the 5-fold held-out R^2 and Spearman of a task's scores predicted from the membership of
    the other tasks, by a linear ridge and by an RBF kernel ridge (both with their penalty chosen inside)."""
    folds = KFold(5, shuffle=True, random_state=seed)
    kernel = GridSearchCV(
        KernelRidge(kernel="rbf"), {"alpha": [1e-2, 1e-1, 1, 10], "gamma": [0.03, 0.1, 0.3, 1]}, cv=3
    )  # fmt: skip
    found: dict[str, list[float]] = {}
    for task in range(members.shape[1]):
        holds = members[:, task]
        x = np.delete(members[holds], task, axis=1).astype(float)
        y = scores[holds, task]
        y = (y - y.mean()) / max(float(y.std()), 1e-12)
        for name, model in (("linear", RidgeCV(alphas=np.logspace(-3, 3, 13))), ("kernel", kernel)):
            predicted = cross_val_predict(model, x, y, cv=folds)
            found.setdefault(f"{name}_r2", []).append(r2_score(y, predicted))
            found.setdefault(f"{name}_spearman", []).append(float(spearmanr(y, predicted).statistic))
    return {name: float(np.mean(values)) for name, values in found.items()}


def measure(run: Path, variants: list[str]) -> tuple[list[dict], list[dict]]:
    name, bench = run_benchmark(run)
    results = run / "results" / name
    names = task_names(bench)
    k, method = int(bench["cluster"]["k"]), bench["cluster"]["method"]
    planted = planted_groups(bench)
    full_scores, members = chunk_scores(results, "full_training", names)
    estimated, estimated_members = chunk_scores(results, "subsets", names)
    count = full_training_subsets(bench)
    if not (estimated_members[:count] == members).all():
        raise SystemExit(f"{run}: the really fine-tuned subsets are not the estimate's first {count}")
    full = subset_affinity(full_scores, members)
    base = {"run": run_label(run), "benchmark": name, "seed": bench["seed"], "made_at": made_at(results),
            "measured_at": commit(), "k": k, "subsets": count}  # fmt: skip
    halves = split_half(full_scores, members, [k], similarity, lambda sim, k: partition(sim, k, method), SPLITS, 0)
    full_vs_planted = float(adjusted_rand_score(planted, cluster(full, k, method))) if planted else np.nan
    rows = [
        base
        | {
            "matrix": "T_full_split_half",
            "row_spearman_vs_full": halves["row_spearman"],
            "ari_vs_full_clusters": halves["stability_by_k"][k],
            "ari_vs_planted": full_vs_planted,
        }
    ]
    grads = mean_gradients(results, names)
    rows.append(base | {"matrix": "cosine"} | agreement(gradient_similarity(grads), full, k, method, planted))
    rows.append(
        base | {"matrix": "T"} | agreement(subset_affinity(estimated[:count], members), full, k, method, planted)
    )
    subsets = {i: tuple(np.flatnonzero(m)) for i, m in enumerate(members)}
    reference = reestimate(bench, results, subsets, {})
    rows[-1]["reproduced_max_abs_diff"] = float(np.nanmax(np.abs(reference["scores"] - estimated[:count])))
    default_steps = reference["steps"]
    for variant in variants:
        found = reestimate(bench, results, subsets, VARIANTS[variant])
        steps = found["steps"]
        cosines = (steps * default_steps).sum(1) / (
            np.linalg.norm(steps, axis=1) * np.linalg.norm(default_steps, axis=1)
        )
        rows.append(
            base
            | {"matrix": variant}
            | agreement(subset_affinity(found["scores"], members), full, k, method, planted)
            | {
                "cpu_ratio_vs_default": found["cpu_seconds"] / reference["cpu_seconds"],
                "step_cosine_vs_default_median": float(np.median(cosines)),
                "step_length_rel_median": float(np.median(np.linalg.norm(steps, axis=1))) / found["theta_norm"],
            }
        )
    models = [
        base | {"scores": label} | subset_models(values, members, bench["seed"])
        for label, values in (("T_full", full_scores), ("T", estimated[:count]))
    ]
    return rows, models


def summary(rows: pd.DataFrame) -> pd.DataFrame:
    """Per benchmark and matrix, over the runs: mean and 95% t-interval of each measure, and of the paired
    differences (same run) of the row Spearman against T_full from the cosine's (``gain_vs_cosine``) and from T's
    (``gain_vs_T``); with the seeds and the commits that made the runs."""
    measures = ["row_spearman_vs_full", "ari_vs_full_clusters", "ari_vs_planted", "cpu_ratio_vs_default"]
    rows = rows.copy()
    # T_full's split-half reliability r bounds how well anything free of fine-tuning noise can agree with T_full:
    # by sqrt(r) (the attenuation of a correlation by the noise of one side).
    halves = rows["matrix"] == "T_full_split_half"
    rows.loc[halves, "row_spearman_ceiling"] = np.sqrt(rows.loc[halves, "row_spearman_vs_full"].clip(lower=0))
    for other in ("cosine", "T"):
        reference = rows[rows["matrix"] == other].set_index("run")["row_spearman_vs_full"]
        rows[f"gain_vs_{other}"] = rows["row_spearman_vs_full"] - rows["run"].map(reference)
    out = []
    for (benchmark, matrix), group in rows.groupby(["benchmark", "matrix"], sort=False):
        entry = {"benchmark": benchmark, "matrix": matrix, "seeds": " ".join(str(s) for s in group["seed"]),
                 "made_at": " ".join(sorted(set(group["made_at"])))}  # fmt: skip
        for measure in [*measures, "row_spearman_ceiling", "gain_vs_cosine", "gain_vs_T"]:
            if measure in group and group[measure].notna().any():
                entry[measure] = float(group[measure].mean())
                entry[f"{measure}_ci95"] = ci95(group[measure])
        out.append(entry)
    return pd.DataFrame(out)


#: The decision rule: a variant becomes the default when, on the reported seeds, its row Spearman against T_full
#: beats the cosine's by at least this much on the benchmark built to part them ...
MIN_GAIN = 0.1
#: ... is not worse than today's T elsewhere (its mean paired difference from T above this) ...
MAX_LOSS = -0.05
#: ... and costs at most this many times today's estimate in CPU seconds.
MAX_COST = 3.0


def decision(over_runs: pd.DataFrame, parting: str) -> pd.DataFrame:
    """Per variant: its gain over the cosine on ``parting`` (the benchmark built to part them), its worst mean
    difference from T on the others, its CPU ratio, and whether it passes (:data:`MIN_GAIN`, :data:`MAX_LOSS`,
    :data:`MAX_COST`)."""
    variants = [m for m in over_runs["matrix"].unique() if m in VARIANTS]
    rows = []
    for variant in variants:
        mine = over_runs[over_runs["matrix"] == variant].set_index("benchmark")
        others = mine.drop(index=parting, errors="ignore")
        parts = mine.loc[parting] if parting in mine.index else pd.Series(dtype=float)
        gain, gain_ci95 = float(parts.get("gain_vs_cosine", np.nan)), float(parts.get("gain_vs_cosine_ci95", np.nan))
        worst = float(others["gain_vs_T"].min()) if len(others) else float("nan")
        cost = float(mine["cpu_ratio_vs_default"].max())
        rows.append({
            "variant": variant,
            f"gain_vs_cosine_{parting}": gain,
            f"gain_vs_cosine_{parting}_ci95": gain_ci95,
            "worst_gain_vs_T_elsewhere": worst,
            "cpu_ratio": cost,
            "passes": bool(gain >= MIN_GAIN and (np.isnan(worst) or worst >= MAX_LOSS) and cost <= MAX_COST),
        })  # fmt: skip
    return pd.DataFrame(rows)


def main() -> None:
    parser = script_parser(__doc__, "gradient_similarity", table="gradient_similarity_summary.csv")
    parser.add_argument("--runs", type=Path, nargs="+", help="finished run folders with full training")
    parser.add_argument("--variants", nargs="*", default=list(VARIANTS), choices=list(VARIANTS))
    parser.add_argument(
        "--rows", type=Path, nargs="+", metavar="CSV",
        help="measure nothing: summarise committed gradient_similarity.csv files (of several benchmarks) again",
    )  # fmt: skip
    parser.add_argument("--parting", default="pointmass_near_far", help="the benchmark built to part T and cosine")
    args = parser.parse_args()
    commit()  # the code that measures: read now, before any commit made while this runs
    torch.set_num_threads(1)  # as an estimate job runs: CPU seconds comparable between the variants
    if args.rows:
        table = pd.concat([read_rows(path) for path in args.rows], ignore_index=True)
    elif args.runs:
        rows, models = [], []
        for run in args.runs:
            found, fitted = measure(run.resolve(), args.variants)
            rows += found
            models += fitted
            print(f"{run}: done", flush=True)
        table = write_rows(rows, args.out, "gradient_similarity", hide=("run", "made_at", "measured_at"))
        write_rows(models, args.out, "subset_models", hide=("run", "made_at", "measured_at"))
    else:
        parser.error("give --runs (measure) or --rows (summarise), or --table FILE")
    over_runs = summary(table)
    write_rows(over_runs.to_dict("records"), args.out, "gradient_similarity_summary")
    write_rows(decision(over_runs, args.parting).to_dict("records"), args.out, "gradient_similarity_decision")


if __name__ == "__main__":
    main()
