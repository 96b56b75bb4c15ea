"""Throughput of each benchmark on this machine: env-steps/second of meta-training and seconds per estimation
subset, with the settings of a config preset (smoke by default: the budgets differ, the per-step costs not).

Per benchmark, in this process (torch on ``--threads`` threads):

- ``meta_train_steps_per_s``: multitask PPO (the meta_train stage's learner, every task in one vector env)
  over ``--steps`` env steps, median of ``--repeats`` runs;
- ``features_s_per_task``: the features stage of one task (rollouts of theta*, per-sample gradients,
  projection), median over the tasks;
- ``estimate_s_per_subset_return`` / ``_surrogate``: the estimate stage's cost of one subset (logistic fit,
  then scoring every task of the subset by rollouts or by the surrogate), median over ``--subsets`` subsets.

Writes throughput.csv and throughput.json under ``--out`` and prints a markdown table.

    python benchmarks/throughput.py --benchmarks pointmass halfcheetah hopper ant metaworld
"""

from __future__ import annotations

import argparse
import copy
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd
import torch
import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT / "benchmarks"))

from claims import markdown_table  # noqa: E402

from policygradex.config import task_names, validate_config  # noqa: E402
from policygradex.estimate import SubsetEstimator  # noqa: E402
from policygradex.features import compute_features  # noqa: E402
from policygradex.io import write_npz  # noqa: E402
from policygradex.policy import save_policy  # noqa: E402
from policygradex.subsets import draw_subsets  # noqa: E402
from policygradex.training import make_learner  # noqa: E402


def load_bench(name: str, preset: str) -> dict:
    config = yaml.safe_load((ROOT / "config.yaml").read_text())
    config["benchmarks"] = {name: config["benchmarks"][name]}
    config["preset"] = preset
    return validate_config(config)["benchmarks"][name]


def timed(fn, *args, **kwargs) -> float:
    start = time.perf_counter()
    fn(*args, **kwargs)
    return time.perf_counter() - start


def write_features(bench: dict, policy_path: Path, task: str, path: Path) -> None:
    write_npz(path, **compute_features(bench, policy_path, task))


def measure(name: str, preset: str, steps: int, repeats: int, subsets: int, workdir: Path) -> dict:
    bench = load_bench(name, preset)
    n = len(bench["tasks"])
    learn_seconds = []
    for repeat in range(repeats):
        model = make_learner(bench, range(n), seed=repeat)
        learn_seconds.append(timed(model.learn, total_timesteps=steps))
        model.get_env().close()
    policy_path = workdir / name / "policy.pt"
    model.policy.to("cpu")
    save_policy(model.policy, policy_path)

    feature_paths, feature_seconds = [], []
    for task in task_names(bench):
        path = workdir / name / f"{task}.npz"
        feature_seconds.append(timed(write_features, bench, policy_path, task, path))
        feature_paths.append(path)

    row = {
        "benchmark": name,
        "preset": preset,
        "tasks": n,
        "episode_length": bench["episode_length"],
        "meta_train_steps_per_s": steps / statistics.median(learn_seconds),
        "features_s_per_task": statistics.median(feature_seconds),
    }
    cfg = bench["estimate"]
    for score in ("return", "surrogate"):
        scored = copy.deepcopy(bench)
        scored["estimate"]["score"] = score
        estimator = SubsetEstimator(scored, policy_path, feature_paths)
        drawn = draw_subsets(n, cfg["subset_size"], subsets, seed=0)
        seconds = [timed(estimator.estimate, subset) for subset in drawn]
        row[f"estimate_s_per_subset_{score}"] = statistics.median(seconds)
    row["subset_size"] = cfg["subset_size"]
    row["score_episodes"] = cfg["score_episodes"]
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--benchmarks", nargs="+", default=["pointmass", "halfcheetah", "hopper", "ant", "metaworld"])
    parser.add_argument("--preset", default="smoke", help="the preset whose settings are measured (default smoke)")
    parser.add_argument("--steps", type=int, default=8192, help="env steps of each meta-training measurement")
    parser.add_argument("--repeats", type=int, default=3, help="meta-training measurements (median)")
    parser.add_argument("--subsets", type=int, default=3, help="estimation subsets timed (median)")
    parser.add_argument("--threads", type=int, default=1, help="torch threads")
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "out" / "throughput")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for name in args.benchmarks:
            rows.append(measure(name, args.preset, args.steps, args.repeats, args.subsets, Path(tmp)))
            print(f"{name}: {rows[-1]}", flush=True)
    table = pd.DataFrame(rows)
    args.out.mkdir(parents=True, exist_ok=True)
    table.to_csv(args.out / "throughput.csv", index=False)
    (args.out / "throughput.json").write_text(json.dumps(rows, indent=2) + "\n")
    text = markdown_table(table)
    (args.out / "throughput.md").write_text(text + "\n")
    print(text)


if __name__ == "__main__":
    main()
