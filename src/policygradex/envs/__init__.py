"""Environment families; :func:`make_vec_env` builds the vector env of any configured benchmark.

``pointmass`` is our numpy toy; ``gymnasium`` (any Gymnasium environment, a task an id and keyword arguments),
``mo_gymnasium`` (any MO-Gymnasium environment, a task a weight vector; ``mo_mujoco`` is its first name) and
``metaworld`` (Meta-World's manipulation tasks) are built as one gymnasium env per environment copy and run by
stable-baselines3's vector envs (in this process, or one subprocess each when the benchmark's
``vec_env.strategy`` is ``async``).
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import partial

import gymnasium as gym
from stable_baselines3.common.monitor import Monitor
from stable_baselines3.common.vec_env import DummyVecEnv, SubprocVecEnv, VecEnv

from policygradex.config import Benchmark
from policygradex.envs import meta_world, mo_mujoco
from policygradex.envs.pointmass import PointMassVecEnv
from policygradex.envs.wrappers import EpisodeSuccess, ObserveTask, task_code
from policygradex.families import FAMILIES, import_modules, is_mo, task_env_id, task_kwargs


def make_vec_env(
    bench: Benchmark, task_ids: Sequence[int], envs_per_task: int, seed: int, asynchronous: bool = False
) -> VecEnv:
    """A vector env running ``envs_per_task`` copies of each task in ``task_ids`` (indices into bench.tasks).

    The observation space is the same whatever ``task_ids`` holds (a one-hot id spans all n tasks), so a
    policy trained on all tasks can be fine-tuned and evaluated on any subset of them. ``asynchronous`` runs
    each copy in a subprocess (pointmass is always one in-process numpy array).
    """
    env_tasks = [t for t in task_ids for _ in range(envs_per_task)]
    if bench["env"] == "pointmass":
        return PointMassVecEnv(
            goals=[task["goal"] for task in bench["tasks"]],
            env_tasks=env_tasks,
            episode_length=bench["episode_length"],
            max_speed=bench["max_speed"],
            success_radius=bench["success_radius"],
            observe_task=bench["observe_task"],
            seed=seed,
        )
    fns = [partial(make_task_env, bench, task, seed + copy) for copy, task in enumerate(env_tasks)]
    return SubprocVecEnv(fns) if asynchronous and len(fns) > 1 else DummyVecEnv(fns)


def make_task_env(bench: Benchmark, task_id: int, seed: int) -> gym.Env:
    """One environment of a real benchmark running task ``task_id``, wrapped for SB3 (see envs.wrappers).

    Runs in subprocess vector envs too, so it imports the benchmark's ``imports`` itself."""
    import_modules(bench.get("imports", []))
    task = bench["tasks"][task_id]
    if is_mo(bench):
        env_id = task_env_id(bench, task)
        env = mo_mujoco.make_env(env_id, task["weights"], bench["episode_length"], seed, **task_kwargs(bench, task))
        success_key = bench.get("success_key")
    elif bench["env"] == "gymnasium":
        env = make_gym_env(task_env_id(bench, task), bench["episode_length"], seed, **task_kwargs(bench, task))
        success_key = bench.get("success_key")
    elif bench["env"] == "metaworld":
        env = meta_world.make_env(task["name"], bench["episode_length"], seed, **bench["env_kwargs"])
        success_key = "success"
    else:
        raise ValueError(f"env '{bench['env']}' is not implemented; allowed: {', '.join(FAMILIES)}")
    code = task_code(bench["observe_task"], task_id, len(bench["tasks"]), task.get("weights"))
    return Monitor(ObserveTask(EpisodeSuccess(env, success_key), code))


def make_gym_env(env_id: str, episode_length: int, seed: int, **kwargs) -> gym.Env:
    """One Gymnasium environment ``env_id`` with constructor ``kwargs``, truncated after ``episode_length`` steps and
    seeded (its first reset and its action space)."""
    env = gym.make(env_id, max_episode_steps=episode_length, disable_env_checker=True, **kwargs)
    env.reset(seed=seed)
    env.action_space.seed(seed)
    return env
