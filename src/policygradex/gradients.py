"""Per-sample gradients of log pi(a|s) at theta* and their random projection.

g_t = d log pi(a_t|s_t) / d theta over the actor's parameters only (the critic does not define the policy).
They are computed for a whole batch at once with torch.func (vmap of grad of a functional call) and projected
to d dimensions by one fixed Rademacher matrix P (entries +-1/sqrt(d), as in Grad-TAE). P is never stored: it
is regenerated from (seed, D, d), so every task's features share it and delta-theta = P w can be lifted back.
"""

from __future__ import annotations

import torch
from torch.func import functional_call, grad, vmap

from policygradex.policy import ActorLogProb, ParamDict


def projection_matrix(num_params: int, dim: int, seed: int) -> torch.Tensor:
    """The D x d Rademacher matrix with entries +-1/sqrt(d), a pure function of its arguments."""
    generator = torch.Generator().manual_seed(seed)
    signs = torch.randint(0, 2, (num_params, dim), generator=generator, dtype=torch.int8)
    return (signs.to(torch.float32) * 2 - 1) / dim**0.5


def per_sample_grads(
    module: ActorLogProb, params: ParamDict, obs: torch.Tensor, actions: torch.Tensor, chunk: int = 1024
) -> torch.Tensor:
    """(N, D) matrix whose row t is the flattened gradient of log pi(a_t|s_t) w.r.t. ``params``."""

    def log_prob(p: ParamDict, o: torch.Tensor, a: torch.Tensor) -> torch.Tensor:
        return functional_call(module, p, (o.unsqueeze(0), a.unsqueeze(0))).squeeze(0)

    per_sample = vmap(grad(log_prob), in_dims=(None, 0, 0))
    rows = []
    for start in range(0, len(obs), chunk):
        g = per_sample(params, obs[start : start + chunk], actions[start : start + chunk])
        rows.append(torch.cat([g[name].reshape(g[name].shape[0], -1) for name in params], dim=1))
    return torch.cat(rows)
