"""How the cost of the affinity grows with the number of tasks and the fine-tuning budget: estimation against
full training, in CPU seconds.

For n in --tasks (default 12, 24, 48) the pointmass benchmark gets n goals (n/3 directions x 3 distances),
subsets of size n/2 and num_subsets = max(100, 5n) (NOTES: m >= 5n subsets of size n/2 let every pair of tasks
share subsets). In one process (torch and the linear-algebra libraries on one thread, as Snakemake runs a
one-thread job: on their default every core's thread would spin and count), CPU seconds of the process and its
finished children (``io.Stopwatch``):

- meta-training (shared by both paths, reported apart) with the config's budget;
- estimation = features of every task + the first-order estimate of every subset, in full, once per scoring
  (``score: return``, rollouts of theta* + delta-theta; ``score: surrogate``, no environment steps);
- full training = PPO fine-tuning of a subset from theta* with each budget of --budgets, then scoring its tasks
  by return (the ground truth keeps return scoring), timed on --full-sample subsets (median) and multiplied by
  num_subsets (fine-tuning every subset at n = 48 would take hours; the per-subset cost is what grows).

One row per (n, scoring, budget); ``speedup`` = full_training_cpu_s / estimation_cpu_s. Writes scaling.csv,
scaling.json and scaling.png (log-log) under --out and prints the table.

    python -m benchmarks.scaling --tasks 12 --budgets 10000 50000 200000
    python -m benchmarks.scaling --tasks 12 24 48 --budgets 50000
"""

from __future__ import annotations

import copy
import itertools
import math
import statistics
import tempfile
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import pandas as pd
import torch
from threadpoolctl import threadpool_limits

from benchmarks.common import ROOT, rows_without, script_parser, write_rows
from policygradex.config import load_config, validate_config
from policygradex.estimator import SubsetEstimator
from policygradex.features import compute_features
from policygradex.io import Stopwatch, write_npz
from policygradex.subsets import draw_subsets
from policygradex.training import finetune_delta, train_policy


def pointmass_tasks(n: int) -> list[dict]:
    directions = n // 3
    tasks = []
    for d in range(directions):
        angle = 2 * math.pi * d / directions
        for radius in (0.5, 1.0, 1.5):
            goal = [round(radius * math.cos(angle), 6), round(radius * math.sin(angle), 6)]
            tasks.append({"name": f"d{d}-{radius}", "goal": goal, "group": f"d{d}"})
    return tasks


def measure(n: int, full_sample: int, budgets: list[int], workdir: Path) -> list[dict]:
    base = load_config(ROOT / "config.yaml")["benchmarks"]["pointmass"]
    bench = copy.deepcopy(base)
    bench["tasks"] = pointmass_tasks(n)
    bench["estimate"].update(subset_size=n // 2, num_subsets=max(100, 5 * n))
    bench["cluster"]["k"] = n // 3
    bench = validate_config({"benchmarks": {"scaling": bench}})["benchmarks"]["scaling"]
    m = bench["estimate"]["num_subsets"]

    clock = Stopwatch()
    policy = workdir / "policy.pt"
    train_policy(bench, range(n), bench["meta_train"]["total_steps"], bench["seed"], policy, workdir / "log.csv")
    meta_s = clock.cpu

    clock = Stopwatch()
    paths = []
    for task in bench["tasks"]:
        paths.append(workdir / f"{task['name']}.npz")
        write_npz(paths[-1], **compute_features(bench, policy, task["name"]))
    features_s = clock.cpu
    subsets = draw_subsets(n, bench["estimate"]["subset_size"], m, bench["seed"])

    estimate_s = {}
    for score in ("return", "surrogate"):
        scored = copy.deepcopy(bench)
        scored["estimate"]["score"] = score
        clock = Stopwatch()
        estimator = SubsetEstimator(scored, policy, paths)
        for subset in subsets:
            estimator.estimate(subset)
        estimate_s[score] = clock.cpu

    ground_truth = SubsetEstimator(bench, policy, paths)  # bench scores by return
    full_per_subset = {}
    for budget in budgets:
        seconds = []
        for subset_id, subset in enumerate(subsets[:full_sample]):
            clock = Stopwatch()
            delta = finetune_delta(ground_truth, subset, seed=subset_id, total_steps=budget)
            ground_truth.scores(subset, ground_truth.as_tensor(delta))
            seconds.append(clock.cpu)
        full_per_subset[budget] = statistics.median(seconds)
    rows = []
    for score, budget in itertools.product(estimate_s, budgets):
        estimation = features_s + estimate_s[score]
        rows.append(
            {"tasks": n, "num_subsets": m, "subset_size": bench["estimate"]["subset_size"], "score": score,
             "finetune_steps": budget, "meta_train_cpu_s": meta_s, "features_cpu_s": features_s,
             "estimate_cpu_s": estimate_s[score], "estimation_cpu_s": estimation,
             "full_per_subset_cpu_s": full_per_subset[budget], "full_subsets_timed": full_sample,
             "full_training_cpu_s": full_per_subset[budget] * m, "speedup": full_per_subset[budget] * m / estimation}
        )  # fmt: skip
    return rows


def plot(table: pd.DataFrame, path: Path) -> None:
    fig, ax = plt.subplots(figsize=(5.5, 4))
    for score, rows in table.groupby("score"):
        first = rows.drop_duplicates("tasks")
        ax.loglog(first["tasks"], first["estimation_cpu_s"], "o-", label=f"estimation, score: {score}")
    for budget, rows in table[table["score"] == table["score"].iloc[0]].groupby("finetune_steps"):
        ax.loglog(rows["tasks"], rows["full_training_cpu_s"], "s--", label=f"full training, {budget} steps")
    first = table.drop_duplicates("tasks")
    ax.loglog(first["tasks"], first["meta_train_cpu_s"], "^:", label="meta-training (shared)")
    ax.set_xlabel("number of tasks n")
    ax.set_ylabel("CPU seconds")
    ax.set_xticks(first["tasks"], [str(n) for n in first["tasks"]])
    ax.legend(fontsize=7)
    ax.set_title("Cost of the task-affinity matrix")
    fig.savefig(path, dpi=110, bbox_inches="tight")
    plt.close(fig)


def main() -> None:
    parser = script_parser(
        __doc__,
        "scaling",
        table="scaling.csv",
        show=rows_without("commit"),
        label=True,
    )
    parser.add_argument("--tasks", type=int, nargs="+", default=[12, 24, 48])
    parser.add_argument("--budgets", type=int, nargs="+", default=[50_000], help="fine-tuning steps per subset")
    parser.add_argument("--full-sample", type=int, default=5, help="subsets really fine-tuned per n and budget")
    args = parser.parse_args()
    torch.set_num_threads(1)
    rows = []
    for n in args.tasks:
        with tempfile.TemporaryDirectory() as tmp, threadpool_limits(limits=1):
            rows += measure(n, args.full_sample, args.budgets, Path(tmp))
        print(rows[-1], flush=True)
    rows = [{**row, "commit": args.commit} for row in rows]
    table = write_rows(rows, args.out, "scaling", hide=("commit",))
    plot(table, args.out / "scaling.png")


if __name__ == "__main__":
    main()
