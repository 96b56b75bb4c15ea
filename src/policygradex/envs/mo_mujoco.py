"""Multi-objective MuJoCo control through MO-Gymnasium: each task is a preference over the reward components.

An MO-Gymnasium environment returns a reward *vector*; a task of PolicyGradEx is a weight vector ``w`` and its
reward is the weighted sum of the components. MO-Gymnasium adds the same survival bonus (and, for ant, the
contact cost) to *every* component, so a plain ``w . r`` would pay the bonus ``sum(w)`` times, and a task with
``sum(w) < 0`` (running west, say) would be rewarded for falling over. We count it once:
``reward = w . (r - shared) + shared``, where ``shared`` is the part common to all components.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import gymnasium as gym
import numpy as np


def _no_shared(info: dict) -> float:
    return 0.0


def _survive(info: dict) -> float:
    return float(info["reward_survive"])


def _survive_and_contact(info: dict) -> float:
    return float(info["reward_survive"] + info["reward_contact"])


#: The part of every reward component that is not an objective of its own, per env_id (the components are
#: named in policygradex.families.MO_COMPONENTS).
SHARED: dict[str, Callable[[dict], float]] = {
    "mo-halfcheetah-v5": _no_shared,
    "mo-hopper-v5": _survive,
    "mo-ant-v5": _survive_and_contact,
}


class WeightedReward(gym.Wrapper):
    """Scalarises the reward vector with ``weights``, counting the shared bonus once (module docstring).

    The vector is kept in ``info["reward_vector"]``.
    """

    def __init__(self, env: gym.Env, weights: Sequence[float], shared: Callable[[dict], float]) -> None:
        super().__init__(env)
        self.weights = np.asarray(weights, dtype=np.float64)
        self.shared = shared

    def step(self, action: np.ndarray) -> tuple[np.ndarray, float, bool, bool, dict]:
        obs, vector, terminated, truncated, info = self.env.step(action)
        shared = self.shared(info)
        reward = float(self.weights @ (np.asarray(vector, dtype=np.float64) - shared) + shared)
        return obs, reward, terminated, truncated, {**info, "reward_vector": vector}


def make_env(env_id: str, weights: Sequence[float], episode_length: int, seed: int, **env_kwargs) -> gym.Env:
    """One task: ``env_id`` with reward ``weights``, truncated after ``episode_length`` steps."""
    import mo_gymnasium  # noqa: F401, PLC0415 - registers the mo-* environments; imported only when used

    env = gym.make(env_id, max_episode_steps=episode_length, disable_env_checker=True, **env_kwargs)
    env.reset(seed=seed)
    env.action_space.seed(seed)
    return WeightedReward(env, weights, SHARED[env_id])
