"""The full_training stage, the expensive ground truth: really fine-tune theta* on subsets of tasks and score each
task.

This is what task-affinity-by-training methods do for every subset, and what PolicyGradEx's first-order
estimate replaces. Each subset is fine-tuned with the same trainer and budget as ``finetune`` (the trainer from theta*,
``finetune.total_steps``), then every task of the subset is scored with exactly the scoring function of
``estimate`` (:meth:`SubsetEstimator.score`), so the two affinities are comparable entry by entry.

Outputs per chunk: ``full_training/chunk_{c}.csv`` (``subset_id,subset,task,score``, as ``estimate``) and
``full_training/chunk_{c}.npz`` (``subset_id`` and ``delta``: theta_finetuned - theta* over the actor's parameters, one
row per subset) for the first-order error check.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from policygradex.artifacts import SUBSET_COLUMNS
from policygradex.config import Benchmark, full_training_chunks, full_training_subsets
from policygradex.estimator import SubsetEstimator, chunk_subsets, subset_rows
from policygradex.io import Stopwatch, atomic_path, write_csv, write_npz, write_timing
from policygradex.logs import LOGGER
from policygradex.progress import progress
from policygradex.seeds import derive
from policygradex.training import checkpoint_path, finetune_delta


def run(
    bench: Benchmark,
    policy: str | Path,
    features: Sequence[str | Path],
    chunk: int,
    output: str | Path,
    deltas: str | Path,
    timing: str | Path | None = None,
) -> None:
    """Really fine-tune theta* on each subset of chunk ``chunk`` (the ground truth of the estimate) and score its
    tasks -> ``output`` (as estimate's rows) and each subset's theta_finetuned - theta* -> ``deltas``."""
    subsets = chunk_subsets(bench, full_training_subsets(bench), full_training_chunks(bench), chunk)
    estimator = SubsetEstimator(bench, policy, features)
    # Resumable at subset granularity: what is done so far is kept beside the output after every subset.
    checkpoint = checkpoint_path(output)
    done = (
        torch.load(checkpoint, weights_only=False)
        if checkpoint.exists()
        else {"rows": [], "deltas": {}, "seconds": 0.0, "cpu_seconds": 0.0, "env_steps": 0}
    )
    estimator.env_steps = done.get("env_steps", 0)  # the steps of the interrupted runs count too
    if done["deltas"]:
        LOGGER.info("full_training chunk %d: resuming after %d fine-tuned subsets", chunk, len(done["deltas"]))
    todo = {i: s for i, s in subsets.items() if i not in done["deltas"]}
    # the seconds of the interrupted runs count too, so that timing.json covers every subset
    clock = Stopwatch(done["seconds"], done.get("cpu_seconds", 0.0))
    for subset_id, subset in progress(todo.items(), total=len(todo), desc=f"full_training chunk {chunk}"):
        delta = finetune_delta(estimator, subset, seed=derive(bench["seed"], "full_training", subset_id))
        scores = estimator.scores(subset, estimator.as_tensor(delta))
        done["rows"] += subset_rows(estimator.names, subset_id, scores)
        done["deltas"][subset_id] = delta
        done["seconds"], done["cpu_seconds"], done["env_steps"] = clock.wall, clock.cpu, estimator.env_steps
        with atomic_path(checkpoint) as tmp:
            torch.save(done, tmp)
    rows, finetuned = done["rows"], [done["deltas"][i] for i in subsets]
    write_csv(pd.DataFrame(rows, columns=SUBSET_COLUMNS), output)
    write_npz(deltas, subset_id=np.array(list(subsets)), delta=np.array(finetuned, dtype=np.float32))
    write_timing(timing, "full_training", clock, chunk=chunk, subsets=len(subsets), env_steps=estimator.env_steps)
    checkpoint.unlink(missing_ok=True)
