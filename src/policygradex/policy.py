"""The policy network: building, saving and loading it, and its actor's log-probability as a pure function.

Policies are stable-baselines3 ``ActorCriticPolicy`` MLPs (tanh, diagonal Gaussian actions). ``policy.pt`` holds
the state dict plus what is needed to rebuild the network; it opens with ``torch.load`` (weights only).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
from stable_baselines3.common.policies import ActorCriticPolicy
from stable_baselines3.common.vec_env import VecEnv

from policygradex.config import Benchmark
from policygradex.envs import make_vec_env
from policygradex.io import ArtifactError, atomic_path

ParamDict = dict[str, torch.Tensor]


def resolve_device(device: str) -> torch.device:
    """``auto`` picks CUDA when present; ``cuda`` without a GPU is an error rather than a silent fallback."""
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if device == "cuda" and not torch.cuda.is_available():
        raise RuntimeError("config device is 'cuda' but torch sees no CUDA device; use 'cpu' or 'auto'")
    return torch.device(device)


def policy_kwargs(bench: Benchmark) -> dict[str, Any]:
    return {"net_arch": list(bench["policy"]["net_arch"]), "activation_fn": torch.nn.Tanh}


def build_policy(bench: Benchmark, env: VecEnv | None = None) -> ActorCriticPolicy:
    """A fresh policy with the benchmark's spaces and architecture."""
    env = env or make_vec_env(bench, [0], envs_per_task=1, seed=0)
    return ActorCriticPolicy(env.observation_space, env.action_space, lambda _: 0.0, **policy_kwargs(bench))


def save_policy(policy: ActorCriticPolicy, path: str | Path, **meta: Any) -> None:
    with atomic_path(path) as tmp:
        torch.save({"state_dict": policy.state_dict(), "meta": meta}, tmp)


def load_policy(path: str | Path, bench: Benchmark) -> tuple[ActorCriticPolicy, dict[str, Any]]:
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

    def __init__(self, policy: ActorCriticPolicy) -> None:
        super().__init__()
        self.policy = policy

    def forward(self, obs: torch.Tensor, actions: torch.Tensor) -> torch.Tensor:
        policy = self.policy
        features = policy.extract_features(obs, policy.pi_features_extractor)
        mean = policy.action_net(policy.mlp_extractor.forward_actor(features))
        log_std = policy.log_std.expand_as(mean)
        z = (actions - mean) / log_std.exp()
        return (-0.5 * z.pow(2) - log_std - 0.5 * torch.log(torch.tensor(2 * torch.pi))).sum(-1)


def actor_params(module: ActorLogProb) -> ParamDict:
    """The parameters the actor's log-probability depends on (the critic's are left out), detached."""
    params = dict(module.named_parameters())
    probe_obs = torch.zeros((1, *module.policy.observation_space.shape))
    probe_act = torch.zeros((1, *module.policy.action_space.shape))
    grads = torch.autograd.grad(module(probe_obs, probe_act).sum(), list(params.values()), allow_unused=True)
    return {name: p.detach() for (name, p), g in zip(params.items(), grads, strict=True) if g is not None}


def flatten(params: ParamDict) -> torch.Tensor:
    return torch.cat([p.reshape(-1) for p in params.values()])


def unflatten(vector: torch.Tensor, like: ParamDict) -> ParamDict:
    out, start = {}, 0
    for name, p in like.items():
        out[name] = vector[start : start + p.numel()].view_as(p)
        start += p.numel()
    return out
