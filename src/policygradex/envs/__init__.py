"""Environment families; :func:`make_vec_env` builds the vector env of any configured benchmark."""

from __future__ import annotations

from collections.abc import Sequence

from stable_baselines3.common.vec_env import VecEnv

from policygradex.config import Benchmark
from policygradex.envs.pointmass import PointMassVecEnv


def make_vec_env(bench: Benchmark, task_ids: Sequence[int], envs_per_task: int, seed: int) -> VecEnv:
    """A vector env running ``envs_per_task`` copies of each task in ``task_ids`` (indices into bench.tasks).

    The observation space is the same whatever ``task_ids`` holds (a one-hot id spans all n tasks), so a
    policy trained on all tasks can be fine-tuned and evaluated on any subset of them.
    """
    if bench["env"] == "pointmass":
        return PointMassVecEnv(
            goals=[task["goal"] for task in bench["tasks"]],
            env_tasks=[t for t in task_ids for _ in range(envs_per_task)],
            episode_length=bench["episode_length"],
            max_speed=bench["max_speed"],
            success_radius=bench["success_radius"],
            observe_task=bench["observe_task"],
            seed=seed,
        )
    raise ValueError(f"env '{bench['env']}' is not implemented; allowed: pointmass")
