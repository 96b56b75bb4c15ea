"""The compare stage, grouping quality: PolicyGradEx's groups against the baselines, same fine-tuning budget, same
evaluation, pooled into ``comparison.csv`` (its columns: :mod:`policygradex.comparison`) and its bar plot.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from policygradex.artifacts import EVALUATION_COLUMNS
from policygradex.comparison import comparison_table
from policygradex.config import Benchmark
from policygradex.io import read_csv, write_csv
from policygradex.plotting import plot_comparison


def run(bench: Benchmark, evaluations: Sequence[str | Path], output: str | Path, plot: str | Path) -> None:
    """Pool every method's evaluation.csv into the comparison table (mean return per method, gain over single) and
    its bar plot. The table needs no settings: each evaluation.csv names its method and group."""
    frames = pd.concat([read_csv(p, EVALUATION_COLUMNS) for p in evaluations], ignore_index=True)
    table = comparison_table(frames)
    write_csv(table, output)
    plot_comparison(table, plot)
    print(table.to_string(index=False))
