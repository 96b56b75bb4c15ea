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
from policygradex.subsets import subset_affinity


def score_matrices(scores: pd.DataFrame, names: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
    """``subset_id,subset,task,score`` rows as an m x n score matrix (NaN where a task is not scored) and the m x n
    membership of the subsets, rows in order of subset id."""
    index = {name: i for i, name in enumerate(names)}
    unknown = sorted(set(scores["task"]) - set(index))
    if unknown:
        raise ArtifactError(f"subset scores name tasks not in the benchmark: {', '.join(unknown)}")
    ids = sorted(scores["subset_id"].unique())
    row = {subset_id: r for r, subset_id in enumerate(ids)}
    values = np.full((len(ids), len(names)), np.nan)
    members = np.zeros((len(ids), len(names)), dtype=bool)
    values[scores["subset_id"].map(row), scores["task"].map(index)] = scores["score"]
    for subset_id, label in scores.groupby("subset_id")["subset"].first().items():
        members[row[subset_id], [index[t] for t in label.split(SUBSET_SEPARATOR)]] = True
    return values, members


def read_scores(paths: Sequence[str | Path]) -> pd.DataFrame:
    """The estimate's chunk CSVs, ``subset_id,subset,task,score`` rows, in one frame."""
    return pd.concat([read_csv(path, SUBSET_COLUMNS) for path in paths], ignore_index=True)


def read_subset_scores(paths: Sequence[str | Path], names: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
    """The estimate's chunk CSVs as :func:`score_matrices`."""
    return score_matrices(read_scores(paths), names)


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
    """Average the estimate's subset scores (its chunk CSVs) into affinity.csv."""
    write_csv(affinity_matrix(read_scores(chunk_paths), names), output, index=True)
