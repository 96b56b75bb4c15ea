"""The baselines stage: each baseline grouping (:mod:`policygradex.baselines`) at PolicyGradEx's k, written as a
clusters.csv like the method's own.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from policygradex.baselines import grouping
from policygradex.config import Benchmark, task_names
from policygradex.io import read_chosen_k, write_csv


def run(
    bench: Benchmark,
    baseline: str,
    quality: str | Path,
    output: str | Path,
    features: Sequence[str | Path] = (),
    affinity_full: str | Path | None = None,
) -> None:
    """Write the ``baseline`` grouping at the k of ``quality`` (cluster_quality.json: PolicyGradEx's) as a
    clusters.csv (``task,group``)."""
    labels = grouping(bench, baseline, read_chosen_k(quality), features, affinity_full)
    write_csv(pd.DataFrame({"task": task_names(bench), "group": labels}), output)
