"""The comparison of the methods' groupings: their policies' evaluations pooled into ``comparison.csv``.

One row per method: ``k`` groups, the mean over tasks of the per-task mean
return and success rate, the spread over runs (random partitions have several seeds), and
vs_single_pct = 100 * (mean_return - mean_return_single) / |mean_return_single|, the improvement over the
meta-policy alone (positive is better, for returns of either sign).
"""

from __future__ import annotations

import re

import pandas as pd

from policygradex.artifacts import COMPARISON_COLUMNS
from policygradex.errors import ArtifactError


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
