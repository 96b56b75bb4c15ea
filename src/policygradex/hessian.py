"""Hessian-trace generalization measure of every policy (meta-policy and group policies).

Loss (``hessian.loss``). ``nll`` (default): l(theta; s, a) = -log pi_theta(a|s) on the policy's own actions, the
likelihood term of PPO's objective; at a trained policy its expected Hessian is the Fisher information, so the
trace is a positive curvature (sharpness) measure. ``ppo``: the fine-tuning objective itself,
l = -A * pi_theta(a|s) / pi_old(a|s) with pi_old the policy (detached) and A its task-standardised GAE advantage;
its Hessian -A (H_logpi + g g^T) averages towards zero because the advantages do, so its trace is small and of
either sign and the bound below degenerates (measured on pointmass: traces of -1 to 0.02) - which is why
``nll`` is the default. Only the actor's parameters count, as everywhere in PolicyGradEx.

Trace. Hutchinson's estimator Tr(H) = E_v[v^T H v] with Rademacher probes v, each v^T H v from one
Hessian-vector product (forward-mode jvp over reverse-mode grad, torch.func). Probes are drawn in batches of
``batch`` until the standard error of the mean is below ``rel_tol`` * |mean| (at least ``min_probes``, at most
``max_probes``); ``trace_stderr`` and ``num_probes`` are reported.

Gap. The training set of a policy is what its training last fitted: the samples of its last PPO update (kept in
``policy.pt`` by the training stage, :func:`policygradex.training.last_batch`), ``train_loss`` is the mean loss on
them. ``test_loss`` is the mean loss on fresh episodes from the same distribution: rollouts (other seeds) of the
policy that collected that batch (the parameters before the last update), on the same tasks.
observed_gap = test_loss - train_loss: how much better the policy fits the samples it was trained on than new
ones (positive when it over-fits them). SAC keeps its recent replay transitions instead, and no single policy
collected them: its test rollouts are the policy's own, so its gap is a rougher figure.

Bound. The PAC-Bayes Hessian bound of Ju, Li & Zhang (ICML 2022) and Zhang et al.'s noise-stability analysis
have the form  gap <= sqrt(C * r^2 * Tr(H) / N) + O(N^{-3/4}),  with Tr(H) the trace of the loss's Hessian over
the training data, r = ||theta - theta_0|| the distance travelled from the initialisation (theta* for a group
policy, the learner's seeded initialisation for theta*) and N the number of independent training examples. Here
Tr(H) is taken on the one training batch above (not a mean or max over batches) and N = ``num_episodes``, the
independent episodes that batch comes from (its samples are correlated within an episode; ``num_samples`` says how
many). We report bound = sqrt(r^2 * max(Tr H, 0) / N), i.e. C = 1 and the lower-order term dropped: a measure of the
same form, not a certified bound. ``non_vacuous`` says whether it is below the trivial bound, the range (max - min)
of the per-sample loss on the test samples; ``bound_holds`` whether it covers the observed |gap|.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, fields
from pathlib import Path

import numpy as np
import torch
from stable_baselines3.common.policies import BasePolicy
from torch.func import functional_call, grad, jvp

from policygradex.config import Benchmark
from policygradex.errors import ArtifactError, ConfigError
from policygradex.policy import (
    ActorLogProb,
    ParamDict,
    actor_params,
    build_policy,
    flatten,
    load_policy,
    resolve_device,
)
from policygradex.rollouts import collect_episodes, gae
from policygradex.seeds import derive
from policygradex.training import make_learner


@dataclass
class Batch:
    """Samples to evaluate a policy's loss on: observations, actions, advantages and the behaviour log-probabilities."""

    obs: torch.Tensor
    actions: torch.Tensor
    advantage: torch.Tensor
    log_prob: torch.Tensor  # log pi_old(a|s) of the policy that collected the samples

    def to(self, device: torch.device) -> Batch:
        """The same samples on ``device``."""
        return Batch(*(getattr(self, f.name).to(device) for f in fields(self)))


def sample_losses(module: ActorLogProb, params: ParamDict, batch: Batch, loss: str) -> torch.Tensor:
    """Per-sample loss (see the module docstring) as a function of the actor's parameters."""
    log_prob = functional_call(module, params, (batch.obs, batch.actions))
    if loss == "nll":
        return -log_prob
    if loss == "ppo":
        return -batch.advantage * (log_prob - batch.log_prob).exp()
    raise ConfigError(f"hessian.loss must be 'nll' or 'ppo', got {loss!r}")


def policy_loss(module: ActorLogProb, params: ParamDict, batch: Batch, loss: str = "nll") -> torch.Tensor:
    """The mean per-sample loss (``nll`` or ``ppo``, see :func:`sample_losses`) of the policy at ``params`` on
    ``batch``."""
    return sample_losses(module, params, batch, loss).mean()


def hutchinson_trace(
    loss, params: ParamDict, min_probes: int, max_probes: int, rel_tol: float, seed: int, batch: int = 10
) -> tuple[float, float, int]:
    """(estimate, standard error, probes) of the trace of the Hessian of ``loss(params)`` (see module doc)."""
    generator = torch.Generator().manual_seed(seed)
    gradient = grad(loss)
    samples: list[float] = []
    while len(samples) < max_probes:
        for _ in range(min(batch, max_probes - len(samples))):
            # Drawn on the CPU, one seeded stream whatever the device, then moved to the parameters' device.
            probe = {
                name: (torch.randint(0, 2, p.shape, generator=generator) * 2 - 1).to(p.device, p.dtype)
                for name, p in params.items()
            }
            _, hvp = jvp(gradient, (params,), (probe,))
            samples.append(sum(float((probe[n] * hvp[n]).sum()) for n in params))
        mean = float(np.mean(samples))
        stderr = float(np.std(samples, ddof=1) / math.sqrt(len(samples)))
        if len(samples) >= min_probes and stderr <= rel_tol * abs(mean):
            break
    return mean, stderr, len(samples)


def rollout_batch(policy, bench: Benchmark, task_seeds: dict[int, int], episodes: int) -> Batch:
    """Samples of the policy's own rollouts on its tasks (task -> seed), advantages standardised per task."""
    objective = bench["policy_gradient"]
    obs, actions, advantages, log_probs = [], [], [], []
    for task, seed in task_seeds.items():
        episode_list = collect_episodes(policy, bench, task, episodes, seed=seed)
        adv = np.concatenate([gae(ep, objective["gamma"], objective["gae_lambda"]) for ep in episode_list])
        advantages.append((adv - adv.mean()) / (adv.std() + 1e-8))
        obs.append(np.concatenate([ep.obs for ep in episode_list]))
        actions.append(np.concatenate([ep.actions for ep in episode_list]))
        log_probs.append(np.concatenate([ep.log_prob for ep in episode_list]))
    return Batch(
        torch.as_tensor(np.concatenate(obs)),
        torch.as_tensor(np.concatenate(actions)),
        torch.as_tensor(np.concatenate(advantages), dtype=torch.float32),
        torch.as_tensor(np.concatenate(log_probs), dtype=torch.float32),
    )


def training_batch(meta: dict, path: str | Path) -> tuple[Batch, int]:
    """The batch the policy's training last fitted (advantages standardised, as PPO does) and its episodes."""
    last = meta.get("last_batch")
    if last is None:
        raise ArtifactError(
            f"{path}: keeps no training batch (written before the Hessian measure needed one, or by a run resumed"
            " at its last step); delete it and rebuild it with Snakemake"
        )
    advantage = last["advantage"]
    advantage = (advantage - advantage.mean()) / (advantage.std() + 1e-8)
    return Batch(last["obs"], last["actions"], advantage, last["log_prob"]), int(last["episodes"])


def behaviour_policy(policy: BasePolicy, meta: dict, bench: Benchmark) -> BasePolicy:
    """The policy that collected the training batch (PPO: the parameters before its last update); SAC keeps
    none, and the policy itself stands in."""
    state = meta["last_batch"].get("behaviour_state")
    if state is None:
        return policy
    behaviour = build_policy(bench)
    behaviour.load_state_dict(state)
    behaviour.set_training_mode(False)
    return behaviour


def measure(
    bench: Benchmark, policy_path: str | Path, task_ids: Sequence[int], start: torch.Tensor
) -> dict[str, float]:
    """Trace, losses, gap and bound of one policy on its tasks; ``start`` is theta_0 (flattened actor). The test
    rollouts of task i and the trace's probes are seeded by the ``hessian`` stream, the same for every policy."""
    cfg = bench["hessian"]
    policy, meta = load_policy(policy_path, bench)
    train, episodes = training_batch(meta, policy_path)
    seeds = {task: derive(bench["seed"], "hessian", task) for task in task_ids}
    test = rollout_batch(behaviour_policy(policy, meta, bench), bench, seeds, cfg["episodes"])
    device = resolve_device(bench["device"])  # rollouts step on the CPU; the Hessian-vector products run here
    module = ActorLogProb(policy).to(device)
    params = actor_params(module)
    train, test = train.to(device), test.to(device)
    trace, stderr, probes = hutchinson_trace(
        lambda p: policy_loss(module, p, train, cfg["loss"]),
        params,
        cfg["min_probes"],
        cfg["max_probes"],
        cfg["rel_tol"],
        derive(bench["seed"], "hessian"),  # the stream's first seed, as task 0's rollouts
    )
    with torch.no_grad():
        train_loss = float(sample_losses(module, params, train, cfg["loss"]).mean())
        test_losses = sample_losses(module, params, test, cfg["loss"])
    distance = float((flatten(params).cpu() - start).norm())
    test_loss = float(test_losses.mean())
    bound = math.sqrt(distance**2 * max(trace, 0.0) / episodes)
    return {
        "trace": trace,
        "trace_stderr": stderr,
        "num_probes": probes,
        "train_loss": train_loss,
        "test_loss": test_loss,
        "observed_gap": test_loss - train_loss,
        "bound": bound,
        "distance": distance,
        "num_episodes": episodes,
        "num_samples": len(train.obs),
        "non_vacuous": bool(bound < float(test_losses.max() - test_losses.min())),
        "bound_holds": bool(bound >= abs(test_loss - train_loss)),
    }


def initial_actor(bench: Benchmark) -> torch.Tensor:
    """theta_0 of meta-training: the learner's initialisation is a function of the seed (SB3 seeds first)."""
    model = make_learner(bench, range(len(bench["tasks"])), seed=bench["seed"])
    model.get_env().close()  # only the initial parameters are needed: stop the environments (subprocesses)
    return flatten(actor_params(ActorLogProb(model.policy))).cpu()  # the learner may sit on the GPU
