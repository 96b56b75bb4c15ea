"""A user's own environment module for the nav_module task set (issue 37's evidence): a point in the plane that
must reach a goal at ``distance`` from the start, east (PgxNavEast-v0) or north (PgxNavNorth-v0). Registered on
import, as `imports: [pgx_nav_envs]` asks; on PYTHONPATH (benchmarks/task_sets), as docs/own-tasks.md describes."""

from __future__ import annotations

import gymnasium as gym
import numpy as np


class Nav(gym.Env):
    """Position in the observation, a velocity as the action, the negative distance to the goal as the reward."""

    def __init__(self, direction: tuple[float, float] = (1.0, 0.0), distance: float = 1.0) -> None:
        self.goal = distance * np.asarray(direction, dtype=np.float32)
        self.observation_space = gym.spaces.Box(-3.0, 3.0, (2,), np.float32)
        self.action_space = gym.spaces.Box(-1.0, 1.0, (2,), np.float32)
        self.position = np.zeros(2, np.float32)

    def reset(self, *, seed: int | None = None, options: dict | None = None) -> tuple[np.ndarray, dict]:
        super().reset(seed=seed)
        self.position = self.np_random.uniform(-0.05, 0.05, 2).astype(np.float32)
        return self.position.copy(), {}

    def step(self, action: np.ndarray) -> tuple[np.ndarray, float, bool, bool, dict]:
        self.position = np.clip(self.position + 0.1 * np.clip(action, -1, 1), -3, 3).astype(np.float32)
        distance = float(np.linalg.norm(self.position - self.goal))
        return self.position.copy(), -distance, False, False, {"is_success": distance < 0.1}


gym.register("PgxNavEast-v0", entry_point=Nav, kwargs={"direction": (1.0, 0.0)}, max_episode_steps=50)
gym.register("PgxNavNorth-v0", entry_point=Nav, kwargs={"direction": (0.0, 1.0)}, max_episode_steps=50)
