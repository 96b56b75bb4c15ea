"""Episodes of a policy on one task, and their GAE advantages.

Used by ``features`` (stochastic rollouts of theta*), by ``estimate`` when tasks are scored by return, and by
``evaluate`` (deterministic rollouts). Episodes may end at different times; each is kept whole.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from stable_baselines3.common.policies import BasePolicy

from policygradex.config import Benchmark
from policygradex.envs import make_vec_env
from policygradex.policy import act, env_actions, state_value


@dataclass
class Episode:
    obs: np.ndarray  # (T, obs_dim)
    actions: np.ndarray  # (T, act_dim), the policy's actions (before clipping to the bounds): log pi is of these
    rewards: np.ndarray  # (T,)
    values: np.ndarray  # (T,) critic values V(s_t)
    log_prob: np.ndarray  # (T,) log pi(a_t | s_t) under the rolled-out policy
    bootstrap: float  # V(s_T) when the episode was truncated, 0 when it terminated
    success: bool

    @property
    def total_return(self) -> float:
        return float(self.rewards.sum())


@torch.no_grad()
def collect_episodes(
    policy: BasePolicy,
    bench: Benchmark,
    task_id: int,
    episodes: int,
    seed: int,
    deterministic: bool = False,
    parallel: int = 16,
) -> list[Episode]:
    """Run ``policy`` on task ``task_id`` until ``episodes`` episodes have ended (``parallel`` envs at once)."""
    torch.manual_seed(seed)
    env = make_vec_env(bench, [task_id], envs_per_task=min(parallel, episodes), seed=seed)
    obs = env.reset()
    n = env.num_envs
    buffers: list[list[tuple]] = [[] for _ in range(n)]
    done_episodes: list[Episode] = []
    while len(done_episodes) < episodes:
        obs_t = torch.as_tensor(obs, dtype=torch.float32)
        actions, values, log_prob = act(policy, obs_t, deterministic=deterministic)
        actions_np = actions.numpy()
        next_obs, rewards, dones, infos = env.step(env_actions(policy, actions_np))
        for e in range(n):
            buffers[e].append((obs[e], actions_np[e], rewards[e], values[e, 0].item(), log_prob[e].item()))
            if dones[e]:
                info = infos[e]
                bootstrap = 0.0
                if info.get("TimeLimit.truncated", False):
                    terminal = torch.as_tensor(info["terminal_observation"][None], dtype=torch.float32)
                    bootstrap = state_value(policy, terminal)[0, 0].item()
                o, a, r, v, lp = (np.asarray(x) for x in zip(*buffers[e], strict=True))
                done_episodes.append(
                    Episode(
                        o.astype(np.float32),
                        a.astype(np.float32),
                        r.astype(np.float64),
                        v,
                        lp,
                        bootstrap,
                        bool(info.get("is_success", False)),
                    )
                )
                buffers[e] = []
        obs = next_obs
    env.close()
    return done_episodes[:episodes]


def gae(episode: Episode, gamma: float, lam: float) -> np.ndarray:
    """Generalised advantage estimates of one episode (Schulman et al. 2016), bootstrapped when truncated."""
    values = np.append(episode.values, episode.bootstrap)
    deltas = episode.rewards + gamma * values[1:] - values[:-1]
    advantages = np.zeros_like(deltas)
    running = 0.0
    for t in reversed(range(len(deltas))):
        running = deltas[t] + gamma * lam * running
        advantages[t] = running
    return advantages
