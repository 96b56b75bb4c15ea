"""The expensive ground truth: really fine-tune theta* on subsets of tasks and score each task.

This is what task-affinity-by-training methods do for every subset, and what PolicyGradEx's first-order
estimate replaces. Each subset is fine-tuned with the same trainer and budget as ``finetune`` (PPO from theta*,
``finetune.total_steps``), then every task of the subset is scored with exactly the scoring function of
``estimate`` (:meth:`SubsetEstimator.score`), so the two affinities are comparable entry by entry.

Outputs per chunk: ``full/chunk_{c}.csv`` (``subset_id,subset,task,score``, as ``estimate``) and
``full/chunk_{c}.npz`` (``subset_id`` and ``delta``: theta_finetuned - theta* over the actor's parameters, one
row per subset) for the first-order error check.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from policygradex.config import Benchmark, full_training_chunks, full_training_subsets
from policygradex.estimate import SUBSET_COLUMNS, SubsetEstimator, chunk_ids, draw_subsets, subset_rows
from policygradex.io import write_csv, write_npz, write_timing
from policygradex.policy import ActorLogProb, actor_params, flatten
from policygradex.progress import progress
from policygradex.training import make_ppo

FULL_KEYS = ["subset_id", "delta"]


def finetune_delta(estimator: SubsetEstimator, subset: Sequence[int], seed: int) -> np.ndarray:
    """theta_finetuned - theta* (actor parameters) after PPO on ``subset`` with the finetune budget."""
    bench = estimator.bench
    model = make_ppo(bench, subset, seed, init_state=estimator.policy.state_dict())
    model.learn(total_timesteps=bench["finetune"]["total_steps"])
    model.policy.to("cpu")
    tuned = flatten(actor_params(ActorLogProb(model.policy)))
    return (tuned - estimator.theta_flat).numpy()


def run(
    bench: Benchmark,
    policy_path: str | Path,
    feature_paths: Sequence[str | Path],
    chunk: int,
    output: str | Path,
    deltas_output: str | Path,
    timing: str | Path | None = None,
) -> None:
    start = time.perf_counter()
    cfg = bench["estimate"]
    subsets = draw_subsets(len(bench["tasks"]), cfg["subset_size"], cfg["num_subsets"], seed=bench["seed"])
    ids = chunk_ids(full_training_subsets(bench), full_training_chunks(bench), chunk)
    estimator = SubsetEstimator(bench, policy_path, feature_paths)
    rows, deltas = [], []
    for subset_id in progress(ids, total=len(ids), desc=f"full_finetune chunk {chunk}"):
        subset = subsets[subset_id]
        delta = finetune_delta(estimator, subset, seed=bench["seed"] + 100_000 + subset_id)
        deltas.append(delta)
        scores = {task: estimator.score(task, estimator.as_tensor(delta)) for task in subset}
        rows += subset_rows(estimator.names, subset_id, scores)
    write_csv(pd.DataFrame(rows, columns=SUBSET_COLUMNS), output)
    write_npz(deltas_output, subset_id=np.array(list(ids)), delta=np.array(deltas, dtype=np.float32))
    write_timing(timing, "full_finetune", time.perf_counter() - start, chunk=chunk, subsets=len(ids))
