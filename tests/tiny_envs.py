"""Two tiny Gymnasium environments of a user's own, registered on import: what `imports:` of a benchmark names.

- ``PgxLine-v0``: a point on a line, Box observation (its position) and Box action (a velocity); the task's
  ``goal`` keyword says where it should go (reward -|x - goal|).
- ``PgxCorridor-v0``: a corridor of ``cells`` cells, Discrete observation (the cell) and Discrete actions (left,
  stay, right); the ``goal`` keyword is the cell to reach (reward -|cell - goal| / cells).

Tasks with goals on the same side of the start pull the policy the same way: those are the planted groups.
"""

from __future__ import annotations

import gymnasium as gym
import numpy as np


class Line(gym.Env):
    """A point on [-2, 2] that moves by its action (at most ``speed`` per step) towards ``goal``."""

    def __init__(self, goal: float = 1.0, speed: float = 0.2) -> None:
        self.goal, self.speed = float(goal), float(speed)
        self.observation_space = gym.spaces.Box(-2.0, 2.0, (1,), np.float32)
        self.action_space = gym.spaces.Box(-1.0, 1.0, (1,), np.float32)
        self.x = 0.0

    def reset(self, *, seed: int | None = None, options: dict | None = None) -> tuple[np.ndarray, dict]:
        super().reset(seed=seed)
        self.x = float(self.np_random.uniform(-0.1, 0.1))
        return np.array([self.x], np.float32), {}

    def step(self, action: np.ndarray) -> tuple[np.ndarray, float, bool, bool, dict]:
        self.x = float(np.clip(self.x + self.speed * float(np.clip(action[0], -1, 1)), -2.0, 2.0))
        distance = abs(self.x - self.goal)
        return np.array([self.x], np.float32), -distance, False, False, {"reached": distance < 0.1}


class Corridor(gym.Env):
    """``cells`` cells in a row, starting in the middle; actions 0, 1, 2 move left, stay, right."""

    def __init__(self, goal: int = 0, cells: int = 7) -> None:
        self.goal, self.cells = int(goal), int(cells)
        self.observation_space = gym.spaces.Discrete(self.cells)
        self.action_space = gym.spaces.Discrete(3)
        self.cell = self.cells // 2

    def reset(self, *, seed: int | None = None, options: dict | None = None) -> tuple[int, dict]:
        super().reset(seed=seed)
        self.cell = self.cells // 2
        return self.cell, {}

    def step(self, action: int) -> tuple[int, float, bool, bool, dict]:
        self.cell = int(np.clip(self.cell + int(action) - 1, 0, self.cells - 1))
        return self.cell, -abs(self.cell - self.goal) / self.cells, False, False, {"reached": self.cell == self.goal}


gym.register("PgxLine-v0", entry_point=Line, max_episode_steps=20)
gym.register("PgxCorridor-v0", entry_point=Corridor, max_episode_steps=12)
