"""Why an affinity may say nothing: each measured cause with its fix, for the cluster stage and the summary.

Clustering returns k groups whatever the affinity holds, and the trust verdict (trust.py) says whether two halves
of the subsets reproduce them; when they do not, the user needs the cause, not a list of guesses. Each check here
reads what the run measured (the subset scores, the features' rollouts of theta* and of a random policy, the
gradient consistency) and names a cause only when its measurement shows it:

- ``identical_subsets``: every subset holds the same tasks (subset_size = n): the affinity is one number a task;
- ``constant_scores``: a task's score does not move across the subsets holding it, so its affinity row is flat;
  with ``score: return`` the usual reason is that greedy rollouts do not change under a small step (Discrete
  actions change only where a step flips an argmax; an environment without randomness repeats one episode);
- ``collapsed_policy``: a categorical meta-policy that takes one action almost always: its gradients carry little;
- ``no_better_than_random``: theta*'s return no better than uniformly random actions' on most tasks: meta-training
  learnt nothing the gradients could build on (expected of a compromise between tasks that conflict outright);
- ``noisy_gradients``: low gradient consistency: the rollouts do not pin the tasks' gradients down.

numpy only: the cluster stage stays seconds; the summary (in Snakemake's process) reads the result from
cluster_quality.json and turns it into advice (summary.advice).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

#: A categorical policy that takes its most frequent action at least this often has collapsed.
COLLAPSE_SHARE = 0.95
#: Median gradient consistency below which the gradients are called mostly noise (features.py; the estimate warns
#: and the report draws the same line).
NOISY_CONSISTENCY = 0.2


@dataclass(frozen=True)
class Diagnosis:
    """One measured cause: its name, what was measured, and what to change."""

    cause: str
    detail: str
    fix: str


@dataclass(frozen=True)
class RolloutSummary:
    """What a features file says of theta*'s rollouts on one task (features.py writes the arrays)."""

    consistency: float | None
    meta_return: float | None
    random_return: float | None
    meta_success: float | None
    random_success: float | None
    discrete: bool
    mode_share: float | None
    fixed_start: bool


def rollout_summary(data: Any) -> RolloutSummary:
    """:class:`RolloutSummary` of an open features file (a mapping of arrays; older files lack some of them)."""

    def scalar(key: str) -> float | None:
        return float(data[key]) if key in data.files else None

    def mean(key: str) -> float | None:
        return float(np.mean(data[key])) if key in data.files else None

    episode, obs = data["episode"], data["obs"]
    firsts = obs[np.r_[0, np.flatnonzero(np.diff(episode)) + 1]]
    returns = data["episode_return"] if "episode_return" in data.files else None
    return RolloutSummary(
        consistency=scalar("gradient_consistency"),
        meta_return=float(np.mean(returns)) if returns is not None else None,
        random_return=mean("random_return"),
        meta_success=mean("episode_success"),
        random_success=mean("random_success"),
        discrete=bool(data["discrete_actions"]) if "discrete_actions" in data.files else False,
        mode_share=scalar("action_mode_share"),
        fixed_start=len(firsts) > 1 and bool(np.all(firsts == firsts[0])),
    )


def diagnose(
    scores: np.ndarray, members: np.ndarray, names: list[str], rollouts: list[RolloutSummary], score: str
) -> list[Diagnosis]:
    """Every cause the measurements show (module docstring), most basic first: ``scores`` and ``members`` are the
    subsets x tasks matrices of the estimate, ``rollouts`` one summary per task (empty when unknown), ``score`` the
    estimate's score."""
    found: list[Diagnosis] = []
    if len(members) > 1 and bool(np.all(members == members[0])):
        found.append(Diagnosis(
            "identical_subsets",
            f"all {len(members)} subsets hold the same {int(members[0].sum())} tasks: every affinity row is one"
            " number repeated, and the groups are arbitrary",
            "set estimate.subset_size below n (leave it out for about n/2)",
        ))  # fmt: skip
    flat = [name for i, name in enumerate(names) if _spread(scores[members[:, i], i]) == 0.0]
    if flat and not found:
        blind = [r for r in rollouts if r.discrete or r.fixed_start]
        why = ""
        if score == "return":
            why = " (return scores greedy rollouts, which a small step does not change"
            why += ": the actions are Discrete" if any(r.discrete for r in blind) else ""
            why += (", every episode starts in the same state" if any(r.fixed_start for r in blind) else "") + ")"
        found.append(Diagnosis(
            "constant_scores",
            f"the scores of {len(flat)} of {len(names)} tasks ({', '.join(flat[:4])}{', ...' if len(flat) > 4 else ''})"
            f" do not vary across the subsets holding them{why}: their affinity rows are flat",
            "set estimate.score: surrogate (it scores the step on held-out samples, which every step moves)"
            if score == "return" else "raise estimate.step_size",
        ))  # fmt: skip
    shares = [r.mode_share for r in rollouts if r.discrete and r.mode_share is not None]
    if shares and float(np.median(shares)) >= COLLAPSE_SHARE:
        found.append(Diagnosis(
            "collapsed_policy",
            f"the categorical meta-policy takes its most frequent action in {100 * float(np.median(shares)):.0f}% of"
            " steps (median over tasks): every episode is nearly the same, and its policy gradients are noise",
            "shorten meta_train.total_steps or raise ppo.ent_coef, so that theta* still explores (the shipped reacher"
            " meta-trains 30k steps: docs/own-tasks-evidence.md)",
        ))  # fmt: skip
    paired = [r for r in rollouts if None not in (r.meta_return, r.random_return)]
    worse = [r for r in paired if r.meta_return <= r.random_return]
    if paired and 2 * len(worse) > len(paired):
        meta, rand = np.mean([r.meta_return for r in paired]), np.mean([r.random_return for r in paired])
        succeeded = [r for r in paired if None not in (r.meta_success, r.random_success)]
        success = (
            f"; success {np.mean([r.meta_success for r in succeeded]):.2f} against"
            f" {np.mean([r.random_success for r in succeeded]):.2f}"
            if succeeded
            else ""
        )
        found.append(Diagnosis(
            "no_better_than_random",
            f"theta*'s return is no better than uniformly random actions' on {len(worse)} of {len(paired)} tasks"
            f" (mean {meta:.3g} against {rand:.3g}{success}): meta-training has learnt little the gradients could"
            " build on (expected only where the tasks conflict outright and theta* is their compromise)",
            "raise meta_train.total_steps, or check each task's reward on its own (train one task alone)",
        ))  # fmt: skip
    consistency = [r.consistency for r in rollouts if r.consistency is not None]
    if consistency and float(np.median(consistency)) < NOISY_CONSISTENCY:
        explore = (
            "or raise ppo.ent_coef or shorten meta_train.total_steps, so that the categorical theta* still explores"
            if any(r.discrete for r in rollouts)
            else "or lower policy.log_std_init where theta*'s actions are mostly noise"
        )
        found.append(Diagnosis(
            "noisy_gradients",
            f"median gradient consistency {float(np.median(consistency)):.2f} (the cosine of each task's gradient"
            " on two halves of its episodes): the rollouts do not pin the gradients down",
            f"raise features.episodes, {explore}",
        ))  # fmt: skip
    return found


def _spread(values: np.ndarray) -> float:
    """Range of a task's scores across subsets, 0 when they are all equal (or there is at most one)."""
    return float(np.ptp(values)) if len(values) > 1 else 0.0


def as_records(diagnoses: list[Diagnosis]) -> list[dict[str, str]]:
    """The diagnoses as cluster_quality.json holds them."""
    return [asdict(d) for d in diagnoses]


def rollout_summaries(feature_paths: Sequence[str | Path]) -> list[RolloutSummary]:
    """What each task's features file says of theta*'s rollouts (:func:`rollout_summary` of each)."""
    summaries = []
    for path in feature_paths:
        with np.load(path, allow_pickle=False) as data:
            summaries.append(rollout_summary(data))
    return summaries


def gradient_consistency(projected_grad: np.ndarray, advantage: np.ndarray, heldout: np.ndarray) -> float:
    """cos(policy gradient on the fitted samples, policy gradient on the held-out ones), in projected space."""
    fit, held = ((advantage[m, None] * projected_grad[m]).mean(0) for m in (~heldout, heldout))
    return float(fit @ held / (np.linalg.norm(fit) * np.linalg.norm(held) + 1e-12))


def consistency_of(features: dict[str, np.ndarray]) -> float:
    """A features file's gradient consistency: stored, or recomputed for files written before it was."""
    if "gradient_consistency" in features:
        return float(features["gradient_consistency"])
    return gradient_consistency(features["projected_grad"], features["advantage"], features["heldout"].astype(bool))


def median_consistency(summaries: Sequence[RolloutSummary]) -> float | None:
    """Median gradient consistency of the tasks (features.py), None if their files do not store it."""
    values = [s.consistency for s in summaries]
    return float(np.median(values)) if values and None not in values else None
