"""Stage 3, subset estimation: score every task of each subset of one chunk under theta* + dtheta_S (the first-order
estimate of fine-tuning on S, estimator.py). No RL training happens here; that is where the speedup over
fine-tuning every subset comes from.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from policygradex.artifacts import SUBSET_COLUMNS
from policygradex.config import Benchmark
from policygradex.estimator import SubsetEstimator, chunk_subsets, subset_rows
from policygradex.io import Stopwatch, write_csv, write_timing
from policygradex.progress import progress


def run(
    bench: Benchmark,
    policy: str | Path,
    features: Sequence[str | Path],
    chunk: int,
    output: str | Path,
    timing: str | Path | None = None,
) -> None:
    """Score every task of each subset of chunk ``chunk`` under theta* + dtheta_S (estimator.SubsetEstimator) ->
    ``output`` rows ``subset_id,subset,task,score``; seconds and environment steps -> ``timing``."""
    cfg = bench["estimate"]
    subsets = chunk_subsets(bench, cfg["num_subsets"], cfg["num_chunks"], chunk)
    estimator = SubsetEstimator(bench, policy, features)  # loading theta* and the features: as full training's
    clock = Stopwatch()  # timer, this one starts once they are loaded (the speedup stage compares the two)
    rows = []
    for subset_id, subset in progress(subsets.items(), total=len(subsets), desc=f"estimate chunk {chunk}"):
        rows += subset_rows(estimator.names, subset_id, estimator.estimate(subset))
    write_csv(pd.DataFrame(rows, columns=SUBSET_COLUMNS), output)
    searched = {str(factor): count for factor, count in sorted(estimator.step_factors.items())}
    extra = {"step_factors": searched} if searched else {}
    write_timing(timing, "estimate", clock, chunk=chunk, subsets=len(subsets), env_steps=estimator.env_steps, **extra)
