"""The policy network: building, saving and loading it, and its actor's log-probability as a pure function.

Policies are stable-baselines3 MLPs (tanh): PPO's ``ActorCriticPolicy`` (diagonal Gaussian actions, or
categorical ones for a Discrete action space; a state value critic) or SAC's ``SACPolicy`` (tanh-squashed
Gaussian actions with a state-dependent std, twin Q critics), as the benchmark's ``trainer`` says. ``policy.pt``
holds the state dict plus what is needed to rebuild the network; it opens with ``torch.load`` (weights only). The
rest of the package sees either through three functions: :class:`ActorLogProb` (log pi(a|s), vmappable),
:func:`act` and :func:`state_value`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch
from gymnasium import spaces
from stable_baselines3.common.policies import ActorCriticPolicy, BasePolicy
from stable_baselines3.common.vec_env import VecEnv
from stable_baselines3.sac.policies import LOG_STD_MAX, LOG_STD_MIN, SACPolicy

from policygradex.config import Benchmark
from policygradex.envs import make_vec_env
from policygradex.errors import ArtifactError, ConfigError
from policygradex.io import atomic_path

ParamDict = dict[str, torch.Tensor]

#: The SB3 policy class of each trainer.
POLICY_CLASSES: dict[str, type[BasePolicy]] = {"ppo": ActorCriticPolicy, "sac": SACPolicy}

#: SB3's squashed Gaussian: actions are clamped this far inside (-1, 1) before atanh, and log(1 - a^2 + EPS).
SQUASH_EPS = 1e-6


def resolve_device(device: str) -> torch.device:
    """``auto`` picks CUDA when present; ``cuda`` without a GPU is an error rather than a silent fallback."""
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if device == "cuda" and not torch.cuda.is_available():
        raise ConfigError("device: 'cuda' but torch sees no CUDA device; allowed here: 'cpu' or 'auto'")
    return torch.device(device)


def policy_kwargs(bench: Benchmark) -> dict[str, Any]:
    """SB3 ``policy_kwargs`` from the ``policy`` section: the network, tanh activations and (PPO) the initial log
    std."""
    kwargs = {"net_arch": list(bench["policy"]["net_arch"]), "activation_fn": torch.nn.Tanh}
    if bench["trainer"] == "ppo":
        kwargs["log_std_init"] = bench["policy"]["log_std_init"]
    return kwargs


def build_policy(bench: Benchmark, env: VecEnv | None = None) -> BasePolicy:
    """A fresh policy of the benchmark's trainer with its spaces and architecture."""
    own_env = env is None
    env = env or make_vec_env(bench, [0], envs_per_task=1, seed=0)
    policy_class = POLICY_CLASSES[bench["trainer"]]
    policy = policy_class(env.observation_space, env.action_space, lambda _: 0.0, **policy_kwargs(bench))
    if own_env:
        env.close()
    return policy


def save_policy(policy: BasePolicy, path: str | Path, **meta: Any) -> None:
    """Save the policy's parameters with ``meta`` (steps, tasks, ...) to ``path`` atomically."""
    with atomic_path(path) as tmp:
        torch.save({"state_dict": policy.state_dict(), "meta": meta}, tmp)


def load_policy(path: str | Path, bench: Benchmark) -> tuple[BasePolicy, dict[str, Any]]:
    """Rebuild the policy saved at ``path``; a clear error if the file does not fit the benchmark."""
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except FileNotFoundError as err:
        raise ArtifactError(f"{path}: file does not exist") from err
    except Exception as err:
        raise ArtifactError(f"{path}: not a readable policy file ({type(err).__name__}: {err})") from err
    policy = build_policy(bench)
    try:
        policy.load_state_dict(payload["state_dict"])
    except (KeyError, RuntimeError) as err:
        raise ArtifactError(f"{path}: policy does not match the benchmark's network ({err})") from err
    policy.set_training_mode(False)
    return policy, payload.get("meta", {})


class ActorLogProb(torch.nn.Module):
    """``forward(obs, actions) -> log pi(actions | obs)``, the actor path only, written out so torch.func can
    vmap it (torch.distributions' argument checks are data-dependent and cannot be vmapped)."""

    def __init__(self, policy: BasePolicy) -> None:
        super().__init__()
        self.policy = policy

    def forward(self, obs: torch.Tensor, actions: torch.Tensor) -> torch.Tensor:
        """log pi(a|s) of each (observation, action) row."""
        policy = self.policy
        if isinstance(policy, SACPolicy):
            # SAC: a = tanh(u), u ~ N(mean(s), std(s)); log pi(a|s) = log N(u) - sum log(1 - a^2)
            actor = policy.actor
            latent = actor.latent_pi(actor.extract_features(obs, actor.features_extractor))
            mean = actor.mu(latent)
            log_std = actor.log_std(latent).clamp(LOG_STD_MIN, LOG_STD_MAX)
            inside = 1.0 - torch.finfo(actions.dtype).eps
            pre_tanh = torch.atanh(actions.clamp(-inside, inside))
            squash = torch.log(1.0 - actions.pow(2) + SQUASH_EPS).sum(-1)
            return _gaussian_log_prob(pre_tanh, mean, log_std) - squash
        features = policy.extract_features(obs, policy.pi_features_extractor)
        out = policy.action_net(policy.mlp_extractor.forward_actor(features))
        if isinstance(policy.action_space, spaces.Discrete):  # out: the logits of a categorical distribution
            chosen = (actions.long() - int(policy.action_space.start)).unsqueeze(-1)
            return torch.gather(torch.log_softmax(out, dim=-1), -1, chosen).squeeze(-1)
        return _gaussian_log_prob(actions, out, policy.log_std.expand_as(out))


def _gaussian_log_prob(x: torch.Tensor, mean: torch.Tensor, log_std: torch.Tensor) -> torch.Tensor:
    z = (x - mean) / log_std.exp()
    return (-0.5 * z.pow(2) - log_std - 0.5 * torch.log(torch.tensor(2 * torch.pi))).sum(-1)


@torch.no_grad()
def act(policy: BasePolicy, obs: torch.Tensor, deterministic: bool) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Actions (as stored in rollouts: PPO's unclipped Gaussian samples, SAC's squashed ones in [-1, 1]),
    state values (N, 1) and log pi(actions | obs) of a batch of observations."""
    if isinstance(policy, SACPolicy):
        actions = policy.actor(obs, deterministic=deterministic)
        return actions, state_value(policy, obs), ActorLogProb(policy)(obs, actions)
    return policy(obs, deterministic=deterministic)


def env_actions(policy: BasePolicy, actions: np.ndarray) -> np.ndarray:
    """What the environment receives for ``actions``, as SB3's learners do it: squashed (SAC) actions rescaled
    to the action bounds, Gaussian (PPO) ones clipped to them."""
    if isinstance(policy.action_space, spaces.Discrete):
        return actions.astype(np.int64)
    if policy.squash_output:
        return policy.unscale_action(actions)
    return np.clip(actions, policy.action_space.low, policy.action_space.high)


@torch.no_grad()
def state_value(policy: BasePolicy, obs: torch.Tensor) -> torch.Tensor:
    """V(s) (N, 1): PPO's critic; for SAC, the smaller of the twin Q values at the actor's mean action (the
    value of acting greedily, which is what its critics can say about a state)."""
    if isinstance(policy, SACPolicy):
        return torch.cat(policy.critic(obs, policy.actor(obs, deterministic=True)), dim=1).min(dim=1, keepdim=True)[0]
    return policy.predict_values(obs)


def actor_params(module: ActorLogProb) -> ParamDict:
    """The parameters the actor's log-probability depends on (the critic's are left out), detached."""
    params = dict(module.named_parameters())
    device = next(iter(params.values())).device
    probe_obs = torch.zeros((1, *module.policy.observation_space.shape), device=device)
    probe_act = torch.zeros((1, *module.policy.action_space.shape), device=device)
    grads = torch.autograd.grad(module(probe_obs, probe_act).sum(), list(params.values()), allow_unused=True)
    return {name: p.detach() for (name, p), g in zip(params.items(), grads, strict=True) if g is not None}


def flatten(params: ParamDict) -> torch.Tensor:
    """Concatenate the parameters into one vector (in the dict's order, which :func:`unflatten` undoes)."""
    return torch.cat([p.reshape(-1) for p in params.values()])


def unflatten(vector: torch.Tensor, like: ParamDict) -> ParamDict:
    """Split ``vector`` into tensors shaped as ``like``'s (views, no copy)."""
    out, start = {}, 0
    for name, p in like.items():
        out[name] = vector[start : start + p.numel()].view_as(p)
        start += p.numel()
    return out
