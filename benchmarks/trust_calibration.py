"""The trust verdict (src/policygradex/trust.py) on real runs, with k from the config and with ``k: auto``.

For each case (benchmark, preset, seed), the default config.yaml with only that benchmark and that seed is built
by Snakemake up to ``clusters.csv`` in its own folder (benchmarks/out/trust/<benchmark>-<preset>/seed-<s>/). The
row holds the verdict of cluster_quality.json (k from the config), then the cluster stage is run again in this
process on the same artifacts with ``cluster.k: auto`` (written to auto/ beside results/), for the k it picks.

Cost: the cluster stage's wall time as Snakemake runs it (``python -m policygradex cluster`` in a fresh process,
median of ``--repeats`` runs) against the seconds of its trust step (trust.assess, median of as many in-process
runs, same inputs), measured in the same run of this script.

Writes trust.csv and trust.json (one row per case, with the commit) and prints a markdown table.

    python -m benchmarks.trust_calibration                                    # the default cases
    python -m benchmarks.trust_calibration --cases pointmass:smoke:0 ant:evidence:10 --out benchmarks/out/trust
"""

from __future__ import annotations

import copy
import json
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

from benchmarks.common import (
    benchmark_config,
    commit,
    markdown_table,
    read_rows,
    run_workflow,
    script_parser,
    write_rows,
)
from policygradex.config import stage_view_json, task_names, validate_config
from policygradex.diagnosis import median_consistency, rollout_summaries
from policygradex.io import read_affinity, read_subset_scores
from policygradex.stages import cluster as cluster_stage
from policygradex.trust import judge

DEFAULT_CASES = [
    "pointmass:smoke:0",
    "pointmass:smoke:1",
    "pointmass:smoke:2",
    "ant:evidence:10",
    "ant:evidence:11",
    "halfcheetah:smoke:0",
    "hopper:smoke:0",
    "ant:smoke:0",
]


def summarise(prefix: str, quality: dict) -> dict:
    reliability = quality["reliability"]
    return {
        f"{prefix}k": quality["k"],
        f"{prefix}verdict": quality["verdict"],
        f"{prefix}p_value": quality["p_value"],
        f"{prefix}row_spearman": reliability["row_spearman"],
        f"{prefix}stability": reliability["stability"],
        f"{prefix}ari": quality.get("ari"),
    }


def stage_cost(workdir: Path, benchmark: str, bench: dict, repeats: int) -> dict:
    """Median wall seconds of the cluster stage's process and of its trust step (see module docstring)."""
    results = workdir / "results" / benchmark
    names = task_names(bench)
    chunks = sorted(str(p) for p in (results / "subsets").glob("chunk_*.csv"))
    features = [str(results / "features" / f"{name}.npz") for name in names]
    out = workdir / "cost"
    command = [
        sys.executable, "-m", "policygradex", "cluster", "--benchmark", benchmark,
        "--settings", stage_view_json(bench, "cluster"), "--affinity", str(results / "affinity.csv"),
        "--chunks", *chunks, "--features", *features,
        "--output", str(out / "clusters.csv"), "--quality", str(out / "cluster_quality.json"),
    ]  # fmt: skip
    process = []
    for _ in range(repeats):
        start = time.perf_counter()
        subprocess.run(command, check=True, capture_output=True)
        process.append(time.perf_counter() - start)
    affinity = read_affinity(results / "affinity.csv", names).to_numpy()
    scores, members = read_subset_scores(chunks, names)
    cfg = bench["cluster"]
    trust = []
    for _ in range(repeats):
        start = time.perf_counter()
        judge(affinity, scores, members, cfg, bench["seed"])
        trust.append(time.perf_counter() - start)
    stage_s, trust_s = float(np.median(process)), float(np.median(trust))
    return {"cluster_stage_s": stage_s, "trust_step_s": trust_s, "trust_share_pct": 100 * trust_s / stage_s}


def run_case(case: str, out: Path, cores: int, repeats: int) -> dict:
    benchmark, preset, seed = case.split(":")
    config = benchmark_config(benchmark, preset, seed=int(seed))
    workdir = out / f"{benchmark}-{preset}" / f"seed-{seed}"
    minutes = run_workflow(workdir, config, [f"results/{benchmark}/clusters.csv"], cores) / 60
    bench = validate_config(copy.deepcopy(config))["benchmarks"][benchmark]
    results = workdir / "results" / benchmark
    names = task_names(bench)
    features = [results / "features" / f"{name}.npz" for name in names]
    row = {"benchmark": benchmark, "preset": preset, "seed": int(seed), "commit": commit(), "minutes": minutes}
    row["k_config"] = bench["cluster"]["k"]
    row |= summarise("", json.loads((results / "cluster_quality.json").read_text()))
    row["gradient_consistency_median"] = median_consistency(rollout_summaries(features))
    auto = {**bench["cluster"], "k": "auto"}
    cluster_stage.run(
        {**bench, "cluster": auto}, results / "affinity.csv", sorted((results / "subsets").glob("chunk_*.csv")),
        features, workdir / "auto" / "clusters.csv", workdir / "auto" / "cluster_quality.json",
    )  # fmt: skip
    row |= summarise("auto_", json.loads((workdir / "auto" / "cluster_quality.json").read_text()))
    if benchmark == "pointmass":
        row |= stage_cost(workdir, benchmark, bench, repeats)
    row["reason"] = json.loads((results / "cluster_quality.json").read_text())["reason"]
    return row


def verdicts(table: pd.DataFrame) -> pd.DataFrame:
    """The pages' table of verdicts (one row per case) from a trust.csv."""
    return pd.DataFrame(
        {
            "benchmark": table["benchmark"] + " " + table["preset"],
            "seed": table["seed"],
            "k (config)": table["k_config"],
            "verdict": table["verdict"],
            "stability": table["stability"].map("{:.2f}".format),
            "row Spearman": table["row_spearman"].map("{:.2f}".format),
            "p": table["p_value"].map("{:.3f}".format),
            "ARI": table["ari"].map(lambda v: "" if pd.isna(v) else f"{v:.2f}"),
            "k (auto)": table["auto_k"],
            "verdict (auto)": table["auto_verdict"],
            "ARI (auto)": table["auto_ari"].map(lambda v: "" if pd.isna(v) else f"{v:.2f}"),
            "gradient consistency": table["gradient_consistency_median"].map("{:.2f}".format),
        }
    )


def main() -> None:
    parser = script_parser(
        __doc__, "trust", table="trust.csv", show=lambda path: markdown_table(verdicts(read_rows(path)))
    )
    parser.add_argument("--cases", nargs="+", default=DEFAULT_CASES, metavar="BENCHMARK:PRESET:SEED")
    parser.add_argument("--cores", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=5, help="runs of the cost measurement (median)")
    args = parser.parse_args()
    rows = []
    for case in args.cases:
        rows.append(run_case(case, args.out, args.cores, args.repeats))
        print(f"{case}: {rows[-1]}", flush=True)
    write_rows(rows, args.out, "trust", hide=("reason",))


if __name__ == "__main__":
    main()
