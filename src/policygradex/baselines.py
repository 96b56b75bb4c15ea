"""The groupings PolicyGradEx is compared against (the baselines stage writes each as a clusters.csv).

- ``single_finetuned``: one group of all n tasks (the meta-policy fine-tuned further, with k times the budget
  of one group so that every method spends the same total);
- ``per_task``: one group per task (k = n), each with one group's budget: n budgets against PolicyGradEx's k;
- ``per_task_equal_budget`` (``compare.per_task_equal_budget``): one group per task, each with k/n of a group's
  budget, so that the n of them spend what PolicyGradEx's k groups do;
- ``random_<r>``: a random balanced partition into k groups (seed r);
- ``grad_similarity``: cosine similarity of the tasks' mean policy gradients at theta* (mean over samples of
  A_t P^T g_t, i.e. the projected PPO gradient), clustered by the same algorithm as the affinity;
- ``full_training``: the same clustering of ``affinity_full.csv`` (every subset really fine-tuned).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from policygradex.artifacts import FEATURE_KEYS, FIXED_BASELINES
from policygradex.clustering import cluster, relabel
from policygradex.config import Benchmark, task_names
from policygradex.errors import ConfigError
from policygradex.io import read_affinity, read_npz
from policygradex.seeds import derive


def baseline_methods(bench: Benchmark) -> list[str]:
    """The names of the benchmark's baseline groupings (artifacts.FIXED_BASELINES, its random partitions, and
    full training's grouping when it is enabled)."""
    methods = list(FIXED_BASELINES)
    if bench["compare"]["per_task_equal_budget"]:
        methods.append("per_task_equal_budget")
    methods += [f"random_{r}" for r in range(bench["compare"]["random_seeds"])]
    if bench["full_training"]["enabled"]:
        methods.append("full_training")
    return methods


def finetune_steps(bench: Benchmark, baseline: str, k: int) -> int:
    """Fine-tuning steps of each group of ``baseline`` at PolicyGradEx's k: finetune.total_steps, times k for the
    one group of ``single_finetuned`` and k/n for each task of ``per_task_equal_budget`` (each method then spends
    k groups' worth; ``per_task`` alone spends n groups' worth). The trainer rounds up to whole rollouts."""
    steps = bench["finetune"]["total_steps"]
    if baseline == "single_finetuned":
        return k * steps
    if baseline == "per_task_equal_budget":
        return max(1, round(k * steps / len(bench["tasks"])))
    return steps


def random_partition(n: int, k: int, seed: int) -> np.ndarray:
    """A uniformly random partition of n tasks into k groups of near-equal size."""
    return relabel(np.random.default_rng(seed).permutation(n) % k)


def gradient_similarity(mean_grads: np.ndarray) -> np.ndarray:
    """Pairwise cosine of the tasks' mean policy gradients (rows of ``mean_grads``): the gradient-similarity
    baseline's affinity."""
    unit = mean_grads / np.linalg.norm(mean_grads, axis=1, keepdims=True).clip(1e-12)
    return unit @ unit.T


def mean_policy_gradient(features: dict[str, np.ndarray]) -> np.ndarray:
    """A task's projected policy gradient, mean of A_t g_t over its fitted (not held-out) samples."""
    fit = features["heldout"] == 0
    return (features["advantage"][fit, None] * features["projected_grad"][fit]).mean(axis=0)


def grouping(
    bench: Benchmark,
    baseline: str,
    k: int,
    feature_paths: Sequence[str | Path] = (),
    affinity_full: str | Path | None = None,
) -> np.ndarray:
    """The labels of the grouping ``baseline`` at k groups (PolicyGradEx's k, so that the groupings compare)."""
    n = len(bench["tasks"])
    algorithm, seed = bench["cluster"]["method"], bench["seed"]
    if baseline == "single_finetuned":
        return np.zeros(n, dtype=int)
    if baseline in ("per_task", "per_task_equal_budget"):
        return np.arange(n)
    if baseline.startswith("random_"):
        return random_partition(n, k, seed=derive(seed, "random_partition", int(baseline.removeprefix("random_"))))
    if baseline == "grad_similarity":
        grads = np.array([mean_policy_gradient(read_npz(p, FEATURE_KEYS)) for p in feature_paths])
        return cluster(gradient_similarity(grads), k, algorithm)
    if baseline == "full_training":
        return cluster(read_affinity(affinity_full, task_names(bench)).to_numpy(), k, algorithm)
    raise ConfigError(f"unknown baseline '{baseline}'; allowed: {', '.join(baseline_methods(bench))}")
