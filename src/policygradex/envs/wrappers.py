"""Gymnasium wrappers that turn one environment of a benchmark into one task of PolicyGradEx.

They give every real benchmark the same interface as pointmass: float32 observations with what the policy
sees of the task appended (:class:`ObserveTask`), and an episode's success reported once, at its end, as
``info["is_success"]`` (:class:`EpisodeSuccess`), which SB3's logger and our rollouts read.
"""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np


class ObserveTask(gym.ObservationWrapper):
    """Casts observations to a float32 vector and appends ``task_code`` (a one-hot id, a weight vector, or
    nothing). A Discrete observation (a cell of a grid world, say) becomes its one-hot vector."""

    def __init__(self, env: gym.Env, task_code: np.ndarray) -> None:
        super().__init__(env)
        self.task_code = np.asarray(task_code, dtype=np.float32)
        space = env.observation_space
        self.cells = int(space.n) if isinstance(space, gym.spaces.Discrete) else None
        if self.cells is not None:
            low, high = np.zeros(self.cells, np.float32), np.ones(self.cells, np.float32)
        else:
            low, high = (np.asarray(bound, dtype=np.float32).ravel() for bound in (space.low, space.high))
        low = np.concatenate([low, np.full_like(self.task_code, -np.inf)])
        high = np.concatenate([high, np.full_like(self.task_code, np.inf)])
        self.observation_space = gym.spaces.Box(low, high, dtype=np.float32)

    def observation(self, observation: np.ndarray) -> np.ndarray:
        if self.cells is not None:
            vector = np.zeros(self.cells, np.float32)
            vector[int(observation) - int(self.env.observation_space.start)] = 1.0
        else:
            vector = np.asarray(observation, dtype=np.float32).ravel()
        return np.concatenate([vector, self.task_code])


class EpisodeSuccess(gym.Wrapper):
    """``info["is_success"]`` at an episode's last step: whether ``info[key]`` was ever true during it.

    This is Meta-World's evaluation protocol (an episode succeeds once the task is solved, as if it ended
    on success). Environments without a success signal (``key=None``) report no success.
    """

    def __init__(self, env: gym.Env, key: str | None) -> None:
        super().__init__(env)
        self.key = key
        self._succeeded = False

    def reset(self, **kwargs: Any) -> tuple[np.ndarray, dict]:
        self._succeeded = False
        return self.env.reset(**kwargs)

    def step(self, action: np.ndarray) -> tuple[np.ndarray, float, bool, bool, dict]:
        obs, reward, terminated, truncated, info = self.env.step(action)
        if self.key is not None:
            self._succeeded = self._succeeded or bool(info.get(self.key, False))
        if terminated or truncated:
            info = {**info, "is_success": self._succeeded}
        return obs, reward, terminated, truncated, info


def task_code(observe_task: str, task_id: int, num_tasks: int, weights: np.ndarray | None = None) -> np.ndarray:
    """What :class:`ObserveTask` appends for ``observe_task`` = none | onehot | weights."""
    if observe_task == "onehot":
        return np.eye(num_tasks, dtype=np.float32)[task_id]
    if observe_task == "weights":
        if weights is None:
            raise ValueError("observe_task 'weights' needs tasks with a weight vector")
        return np.asarray(weights, dtype=np.float32)
    return np.zeros(0, dtype=np.float32)
