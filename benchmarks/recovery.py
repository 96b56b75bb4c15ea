"""Does the default pointmass run recover the planted groups? The whole workflow over several seeds.

For each seed, the default config.yaml with ``benchmarks.<benchmark>.seed`` replaced is run by Snakemake in its
own folder (benchmarks/out/recovery/seed-<s>/), through evaluation. Prints a table and writes
recovery.csv, recovery.json and recovery.md beside the runs.

    python benchmarks/recovery.py --seeds 0 1 2
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import yaml

ROOT = Path(__file__).resolve().parents[1]


def run_seed(benchmark: str, seed: int, out: Path, cores: int) -> dict:
    workdir = out / f"seed-{seed}"
    workdir.mkdir(parents=True, exist_ok=True)
    config = yaml.safe_load((ROOT / "config.yaml").read_text())
    config["benchmarks"] = {benchmark: {**config["benchmarks"][benchmark], "seed": seed}}
    (workdir / "config.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
    results = workdir / "results" / benchmark
    start = time.monotonic()
    with open(workdir / "snakemake.log", "w") as log:
        subprocess.run(
            [
                sys.executable,
                "-m",
                "snakemake",
                "--snakefile",
                str(ROOT / "Snakefile"),
                "--directory",
                str(workdir),
                "--cores",
                str(cores),
                f"results/{benchmark}/evaluation.csv",
            ],
            check=True,
            stdout=log,
            stderr=subprocess.STDOUT,
            env={**os.environ, "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}"},
        )
    quality = json.loads((results / "cluster_quality.json").read_text())
    evaluation = pd.read_csv(results / "evaluation.csv").groupby("method")["mean_return"].mean()
    return {
        "seed": seed,
        "ari": quality["ari"],
        "nmi": quality["nmi"],
        "single_return": evaluation["single"],
        "grouped_return": evaluation["policygradex"],
        "seconds": round(time.monotonic() - start, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--benchmark", default="pointmass")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--cores", type=int, default=2)
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "out" / "recovery")
    args = parser.parse_args()
    rows = []
    for seed in args.seeds:
        rows.append(run_seed(args.benchmark, seed, args.out, args.cores))
        print(f"seed {seed}: {rows[-1]}", flush=True)
    table = pd.DataFrame(rows)
    table.to_csv(args.out / "recovery.csv", index=False)
    (args.out / "recovery.json").write_text(json.dumps(rows, indent=2) + "\n")
    markdown = markdown_table(table)
    (args.out / "recovery.md").write_text(markdown + "\n")
    print(markdown)


def markdown_table(table: pd.DataFrame) -> str:
    """A GitHub markdown table, floats with 3 decimals (pandas' to_markdown needs the optional tabulate)."""
    cells = table.map(lambda v: f"{v:.3f}" if isinstance(v, float) else str(v))
    lines = ["| " + " | ".join(table.columns) + " |", "|" + "---|" * len(table.columns)]
    lines += ["| " + " | ".join(row) + " |" for row in cells.itertuples(index=False)]
    return "\n".join(lines)


if __name__ == "__main__":
    main()
