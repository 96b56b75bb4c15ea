"""The two accountings of the speedup, side by side from one machine: what each counts, and where they part.

- ``workflow``: the ``speedup`` stage of a finished run (its speedup.json and timing/*.json): CPU seconds inside
  the features and estimate jobs (the estimate's pro-rated to the subsets full training fine-tuned) against those
  inside the full-training jobs, each job's start-up left out;
- ``in_process``: ``benchmarks.scaling``'s row at the same n, budget and scoring (one process, CPU seconds, every
  subset of the estimate timed, full training's cost per subset the median of a few fine-tunes times the number
  of subsets).

One row per accounting with the same columns: the features' CPU seconds (total and per task), the estimate's per
subset, the full training's per subset, the estimation's and full training's totals over the compared subsets,
and the speedup. ``--probe`` adds what a job pays to load theta* the first time in a fresh process (the features
and estimate jobs' start-up: stable-baselines3 builds an optimizer with the policy, whose first construction
imports torch's compiler) against a second load in the same process. Writes speedup_accountings.csv under
``--out`` and prints it.

    python -m benchmarks.claims --benchmark pointmass --seeds 80 --cores 2 \\
        --targets clusters.csv affinity_full.csv speedup.json --out benchmarks/out/accountings
    python -m benchmarks.scaling --tasks 12 --budgets 50000 --full-sample 3 --out benchmarks/out/accountings/scaling
    python -m benchmarks.speedup_accountings --run benchmarks/out/accountings/seed-80 \\
        --scaling benchmarks/out/accountings/scaling/scaling.csv --probe
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from benchmarks.common import ROOT, commit, made_at, read_rows, run_benchmark, script_parser, write_rows

#: A fresh interpreter loads theta* twice and prints the CPU seconds of each load (the modules the features
#: stage imports are imported first, so that only the load itself is timed).
PROBE = """
import json, sys, time
from policygradex.features import compute_features  # noqa: F401 (the features stage's imports)
from policygradex.config import load_config, benchmark
from policygradex.policy import load_policy
config_path, name, policy = sys.argv[1:]
bench = benchmark(load_config(config_path), name)
seconds = []
for _ in range(2):
    start = time.process_time()
    load_policy(policy, bench)
    seconds.append(time.process_time() - start)
print(json.dumps(seconds))
"""


def accounting_row(
    accounting: str, commit: str, seed, n: int, score: str, finetune_steps: int, compared: int, estimated: int,
    features_cpu_s: float, estimate_cpu_s_per_subset: float, estimation_cpu_s: float, full_cpu_s_per_subset: float,
    speedup: float,
) -> dict:  # fmt: skip
    """One accounting in the columns both share; the per-task and total figures derived alike for both."""
    return {
        "accounting": accounting, "commit": commit, "seed": seed, "n": n, "score": score,
        "finetune_steps": finetune_steps, "subsets_compared": compared, "subsets_estimated": estimated,
        "features_cpu_s": features_cpu_s, "features_cpu_s_per_task": features_cpu_s / n,
        "estimate_cpu_s_per_subset": estimate_cpu_s_per_subset, "estimation_cpu_s": estimation_cpu_s,
        "full_cpu_s_per_subset": full_cpu_s_per_subset, "full_training_cpu_s": full_cpu_s_per_subset * compared,
        "speedup": speedup,
    }  # fmt: skip


def workflow_row(run: Path, name: str, bench: dict) -> dict:
    """The speedup stage's accounting of a finished run folder (a benchmarks.claims seed folder)."""
    results = run / "results" / name
    speedup = json.loads((results / "speedup.json").read_text())
    cost, compared, estimated = speedup["estimation_cpu_seconds"], speedup["subsets_compared"], speedup["num_subsets"]
    return accounting_row(
        "workflow", made_at(results), bench["seed"], speedup["num_tasks"], bench["estimate"]["score"],
        speedup["finetune_steps_per_subset"], compared, estimated, cost["features"],
        cost["estimate_all_subsets"] / estimated, cost["total"], speedup["full_training_cpu_seconds"] / compared,
        speedup["speedup"],
    )  # fmt: skip


def in_process_row(scaling: Path, n: int, score: str, steps: int) -> dict:
    """benchmarks.scaling's row at ``n`` tasks, ``score`` and ``steps`` a fine-tune, in the same columns."""
    rows = read_rows(scaling)
    row = rows[(rows["tasks"] == n) & (rows["score"] == score) & (rows["finetune_steps"] == steps)]
    if row.empty:
        raise SystemExit(f"{scaling}: no row at tasks={n}, score={score}, finetune_steps={steps}")
    row = row.iloc[0]
    subsets = int(row["num_subsets"])
    return accounting_row(
        "in_process", row["commit"], "", n, score, steps, subsets, subsets, row["features_cpu_s"],
        row["estimate_cpu_s"] / subsets, row["estimation_cpu_s"], row["full_per_subset_cpu_s"], row["speedup"],
    )  # fmt: skip


def load_probe(run: Path, name: str) -> dict:
    """CPU seconds of loading theta* the first and the second time in one fresh process."""
    done = subprocess.run(
        [sys.executable, "-c", PROBE, str(run / "config.yaml"), name, str(run / "results" / name / "meta/policy.pt")],
        capture_output=True, text=True, check=True, env={"PYTHONPATH": str(ROOT / "src"), "PATH": ""},
    )  # fmt: skip
    first, second = json.loads(done.stdout.strip().splitlines()[-1])
    return {"policy_load_first_cpu_s": first, "policy_load_again_cpu_s": second}


def main() -> None:
    parser = script_parser(__doc__, "speedup_accountings", table="speedup_accountings.csv")
    parser.add_argument("--run", type=Path, required=True, help="a finished run folder with speedup.json")
    parser.add_argument("--scaling", type=Path, required=True, help="benchmarks.scaling's scaling.csv")
    parser.add_argument("--probe", action="store_true", help="also time loading theta* in a fresh process")
    args = parser.parse_args()
    name, bench = run_benchmark(args.run)
    workflow = workflow_row(args.run, name, bench)
    rows = [workflow, in_process_row(args.scaling, workflow["n"], workflow["score"], workflow["finetune_steps"])]
    rows = [row | {"measured_at": commit()} for row in rows]
    if args.probe:
        probe = load_probe(args.run, name)
        rows = [row | probe for row in rows]
    write_rows(rows, args.out, "speedup_accountings")


if __name__ == "__main__":
    main()
