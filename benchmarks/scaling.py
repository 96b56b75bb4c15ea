"""How the cost of the affinity grows with the number of tasks: estimation against full training.

For n in --tasks (default 12, 24, 48) the pointmass benchmark gets n goals (n/3 directions x 3 distances),
subsets of size n/2 and num_subsets = max(100, 5n) (NOTES: m >= 5n subsets of size n/2 let every pair of tasks
share subsets). In one process, on this machine:

- meta-training (shared by both paths, reported apart) with the config's budget;
- estimation = features of every task + the first-order estimate of every subset, timed in full;
- full training = PPO fine-tuning of a subset with the finetune budget, timed on --full-sample subsets and
  multiplied by num_subsets (fine-tuning every subset at n = 48 would take hours; the per-subset cost is
  what grows with n, and is measured).

Writes benchmarks/out/scaling.csv, scaling.json and scaling.png (log-log) and prints the table.

    python benchmarks/scaling.py --tasks 12 24 48
"""

from __future__ import annotations

import argparse
import copy
import json
import math
import statistics
import tempfile
import time
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402
import torch  # noqa: E402

from policygradex.config import load_config, validate_config  # noqa: E402
from policygradex.estimate import SubsetEstimator  # noqa: E402
from policygradex.features import compute_features  # noqa: E402
from policygradex.full_training import finetune_delta  # noqa: E402
from policygradex.io import write_npz  # noqa: E402
from policygradex.subsets import draw_subsets  # noqa: E402
from policygradex.training import train_policy  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]


def pointmass_tasks(n: int) -> list[dict]:
    directions = n // 3
    tasks = []
    for d in range(directions):
        angle = 2 * math.pi * d / directions
        for radius in (0.5, 1.0, 1.5):
            goal = [round(radius * math.cos(angle), 6), round(radius * math.sin(angle), 6)]
            tasks.append({"name": f"d{d}-{radius}", "goal": goal, "group": f"d{d}"})
    return tasks


def measure(n: int, full_sample: int, workdir: Path) -> dict:
    base = load_config(ROOT / "config.yaml")["benchmarks"]["pointmass"]
    bench = copy.deepcopy(base)
    bench["tasks"] = pointmass_tasks(n)
    bench["estimate"].update(subset_size=n // 2, num_subsets=max(100, 5 * n))
    bench["cluster"]["k"] = n // 3
    bench = validate_config({"benchmarks": {"scaling": bench}})["benchmarks"]["scaling"]
    m = bench["estimate"]["num_subsets"]

    start = time.perf_counter()
    policy = workdir / "policy.pt"
    train_policy(bench, range(n), bench["meta_train"]["total_steps"], bench["seed"], policy, workdir / "log.csv")
    meta_s = time.perf_counter() - start

    start = time.perf_counter()
    paths = []
    for task in bench["tasks"]:
        paths.append(workdir / f"{task['name']}.npz")
        write_npz(paths[-1], **compute_features(bench, policy, task["name"]))
    features_s = time.perf_counter() - start

    start = time.perf_counter()
    estimator = SubsetEstimator(bench, policy, paths)
    subsets = draw_subsets(n, bench["estimate"]["subset_size"], m, bench["seed"])
    for subset in subsets:
        estimator.estimate(subset)
    estimate_s = time.perf_counter() - start

    per_subset = []
    for subset_id, subset in enumerate(subsets[:full_sample]):
        start = time.perf_counter()
        delta = finetune_delta(estimator, subset, seed=subset_id)
        estimator.scores(subset, estimator.as_tensor(delta))
        per_subset.append(time.perf_counter() - start)
    full_per_subset = statistics.median(per_subset)
    estimation = features_s + estimate_s
    return {
        "tasks": n,
        "num_subsets": m,
        "subset_size": bench["estimate"]["subset_size"],
        "finetune_steps": bench["finetune"]["total_steps"],
        "meta_train_s": meta_s,
        "features_s": features_s,
        "estimate_s": estimate_s,
        "estimation_s": estimation,
        "full_per_subset_s": full_per_subset,
        "full_subsets_timed": len(per_subset),
        "full_training_s": full_per_subset * m,
        "speedup": full_per_subset * m / estimation,
    }


def plot(table: pd.DataFrame, path: Path) -> None:
    fig, ax = plt.subplots(figsize=(5, 4))
    ax.loglog(table["tasks"], table["estimation_s"], "o-", label="estimation (features + estimate)")
    ax.loglog(table["tasks"], table["full_training_s"], "s-", label="full training (every subset)")
    ax.loglog(table["tasks"], table["meta_train_s"], "^--", label="meta-training (shared)")
    ax.set_xlabel("number of tasks n")
    ax.set_ylabel("seconds (1 CPU core)")
    ax.set_xticks(table["tasks"], [str(n) for n in table["tasks"]])
    ax.legend(fontsize=8)
    ax.set_title("Cost of the task-affinity matrix")
    fig.savefig(path, dpi=110, bbox_inches="tight")
    plt.close(fig)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tasks", type=int, nargs="+", default=[12, 24, 48])
    parser.add_argument("--full-sample", type=int, default=5, help="subsets really fine-tuned per n")
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "out")
    args = parser.parse_args()
    torch.set_num_threads(1)
    rows = []
    for n in args.tasks:
        with tempfile.TemporaryDirectory() as tmp:
            rows.append(measure(n, args.full_sample, Path(tmp)))
        print(rows[-1], flush=True)
    table = pd.DataFrame(rows)
    args.out.mkdir(parents=True, exist_ok=True)
    table.to_csv(args.out / "scaling.csv", index=False)
    (args.out / "scaling.json").write_text(json.dumps(rows, indent=2) + "\n")
    plot(table, args.out / "scaling.png")
    print(table.to_string(index=False, float_format=lambda v: f"{v:.1f}"))


if __name__ == "__main__":
    main()
