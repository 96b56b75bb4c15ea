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
imports torch's compiler) against a second load in the same process. ``--decompose`` splits the estimate's cost
per subset, where the two accountings part: a fresh interpreter with torch on one thread, as an estimate job,
builds the run's estimator (theta*, the features, the projection: inside the in-process clock, outside the
workflow's) and estimates its first subsets (chunk 0's first) one at a time, once with the linear-algebra
libraries on one thread (``OPENBLAS_NUM_THREADS=1`` and its kin, which Snakemake sets to a job's threads) and once
on their default (every core: what a script run by hand gets); from those CPU seconds it predicts each
accounting's figure (the in-process one: building plus the first ``num_subsets`` subsets of the scaling row, over
that count; the workflow's: a chunk's subsets after building, over their count) beside what each measured. Writes
speedup_accountings.csv (and estimate_cost.csv) under ``--out`` and prints them.

    python -m benchmarks.claims --benchmark pointmass --seeds 80 --cores 2 \\
        --targets clusters.csv affinity_full.csv speedup.json --out benchmarks/out/accountings
    python -m benchmarks.scaling --tasks 12 --budgets 50000 --full-sample 3 --out benchmarks/out/accountings/scaling
    python -m benchmarks.speedup_accountings --run benchmarks/out/accountings/seed-80 \\
        --scaling benchmarks/out/accountings/scaling/scaling.csv --probe --decompose
"""

from __future__ import annotations

import json
import statistics
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


#: A fresh interpreter with torch on one thread (an estimate job's) builds the run's estimator and estimates the
#: first ``count`` subsets of the estimate (chunk 0's first), printing the CPU seconds of the building and of each.
DECOMPOSE = """
import json, sys
import torch
from policygradex.config import benchmark, load_config
from policygradex.estimator import SubsetEstimator, chunk_subsets
from policygradex.io import cpu_seconds
torch.set_num_threads(1)
config_path, name, policy, count, *features = sys.argv[1:]
bench = benchmark(load_config(config_path), name)
start = cpu_seconds()
estimator = SubsetEstimator(bench, policy, features)
building = cpu_seconds() - start
seconds = []
for subset in chunk_subsets(bench, int(count), 1, 0).values():
    start = cpu_seconds()
    estimator.estimate(subset)
    seconds.append(cpu_seconds() - start)
print(json.dumps({"building": building, "subsets": seconds}))
"""


#: The thread counts of the linear-algebra libraries that Snakemake sets to a job's threads (snakemake/shell.py).
BLAS_THREADS = ("OMP_NUM_THREADS", "GOTO_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS",
                "VECLIB_MAXIMUM_THREADS", "NUMEXPR_NUM_THREADS")  # fmt: skip


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


def fresh_interpreter(code: str, *args: str, env: dict[str, str] | None = None):
    """What ``code`` prints as JSON on its last line, run in a fresh interpreter of this checkout's package (as a
    job starts: nothing imported or loaded before) with ``args`` and the environment variables ``env``."""
    done = subprocess.run(
        [sys.executable, "-c", code, *args], capture_output=True, text=True, check=True,
        env={"PYTHONPATH": str(ROOT / "src"), "PATH": "", **(env or {})},
    )  # fmt: skip
    return json.loads(done.stdout.strip().splitlines()[-1])


def load_probe(run: Path, name: str) -> dict:
    """CPU seconds of loading theta* the first and the second time in one fresh process."""
    policy = str(run / "results" / name / "meta/policy.pt")
    first, second = fresh_interpreter(PROBE, str(run / "config.yaml"), name, policy)
    return {"policy_load_first_cpu_s": first, "policy_load_again_cpu_s": second}


def estimate_cost(run: Path, name: str, bench: dict, rows: list[dict]) -> list[dict]:
    """Where the accountings' estimate per subset parts (see ``--decompose``): one row per accounting, the figure
    it measured beside the one predicted from a fresh estimate job's building and per-subset CPU seconds."""
    from policygradex.config import task_names
    from policygradex.subsets import chunk_ids

    cfg = bench["estimate"]
    chunk = len(chunk_ids(cfg["num_subsets"], cfg["num_chunks"], 0))  # the subsets of one estimate job
    in_process = next(row for row in rows if row["accounting"] == "in_process")
    count = max(chunk, in_process["subsets_estimated"])
    results = run / "results" / name
    job = [str(run / "config.yaml"), name, str(results / "meta/policy.pt"), str(count)]
    features = [str(results / "features" / f"{task}.npz") for task in task_names(bench)]
    spans = {"in_process": (True, in_process["subsets_estimated"]), "workflow": (False, chunk)}
    table = []
    for blas_threads in ("1", "default"):
        threads = {} if blas_threads == "default" else {variable: blas_threads for variable in BLAS_THREADS}
        measured = fresh_interpreter(DECOMPOSE, *job, *features, env=threads)
        building, seconds = measured["building"], measured["subsets"]
        for row in rows:
            with_building, subsets = spans[row["accounting"]]
            predicted = (building * with_building + sum(seconds[:subsets])) / subsets
            table.append({
                "accounting": row["accounting"], "commit": row["commit"], "blas_threads": blas_threads,
                "subsets_in_span": subsets, "clock_holds_building": with_building,
                "estimator_building_cpu_s": building, "first_subset_cpu_s": seconds[0],
                "later_subset_cpu_s_median": statistics.median(seconds[1:]), "predicted_cpu_s_per_subset": predicted,
                "measured_cpu_s_per_subset": row["estimate_cpu_s_per_subset"],
                "measured_over_predicted": row["estimate_cpu_s_per_subset"] / predicted,
            })  # fmt: skip
    return table


def main() -> None:
    parser = script_parser(__doc__, "speedup_accountings", table="speedup_accountings.csv")
    parser.add_argument("--run", type=Path, required=True, help="a finished run folder with speedup.json")
    parser.add_argument("--scaling", type=Path, required=True, help="benchmarks.scaling's scaling.csv")
    parser.add_argument("--probe", action="store_true", help="also time loading theta* in a fresh process")
    parser.add_argument("--decompose", action="store_true", help="also split the estimate's cost per subset")
    args = parser.parse_args()
    name, bench = run_benchmark(args.run)
    workflow = workflow_row(args.run, name, bench)
    rows = [workflow, in_process_row(args.scaling, workflow["n"], workflow["score"], workflow["finetune_steps"])]
    rows = [row | {"measured_at": commit()} for row in rows]
    if args.probe:
        probe = load_probe(args.run, name)
        rows = [row | probe for row in rows]
    write_rows(rows, args.out, "speedup_accountings")
    if args.decompose:
        cost = [row | {"measured_at": commit()} for row in estimate_cost(args.run, name, bench, rows)]
        write_rows(cost, args.out, "estimate_cost")


if __name__ == "__main__":
    main()
