"""Stage 4, affinity: T[i, j] = mean score of task i over the subsets that contain both i and j.

Rows are the target task i (whose score is averaged), columns the co-trained task j; T is not symmetric.
The diagonal T[i, i] averages over every subset holding i.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from policygradex.config import Benchmark, task_names
from policygradex.io import affinity_matrix, read_scores, write_csv


def run(bench: Benchmark, chunks: Sequence[str | Path], output: str | Path) -> None:
    """Average the estimate's subset scores (its chunk CSVs) into affinity.csv."""
    write_csv(affinity_matrix(read_scores(chunks), task_names(bench)), output, index=True)
