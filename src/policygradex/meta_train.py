"""Stage 1, meta-training: one multitask PPO policy theta* on all n tasks."""

from __future__ import annotations

from pathlib import Path

from policygradex.config import Benchmark
from policygradex.training import train_policy


def run(bench: Benchmark, output: str | Path, log_csv: str | Path) -> None:
    """Train one policy on all the benchmark's tasks with its trainer -> theta* at ``output``, its curve at
    ``log_csv``."""
    train_policy(
        bench,
        range(len(bench["tasks"])),
        bench["meta_train"]["total_steps"],
        seed=bench["seed"],
        output=output,
        log_csv=log_csv,
        desc=f"meta_train {Path(output).parent}",
    )
