"""Multitask PPO (stable-baselines3) on a set of tasks: meta-training on all n, fine-tuning on a group.

Both stages are the same algorithm with different tasks, budgets and starting points, so they share
:func:`train_ppo`. The vector env holds ``envs_per_task`` copies of every task, so each PPO update mixes the
tasks in equal parts.

Training is resumable: every ``ppo.checkpoint_every`` steps, between two PPO updates, everything needed to
continue is written atomically to ``<output>.ckpt`` beside the output (the SB3 model with its optimizer and
step counter, the RNG states, the environments' state and last observations, the training log so far). A
restarted run resumes from it, says so in its log, reaches the same final step count and, on CPU, the same
parameters as an uninterrupted run. The checkpoint is deleted once the output is written. MuJoCo environments
cannot be snapshotted, so a resumed run of a real benchmark starts fresh episodes (same step count, not the
same parameters).
"""

from __future__ import annotations

import io
import random
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch
from stable_baselines3 import PPO
from stable_baselines3.common.callbacks import BaseCallback
from stable_baselines3.common.vec_env import VecEnv

from policygradex.config import Benchmark
from policygradex.envs import make_vec_env
from policygradex.io import ArtifactError, atomic_path, write_csv
from policygradex.policy import load_policy, policy_kwargs, resolve_device, save_policy
from policygradex.progress import progress

LOG_COLUMNS = ["steps", "seconds", "mean_return", "success_rate"]


class TrainLog(BaseCallback):
    """Records one row per PPO rollout (steps, mean return and success of the episodes that ended) and
    reports progress. ``rows`` carries the rows of a resumed run's earlier part."""

    def __init__(self, total_steps: int, desc: str, rows: list[dict[str, float]] | None = None) -> None:
        super().__init__()
        self.rows = list(rows or [])
        self.total_steps = total_steps
        self.desc = desc
        self._offset = self.rows[-1]["seconds"] if self.rows else 0.0
        self._start = time.monotonic()
        self._ticks = None

    def _on_training_start(self) -> None:
        per_update = self.model.n_steps * self.model.n_envs
        remaining = -(-(self.total_steps - self.model.num_timesteps) // per_update)
        self._ticks = progress(iter(range(remaining)), total=remaining, desc=self.desc)

    def _on_step(self) -> bool:
        return True

    def _on_rollout_end(self) -> None:
        episodes = list(self.model.ep_info_buffer)
        successes = list(self.model.ep_success_buffer)
        self.rows.append(
            {
                "steps": self.num_timesteps,
                "seconds": self._offset + time.monotonic() - self._start,
                "mean_return": float(np.mean([e["r"] for e in episodes])) if episodes else float("nan"),
                "success_rate": float(np.mean(successes)) if successes else float("nan"),
            }
        )
        next(self._ticks, None)


class Checkpointer(BaseCallback):
    """Writes :func:`save_checkpoint` every ``every`` steps, at the start of a rollout (after an update)."""

    def __init__(self, path: Path, every: int, log: TrainLog) -> None:
        super().__init__()
        self.path, self.every, self.log = path, every, log
        self._last = None

    def _on_training_start(self) -> None:
        self._last = self.model.num_timesteps

    def _on_rollout_start(self) -> None:
        if self.model.num_timesteps - self._last >= self.every:
            save_checkpoint(self.model, self.log.rows, self.path)
            self._last = self.model.num_timesteps

    def _on_step(self) -> bool:
        return True


def checkpoint_path(output: str | Path) -> Path:
    output = Path(output)
    return output.with_name(output.name + ".ckpt")


def save_checkpoint(model: PPO, rows: list[dict[str, float]], path: Path) -> None:
    buffer = io.BytesIO()
    model.save(buffer)
    env = model.get_env()
    state: dict[str, Any] = {
        "model": buffer.getvalue(),
        "rows": rows,
        "torch_rng": torch.get_rng_state(),
        "numpy_rng": np.random.get_state(),
        "python_rng": random.getstate(),
        "env_state": env.get_state() if hasattr(env, "get_state") else None,
        "last_obs": model._last_obs,
        "last_episode_starts": model._last_episode_starts,
        "ep_info_buffer": list(model.ep_info_buffer),
        "ep_success_buffer": list(model.ep_success_buffer),
    }
    with atomic_path(path) as tmp:
        torch.save(state, tmp)


def load_checkpoint(path: Path, bench: Benchmark, task_ids: Sequence[int], seed: int) -> tuple[PPO, list[dict]]:
    """The model and log rows saved at ``path``, with RNG and environment state restored."""
    try:
        state = torch.load(path, weights_only=False)
    except Exception as err:
        raise ArtifactError(f"{path}: unreadable training checkpoint ({err}); delete it to restart") from err
    env = _vec_env(bench, task_ids, seed)
    model = PPO.load(io.BytesIO(state["model"]), env=env, device=resolve_device(bench["device"]))
    if state["env_state"] is not None:
        env.set_state(state["env_state"])
        model._last_obs = state["last_obs"]
        model._last_episode_starts = state["last_episode_starts"]
    else:
        model._last_obs = None  # SB3 resets the environments before the first rollout
    model.ep_info_buffer.extend(state["ep_info_buffer"])
    model.ep_success_buffer.extend(state["ep_success_buffer"])
    torch.set_rng_state(state["torch_rng"])
    np.random.set_state(state["numpy_rng"])
    random.setstate(state["python_rng"])
    return model, state["rows"]


def _vec_env(bench: Benchmark, task_ids: Sequence[int], seed: int) -> VecEnv:
    ppo = bench["ppo"]
    asynchronous = ppo["vector_strategy"] == "async"
    return make_vec_env(bench, task_ids, ppo["envs_per_task"], seed=seed, asynchronous=asynchronous)


def make_ppo(bench: Benchmark, task_ids: Sequence[int], seed: int, init_state: dict | None = None) -> PPO:
    """A PPO learner over ``envs_per_task`` copies of each task, starting from ``init_state`` (theta*) if given."""
    ppo = bench["ppo"]
    env = _vec_env(bench, task_ids, seed)
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

    Resumes from ``<output>.ckpt`` when a previous run left one. Writes the policy to ``output`` and one row
    per rollout to ``log_csv``.
    """
    checkpoint = checkpoint_path(output)
    if checkpoint.exists():
        model, rows = load_checkpoint(checkpoint, bench, task_ids, seed)
        print(f"{desc}: resuming from checkpoint {checkpoint} at step {model.num_timesteps}", file=sys.stderr)
    else:
        init_state = load_policy(init_policy, bench)[0].state_dict() if init_policy is not None else None
        model, rows = make_ppo(bench, task_ids, seed, init_state), []
    log = TrainLog(total_steps, desc, rows)
    checkpointer = Checkpointer(checkpoint, bench["ppo"]["checkpoint_every"], log)
    model.learn(
        total_timesteps=max(total_steps - model.num_timesteps, 0),
        callback=[log, checkpointer],
        reset_num_timesteps=False,
    )
    model.get_env().close()
    model.policy.to("cpu")
    save_policy(
        model.policy, output, steps=int(model.num_timesteps), tasks=[bench["tasks"][i]["name"] for i in task_ids]
    )
    write_csv(pd.DataFrame(log.rows, columns=LOG_COLUMNS), log_csv)
    checkpoint.unlink(missing_ok=True)
    return model


def set_threads(threads: int) -> None:
    """Torch intra-op threads: Snakemake's ``threads:`` for the job, so parallel jobs do not oversubscribe."""
    torch.set_num_threads(max(1, threads))
