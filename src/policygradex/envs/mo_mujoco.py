"""Multi-objective environments through MO-Gymnasium: each task is a preference over the reward components.

An MO-Gymnasium environment returns a reward *vector*; a task of PolicyGradEx is a weight vector ``w`` and its
reward is the weighted sum of the components. MO-Gymnasium adds the same survival bonus (and, for ant, the
contact cost) to *every* component, so a plain ``w . r`` would pay the bonus ``sum(w)`` times, and a task with
``sum(w) < 0`` (running west, say) would be rewarded for falling over. We count it once:
``reward = w . (r - shared) + shared``, where ``shared`` is the part common to all components
(``families.MO_SHARED_TERMS``; other MO-Gymnasium environments have no such term).
"""

from __future__ import annotations

from collections.abc import Sequence

import gymnasium as gym
import numpy as np

from policygradex.families import mo_shared_terms


class WeightedReward(gym.Wrapper):
    """Scalarises the reward vector with ``weights``, counting the shared bonus once (module docstring).

    The vector is kept in ``info["reward_vector"]``.
    """

    def __init__(self, env: gym.Env, weights: Sequence[float], shared_terms: Sequence[str]) -> None:
        super().__init__(env)
        self.weights = np.asarray(weights, dtype=np.float64)
        self.shared_terms = tuple(shared_terms)

    def step(self, action: np.ndarray) -> tuple[np.ndarray, float, bool, bool, dict]:
        obs, vector, terminated, truncated, info = self.env.step(action)
        shared = sum(float(info[term]) for term in self.shared_terms)
        reward = float(self.weights @ (np.asarray(vector, dtype=np.float64) - shared) + shared)
        return obs, reward, terminated, truncated, {**info, "reward_vector": vector}


def make_env(env_id: str, weights: Sequence[float], episode_length: int, seed: int, **env_kwargs) -> gym.Env:
    """One task: MO-Gymnasium's ``env_id`` with reward ``weights``, truncated after ``episode_length`` steps."""
    import mo_gymnasium  # noqa: F401 - registers the mo-* environments; imported only when used

    from policygradex.envs import make_gym_env  # the package imports this module

    env = make_gym_env(env_id, episode_length, seed, **env_kwargs)
    return WeightedReward(env, weights, mo_shared_terms(env_id))
