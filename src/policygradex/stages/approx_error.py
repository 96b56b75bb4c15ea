"""How good is the first-order estimate? Evidence against real fine-tuning.

For each of the first ``approx_error.validation_subsets`` estimation subsets S, with
delta = theta_finetuned(S) - theta* from real PPO fine-tuning (``full_training``), and for each task i of S,
over the task's held-out samples t (never used to fit anything), with the first-order prediction
p_t = log pi*(a_t|s_t) + g_t^T delta (g_t the exact, unprojected gradient at theta*: one Jacobian-vector product
for all t) and the real r_t = log pi_{theta* + delta}(a_t|s_t):

- ``ppo_objective`` (headline): the change of PPO's clipped objective on the samples (their advantages, the
  trainer's clip range) predicted from the predicted log-ratios p_t - log pi*, against the real change;
  rel_error = |predicted - actual| / |actual|. What fine-tuning optimises, so the figure a user cares about.
- ``log_prob_change`` (headline): the error relative to the change it predicts,
  rel_error = sum_t |p_t - r_t| / sum_t |r_t - log pi*(a_t|s_t)|.
- ``log_prob`` (secondary; the paper's normalisation): rel_error = sum_t |p_t - r_t| / sum_t |r_t|. Its
  denominator is the size of log pi itself, which for a Gaussian policy depends on the action std and units (an
  arbitrary offset): small values here can hide a large error on the change.
- ``score`` (end to end): task i's score from ``estimate`` (the surrogate delta-theta) against its score under
  the really fine-tuned parameters with the same scoring function; rel_error = |estimated - actual| / |actual|.
  The two deltas differ in length by design, so the rank agreement (Spearman) is the meaningful figure here.

Outputs ``approx_error.csv`` (``subset_id,subset,task,kind,estimated,actual,rel_error``) and ``approx_error.json``
(median and mean rel_error per kind, Spearman correlation of estimated and actual scores).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from policygradex.artifacts import ERROR_COLUMNS, FULL_KEYS, SUBSET_COLUMNS
from policygradex.config import Benchmark
from policygradex.errors import ArtifactError
from policygradex.estimator import SubsetEstimator, log_prob_errors, summarise
from policygradex.io import read_csv, read_npz, write_csv, write_json


def run(
    bench: Benchmark,
    policy: str | Path,
    features: Sequence[str | Path],
    estimate_chunks: Sequence[str | Path],
    full_chunks: Sequence[str | Path],
    full_deltas: Sequence[str | Path],
    output: str | Path,
    summary: str | Path,
) -> None:
    """The first-order prediction against real fine-tuning on the validation subsets (full_training's chunks):
    one row per subset, task and kind of error -> ``output``; their medians and the score Spearman
    -> ``summary``."""
    estimator = SubsetEstimator(bench, policy, features)
    estimated = pd.concat([read_csv(p, SUBSET_COLUMNS) for p in estimate_chunks]).set_index(["subset_id", "task"])
    actual = pd.concat([read_csv(p, SUBSET_COLUMNS) for p in full_chunks]).set_index(["subset_id", "task"])
    deltas: dict[int, np.ndarray] = {}
    for path in full_deltas:
        data = read_npz(path, FULL_KEYS)
        deltas |= dict(zip(data["subset_id"].tolist(), data["delta"], strict=True))
    rows = []
    for subset_id in range(bench["approx_error"]["validation_subsets"]):
        if subset_id not in deltas:
            raise ArtifactError(f"no real fine-tuning of subset {subset_id} in {', '.join(map(str, full_deltas))}")
        delta = estimator.as_tensor(deltas[subset_id])
        subset_rows = actual.loc[subset_id]
        label = subset_rows["subset"].iloc[0]
        for name in subset_rows.index:
            task = estimator.names.index(name)
            for kind, (est, act, rel) in log_prob_errors(estimator, task, delta).items():
                rows.append((subset_id, label, name, kind, est, act, rel))
            est = float(estimated.loc[(subset_id, name), "score"])
            act = float(subset_rows.loc[name, "score"])
            rows.append((subset_id, label, name, "score", est, act, abs(est - act) / max(abs(act), 1e-12)))
    errors = pd.DataFrame(rows, columns=ERROR_COLUMNS)
    write_csv(errors, output)
    medians = summarise(errors)
    write_json(medians, summary)
    print(f"approx_error: {medians}")
