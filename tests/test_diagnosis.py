"""The diagnosis of an affinity that may say nothing (diagnosis.py), and the advice that follows the measured
cause (summary.advice): each cause shown on scores or rollouts built to have it, and absent where they do not."""

from __future__ import annotations

import numpy as np
import pytest

from policygradex.diagnosis import RolloutSummary, diagnose
from policygradex.subsets import draw_subsets
from policygradex.summary import advice

NAMES = [f"t{i}" for i in range(6)]


def subsets(size: int = 3, count: int = 40) -> np.ndarray:
    """Membership (subsets x tasks) of ``count`` random subsets of 6 tasks."""
    members = np.zeros((count, len(NAMES)), dtype=bool)
    for row, subset in enumerate(draw_subsets(len(NAMES), size, count, seed=0)):
        members[row, list(subset)] = True
    return members


def healthy(**changes) -> RolloutSummary:
    """A task whose rollouts show nothing wrong: Box actions, consistent gradients, theta* above random."""
    return RolloutSummary(**{"consistency": 0.9, "meta_return": 10.0, "random_return": -5.0, "meta_success": 0.5,
                             "random_success": 0.0, "discrete": False, "mode_share": None, "fixed_start": False,
                             **changes})  # fmt: skip


def causes(scores, members, rollouts, score="return") -> list[str]:
    return [d.cause for d in diagnose(scores, members, NAMES, rollouts, score)]


def test_healthy_scores_and_rollouts_show_no_cause():
    members = subsets()
    scores = np.random.default_rng(0).normal(size=members.shape)
    assert causes(scores, members, [healthy()] * 6) == []


def test_subsets_that_all_hold_every_task_are_named():
    members = np.ones((10, 6), dtype=bool)
    assert causes(np.ones((10, 6)), members, [healthy()] * 6) == ["identical_subsets"]


def test_scores_that_no_step_moves_are_named_with_the_fix_of_their_score():
    """Return scores of a Discrete policy in an environment that starts every episode alike: every subset
    scores a task the same (the deep-sea-treasure case), so each affinity row is flat; the fix is the surrogate.
    With the surrogate itself flat, the fix is a longer step."""
    members = subsets()
    scores = np.tile(np.arange(6.0), (len(members), 1))
    rollouts = [healthy(discrete=True, mode_share=0.5, fixed_start=True)] * 6
    (found,) = diagnose(scores, members, NAMES, rollouts, "return")
    assert found.cause == "constant_scores" and "6 of 6 tasks" in found.detail
    assert "Discrete" in found.detail and "same state" in found.detail and "estimate.score: surrogate" in found.fix
    assert diagnose(scores, members, NAMES, rollouts, "surrogate")[0].fix == "raise estimate.step_size"
    moved = scores + np.random.default_rng(1).normal(scale=1e-3, size=scores.shape)
    assert causes(moved, members, rollouts) == []


def test_a_collapsed_policy_worse_than_random_with_noisy_gradients_is_named_three_times():
    members = subsets()
    scores = np.random.default_rng(0).normal(size=members.shape)
    rollouts = [healthy(discrete=True, mode_share=0.97, meta_return=-9.0, consistency=0.05)] * 6
    assert causes(scores, members, rollouts) == ["collapsed_policy", "no_better_than_random", "noisy_gradients"]
    worse = diagnose(scores, members, NAMES, rollouts, "surrogate")[1].detail
    assert "on 6 of 6 tasks (mean -9 against -5; success 0.50 against 0.00)" in worse
    assert causes(scores, members, [healthy(discrete=True, mode_share=0.6)] * 6) == []
    # the fix of noisy gradients names what keeps a categorical policy exploring, a Gaussian one its noise
    noisy = diagnose(scores, members, NAMES, [healthy(discrete=True, consistency=0.05)] * 6, "surrogate")[-1]
    assert noisy.cause == "noisy_gradients" and "ppo.ent_coef" in noisy.fix and "log_std_init" not in noisy.fix
    gaussian = diagnose(scores, members, NAMES, [healthy(consistency=0.05)] * 6, "surrogate")[-1]
    assert "policy.log_std_init" in gaussian.fix


@pytest.mark.parametrize("worse", [2, 3, 4])
def test_no_better_than_random_needs_most_tasks(worse):
    members = subsets()
    scores = np.random.default_rng(0).normal(size=members.shape)
    rollouts = [healthy(meta_return=-9.0)] * worse + [healthy()] * (6 - worse)
    assert ("no_better_than_random" in causes(scores, members, rollouts)) == (worse > 3)


def test_the_advice_follows_the_measured_cause():
    """With consistent gradients and no measured cause the advice is not to raise features.episodes (the issue's
    case: consistency 0.98); with a cause, its fix."""
    plain = advice([], 0.98)
    assert "features.episodes" not in plain and "consistent (median 0.98)" in plain and "num_subsets" in plain
    flat = {"cause": "constant_scores", "detail": "...", "fix": "set estimate.score: surrogate"}
    assert advice([flat], 0.99) == "set estimate.score: surrogate (constant_scores)"
