"""Stage 4, affinity: T[i, j] = mean score of task i over the subsets that contain both i and j.

Rows are the target task i (whose score is averaged), columns the co-trained task j; T is not symmetric.
The diagonal T[i, i] averages over every subset holding i.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from policygradex.estimate import SUBSET_COLUMNS, SUBSET_SEPARATOR
from policygradex.io import ArtifactError, read_csv, write_csv


def affinity_matrix(scores: pd.DataFrame, names: Sequence[str]) -> pd.DataFrame:
    """The n x n affinity from ``subset_id,subset,task,score`` rows; fails if a pair never shares a subset."""
    index = {name: i for i, name in enumerate(names)}
    unknown = sorted(set(scores["task"]) - set(index))
    if unknown:
        raise ArtifactError(f"subset scores name tasks not in the benchmark: {', '.join(unknown)}")
    n = len(names)
    total = np.zeros((n, n))
    count = np.zeros((n, n))
    for _, rows in scores.groupby("subset_id"):
        members = [index[t] for t in rows["subset"].iloc[0].split(SUBSET_SEPARATOR)]
        for task, score in zip(rows["task"], rows["score"], strict=True):
            total[index[task], members] += score
            count[index[task], members] += 1
    if (count == 0).any():
        i, j = np.argwhere(count == 0)[0]
        raise ArtifactError(
            f"tasks {names[i]} and {names[j]} never share a subset, so T[{names[i]}, {names[j]}] is undefined; "
            "raise estimate.num_subsets"
        )
    return pd.DataFrame(total / count, index=list(names), columns=list(names))


def read_affinity(path: str | Path, names: Sequence[str] | None = None) -> pd.DataFrame:
    """Read affinity.csv and check that it is a finite square matrix over the same tasks in rows and columns."""
    frame = read_csv(path, columns=[], index_col=0)
    if list(frame.index) != list(frame.columns):
        raise ArtifactError(
            f"{path}: rows {list(frame.index)} and columns {list(frame.columns)} must name the same tasks"
        )
    if names is not None and list(frame.index) != list(names):
        raise ArtifactError(f"{path}: tasks {list(frame.index)} differ from the benchmark's {list(names)}")
    if not np.isfinite(frame.to_numpy(dtype=float)).all():
        raise ArtifactError(f"{path}: affinity holds NaN or infinite values")
    return frame


def run(names: Sequence[str], chunk_paths: Sequence[str | Path], output: str | Path) -> None:
    scores = pd.concat([read_csv(path, SUBSET_COLUMNS) for path in chunk_paths], ignore_index=True)
    write_csv(affinity_matrix(scores, names), output, index=True)
