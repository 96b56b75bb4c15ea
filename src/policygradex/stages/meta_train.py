"""Stage 1, meta-training: one multitask policy theta* (PPO or SAC) on all n tasks.

Every task's envs step side by side (vec_env.envs_per_task each) and one policy learns from all of them, with the
benchmark's trainer (``trainer: ppo`` or ``sac``) for meta_train.total_steps environment steps. By default the
policy does not see which task it is on (observe_task), so theta* is a compromise between the tasks: the point
where the later stages read which tasks pull the same way. Writes the policy (with its last training batch, which
the hessian stage needs) and its training curve; a killed run resumes from the checkpoint beside the output.
"""

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
