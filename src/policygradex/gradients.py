"""Per-sample gradients of log pi(a|s) at theta*, their random projection, and first-order predictions.

g_t = d log pi(a_t|s_t) / d theta over the actor's parameters only (the critic does not define the policy).
They are computed a batch of samples at a time with torch.func (vmap of grad of a functional call) and
projected to d dimensions by one fixed Rademacher matrix P (entries +-1/sqrt(d), as in Grad-TAE) as soon as a
batch is done, so memory peaks at batch x D + N x d and never holds the N x D matrix (ant ``full``: 40k samples
x 75k parameters = 12 GB). P is never stored: it is regenerated from (seed, D, d), so every task's features
share it and delta-theta = P w can be lifted back.

Where only g_t^T delta is needed (the first-order prediction of log pi at theta* + delta), a Jacobian-vector
product gives it for every sample in one forward pass, with no per-sample gradient at all.

Two projections share one interface (``project`` the per-sample gradients, ``lift`` a coefficient back to
parameter space, ``lift(w) = R w`` where ``project`` gives ``R^T g_t``), chosen by ``features.projection``:

- :class:`DenseProjection` (``dense``, the default): the Rademacher matrix above. Its cost is per-sample: the
  vmap writes D floats for every sample and the product with P takes 2 D d flops a sample, against about 6 D
  for a whole batch's plain backward, so it falls far behind a plain gradient for large networks
  (benchmarks/throughput.py --gradients: 0.05 of a plain backward at 256x256 on the CPU).
- :class:`KroneckerProjection` (``kronecker``): the gradient of a linear layer y = W x + b for one sample is
  the outer product delta x~^T (delta = d log pi / dy, x~ = [x, 1]), so projecting it with a Kronecker product
  of two small Rademacher matrices, P_out (out x d_o) and P_in (in + 1 x d_i), gives (P_out^T delta) outer
  (P_in^T x~): every layer's delta and x~ come from one batched forward and backward, and the per-sample
  gradient is never formed (LoGra: Choe et al. 2024, "What is your data worth to GPT?"). Parameters outside
  linear layers (PPO's state-independent log std) keep a dense Rademacher block. R is a different random
  matrix from the dense one (entries +-1/sqrt(d_o d_i), not independent within a layer), so features of one
  kind cannot be mixed with the other; its d is at most ``projection_dim`` (each layer gets r x r dims with
  r = floor(sqrt(d / layers)), fewer where a layer is narrower).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Protocol

import torch
from torch.func import functional_call, grad, jvp, vmap

from policygradex.policy import ActorLogProb, ParamDict, flatten, unflatten

#: Samples per vmap call: bounds the per-sample gradients held at once (batch_size x D floats).
DEFAULT_BATCH_SIZE = 512


def projection_matrix(num_params: int, dim: int, seed: int, device: torch.device | str = "cpu") -> torch.Tensor:
    """The D x d Rademacher matrix with entries +-1/sqrt(d), a pure function of (num_params, dim, seed): drawn
    on the CPU whatever ``device`` is, so a GPU run projects with the same matrix as a CPU one."""
    return _rademacher(num_params, dim, torch.Generator().manual_seed(seed), device)


def _rademacher(rows: int, cols: int, generator: torch.Generator, device: torch.device | str) -> torch.Tensor:
    """A rows x cols matrix of +-1/sqrt(cols), drawn on the CPU from ``generator`` and moved to ``device``."""
    signs = torch.randint(0, 2, (rows, cols), generator=generator, dtype=torch.int8).to(device)
    return (signs.to(torch.float32) * 2 - 1) / cols**0.5


def _grad_batches(
    module: ActorLogProb, params: ParamDict, obs: torch.Tensor, actions: torch.Tensor, batch_size: int
) -> Iterator[list[torch.Tensor]]:
    """Per batch of samples, the per-sample gradients as one (batch, numel) block per parameter tensor."""

    def log_prob(p: ParamDict, o: torch.Tensor, a: torch.Tensor) -> torch.Tensor:
        """log pi(a|s) at parameters ``p``."""
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


class Projection(Protocol):
    """A fixed linear map R (D x d) of the actor's parameter space (module docstring)."""

    dim: int

    def project(self, obs: torch.Tensor, actions: torch.Tensor, batch_size: int) -> torch.Tensor:
        """(N, d): R^T g_t for every sample's gradient g_t of log pi(a_t|s_t) at the module's parameters."""
        ...

    def lift(self, coef: torch.Tensor) -> torch.Tensor:
        """(D,): R w, in the order of :func:`policygradex.policy.actor_params`."""
        ...


class DenseProjection:
    """R = the Rademacher matrix of :func:`projection_matrix`; per-sample gradients by vmap (module docstring)."""

    def __init__(self, module: ActorLogProb, params: ParamDict, dim: int, seed: int) -> None:
        self.module, self.params = module, params
        device = next(iter(params.values())).device
        self.matrix = projection_matrix(int(flatten(params).numel()), dim, seed, device)
        self.dim = dim

    def project(self, obs: torch.Tensor, actions: torch.Tensor, batch_size: int) -> torch.Tensor:
        """Each sample's gradient of log pi(a|s) at theta*, projected to d dimensions: an (N, d) tensor."""
        return projected_grads(self.module, self.params, obs, actions, self.matrix, batch_size)

    def lift(self, coef: torch.Tensor) -> torch.Tensor:
        """A step in the projected space back to a parameter step (the transpose of the projection)."""
        return self.matrix @ coef.to(self.matrix)


class KroneckerProjection:
    """R = one Kronecker product of small Rademacher matrices per linear layer, a dense block for the other
    parameters; projected gradients from one batched forward and backward (module docstring)."""

    def __init__(self, module: ActorLogProb, params: ParamDict, dim: int, seed: int) -> None:
        self.module, self.params = module, params
        device = next(iter(params.values())).device
        linear = {
            name: layer
            for name, layer in module.named_modules()
            if isinstance(layer, torch.nn.Linear) and f"{name}.weight" in params and f"{name}.bias" in params
        }
        self.layers = list(linear.items())
        covered = {f"{name}.{kind}" for name in linear for kind in ("weight", "bias")}
        self.free = {name: p for name, p in params.items() if name not in covered}
        free_size = sum(p.numel() for p in self.free.values())
        free_dim = min(free_size, dim // (len(self.layers) + 1)) if self.free else 0
        side = max(1, int(((dim - free_dim) / max(1, len(self.layers))) ** 0.5))
        generator = torch.Generator().manual_seed(seed)
        self.factors = [  # (P_out, P_in) per layer, drawn on the CPU in layer order: a pure function of the seed
            (_rademacher(layer.out_features, min(side, layer.out_features), generator, device),
             _rademacher(layer.in_features + 1, min(side, layer.in_features + 1), generator, device))
            for _, layer in self.layers
        ]  # fmt: skip
        self.free_matrix = _rademacher(free_size, free_dim, generator, device) if free_dim else None
        self.dim = sum(p_out.shape[1] * p_in.shape[1] for p_out, p_in in self.factors) + free_dim

    def project(self, obs: torch.Tensor, actions: torch.Tensor, batch_size: int) -> torch.Tensor:
        """Each sample's gradient of log pi(a|s) at theta*, projected to d dimensions: an (N, d) tensor."""
        out = torch.empty(len(obs), self.dim, device=obs.device)
        for start in range(0, len(obs), batch_size):
            stop = min(start + batch_size, len(obs))
            out[start:stop] = self._project_batch(obs[start:stop], actions[start:stop])
        return out

    def _project_batch(self, obs: torch.Tensor, actions: torch.Tensor) -> torch.Tensor:
        inputs: dict[str, torch.Tensor] = {}
        outputs: dict[str, torch.Tensor] = {}

        def record(name: str):
            """A forward hook that keeps layer ``name``'s input and output."""

            def hook(_layer: torch.nn.Module, args: tuple[torch.Tensor, ...], output: torch.Tensor) -> None:
                if name in outputs:
                    raise RuntimeError(f"layer {name} runs twice in one forward: no Kronecker projection for it")
                inputs[name], outputs[name] = args[0], output

            return hook

        handles = [layer.register_forward_hook(record(name)) for name, layer in self.layers]
        try:
            with torch.enable_grad():
                log_prob = self.module(obs, actions)
                deltas = torch.autograd.grad(log_prob.sum(), [outputs[name] for name, _ in self.layers])
        finally:
            for handle in handles:
                handle.remove()
        blocks = []
        for (name, _), delta, (p_out, p_in) in zip(self.layers, deltas, self.factors, strict=True):
            x = torch.cat([inputs[name].detach(), torch.ones_like(delta[:, :1])], dim=1)
            blocks.append(((delta @ p_out)[:, :, None] * (x @ p_in)[:, None, :]).flatten(1))
        if self.free_matrix is not None:  # few parameters: their per-sample gradients by vmap, as the dense path
            (free_grads,) = _grad_batches(self.module, self.free, obs, actions, len(obs))
            blocks.append(torch.cat(free_grads, dim=1) @ self.free_matrix)
        return torch.cat(blocks, dim=1)

    def lift(self, coef: torch.Tensor) -> torch.Tensor:
        """A step in the projected space back to a parameter step (the transpose of the projection)."""
        coef = coef.to(self.factors[0][0] if self.factors else self.free_matrix)
        pieces: ParamDict = {}
        start = 0
        for (name, layer), (p_out, p_in) in zip(self.layers, self.factors, strict=True):
            size = p_out.shape[1] * p_in.shape[1]
            full = p_out @ coef[start : start + size].reshape(p_out.shape[1], p_in.shape[1]) @ p_in.T
            pieces[f"{name}.weight"], pieces[f"{name}.bias"] = full[:, : layer.in_features], full[:, -1]
            start += size
        if self.free_matrix is not None:
            pieces |= unflatten(self.free_matrix @ coef[start:], self.free)
        return torch.cat([pieces[name].reshape(-1) for name in self.params])


#: ``features.projection`` -> its class.
PROJECTIONS: dict[str, type[DenseProjection] | type[KroneckerProjection]] = {
    "dense": DenseProjection,
    "kronecker": KroneckerProjection,
}


def make_projection(kind: str, module: ActorLogProb, params: ParamDict, dim: int, seed: int) -> Projection:
    """The projection ``features.projection`` names, over ``params`` of ``module`` (:func:`actor_params`)."""
    return PROJECTIONS[kind](module, params, dim, seed)


def first_order_change(
    module: ActorLogProb, params: ParamDict, delta: torch.Tensor, obs: torch.Tensor, actions: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """(log pi_theta(a_t|s_t), g_t^T delta) for every sample: one JVP along the flattened ``delta``."""

    def log_prob(p: ParamDict) -> torch.Tensor:
        """log pi(a|s) at parameters ``p``."""
        return functional_call(module, p, (obs, actions))

    return jvp(log_prob, (params,), (unflatten(delta, params),))
