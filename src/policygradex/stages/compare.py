"""Grouping quality: PolicyGradEx's groups against the baselines, same fine-tuning budget, same evaluation.

One row per method of ``comparison.csv``: ``k`` groups, the mean over tasks of the per-task mean return and
success rate, the spread over runs (random partitions have several seeds), and
vs_single_pct = 100 * (mean_return - mean_return_single) / |mean_return_single|, the improvement over the
meta-policy alone (positive is better, for returns of either sign).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from policygradex.artifacts import COMPARISON_COLUMNS, EVALUATION_COLUMNS
from policygradex.config import Benchmark
from policygradex.errors import ArtifactError
from policygradex.io import read_csv, write_csv
from policygradex.plotting import plt, save_figure


def comparison_table(evaluations: pd.DataFrame) -> pd.DataFrame:
    """Aggregate per-task evaluation rows of every method (``random_<r>`` runs pooled as ``random``)."""
    per_run = (
        evaluations.groupby("method")
        .agg(k=("group", "nunique"), mean_return=("mean_return", "mean"), mean_success=("success_rate", "mean"))
        .reset_index()
    )
    per_run["family"] = per_run["method"].map(lambda m: re.sub(r"_\d+$", "", m))
    table = (
        per_run.groupby("family", sort=False)
        .agg(
            k=("k", "first"),
            mean_return=("mean_return", "mean"),
            mean_success=("mean_success", "mean"),
            return_std=("mean_return", "std"),
            runs=("method", "size"),
        )
        .reset_index()
        .rename(columns={"family": "method"})
    )
    table["return_std"] = table["return_std"].fillna(0.0)
    single = table.loc[table["method"] == "single", "mean_return"]
    if single.empty:
        raise ArtifactError("the evaluations hold no 'single' rows (the meta-policy alone) to compare against")
    table["vs_single_pct"] = 100 * (table["mean_return"] - single.iloc[0]) / abs(single.iloc[0])
    return table.sort_values("mean_return", ascending=False)[COMPARISON_COLUMNS]


def plot_comparison(table: pd.DataFrame, path: str | Path) -> None:
    """Bar plot of each method's mean return (PolicyGradEx in red) with its spread over runs."""
    fig, ax = plt.subplots(figsize=(7, 3.5))
    colours = ["tab:red" if m == "policygradex" else "tab:gray" for m in table["method"]]
    ax.bar(table["method"], table["mean_return"], yerr=table["return_std"], color=colours, capsize=4)
    ax.set_ylabel("mean return over tasks")
    ax.set_title("Grouping quality (same budget per group, deterministic evaluation)")
    ax.tick_params(axis="x", rotation=30)
    save_figure(fig, path)


def run(bench: Benchmark, evaluations: Sequence[str | Path], output: str | Path, plot: str | Path) -> None:
    """Pool every method's evaluation.csv into the comparison table (mean return per method, gain over single) and
    its bar plot. The table needs no settings: each evaluation.csv names its method and group."""
    frames = pd.concat([read_csv(p, EVALUATION_COLUMNS) for p in evaluations], ignore_index=True)
    table = comparison_table(frames)
    write_csv(table, output)
    plot_comparison(table, plot)
    print(table.to_string(index=False))
