"""The Hessian stage (step 7 of the method): trace, train and test loss, observed generalization gap and the
PAC-Bayes bound of theta* and of every group policy (the measure and its definitions: :mod:`policygradex.hessian`).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from policygradex.artifacts import HESSIAN_COLUMNS
from policygradex.config import Benchmark, task_names
from policygradex.hessian import initial_actor, measure
from policygradex.io import read_clusters, write_csv
from policygradex.plotting import plot_hessian
from policygradex.policy import ActorLogProb, actor_params, flatten, load_policy
from policygradex.progress import progress


def run(
    bench: Benchmark,
    policy: str | Path,
    clusters: str | Path,
    group_policies: Sequence[str | Path],
    output: str | Path,
    plot: str | Path,
) -> None:
    """Hessian trace, train and test loss, observed gap and bound of theta* and every group policy -> ``output``
    (one row per policy) and ``plot``; theta* is ``policy``."""
    names = task_names(bench)
    groups = read_clusters(clusters, names)
    theta_star = flatten(actor_params(ActorLogProb(load_policy(policy, bench)[0])))
    jobs = [("single", 0, policy, list(range(len(names))), initial_actor(bench))]
    for group, path in enumerate(group_policies):
        members = [names.index(t) for t in groups.loc[groups["group"] == group, "task"]]
        jobs.append(("policygradex", group, path, members, theta_star))
    rows = []
    for method, group, path, members, start in progress(jobs, total=len(jobs), desc="hessian"):
        rows.append({"method": method, "group": group, **measure(bench, path, members, start)})
    table = pd.DataFrame(rows, columns=HESSIAN_COLUMNS)
    write_csv(table, output)
    plot_hessian(table, plot)
    print(table.to_string(index=False))
