"""The subset estimator behind stage 3 and the evidence stages: the first-order surrogate of fine-tuning theta*
on a subset S of tasks.

Fine-tuning on S with PPO maximises E_t[r_t(theta) A_t]. Linearising log r_t(theta) ~ g_t^T (theta - theta*)
turns this into maximising E_t[A_t g_t^T dtheta] = E_t[|A_t| sign(A_t) g_t^T dtheta]: a weighted binary
classification of sign(A_t) by the gradient features. We fit it as an L2-regularised logistic regression on the
projected gradients x_t = P^T g_t (labels 1[A_t > 0], weights |A_t|, no intercept) over the fit samples of the
tasks of S (``estimate.fit``: one Newton step from w = 0 built from per-task moments, or the converged fit), lift
the coefficient w back to parameter space (P w), and take a step of documented length:
dtheta_S = step_size * ||theta*|| * P w / ||P w||. Each task i of S is then scored under theta* + dtheta_S:

- ``surrogate``: the gain of PPO's clipped objective on task i's held-out samples,
  mean(min(r_t A_t, clip(r_t, 1-eps, 1+eps) A_t)) - mean(A_t) with r_t = pi_new(a_t|s_t) / pi*(a_t|s_t);
  no environment steps.
- ``return``: the mean return of deterministic rollouts of theta* + dtheta_S on task i.
- ``first_order`` / ``second_order``: the Taylor expansion along dtheta_S of task i's unclipped importance-sampled
  objective mean(r_t A_t) on its held-out samples: its slope g_i^T dtheta_S (what a gradient inner product
  sees) and, for ``second_order``, plus half its curvature dtheta_S^T H_i dtheta_S, the part that depends on
  how the partners' step bends task i's objective, which no cosine of gradients can see.

The step's length is ``estimate.step``'s: ``fixed`` (the documented length above), ``line_search`` (the subset's
own multiple of it) or ``fitted`` (the length of the lifted coefficient P w itself, the step the first-order model
of log pi takes: long where the regularisation is weak).

No RL training happens here; that is where the speedup over fine-tuning every subset comes from.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from scipy.stats import spearmanr
from sklearn.linear_model import LogisticRegression
from stable_baselines3.common.policies import BasePolicy
from torch.func import functional_call, jacfwd

from policygradex.artifacts import FEATURE_KEYS, SUBSET_SEPARATOR
from policygradex.config import Benchmark, task_names
from policygradex.diagnosis import NOISY_CONSISTENCY, consistency_of
from policygradex.errors import ArtifactError
from policygradex.gradients import Projection, first_order_change, make_projection
from policygradex.io import read_npz
from policygradex.logs import LOGGER
from policygradex.policy import ActorLogProb, actor_params, flatten, load_policy, unflatten
from policygradex.rollouts import collect_task_episodes
from policygradex.seeds import derive
from policygradex.subsets import chunk_ids, draw_subsets


def chunk_subsets(bench: Benchmark, count: int, num_chunks: int, chunk: int) -> dict[int, tuple[int, ...]]:
    """Subset id -> subset for chunk ``chunk`` of the first ``count`` of the benchmark's estimation subsets."""
    cfg = bench["estimate"]
    subsets = draw_subsets(len(bench["tasks"]), cfg["subset_size"], cfg["num_subsets"], seed=bench["seed"])
    return {i: subsets[i] for i in chunk_ids(count, num_chunks, chunk)}


def fit_direction(x: np.ndarray, advantage: np.ndarray, l2_inverse: float) -> np.ndarray:
    """Coefficient w of the weighted logistic regression of 1[A > 0] on x with weights |A| (d,), solved to
    convergence (``estimate.fit: logistic``)."""
    labels = (advantage > 0).astype(int)
    if labels.min() == labels.max():
        raise ArtifactError("the subset's features hold advantages of one sign only; the surrogate has no direction")
    model = LogisticRegression(C=l2_inverse, fit_intercept=False, solver="newton-cholesky", max_iter=200)
    model.fit(x, labels, sample_weight=np.abs(advantage))
    return model.coef_[0]


def advantage_moments(x: np.ndarray, advantage: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """One task's share of the logistic objective's gradient and curvature at w = 0: sum_t A_t x_t (d,) and
    sum_t |A_t| x_t x_t^T (d, d), in float64. They add over the tasks of a subset."""
    x = np.asarray(x, dtype=np.float64)
    advantage = np.asarray(advantage, dtype=np.float64)
    return x.T @ advantage, (x * np.abs(advantage)[:, None]).T @ x


def newton_step_direction(gradient_sum: np.ndarray, curvature_sum: np.ndarray, l2_inverse: float) -> np.ndarray:
    """w after one Newton step from w = 0 of :func:`fit_direction`'s objective (``estimate.fit: newton_step``).

    scikit-learn minimises ||w||^2 / 2 + C sum_t |A_t| logloss(1[A_t > 0], x_t . w). At w = 0 every sigmoid is
    1/2, so the gradient is -C/2 sum_t A_t x_t and the Hessian I + C/4 sum_t |A_t| x_t x_t^T: both are sums of
    per-task moments (:func:`advantage_moments`), computed once per task instead of once per subset, and the step
    costs one d x d solve. Only the direction of w is used (:func:`lift` normalises it); with the default C the
    fit stays near w = 0, where one step is the solution (cosine with the converged fit >= 0.9997 on pointmass, the
    ant and halfcheetah: benchmarks/fit.py).
    """
    hessian = np.eye(len(gradient_sum)) + 0.25 * l2_inverse * curvature_sum
    return np.linalg.solve(hessian, 0.5 * l2_inverse * gradient_sum)


def lift(coef: np.ndarray, projection: Projection, length: float | None) -> torch.Tensor:
    """dtheta = length * R w / ||R w|| in parameter space; R w itself when ``length`` is None (``step: fitted``)."""
    direction = projection.lift(torch.as_tensor(coef, dtype=torch.float32))
    return direction if length is None else length * direction / direction.norm().clamp_min(1e-12)


def clipped_gain(log_ratio: torch.Tensor, advantage: torch.Tensor, clip_range: float) -> float:
    """PPO's clipped objective minus its value at theta* (where every ratio is 1)."""
    ratio = log_ratio.exp()
    objective = torch.minimum(ratio * advantage, ratio.clamp(1 - clip_range, 1 + clip_range) * advantage)
    return float((objective - advantage).mean())


def policy_with_actor(policy: BasePolicy, params: dict[str, torch.Tensor]) -> BasePolicy:
    """A copy of ``policy`` whose actor parameters are ``params`` (names as in ActorLogProb)."""
    module = ActorLogProb(copy.deepcopy(policy))
    with torch.no_grad():
        for name, value in params.items():
            module.get_parameter(name).copy_(value)
    return module.policy


def _warn_if_noisy(names: Sequence[str], features: Sequence[dict[str, np.ndarray]]) -> None:
    consistency = [consistency_of(f) for f in features]
    median = float(np.median(consistency))
    if median < NOISY_CONSISTENCY:
        ranked = sorted(zip(names, consistency, strict=True), key=lambda pair: pair[1])
        worst = ", ".join(f"{name} {value:.2f}" for name, value in ranked[:3])
        LOGGER.warning(
            f"median gradient consistency {median:.2f} < {NOISY_CONSISTENCY} (lowest: {worst}):"
            " the per-task policy gradients are mostly noise at this many feature episodes, so the affinity"
            " will be too; raise features.episodes, and check that the meta-policy's actions are not mostly noise"
            " (policy.log_std_init; an ant at std 1 stays near 0 even at 256 episodes)"
        )


class SubsetEstimator:
    """Holds theta*, P and every task's features; scores the tasks of any subset (see module docstring)."""

    def __init__(self, bench: Benchmark, policy_path: str | Path, feature_paths: Sequence[str | Path]) -> None:
        self.bench = bench
        self.cfg = bench["estimate"]
        self.names = task_names(bench)
        if len(feature_paths) != len(self.names):
            raise ArtifactError(f"expected one features file per task ({len(self.names)}), got {len(feature_paths)}")
        self.features = [read_npz(path, FEATURE_KEYS) for path in feature_paths]
        for path, name, f in zip(feature_paths, self.names, self.features, strict=True):
            if str(f["task"]) != name:
                raise ArtifactError(
                    f"{path}: holds the features of task '{f['task']}', expected '{name}' (config order)"
                )
        self.policy, _ = load_policy(policy_path, bench)
        self.module = ActorLogProb(self.policy)
        self.theta = actor_params(self.module)
        theta_flat = flatten(self.theta)
        self.projection = self._projection(theta_flat.numel())
        _warn_if_noisy(self.names, self.features)
        self.theta_flat = theta_flat
        self.theta_norm = theta_flat.norm().item()
        self._moments: list[tuple[np.ndarray, np.ndarray]] | None = None  # per task, for estimate.fit: newton_step
        self.env_steps = 0  # environment steps this estimator has taken (scoring rollouts, full training's fine-tunes)
        self.step_factors: dict[float, int] = {}  # estimate.step: line_search: how many subsets chose each multiple

    @property
    def step_length(self) -> float:
        """||delta-theta|| of a fixed step: ``estimate.step_size`` x ||theta*|| (read when a step is taken, so that
        full training, which scores steps it did not take, runs without the setting)."""
        return self.cfg["step_size"] * self.theta_norm

    def _projection(self, num_params: int) -> Projection:
        """The projection R the features were made with, rebuilt from what the files record (files written
        before ``projection`` was recorded used the dense one at d = their width)."""
        recorded = {
            (str(f.get("projection", "dense")), int(f.get("projection_dim", f["projected_grad"].shape[1])),
             int(f["projection_seed"]), int(f["num_params"]), int(f["projected_grad"].shape[1]))
            for f in self.features
        }  # fmt: skip
        if len(recorded) != 1 or next(iter(recorded))[3] != num_params:
            raise ArtifactError(
                "features files disagree with each other or with the policy (projection, its d or seed, or the"
                f" number of parameters {num_params}): {sorted(recorded)}"
            )
        kind, dim, seed, _, width = recorded.pop()
        projection = make_projection(kind, self.module, self.theta, dim, seed)
        if projection.dim != width:
            raise ArtifactError(f"features hold {width} projected dims, the {kind} projection gives {projection.dim}")
        return projection

    @staticmethod
    def as_tensor(delta: np.ndarray) -> torch.Tensor:
        """A parameter step (numpy, as stored in npz files) as the float32 tensor the estimator computes with."""
        return torch.as_tensor(delta, dtype=torch.float32)

    def _fit_samples(self, task: int) -> tuple[np.ndarray, np.ndarray]:
        """A task's projected gradients and advantages of its fit (not held-out) samples; with ``estimate.gradients:
        unit``, the gradients divided by the length of the task's mean policy gradient on them."""
        f = self.features[task]
        fit = f["heldout"] == 0
        x, advantage = f["projected_grad"][fit], f["advantage"][fit]
        if self.cfg["gradients"] == "unit":
            length = np.linalg.norm((advantage[:, None] * x).mean(axis=0))
            x = x / max(float(length), 1e-12)
        return x, advantage

    def delta_theta(self, subset: Sequence[int]) -> torch.Tensor:
        """dtheta_S: the fit of ``estimate.fit`` on the subset's fit samples, lifted to a step of step_length."""
        if self.cfg["fit"] == "newton_step":
            if self._moments is None:  # once per task, reused by every subset
                self._moments = [advantage_moments(*self._fit_samples(task)) for task in range(len(self.names))]
            gradient = sum(self._moments[task][0] for task in subset)
            curvature = sum(self._moments[task][1] for task in subset)
            coef = newton_step_direction(gradient, curvature, self.cfg["l2_inverse"])
        else:
            samples = [self._fit_samples(task) for task in subset]
            x, adv = (np.concatenate(parts) for parts in zip(*samples, strict=True))
            coef = fit_direction(x, adv, self.cfg["l2_inverse"])
        return lift(coef, self.projection, None if self.cfg["step"] == "fitted" else self.step_length)

    @torch.no_grad()
    def scores(self, tasks: Sequence[int], delta: torch.Tensor) -> dict[int, float]:
        """Each task's score under theta* + delta (see the module docstring for ``score``)."""
        if self.cfg["score"] in ("first_order", "second_order"):
            return {task: self._taylor_gain(delta, task, self.cfg["score"] == "second_order") for task in tasks}
        params = unflatten(self.theta_flat + delta, self.theta)
        if self.cfg["score"] == "return":  # every task of the subset in one lockstep rollout
            policy = policy_with_actor(self.policy, params)
            seeds = {task: derive(self.bench["seed"], "score", task) for task in tasks}
            found = collect_task_episodes(policy, self.bench, seeds, self.cfg["score_episodes"], deterministic=True)
            self.env_steps += sum(len(ep.rewards) for episodes in found.values() for ep in episodes)
            return {task: float(np.mean([ep.total_return for ep in found[task]])) for task in tasks}
        return {task: self._surrogate_gain(params, task) for task in tasks}

    def _heldout(self, task: int) -> tuple[torch.Tensor, ...]:
        """A task's held-out samples, which the scores judge: observations, actions, log pi*(a|s), advantages."""
        f = self.features[task]
        held = f["heldout"].astype(bool)
        return tuple(torch.as_tensor(f[key][held]) for key in ("obs", "actions", "log_prob", "advantage"))

    def _taylor_gain(self, delta: torch.Tensor, task: int, curvature: bool) -> float:
        """h'(0) (+ h''(0) / 2 with ``curvature``) of h(e) = mean(r_t(theta* + e delta) A_t) on the task's held-out
        samples: forward-mode derivatives along delta, one Jacobian-vector product per order."""
        obs, actions, old_log_prob, advantage = self._heldout(task)

        def objective(e: torch.Tensor) -> torch.Tensor:
            params = unflatten(self.theta_flat + e * delta, self.theta)
            return ((functional_call(self.module, params, (obs, actions)) - old_log_prob).exp() * advantage).mean()

        zero = torch.zeros(())
        slope = float(jacfwd(objective)(zero))
        return slope + 0.5 * float(jacfwd(jacfwd(objective))(zero)) if curvature else slope

    def _surrogate_gain(self, params: dict[str, torch.Tensor], task: int) -> float:
        obs, actions, old_log_prob, advantage = self._heldout(task)
        log_ratio = functional_call(self.module, params, (obs, actions)) - old_log_prob
        return clipped_gain(log_ratio, advantage, self.bench["policy_gradient"]["clip_range"])

    def estimate(self, subset: Sequence[int]) -> dict[int, float]:
        """Task index -> score under theta* + dtheta_S, for every task of ``subset``: the estimate of one subset."""
        return self.estimate_at(subset, self.delta_theta(subset))

    def estimate_at(self, subset: Sequence[int], delta: torch.Tensor) -> dict[int, float]:
        """:meth:`estimate` with the subset's step ``delta`` (:meth:`delta_theta`) already fitted. With
        ``estimate.step: line_search`` the step's length is the subset's own (:meth:`line_search`)."""
        if self.cfg["step"] == "line_search":
            factor, scores = self.line_search(subset, delta)
            self.step_factors[factor] = self.step_factors.get(factor, 0) + 1
            return scores
        return self.scores(subset, delta)

    def line_search(self, subset: Sequence[int], delta: torch.Tensor) -> tuple[float, dict[int, float]]:
        """The multiple of ``delta`` among ``estimate.step_factors`` at which the subset's tasks score highest in
        sum, and their scores there."""
        tried = {factor: self.scores(subset, factor * delta) for factor in self.cfg["step_factors"]}
        best = max(tried, key=lambda factor: sum(tried[factor].values()))
        return best, tried[best]


def subset_rows(names: Sequence[str], subset_id: int, scores: dict[int, float]) -> list[dict]:
    """Rows ``subset_id,subset,task,score`` of one subset (task indices -> scores), as the chunk CSVs hold them."""
    label = SUBSET_SEPARATOR.join(names[t] for t in scores)
    return [{"subset_id": subset_id, "subset": label, "task": names[t], "score": s} for t, s in scores.items()]


def log_prob_errors(
    estimator: SubsetEstimator, task: int, delta: torch.Tensor
) -> dict[str, tuple[float, float, float]]:
    """kind -> (mean predicted, mean real, relative error) of log pi on the task's held-out samples.

    The first-order prediction log pi*(a|s) + g^T delta comes from one Jacobian-vector product along delta
    (no per-sample gradient is materialised, so memory does not grow with the number of parameters)."""
    f = estimator.features[task]
    held = f["heldout"].astype(bool)
    obs, actions = torch.as_tensor(f["obs"][held]), torch.as_tensor(f["actions"][held])
    base, change = first_order_change(estimator.module, estimator.theta, delta, obs, actions)
    predicted = base + change
    with torch.no_grad():
        moved = unflatten(estimator.theta_flat + delta, estimator.theta)
        real = functional_call(estimator.module, moved, (obs, actions))
    error = (predicted - real).abs().sum()
    advantage, clip_range = torch.as_tensor(f["advantage"][held]), estimator.bench["policy_gradient"]["clip_range"]
    gain, real_gain = (clipped_gain(log_ratio, advantage, clip_range) for log_ratio in (change, real - base))
    return {
        "ppo_objective": (gain, real_gain, abs(gain - real_gain) / max(abs(real_gain), 1e-12)),
        "log_prob_change": (
            change.mean().item(),
            (real - base).mean().item(),
            (error / (real - base).abs().sum().clamp_min(1e-12)).item(),
        ),
        "log_prob": (predicted.mean().item(), real.mean().item(), (error / real.abs().sum()).item()),
    }


def summarise(errors: pd.DataFrame) -> dict:
    """Median and mean relative error per kind of error, and the Spearman of estimated vs real scores
    (approx_error.json)."""
    summary: dict = {"validation_subsets": int(errors["subset_id"].nunique())}
    for kind, rows in errors.groupby("kind"):
        summary[kind] = {
            "median_rel_error": float(rows["rel_error"].median()),
            "mean_rel_error": float(rows["rel_error"].mean()),
            "rows": len(rows),
        }
    scores = errors[errors["kind"] == "score"]
    if len(scores) > 2:
        summary["score"]["spearman"] = float(spearmanr(scores["estimated"], scores["actual"]).statistic)
    return summary
