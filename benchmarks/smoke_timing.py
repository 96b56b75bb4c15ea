"""Wall-clock minutes of each real benchmark's workflow with the ``smoke`` preset, from an empty results/.

Per benchmark, in its own folder (benchmarks/out/smoke/<benchmark>/, emptied first) holding the default
config.yaml with only that benchmark: Snakemake builds ``clusters.csv`` (meta-training, features, estimate,
affinity, clustering), then the rest of the DAG (``report.html``, ``approx_error.json``, ``comparison.csv``:
every stage's artifacts, the baselines included). One row per benchmark: the minutes of each of the two
commands, how many jobs the whole DAG ran, and the ARI of the clusters against the planted groups (where the
benchmark has them; the smoke budgets are too small for it to mean much). Writes smoke_timing.csv / .json and
prints a markdown table.

    python -m benchmarks.smoke_timing                       # halfcheetah hopper ant metaworld, --cores 2
    python -m benchmarks.smoke_timing --benchmarks ant --cores 4
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pandas as pd

from benchmarks.common import benchmark_config, run_workflow, script_parser, write_rows

CLUSTERS = ["clusters.csv"]
REST = ["report.html", "approx_error.json", "comparison.csv"]


def jobs_done(log: Path) -> int:
    """Jobs Snakemake reports as done in ``log`` (the last "i of n steps" line of each invocation, summed)."""
    total = 0
    for invocation in log.read_text().split("Building DAG of jobs...")[1:]:
        steps = re.findall(r"(\d+) of \d+ steps \(\d+%\) done", invocation)
        total += int(steps[-1]) if steps else 0
    return total


def time_benchmark(benchmark: str, out: Path, cores: int) -> dict:
    workdir = out / benchmark
    shutil.rmtree(workdir, ignore_errors=True)
    config = benchmark_config(benchmark, "smoke")
    minutes = {
        column: run_workflow(workdir, config, [f"results/{benchmark}/{t}" for t in targets], cores) / 60
        for column, targets in (("clusters_min", CLUSTERS), ("rest_of_dag_min", REST))
    }
    results = workdir / "results" / benchmark
    return {
        "benchmark": benchmark,
        "tasks": len(pd.read_csv(results / "clusters.csv")),
        "cores": cores,
        **minutes,
        "jobs": jobs_done(workdir / "snakemake.log"),
        "ari": json.loads((results / "cluster_quality.json").read_text()).get("ari"),  # None without planted groups
    }


def main() -> None:
    parser = script_parser(__doc__, "smoke")
    parser.add_argument("--benchmarks", nargs="+", default=["halfcheetah", "hopper", "ant", "metaworld"])
    parser.add_argument("--cores", type=int, default=2)
    args = parser.parse_args()
    rows = []
    for benchmark in args.benchmarks:
        rows.append(time_benchmark(benchmark, args.out, args.cores))
        print(f"{benchmark}: {rows[-1]}", flush=True)
    write_rows(rows, args.out, "smoke_timing")


if __name__ == "__main__":
    main()
