"""Episodes of a policy on one task, and their GAE advantages.

Used by ``features`` (stochastic rollouts of theta*), by ``estimate`` when tasks are scored by return, and by
``evaluate`` (deterministic rollouts). Episodes may end at different times; each is kept whole.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from stable_baselines3.common.policies import BasePolicy

from policygradex.config import Benchmark, task_names
from policygradex.envs import make_vec_env
from policygradex.policy import act, env_actions, load_policy, state_value
from policygradex.seeds import derive


@dataclass
class Episode:
    """One rolled-out episode of a policy on one task: what the features, scores and evaluation need of it."""

    obs: np.ndarray  # (T, obs_dim)
    actions: np.ndarray  # (T, act_dim), the policy's actions (before clipping to the bounds): log pi is of these
    rewards: np.ndarray  # (T,)
    values: np.ndarray  # (T,) critic values V(s_t)
    log_prob: np.ndarray  # (T,) log pi(a_t | s_t) under the rolled-out policy
    bootstrap: float  # V(s_T) when the episode was truncated, 0 when it terminated
    success: bool

    @property
    def total_return(self) -> float:
        """Undiscounted sum of the episode's rewards."""
        return float(self.rewards.sum())


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
    return collect_task_episodes(policy, bench, {task_id: seed}, episodes, deterministic, parallel)[task_id]


def collect_task_episodes(
    policy: BasePolicy,
    bench: Benchmark,
    task_seeds: dict[int, int],
    episodes: int,
    deterministic: bool = False,
    parallel: int = 16,
) -> dict[int, list[Episode]]:
    """Run ``policy`` on every task of ``task_seeds`` (task -> seed) until each has ``episodes`` ended episodes.

    Each task steps in its own vector env, seeded as :func:`collect_episodes` seeds it, so a task's episodes do
    not depend on which other tasks run beside it (up to the float rounding of a bigger batch); the tasks step in
    lockstep with one policy forward for all of them, which is most of a rollout's cost on small networks. A task
    leaves the batch once it has its episodes. The policy's action noise comes from torch's global generator,
    seeded here and restored afterwards: the caller's random state is left as it found it.
    """
    with torch.random.fork_rng(devices=[]), torch.no_grad():
        torch.manual_seed(next(iter(task_seeds.values())))
        return _lockstep_episodes(policy, bench, task_seeds, episodes, deterministic, parallel)


def _lockstep_episodes(
    policy: BasePolicy,
    bench: Benchmark,
    task_seeds: dict[int, int],
    episodes: int,
    deterministic: bool,
    parallel: int,
) -> dict[int, list[Episode]]:
    """The loop of :func:`collect_task_episodes`, once torch's generator is seeded."""
    envs = {
        task: make_vec_env(bench, [task], envs_per_task=min(parallel, episodes), seed=seed)
        for task, seed in task_seeds.items()
    }
    obs = {task: env.reset() for task, env in envs.items()}
    buffers = {task: [[] for _ in range(env.num_envs)] for task, env in envs.items()}
    done_episodes: dict[int, list[Episode]] = {task: [] for task in envs}
    active = list(envs)
    while active:
        batch = torch.as_tensor(np.concatenate([obs[t] for t in active]), dtype=torch.float32)
        actions, values, log_prob = act(policy, batch, deterministic=deterministic)
        actions_np = actions.numpy()
        values_np, log_prob_np = values[:, 0].double().numpy(), log_prob.double().numpy()
        offset = 0
        for task in active:
            env, n = envs[task], envs[task].num_envs
            rows = slice(offset, offset + n)
            offset += n
            next_obs, rewards, dones, infos = env.step(env_actions(policy, actions_np[rows]))
            steps = zip(obs[task], actions_np[rows], rewards, values_np[rows], log_prob_np[rows], strict=True)
            for e, step in enumerate(steps):
                buffers[task][e].append(step)
                if dones[e]:
                    done_episodes[task].append(_episode(policy, buffers[task][e], infos[e]))
                    buffers[task][e] = []
            obs[task] = next_obs
        for task in [t for t in active if len(done_episodes[t]) >= episodes]:
            envs[task].close()
            active.remove(task)
    return {task: found[:episodes] for task, found in done_episodes.items()}


def random_episodes(bench: Benchmark, task_id: int, episodes: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Returns and successes of ``episodes`` episodes of uniformly random actions on task ``task_id``: the floor
    a meta-policy should beat (features.py records it beside theta*'s own). Seeded by ``seed`` alone; torch is not
    used, so the caller's random state is untouched."""
    env = make_vec_env(bench, [task_id], envs_per_task=min(16, episodes), seed=seed)
    env.action_space.seed(seed)
    env.reset()
    running = np.zeros(env.num_envs)
    returns: list[float] = []
    successes: list[bool] = []
    while len(returns) < episodes:
        _, rewards, dones, infos = env.step(np.array([env.action_space.sample() for _ in range(env.num_envs)]))
        running += rewards
        for e in np.flatnonzero(dones):
            returns.append(float(running[e]))
            successes.append(bool(infos[e].get("is_success", False)))
            running[e] = 0.0
    env.close()
    return np.array(returns[:episodes]), np.array(successes[:episodes])


def _episode(policy: BasePolicy, steps: list[tuple], info: dict) -> Episode:
    """One ended episode from its (obs, action, reward, value, log pi) steps and the env's final info."""
    bootstrap = 0.0
    if info.get("TimeLimit.truncated", False):
        terminal = torch.as_tensor(info["terminal_observation"][None], dtype=torch.float32)
        bootstrap = state_value(policy, terminal)[0, 0].item()
    o, a, r, v, lp = (np.asarray(x) for x in zip(*steps, strict=True))
    success = bool(info.get("is_success", False))
    return Episode(o.astype(np.float32), a.astype(np.float32), r.astype(np.float64), v, lp, bootstrap, success)


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


def evaluate_policy(
    bench: Benchmark, policy_path: str | Path, task_ids: Sequence[int], method: str, group: int
) -> list[dict]:
    """One row per task of ``task_ids``: the policy's mean return and success rate over the evaluation's
    deterministic episodes (task i's seeded by the ``evaluate`` stream, the same for every policy)."""
    policy, _ = load_policy(policy_path, bench)
    names = task_names(bench)
    episodes_per_task = bench["evaluate"]["episodes"]
    rows = []
    seeds = {t: derive(bench["seed"], "evaluate", t) for t in task_ids}
    found = collect_task_episodes(policy, bench, seeds, episodes_per_task, deterministic=True)
    for task, episodes in found.items():
        rows.append(
            {
                "method": method,
                "task": names[task],
                "group": group,
                "mean_return": float(np.mean([ep.total_return for ep in episodes])),
                "success_rate": float(np.mean([ep.success for ep in episodes])),
                "episodes": len(episodes),
            }
        )
    return rows
