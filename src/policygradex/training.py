"""Multitask RL (stable-baselines3 PPO or SAC) on a set of tasks: meta-training on all n, fine-tuning on a group
or on a subset (full training's ground truth, :func:`finetune_delta`).

The stages are the same algorithm with different tasks, budgets and starting points, so they share
:func:`train_policy`. The vector env holds ``vec_env.envs_per_task`` copies of every task, so each update mixes
the tasks in equal parts. The benchmark's ``trainer`` picks the algorithm and its settings section (``ppo`` or
``sac``); ``vec_env`` gives the environment copies and the vector strategy, ``checkpoint`` the interval.

Training is resumable: every ``checkpoint.every`` steps, between two updates, everything needed to continue is
written atomically to ``<output>.ckpt`` beside the output (the SB3 model with its optimizer and step counter,
SAC's replay buffer, the RNG states, the environments' state and last observations, the training log). A
restarted run resumes from it, says so in its log, reaches the same final step count and, on CPU, the same
parameters as an uninterrupted run. The checkpoint is deleted once the output is written. MuJoCo environments
cannot be snapshotted, so a resumed run of a real benchmark starts fresh episodes (same step count, not the
same parameters).

The output keeps, beside the parameters, the learner's training set at its end (:func:`last_batch`): the samples
its last update trained on and the policy that collected them, which the Hessian measure's train/test gap needs.
"""

from __future__ import annotations

import io
import random
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import torch
from stable_baselines3 import PPO, SAC
from stable_baselines3.common.base_class import BaseAlgorithm
from stable_baselines3.common.callbacks import BaseCallback
from stable_baselines3.common.on_policy_algorithm import OnPolicyAlgorithm
from stable_baselines3.common.vec_env import VecEnv

from policygradex.artifacts import LOG_COLUMNS
from policygradex.config import Benchmark, trainer_settings
from policygradex.envs import make_vec_env
from policygradex.errors import ArtifactError
from policygradex.io import atomic_path, write_csv
from policygradex.logs import LOGGER
from policygradex.policy import (
    ActorLogProb,
    actor_params,
    flatten,
    load_policy,
    policy_kwargs,
    resolve_device,
    save_policy,
)
from policygradex.progress import duration

if TYPE_CHECKING:  # a type only: importing the estimator would pull scikit-learn into every training job
    from policygradex.estimator import SubsetEstimator

#: The SB3 algorithm of each trainer.
ALGORITHMS: dict[str, type[BaseAlgorithm]] = {"ppo": PPO, "sac": SAC}

#: The settings of each trainer's section that are the SB3 algorithm's keyword arguments of the same name.
HYPERPARAMETERS: dict[str, tuple[str, ...]] = {
    "ppo": ("learning_rate", "n_steps", "batch_size", "n_epochs", "ent_coef"),
    "sac": (
        "learning_rate",
        "buffer_size",
        "learning_starts",
        "batch_size",
        "tau",
        "train_freq",
        "gradient_steps",
        "ent_coef",
    ),
}
#: The settings of the shared ``policy_gradient`` section each trainer takes (keyword arguments of the same name).
POLICY_GRADIENT: dict[str, tuple[str, ...]] = {"ppo": ("gamma", "gae_lambda", "clip_range"), "sac": ("gamma",)}

#: Steps between two rows of the training log for off-policy learners (PPO logs once per rollout).
OFF_POLICY_LOG_EVERY = 1000
#: Seconds between two progress lines of a training job (on its log, and on the console for training rules).
REPORT_EVERY = 10.0


class TrainLog(BaseCallback):
    """Records one row per PPO rollout, or per OFF_POLICY_LOG_EVERY steps of SAC (steps, mean return and success
    of the recent episodes), and reports progress. ``rows`` carries the rows of a resumed run's earlier part."""

    def __init__(self, total_steps: int, desc: str, rows: list[dict[str, float]] | None = None) -> None:
        super().__init__()
        self.rows = list(rows or [])
        self.total_steps = total_steps
        self.desc = desc
        self._offset = self.rows[-1]["seconds"] if self.rows else 0.0
        self._start = time.monotonic()
        self._reported = self._start

    def _on_training_start(self) -> None:
        on_policy = isinstance(self.model, OnPolicyAlgorithm)
        self.every = (self.model.n_steps if on_policy else OFF_POLICY_LOG_EVERY) * self.model.n_envs
        self._last = self._first = self.model.num_timesteps
        # The steps training will really take: SB3 steps every environment at once and PPO only stops after a
        # whole rollout, so it runs past total_steps to the next multiple of that unit (the report would read 106%).
        unit = (self.model.n_steps if on_policy else 1) * self.model.n_envs
        self.planned_steps = self._first + -(-max(self.total_steps - self._first, 0) // unit) * unit

    def _on_step(self) -> bool:
        return True

    def _on_rollout_end(self) -> None:
        if self.num_timesteps // self.every > self._last // self.every:  # rows at the same steps after a resume
            self._record()

    def _on_training_end(self) -> None:
        if not self.rows or self.rows[-1]["steps"] < self.num_timesteps:
            self._record()
        self._report(force=True)

    def _record(self) -> None:
        self._last = self.num_timesteps
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
        self._report()

    def _report(self, force: bool = False) -> None:
        """One line on stderr at most every REPORT_EVERY seconds (and at the end): steps, their rate, the latest
        row's return and success, and the time left at that rate."""
        now = time.monotonic()
        if not self.rows or not (force or now - self._reported >= REPORT_EVERY):
            return
        self._reported = now
        row, steps = self.rows[-1], self.num_timesteps
        rate = (steps - self._first) / max(now - self._start, 1e-9)
        left = max(self.planned_steps - steps, 0) / rate if rate > 0 else float("inf")
        print(
            f"{self.desc}: {steps:,}/{self.planned_steps:,} steps ({100 * steps / max(self.planned_steps, 1):.0f}%),"
            f" {rate:,.0f} steps/s, mean return {row['mean_return']:.3g}, success {row['success_rate']:.2f},"
            f" {duration(left)} left",
            file=sys.stderr,
            flush=True,
        )


class LastBatch(BaseCallback):
    """Keeps the parameters of the policy that collected each PPO rollout (a copy at the rollout's end, before
    the update that trains on it), so that the last one is known when training ends."""

    def __init__(self) -> None:
        super().__init__()
        self.behaviour_state: dict[str, torch.Tensor] | None = None

    def _on_rollout_end(self) -> None:
        if isinstance(self.model, OnPolicyAlgorithm):
            self.behaviour_state = {k: v.detach().cpu().clone() for k, v in self.model.policy.state_dict().items()}

    def _on_step(self) -> bool:
        return True


#: SAC trains on its replay buffer: the most recent transitions of it are kept as its training set.
SAC_TRAINING_SAMPLES = 10_000


def last_batch(model: BaseAlgorithm, behaviour_state: dict[str, torch.Tensor] | None) -> dict[str, Any] | None:
    """The samples the learner last trained on, flattened over its environments: PPO's final rollout buffer
    (every epoch of the last update went over it) with the state of the policy that collected it; SAC's most
    recent SAC_TRAINING_SAMPLES replay transitions (collected by a mixture of its past policies: no single
    behaviour policy, so none is kept). ``episodes`` counts the independent episodes the samples come from (each
    environment's segments). None when the learner did not train in this run (a resume at its last step)."""
    n_envs = model.n_envs
    if isinstance(model, OnPolicyAlgorithm):
        buffer = model.rollout_buffer
        if not buffer.full or behaviour_state is None:
            return None
        obs, actions, advantage, log_prob = buffer.observations, buffer.actions, buffer.advantages, buffer.log_probs
        starts = buffer.episode_starts[1:]
    else:
        buffer = model.replay_buffer
        count = min(buffer.size(), SAC_TRAINING_SAMPLES // n_envs)
        if count == 0:
            return None
        rows = (buffer.pos - count + np.arange(count)) % buffer.buffer_size
        obs, actions = buffer.observations[rows], buffer.actions[rows]
        advantage = log_prob = np.zeros((count, n_envs), dtype=np.float32)
        starts = buffer.dones[rows][:-1]

    def flat(x: np.ndarray, shape: tuple[int, ...] = ()) -> torch.Tensor:
        # (steps, envs, *shape), or (steps * envs, *shape) once SB3's PPO has flattened its buffer for training
        return torch.as_tensor(x, dtype=torch.float32).reshape(-1, *shape)

    return {
        "obs": flat(obs, model.observation_space.shape),
        "actions": flat(actions, model.action_space.shape),
        "advantage": flat(advantage),
        "log_prob": flat(log_prob),
        "episodes": int(n_envs + starts.sum()),
        "behaviour_state": behaviour_state,
    }


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
    """Where the training job writing ``output`` keeps its checkpoint: beside it, with ``.ckpt`` appended."""
    output = Path(output)
    return output.with_name(output.name + ".ckpt")


def save_checkpoint(model: BaseAlgorithm, rows: list[dict[str, float]], path: Path) -> None:
    """Everything a resumed run needs to continue where ``model`` is: the model and optimiser, the log so far, the
    RNG and environment states (and SAC's replay buffer)."""
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
        "replay_buffer": None,
    }
    if getattr(model, "replay_buffer", None) is not None:
        replay = io.BytesIO()
        model.save_replay_buffer(replay)
        state["replay_buffer"] = replay.getvalue()
    with atomic_path(path) as tmp:
        torch.save(state, tmp)


def load_checkpoint(
    path: Path, bench: Benchmark, task_ids: Sequence[int], seed: int
) -> tuple[BaseAlgorithm, list[dict]]:
    """The model and log rows saved at ``path``, with RNG and environment state restored."""
    try:
        state = torch.load(path, weights_only=False)
    except Exception as err:
        raise ArtifactError(f"{path}: unreadable training checkpoint ({err}); delete it to restart") from err
    env = _vec_env(bench, task_ids, seed)
    algorithm = ALGORITHMS[bench["trainer"]]
    model = algorithm.load(io.BytesIO(state["model"]), env=env, device=resolve_device(bench["device"]))
    if state.get("replay_buffer") is not None:
        model.load_replay_buffer(io.BytesIO(state["replay_buffer"]))
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
    vec_env = bench["vec_env"]
    return make_vec_env(
        bench, task_ids, vec_env["envs_per_task"], seed=seed, asynchronous=vec_env["strategy"] == "async"
    )


def make_learner(bench: Benchmark, task_ids: Sequence[int], seed: int, init_state: dict | None = None) -> BaseAlgorithm:
    """The benchmark's learner (PPO or SAC) over ``envs_per_task`` copies of each task, starting from
    ``init_state`` (theta*, with its critics) if given."""
    settings, shared = trainer_settings(bench), bench["policy_gradient"]
    hyperparameters = {key: settings[key] for key in HYPERPARAMETERS[bench["trainer"]]}
    hyperparameters |= {key: shared[key] for key in POLICY_GRADIENT[bench["trainer"]]}
    if init_state is not None and "learning_starts" in hyperparameters:
        hyperparameters["learning_starts"] = 0  # fine-tuning acts with theta* from its first step
    model = ALGORITHMS[bench["trainer"]](
        "MlpPolicy",
        _vec_env(bench, task_ids, seed),
        policy_kwargs=policy_kwargs(bench),
        seed=seed,
        device=resolve_device(bench["device"]),
        verbose=0,
        **hyperparameters,
    )
    if init_state is not None:
        model.policy.load_state_dict(init_state)
    return model


def train_policy(
    bench: Benchmark,
    task_ids: Sequence[int],
    total_steps: int,
    seed: int,
    output: str | Path,
    log_csv: str | Path,
    init_policy: str | Path | None = None,
    desc: str = "train",
) -> BaseAlgorithm:
    """Train the benchmark's learner on ``task_ids`` for ``total_steps`` env steps, from ``init_policy`` if given
    (theta*).

    Resumes from ``<output>.ckpt`` when a previous run left one. Writes the policy to ``output`` and the
    training curve (see :class:`TrainLog`) to ``log_csv``.
    """
    checkpoint = checkpoint_path(output)
    if checkpoint.exists():
        model, rows = load_checkpoint(checkpoint, bench, task_ids, seed)
        LOGGER.info("%s: resuming from checkpoint %s at step %d", desc, checkpoint, model.num_timesteps)
    else:
        init_state = load_policy(init_policy, bench)[0].state_dict() if init_policy is not None else None
        model, rows = make_learner(bench, task_ids, seed, init_state), []
    log = TrainLog(total_steps, desc, rows)
    checkpointer = Checkpointer(checkpoint, bench["checkpoint"]["every"], log)
    behaviour = LastBatch()
    model.learn(
        total_timesteps=max(total_steps - model.num_timesteps, 0),
        callback=[log, checkpointer, behaviour],
        reset_num_timesteps=False,
    )
    model.get_env().close()
    model.policy.to("cpu")
    training_set = last_batch(model, behaviour.behaviour_state)
    save_policy(
        model.policy,
        output,
        steps=int(model.num_timesteps),
        tasks=[bench["tasks"][i]["name"] for i in task_ids],
        **({"last_batch": training_set} if training_set is not None else {}),
    )
    write_csv(pd.DataFrame(log.rows, columns=LOG_COLUMNS), log_csv)
    checkpoint.unlink(missing_ok=True)
    return model


def finetune_delta(
    estimator: SubsetEstimator, subset: Sequence[int], seed: int, total_steps: int | None = None
) -> np.ndarray:
    """theta_finetuned - theta* (actor parameters) after fine-tuning on ``subset`` for ``total_steps`` (by default
    the finetune budget; the benchmarks vary it)."""
    bench = estimator.bench
    model = make_learner(bench, subset, seed, init_state=estimator.policy.state_dict())
    model.learn(total_timesteps=total_steps or bench["finetune"]["total_steps"])
    estimator.env_steps += model.num_timesteps
    model.get_env().close()
    model.policy.to("cpu")
    tuned = flatten(actor_params(ActorLogProb(model.policy)))
    return (tuned - estimator.theta_flat).numpy()
