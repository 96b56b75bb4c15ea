"""Per task and per stage: what limits a finished run (Meta-World MT10, docs/metaworld.md).

For each seed folder of a ``claims.py`` run (``<out>/seed-<s>/results/<benchmark>/``), two tables:

- ``<name>_tasks``: one row per task: its gradient consistency (features), the meta-policy's success and return
  (``single`` in evaluation.csv) and each method's success and return in the comparison (PolicyGradEx's groups and
  every baseline's), and the really fine-tuned vs estimated scores of the validation subsets (approx_error.csv,
  kind ``score``) averaged per task;
- ``<name>_stages``: one row per rule: jobs, wall and CPU seconds summed over its jobs (Snakemake's
  ``benchmark:`` files under logs/);
- ``<name>_curve``: one row per seed and window of ``--window`` meta-training steps: the mean return and success
  rate the training log recorded in it (does meta-training still improve at the end of its budget?);
- ``<name>_summary``: one row per seed: the meta-training curve's end (success rate, return) and the Spearman of
  estimated vs real scores over all (subset, task) pairs and within each validation subset (which removes the
  differences between tasks that pay more or less), joined with the run's ``claims.py`` row (``--claims``).

    python -m benchmarks.per_task --benchmark metaworld --out benchmarks/out/mt10/tune --seeds 0 \\
        --name mt10_tuning_seed0 --results docs/results
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import pandas as pd
from scipy.stats import spearmanr

from benchmarks.common import read_rows, run_label, write_rows
from policygradex.summary import stage_seconds


def task_rows(results: Path, seed: int) -> list[dict]:
    """One row per task of the finished run at ``results`` (module docstring)."""
    consistency = {
        path.stem: float(np.load(path)["gradient_consistency"]) for path in sorted((results / "features").glob("*.npz"))
    }
    paths = [results / "evaluation.csv", *sorted((results / "baselines").glob("*/evaluation.csv"))]
    evaluations = [pd.read_csv(p) for p in paths if p.exists()]  # a run stopped early has some of them
    evaluation = (
        pd.concat(evaluations, ignore_index=True)
        if evaluations
        else pd.DataFrame(columns=["task", "method", "success_rate", "mean_return"])
    )
    per_method = evaluation.groupby(["task", "method"])[["success_rate", "mean_return"]].mean()
    scores = pd.DataFrame(columns=["task", "estimated", "actual"])
    if (results / "approx_error.csv").exists():
        errors = pd.read_csv(results / "approx_error.csv")
        scores = errors[errors["kind"] == "score"].groupby("task")[["estimated", "actual"]].mean().reset_index()
    rows = []
    for task, value in consistency.items():
        row = {"seed": seed, "task": task, "gradient_consistency": value}
        for method in evaluation["method"].unique():
            if (task, method) in per_method.index:
                row[f"success_{method}"] = float(per_method.loc[(task, method), "success_rate"])
                row[f"return_{method}"] = float(per_method.loc[(task, method), "mean_return"])
        match = scores[scores["task"] == task]
        if len(match):
            row["score_estimated_mean"] = float(match["estimated"].iloc[0])
            row["score_actual_mean"] = float(match["actual"].iloc[0])
        rows.append(row)
    return rows


def stage_rows(run: Path, benchmark: str, seed: int) -> list[dict]:
    """One row per rule: jobs and summed wall / CPU seconds of its ``benchmark:`` files (module docstring)."""
    totals = stage_seconds(run / "logs" / benchmark)
    return [{"seed": seed, "rule": stage, **values} for stage, values in totals.items()]


def curve_rows(results: Path, seed: int, window: int) -> list[dict]:
    """One row per window of ``window`` meta-training steps: mean return and success in it (module docstring)."""
    curve = pd.read_csv(results / "meta" / "train_log.csv")
    binned = curve.groupby(curve["steps"] // window * window)[["mean_return", "success_rate"]].mean()
    return [{"seed": seed, "steps_from": int(start), **values} for start, values in binned.iterrows()]


def seed_summary(results: Path, seed: int) -> dict:
    """The meta-training curve's end (success, return) and, when the run has approx_error.csv, the Spearman of
    estimated vs real scores over every (subset, task) pair and, averaged, within each subset."""
    curve = pd.read_csv(results / "meta" / "train_log.csv")
    row = {
        "seed": seed,
        "meta_train_steps": int(curve["steps"].iloc[-1]),
        "meta_train_final_success": float(curve["success_rate"].iloc[-1]),
        "meta_train_best_success": float(curve["success_rate"].max()),
        "meta_train_final_return": float(curve["mean_return"].iloc[-1]),
    }
    if not (results / "approx_error.csv").exists():
        return row
    errors = pd.read_csv(results / "approx_error.csv")
    scores = errors[errors["kind"] == "score"]
    within = [
        spearmanr(group["estimated"], group["actual"]).statistic
        for _, group in scores.groupby("subset_id")
        if len(group) > 2
    ]
    return row | {
        "validation_subsets": int(scores["subset_id"].nunique()),
        "pairs": len(scores),
        "score_spearman_all_pairs": float(spearmanr(scores["estimated"], scores["actual"]).statistic),
        "score_spearman_within_subset_mean": float(np.nanmean(within)) if within else float("nan"),
        "score_spearman_within_subset_min": float(np.nanmin(within)) if within else float("nan"),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--benchmark", default="metaworld")
    parser.add_argument("--out", type=Path, required=True, help="the claims.py --out folder of the run")
    parser.add_argument("--seeds", type=int, nargs="+", required=True)
    parser.add_argument("--name", required=True, help="file name stem of the tables")
    parser.add_argument("--results", type=Path, default=Path("benchmarks/out"), help="folder to write them to")
    parser.add_argument("--claims", type=Path, help="the run's claims.csv: its rows join the per-seed summary")
    parser.add_argument("--window", type=int, default=100_000, help="meta-training steps per row of the curve")
    args = parser.parse_args()
    tasks, stages, curves, summaries = [], [], [], []
    for seed in args.seeds:
        run = args.out / f"seed-{seed}"
        results = run / "results" / args.benchmark
        tasks += task_rows(results, seed)
        stages += stage_rows(run, args.benchmark, seed)
        curves += curve_rows(results, seed, args.window)
        summaries.append(seed_summary(results, seed) | {"run": run_label(run)})
    write_rows(tasks, args.results, f"{args.name}_tasks")
    write_rows(stages, args.results, f"{args.name}_stages")
    write_rows(curves, args.results, f"{args.name}_curve")
    if args.claims is not None:  # the run's claims.py rows: its verdict, k, consistency, score Spearman, ...
        claims = read_rows(args.claims)
        claims = claims[pd.to_numeric(claims["seed"], errors="coerce").notna()].astype({"seed": int})
        summaries = pd.DataFrame(summaries).merge(claims, on="seed", how="left").to_dict("records")
    write_rows(summaries, args.results, f"{args.name}_summary")


if __name__ == "__main__":
    main()
