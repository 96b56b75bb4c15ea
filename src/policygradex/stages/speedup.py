"""Cost of the estimated affinity against the full-training affinity, measured in the same run.

The estimation path is ``features`` (rollouts of theta* and per-sample gradients, per task) plus ``estimate`` (one
logistic fit and scoring per subset); the full-training path fine-tunes theta* on every subset with PPO
(``full_training``). Both are timed inside the stage (``timing/*.json``), from the moment the job has loaded theta*
(and, for estimate and full training, the features): neither side counts its jobs' start-up, the Python and library
imports and the first optimizer stable-baselines3 builds with a policy (it imports torch's compiler, about 1.4 CPU
seconds a job, which the features stage once counted on the estimate's side alone). CPU seconds of the stage's
processes (``speedup``, the headline: jobs that share a machine inflate each other's wall clock, not their CPU time)
and wall-clock seconds (``speedup_wall``). Meta-training, shared by both paths, is reported apart. Environment steps
are counted on both sides too (``speedup_env_steps``): the feature rollouts and the scoring rollouts against the
fine-tunes' steps and their scoring. Also records how well the two affinity matrices agree (the mean of the per-row
Spearman correlations, each row one task's ranking of its co-trained tasks; and the Spearman over all entries, which
also rewards each task's scale) and whether clustering them gives the same groups (ARI).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from policygradex.clustering import affinity_agreement
from policygradex.config import Benchmark, full_training_subsets, task_names
from policygradex.io import (
    read_affinity,
    read_chosen_k,
    read_csv,
    read_scores,
    score_matrices,
    timing_total,
    write_json,
)
from policygradex.subsets import subset_affinity


def _estimation(cost: dict[str, float], share: float) -> dict[str, float]:
    """The estimation path's cost (seconds or environment steps) per stage and in total, the estimate's pro-rated
    to the ``share`` of its subsets that full training fine-tuned (each subset costs one fit and one scoring)."""
    estimate = cost["estimate"] * share
    return {
        "features": cost["features"],
        "estimate": estimate,
        "estimate_all_subsets": cost["estimate"],
        "total": cost["features"] + estimate,
    }


def run(
    bench: Benchmark,
    feature_timings: Sequence[str | Path],
    estimate_timings: Sequence[str | Path],
    full_timings: Sequence[str | Path],
    meta_log: str | Path,
    estimate_chunks: Sequence[str | Path],
    affinity_full: str | Path,
    quality: str | Path,
    output: str | Path,
) -> None:
    """Compare both paths on the subsets full training fine-tuned (``full_training.num_subsets``, the first of the
    estimate's; all by default): the estimated affinity is averaged over the same subsets, and both affinities are
    clustered at the k of ``quality`` (cluster_quality.json)."""
    k = read_chosen_k(quality)
    names = task_names(bench)
    compared = full_training_subsets(bench)
    share = compared / bench["estimate"]["num_subsets"]
    wall, cpu, steps = (
        {
            "features": timing_total(feature_timings, key),
            "estimate": timing_total(estimate_timings, key),
            "full": timing_total(full_timings, key),
        }
        for key in ("seconds", "cpu_seconds", "env_steps")
    )
    scores = read_scores(estimate_chunks)
    estimated = subset_affinity(*score_matrices(scores[scores["subset_id"] < compared], names))
    full = read_affinity(affinity_full, names).to_numpy()
    estimation_cpu, estimation_wall, estimation_steps = (_estimation(c, share) for c in (cpu, wall, steps))
    result = {
        "num_tasks": len(names),
        "num_subsets": bench["estimate"]["num_subsets"],
        "subsets_compared": compared,
        "finetune_steps_per_subset": bench["finetune"]["total_steps"],
        "meta_train_seconds": float(read_csv(meta_log, ["seconds"])["seconds"].iloc[-1]),
        "estimation_cpu_seconds": estimation_cpu,
        "full_training_cpu_seconds": cpu["full"],
        "speedup": cpu["full"] / estimation_cpu["total"],
        "estimation_seconds": estimation_wall,
        "full_training_seconds": wall["full"],
        "speedup_wall": wall["full"] / estimation_wall["total"],
        "estimation_env_steps": estimation_steps,
        "full_training_env_steps": steps["full"],
        "speedup_env_steps": steps["full"] / estimation_steps["total"],
        **affinity_agreement(estimated, full, k, bench["cluster"]["method"]),
    }
    write_json(result, output)
    print(f"speedup: {result}")
