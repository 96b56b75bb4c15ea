"""Peak memory (RSS) of the ``features`` and ``approx_error`` stages at a preset's real sizes.

Each measurement runs in a fresh Python process, so its peak is the stage's own (the torch import included, as
in the workflow's jobs), read from getrusage(RUSAGE_SELF).ru_maxrss at its end. The policy is a freshly built
one of the preset's network (memory does not depend on its weights; an untrained robot falls sooner, so
``samples`` is reported):

- ``features``: the stage's computation for one task (rollouts, per-sample gradients projected batch by batch,
  log pi), at the preset's ``features.episodes`` and ``batch_size``, and at a few episodes with one batch of
  every sample (``batch_size`` = all), which is what the stage did before it projected batch by batch;
- ``approx_error``: theta*, P and every task's features (the one measured file, copied per task), and the
  first-order prediction (a JVP) and the real log pi under a random delta on each task's held-out samples.

``whole_matrix_mb`` is what the N x D matrix of per-sample gradients alone would take (4 bytes a float).
Writes memory.csv / .json under ``--out`` and prints a table; the SLURM profile's ``mem_mb`` of the two rules
are set from it with a margin.

    python -m benchmarks.memory --benchmarks ant metaworld --preset full
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmarks.common import load_bench, rows_without, script_parser, write_rows


def child(spec: dict) -> dict:
    """One measurement, in this (fresh) process: see the module docstring."""
    import torch

    from policygradex.config import task_names

    torch.set_num_threads(1)
    bench = load_bench(spec["benchmark"], spec["preset"])
    bench["features"].update(spec["features"])
    names = task_names(bench)
    start = time.perf_counter()
    if spec["stage"] == "features":
        from policygradex.features import compute_features
        from policygradex.io import write_npz

        features = compute_features(bench, spec["policy"], names[0])
        write_npz(spec["features_file"], **features)
        samples, num_params = len(features["obs"]), int(features["num_params"])
    else:
        from policygradex.estimator import SubsetEstimator, log_prob_errors

        estimator = SubsetEstimator(bench, spec["policy"], spec["feature_paths"])
        num_params = estimator.theta_flat.numel()
        delta = torch.randn(num_params, generator=torch.Generator().manual_seed(0)) * 1e-3
        for task in range(len(names)):
            log_prob_errors(estimator, task, delta)
        samples = int(sum(len(f["obs"]) for f in estimator.features))
    return {
        "seconds": time.perf_counter() - start,
        "samples": samples,
        "num_params": num_params,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }


def measure(spec: dict) -> dict:
    done = subprocess.run(
        [sys.executable, __file__, "--child", json.dumps(spec)], check=True, capture_output=True, text=True
    )
    return json.loads(done.stdout.strip().splitlines()[-1])


def copy_per_task(source: Path, names: list[str], folder: Path) -> list[str]:
    """The one measured features file, as each task's (only its task name changes)."""
    import numpy as np

    from policygradex.io import write_npz

    data = dict(np.load(source))
    paths = []
    for name in names:
        path = folder / f"{name}.npz"
        write_npz(path, **{**data, "task": np.array(name)})
        paths.append(str(path))
    return paths


def run_benchmark(name: str, preset: str, small_episodes: int, folder: Path) -> list[dict]:
    from policygradex.config import task_names
    from policygradex.policy import build_policy, save_policy

    bench = load_bench(name, preset)
    policy = folder / f"{name}.pt"
    save_policy(build_policy(bench), policy)
    cfg = bench["features"]
    base = {"benchmark": name, "preset": preset, "policy": str(policy)}
    runs = [
        ("features", {"episodes": small_episodes, "batch_size": 10**9}, "every sample in one batch"),
        ("features", {"episodes": small_episodes}, "default batch"),
        ("features", {}, "default batch"),
    ]
    rows = []
    for stage, features, batching in runs:
        spec = {**base, "stage": stage, "features": features, "features_file": str(folder / f"{name}.npz")}
        rows.append({"stage": stage, "episodes": features.get("episodes", cfg["episodes"]), "batching": batching})
        rows[-1].update(measure(spec))
        rows[-1]["batch_size"] = min(features.get("batch_size", cfg["batch_size"]), rows[-1]["samples"])
        print(rows[-1], flush=True)
    paths = copy_per_task(folder / f"{name}.npz", task_names(bench), folder / name)
    spec = {**base, "stage": "approx_error", "features": {}, "feature_paths": paths}
    row = {"stage": "approx_error", "episodes": cfg["episodes"], "batching": "one JVP per task", "batch_size": 0}
    rows.append(row | measure(spec))
    print(rows[-1], flush=True)
    for row in rows:
        row |= {"benchmark": name, "preset": preset, "projection_dim": cfg["projection_dim"]}
        per_task = row["samples"] / (len(bench["tasks"]) if row["stage"] == "approx_error" else 1)
        row["whole_matrix_mb"] = per_task * row["num_params"] * 4 / 2**20
    return rows


def main() -> None:
    parser = script_parser(
        __doc__,
        "memory",
        table="memory.csv",
        show=rows_without("commit", "preset", "projection_dim"),
        label=True,
    )
    parser.add_argument("--benchmarks", nargs="+", default=["ant", "metaworld"])
    parser.add_argument("--preset", default="full")
    parser.add_argument("--small-episodes", type=int, default=3, help="episodes of the one-batch comparison")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child(json.loads(args.child))))
        return

    import pandas as pd

    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for name in args.benchmarks:
            rows += run_benchmark(name, args.preset, args.small_episodes, Path(tmp))
    columns = ["benchmark", "preset", "stage", "episodes", "batching", "batch_size", "samples", "num_params",
               "projection_dim", "whole_matrix_mb", "peak_rss_mb", "seconds"]  # fmt: skip
    table = pd.DataFrame(rows)[columns].assign(commit=args.commit)
    write_rows(table.to_dict("records"), args.out, "memory", hide=("commit",))


if __name__ == "__main__":
    main()
