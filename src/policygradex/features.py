"""Gradient features of one task: roll out theta* on it and keep its projected per-sample gradients.

Output ``features/{task}.npz`` holds, per sample t of the task's rollouts: ``obs``, ``actions``, ``log_prob``
(log pi at theta*), ``advantage`` (GAE, standardised per task so that tasks with larger rewards do not dominate
the shared fit), ``episode`` (episode index), ``heldout`` (True for the episodes kept to score estimated
policies, never fitted), and ``projected_grad`` = P^T g_t (N x d); and the scalars that regenerate P.

It also holds ``gradient_consistency``: the cosine between the task's projected policy gradient (mean of A_t P^T
g_t) on the fitted episodes and on the held-out ones. Near 1, the rollouts pin the gradient down; near 0, it is
noise at this many episodes, and so will be every estimate built on it (raise ``features.episodes``; where the
meta-policy's actions are mostly exploration noise, as an ant's at std 1, even 256 episodes are not enough: lower
``policy.log_std_init``).

Beside them, what the cluster stage's diagnosis (diagnosis.py) reads of the rollouts: each episode's success, a
random policy's returns and successes on the same task (``RANDOM_EPISODES`` episodes of uniform actions, seeded
apart from theta*'s rollouts, which they leave as they were), whether the actions are Discrete, and for them
the share of steps that take the most frequent action (near 1: the categorical policy has collapsed).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from stable_baselines3.common.policies import BasePolicy

from policygradex.config import Benchmark, task_names
from policygradex.diagnosis import gradient_consistency
from policygradex.errors import ConfigError
from policygradex.gradients import make_projection
from policygradex.policy import ActorLogProb, actor_params, flatten, load_policy, resolve_device
from policygradex.rollouts import collect_episodes, gae, random_episodes
from policygradex.seeds import derive

#: Episodes of uniformly random actions per task: the floor theta*'s return is compared with (diagnosis.py).
RANDOM_EPISODES = 8


def compute_features(bench: Benchmark, policy: BasePolicy | str | Path, task: str) -> dict[str, np.ndarray]:
    """Roll out theta* (``policy``, or the path of its policy.pt) on ``task``: per-sample projected gradients of log
    pi, standardised GAE advantages, the held-out split, the samples themselves and the gradient consistency (the
    arrays of features/{task}.npz)."""
    names = task_names(bench)
    if task not in names:
        raise ConfigError(f"unknown task '{task}': the benchmark's tasks are {', '.join(names)}")
    task_id = names.index(task)
    cfg, objective = bench["features"], bench["policy_gradient"]
    if not isinstance(policy, BasePolicy):
        policy, _ = load_policy(policy, bench)
    # One seed per task, derived from the benchmark seed, so tasks do not share rollout noise.
    episodes = collect_episodes(
        policy, bench, task_id, cfg["episodes"], seed=derive(bench["seed"], "features", task_id)
    )

    advantage = np.concatenate([gae(ep, objective["gamma"], objective["gae_lambda"]) for ep in episodes])
    advantage = (advantage - advantage.mean()) / (advantage.std() + 1e-8)
    episode = np.concatenate([np.full(len(ep.rewards), i) for i, ep in enumerate(episodes)])
    num_heldout = max(1, round(cfg["heldout_fraction"] * len(episodes)))
    heldout = episode >= len(episodes) - num_heldout
    obs = torch.as_tensor(np.concatenate([ep.obs for ep in episodes]))
    actions = torch.as_tensor(np.concatenate([ep.actions for ep in episodes]))

    device = resolve_device(bench["device"])  # the rollouts above ran on the CPU, step by step
    module = ActorLogProb(policy).to(device)
    params = actor_params(module)
    num_params = int(flatten(params).numel())
    projection = make_projection(cfg["projection"], module, params, cfg["projection_dim"], seed=bench["seed"])
    obs_d, actions_d = obs.to(device), actions.to(device)
    projected = projection.project(obs_d, actions_d, cfg["batch_size"]).detach().cpu().numpy()
    with torch.no_grad():
        log_prob = module(obs_d, actions_d).cpu()
    random_return, random_success = random_episodes(
        bench, task_id, RANDOM_EPISODES, seed=derive(bench["seed"], "random_policy", task_id)
    )
    discrete = policy.action_space.shape == ()
    counts = np.unique(actions.numpy(), return_counts=True)[1] if discrete else None
    return {
        "task": np.array(task),
        "obs": obs.numpy(),
        "actions": actions.numpy(),
        "log_prob": log_prob.numpy(),
        "advantage": advantage.astype(np.float32),
        "episode": episode,
        "heldout": heldout,
        "projected_grad": projected,
        "gradient_consistency": np.array(gradient_consistency(projected, advantage, heldout)),
        "episode_return": np.array([ep.total_return for ep in episodes]),
        "episode_success": np.array([ep.success for ep in episodes]),
        "random_return": random_return,
        "random_success": random_success,
        "discrete_actions": np.array(discrete),
        "action_mode_share": np.array(counts.max() / counts.sum() if discrete else np.nan),
        "projection_seed": np.array(bench["seed"]),
        "projection": np.array(cfg["projection"]),
        "projection_dim": np.array(cfg["projection_dim"]),
        "num_params": np.array(num_params),
        "theta_norm": np.array(flatten(params).norm().item()),
    }
