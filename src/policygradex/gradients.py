"""Per-sample gradients of log pi(a|s) at theta*, their random projection, and first-order predictions.

g_t = d log pi(a_t|s_t) / d theta over the actor's parameters only (the critic does not define the policy).
They are computed a batch of samples at a time with torch.func (vmap of grad of a functional call) and
projected to d dimensions by one fixed Rademacher matrix P (entries +-1/sqrt(d), as in Grad-TAE) as soon as a
batch is done, so memory peaks at batch x D + N x d and never holds the N x D matrix (ant ``full``: 40k samples
x 75k parameters = 12 GB). P is never stored: it is regenerated from (seed, D, d), so every task's features
share it and delta-theta = P w can be lifted back.

Where only g_t^T delta is needed (the first-order prediction of log pi at theta* + delta), a Jacobian-vector
product gives it for every sample in one forward pass, with no per-sample gradient at all.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import torch
from torch.func import functional_call, grad, jvp, vmap

from policygradex.policy import ActorLogProb, ParamDict, unflatten

#: Samples per vmap call: bounds the per-sample gradients held at once (batch_size x D floats).
DEFAULT_BATCH_SIZE = 512


def projection_matrix(num_params: int, dim: int, seed: int, device: torch.device | str = "cpu") -> torch.Tensor:
    """The D x d Rademacher matrix with entries +-1/sqrt(d), a pure function of (num_params, dim, seed): drawn
    on the CPU whatever ``device`` is, so a GPU run projects with the same matrix as a CPU one."""
    generator = torch.Generator().manual_seed(seed)
    signs = torch.randint(0, 2, (num_params, dim), generator=generator, dtype=torch.int8).to(device)
    return (signs.to(torch.float32) * 2 - 1) / dim**0.5


def _grad_batches(
    module: ActorLogProb, params: ParamDict, obs: torch.Tensor, actions: torch.Tensor, batch_size: int
) -> Iterator[list[torch.Tensor]]:
    """Per batch of samples, the per-sample gradients as one (batch, numel) block per parameter tensor."""

    def log_prob(p: ParamDict, o: torch.Tensor, a: torch.Tensor) -> torch.Tensor:
        return functional_call(module, p, (o.unsqueeze(0), a.unsqueeze(0))).squeeze(0)

    per_sample = vmap(grad(log_prob), in_dims=(None, 0, 0))
    for start in range(0, len(obs), batch_size):
        g = per_sample(params, obs[start : start + batch_size], actions[start : start + batch_size])
        yield [g[name].reshape(g[name].shape[0], -1) for name in params]


def per_sample_grads(
    module: ActorLogProb,
    params: ParamDict,
    obs: torch.Tensor,
    actions: torch.Tensor,
    batch_size: int = DEFAULT_BATCH_SIZE,
) -> torch.Tensor:
    """(N, D) matrix whose row t is the flattened gradient of log pi(a_t|s_t) w.r.t. ``params`` (small N only:
    the pipeline itself uses :func:`projected_grads` and :func:`first_order_change`)."""
    return torch.cat([torch.cat(blocks, dim=1) for blocks in _grad_batches(module, params, obs, actions, batch_size)])


def projected_grads(
    module: ActorLogProb,
    params: ParamDict,
    obs: torch.Tensor,
    actions: torch.Tensor,
    projection: torch.Tensor,
    batch_size: int = DEFAULT_BATCH_SIZE,
) -> torch.Tensor:
    """(N, d) = per-sample gradients times ``projection``, each batch projected as soon as it is computed.

    Each parameter's block of gradients is multiplied by its own rows of P and the products summed, so the
    (batch, D) row of all blocks is never assembled (copying it cost as much as the vmap itself, measured)."""
    sizes = [p.numel() for p in params.values()]
    row_blocks = torch.split(projection, sizes)
    out = torch.empty(len(obs), projection.shape[1], dtype=projection.dtype, device=projection.device)
    start = 0
    for blocks in _grad_batches(module, params, obs, actions, batch_size):
        rows = out[start : start + len(blocks[0])]
        torch.mm(blocks[0], row_blocks[0], out=rows)
        for block, p_rows in zip(blocks[1:], row_blocks[1:], strict=True):
            rows.addmm_(block, p_rows)
        start += len(rows)
    return out


def first_order_change(
    module: ActorLogProb, params: ParamDict, delta: torch.Tensor, obs: torch.Tensor, actions: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """(log pi_theta(a_t|s_t), g_t^T delta) for every sample: one JVP along the flattened ``delta``."""

    def log_prob(p: ParamDict) -> torch.Tensor:
        return functional_call(module, p, (obs, actions))

    return jvp(log_prob, (params,), (unflatten(delta, params),))


#: Median gradient consistency below which the estimate warns that it fits mostly noise (report: the same line).
NOISY_CONSISTENCY = 0.2


def gradient_consistency(projected_grad: np.ndarray, advantage: np.ndarray, heldout: np.ndarray) -> float:
    """cos(policy gradient on the fitted samples, policy gradient on the held-out ones), in projected space."""
    fit, held = ((advantage[m, None] * projected_grad[m]).mean(0) for m in (~heldout, heldout))
    return float(fit @ held / (np.linalg.norm(fit) * np.linalg.norm(held) + 1e-12))


def consistency_of(features: dict[str, np.ndarray]) -> float:
    """A features file's gradient consistency: stored, or recomputed for files written before it was."""
    if "gradient_consistency" in features:
        return float(features["gradient_consistency"])
    return gradient_consistency(features["projected_grad"], features["advantage"], features["heldout"].astype(bool))
