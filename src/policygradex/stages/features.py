"""Stage 2, gradient features: roll out theta* on one task and write features/{task}.npz.

Per sample of theta*'s rollouts on the task, the file holds the observation, the action, log pi at theta*, the GAE
advantage (standardised per task), the episode and whether it is held out (kept to score estimated policies, never
fitted), and the per-sample gradient of log pi projected to d dimensions; beside them the task's gradient
consistency and what the cluster stage's diagnosis reads of the rollouts. Every array is described in
:mod:`policygradex.features` and by ``policygradex describe``.
"""

from __future__ import annotations

from pathlib import Path

from policygradex.config import Benchmark
from policygradex.features import compute_features
from policygradex.io import Stopwatch, write_npz, write_timing
from policygradex.policy import load_policy


def run(bench: Benchmark, policy: str | Path, task: str, output: str | Path, timing: str | Path | None = None) -> None:
    """Roll out theta* on ``task`` and write its projected per-sample gradients, advantages and held-out split
    (:func:`compute_features`) -> ``output``; seconds and environment steps -> ``timing``, from after theta* is
    loaded (the job's start-up, which full training's timer leaves out too: see the speedup stage)."""
    theta_star, _ = load_policy(policy, bench)
    clock = Stopwatch()
    features = compute_features(bench, theta_star, task)
    write_npz(output, **features)
    write_timing(timing, "features", clock, task=task, env_steps=len(features["obs"]))
    n, d = features["projected_grad"].shape
    print(
        f"features {task}: {n} samples ({int(features['heldout'].sum())} held out),"
        f" D={int(features['num_params'])} -> d={d}; gradient consistency"
        f" {float(features['gradient_consistency']):.2f} (cosine of the fitted and held-out halves' gradients)"
    )
