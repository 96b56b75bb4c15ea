"""Stage 4, affinity: T[i, j] = mean score of task i over the subsets that contain both i and j.

Rows are the target task i (whose score is averaged), columns the co-trained task j; T is not symmetric.
The diagonal T[i, i] averages over every subset holding i.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from policygradex.config import Benchmark, task_names
from policygradex.errors import ArtifactError
from policygradex.io import read_scores, score_matrices, write_csv
from policygradex.subsets import subset_affinity


def affinity_matrix(scores: pd.DataFrame, names: Sequence[str]) -> pd.DataFrame:
    """The n x n affinity from ``subset_id,subset,task,score`` rows; fails if a pair never shares a subset."""
    t = subset_affinity(*score_matrices(scores, names))
    if np.isnan(t).any():
        i, j = np.argwhere(np.isnan(t))[0]
        raise ArtifactError(
            f"tasks {names[i]} and {names[j]} never share a subset, so T[{names[i]}, {names[j]}] is undefined; "
            "raise estimate.num_subsets"
        )
    return pd.DataFrame(t, index=list(names), columns=list(names))


def run(bench: Benchmark, chunks: Sequence[str | Path], output: str | Path) -> None:
    """Average the estimate's subset scores (its chunk CSVs) into affinity.csv."""
    write_csv(affinity_matrix(read_scores(chunks), task_names(bench)), output, index=True)
