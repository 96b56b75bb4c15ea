"""Multitask PPO (stable-baselines3) on a set of tasks: meta-training on all n, fine-tuning on a group.

Both stages are the same algorithm with different tasks, budgets and starting points, so they share
:func:`train_ppo`. The vector env holds ``envs_per_task`` copies of every task, so each PPO update mixes the
tasks in equal parts.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from stable_baselines3 import PPO
from stable_baselines3.common.callbacks import BaseCallback

from policygradex.config import Benchmark
from policygradex.envs import make_vec_env
from policygradex.io import write_csv
from policygradex.policy import load_policy, policy_kwargs, resolve_device, save_policy
from policygradex.progress import progress


class TrainLog(BaseCallback):
    """Records one row per PPO rollout (steps, mean return and success of the episodes that ended) and
    reports progress."""

    def __init__(self, total_steps: int, desc: str) -> None:
        super().__init__()
        self.rows: list[dict[str, float]] = []
        self.total_steps = total_steps
        self.desc = desc
        self._start = time.monotonic()
        self._ticks = None

    def _on_training_start(self) -> None:
        updates = -(-self.total_steps // self.model.n_steps // self.model.n_envs)
        self._ticks = progress(iter(range(updates)), total=updates, desc=self.desc)

    def _on_step(self) -> bool:
        return True

    def _on_rollout_end(self) -> None:
        episodes = list(self.model.ep_info_buffer)
        successes = list(self.model.ep_success_buffer)
        self.rows.append(
            {
                "steps": self.num_timesteps,
                "seconds": time.monotonic() - self._start,
                "mean_return": float(np.mean([e["r"] for e in episodes])) if episodes else float("nan"),
                "success_rate": float(np.mean(successes)) if successes else float("nan"),
            }
        )
        next(self._ticks, None)


def make_ppo(bench: Benchmark, task_ids: Sequence[int], seed: int, init_state: dict | None = None) -> PPO:
    """A PPO learner over ``envs_per_task`` copies of each task, starting from ``init_state`` (theta*) if given."""
    ppo = bench["ppo"]
    env = make_vec_env(bench, task_ids, ppo["envs_per_task"], seed=seed)
    model = PPO(
        "MlpPolicy",
        env,
        learning_rate=ppo["learning_rate"],
        n_steps=ppo["n_steps"],
        batch_size=ppo["batch_size"],
        n_epochs=ppo["n_epochs"],
        gamma=ppo["gamma"],
        gae_lambda=ppo["gae_lambda"],
        clip_range=ppo["clip_range"],
        ent_coef=ppo["ent_coef"],
        policy_kwargs=policy_kwargs(bench),
        seed=seed,
        device=resolve_device(bench["device"]),
        verbose=0,
    )
    if init_state is not None:
        model.policy.load_state_dict(init_state)
    return model


def train_ppo(
    bench: Benchmark,
    task_ids: Sequence[int],
    total_steps: int,
    seed: int,
    output: str | Path,
    log_csv: str | Path,
    init_policy: str | Path | None = None,
    desc: str = "ppo",
) -> PPO:
    """Train PPO on ``task_ids`` for ``total_steps`` env steps, from ``init_policy`` if given (theta*).

    Writes the policy to ``output`` and one row per rollout to ``log_csv``.
    """
    init_state = load_policy(init_policy, bench)[0].state_dict() if init_policy is not None else None
    model = make_ppo(bench, task_ids, seed, init_state)
    log = TrainLog(total_steps, desc)
    model.learn(total_timesteps=total_steps, callback=log)
    model.policy.to("cpu")
    save_policy(
        model.policy, output, steps=int(model.num_timesteps), tasks=[bench["tasks"][i]["name"] for i in task_ids]
    )
    write_csv(pd.DataFrame(log.rows, columns=["steps", "seconds", "mean_return", "success_rate"]), log_csv)
    return model


def set_threads(threads: int) -> None:
    """Torch intra-op threads: Snakemake's ``threads:`` for the job, so parallel jobs do not oversubscribe."""
    torch.set_num_threads(max(1, threads))
