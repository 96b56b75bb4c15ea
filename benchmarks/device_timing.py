"""Seconds of each workflow stage with ``device: cpu`` and with ``device: cuda``, on one machine in one run.

For each of ``--devices``: an empty folder ``<out>/<device>/`` whose config.yaml holds only ``--benchmark``
with its ``device`` set (and the ``--set`` overrides, the same for every device); Snakemake builds
``--targets`` there on ``--cores``. Every job's Snakemake benchmark file (``logs/**/*.benchmark.tsv``: wall
seconds, CPU seconds, peak RSS of the job's processes) is summed per stage. Writes device_timing.csv and .json
(one row per stage and device, with the machine: GPU, CPU count, torch) under ``--out`` and prints a table of
each stage's seconds per device and their ratio to the first device's.

    python -m benchmarks.device_timing --devices cpu cuda --cores 16 \\
        --set meta_train.total_steps=50000 finetune.total_steps=10000
"""

from __future__ import annotations

import os
import platform
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import torch

from benchmarks.common import benchmark_config, markdown_table, read_rows, run_workflow, save, script_parser

DEFAULT_TARGETS = ["clusters.csv", "evaluation.csv", "hessian.csv"]


def machine() -> dict:
    """What ran it: the numbers mean little without it."""
    gpu = torch.cuda.get_device_name(0) if torch.cuda.is_available() else "none"
    return {"gpu": gpu, "cpus": os.cpu_count(), "torch": torch.__version__, "python": platform.python_version()}


def stage_of(path: Path, logs: Path) -> str:
    """``logs/<b>/features/east-0.5.benchmark.tsv`` -> features; ``logs/<b>/hessian.benchmark.tsv`` -> hessian."""
    parts = path.relative_to(logs).parts
    return parts[0] if len(parts) > 1 else parts[0].removesuffix(".benchmark.tsv")


def stage_seconds(workdir: Path, benchmark: str) -> pd.DataFrame:
    """Per stage: jobs, summed wall and CPU seconds, and the largest peak RSS (MB) of one job."""
    logs = workdir / "logs" / benchmark
    rows = []
    for path in sorted(logs.rglob("*.benchmark.tsv")):
        record = pd.read_csv(path, sep="\t").iloc[-1]  # the last attempt
        rows.append(
            {
                "stage": stage_of(path, logs),
                "wall_s": record["s"],
                "cpu_s": record["cpu_time"],
                "rss_mb": record["max_rss"],
            }
        )
    if not rows:
        print(f"no Snakemake benchmark files under {logs}: no job finished", file=sys.stderr)
    frame = pd.DataFrame(rows, columns=["stage", "wall_s", "cpu_s", "rss_mb"])
    return frame.groupby("stage").agg(
        jobs=("wall_s", "size"), wall_s=("wall_s", "sum"), cpu_s=("cpu_s", "sum"), rss_mb=("rss_mb", "max")
    )


def main() -> None:
    parser = script_parser(
        __doc__,
        "device_timing",
        table="device_timing.csv",
        show=lambda path: markdown_table(by_device(read_rows(path))),
        label=True,
    )
    parser.add_argument("--benchmark", default="pointmass")
    parser.add_argument("--devices", nargs="+", default=["cpu", "cuda"], help="config `device` values, in order")
    parser.add_argument("--targets", nargs="+", default=DEFAULT_TARGETS, help="files under results/<benchmark>/")
    parser.add_argument("--set", nargs="*", default=[], metavar="SECTION.KEY=VALUE", help="config overrides")
    parser.add_argument("--cores", type=int, default=os.cpu_count())
    args = parser.parse_args()

    config = benchmark_config(args.benchmark, "smoke", args.set)  # the default preset, as config.yaml has it
    bench = config["benchmarks"][args.benchmark]
    frames, wall = [], {}
    for device in args.devices:
        workdir = args.out / device
        shutil.rmtree(workdir, ignore_errors=True)
        run_config = {**config, "benchmarks": {args.benchmark: {**bench, "device": device}}}
        targets = [f"results/{args.benchmark}/{t}" for t in args.targets]
        try:
            wall[device] = run_workflow(workdir, run_config, targets, args.cores)
        except subprocess.CalledProcessError:  # report what did run, and why the rest did not
            print((workdir / "snakemake.log").read_text()[-3000:], file=sys.stderr)
            for log in sorted((workdir / "logs").rglob("*.log")):
                if "Error" in (text := log.read_text()):
                    print(f"--- {log}\n{text[-2000:]}", file=sys.stderr)
            wall[device] = float("nan")
        frames.append(stage_seconds(workdir, args.benchmark).assign(device=device).reset_index())
        print(f"{device}: {wall[device]:.0f} s wall for the whole DAG", flush=True)
    table = pd.concat(frames)
    info = {**machine(), "commit": args.commit, "benchmark": args.benchmark, "overrides": " ".join(args.set)}
    table = table.assign(**info)
    save(table, args.out, "device_timing", {**info, "dag_wall_s": wall, "stages": table.to_dict("records")})
    print(markdown_table(compare(table, args.devices)))
    print(f"machine: {info}")


def compare(table: pd.DataFrame, devices: list[str]) -> pd.DataFrame:
    """One row per stage: jobs, each device's summed wall seconds, and each later device's ratio to the first."""
    wide = table.pivot(index="stage", columns="device", values="wall_s").reindex(columns=devices)
    wide.insert(0, "jobs", table.groupby("stage")["jobs"].first())
    for device in devices[1:]:
        wide[f"{device}/{devices[0]}"] = wide[device] / wide[devices[0]]
    return wide.reset_index()


def by_device(table: pd.DataFrame) -> pd.DataFrame:
    """:func:`compare` of a device_timing.csv, its devices in the order they ran."""
    return compare(table, list(dict.fromkeys(table["device"])))


if __name__ == "__main__":
    main()
