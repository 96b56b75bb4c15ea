"""Meta-World tasks (metaworld 3.x): each task is one manipulation environment of the MT10/MT50 suites.

A task's goal positions are drawn per episode from Meta-World's 50 parametric variations of that task (as
in the MT10/MT50 benchmarks); ``info["success"]`` says whether the task is solved at a step.
"""

from __future__ import annotations

import gymnasium as gym


def make_env(name: str, episode_length: int, seed: int, **env_kwargs) -> gym.Env:
    """One task: Meta-World environment ``name``, goals drawn from its variations, ``episode_length`` steps."""
    import metaworld

    env = metaworld.make_mt_envs(name, seed=seed, max_episode_steps=episode_length, **env_kwargs)
    env.reset(seed=seed)
    return env
