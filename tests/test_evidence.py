"""Baselines, comparison and speedup bookkeeping on synthetic inputs."""

import json
import re
import subprocess
import sys
import time

import numpy as np
import pandas as pd
import pytest
import torch

from policygradex.artifacts import BASELINE_PATTERN, SUBSET_SEPARATOR
from policygradex.baselines import (
    baseline_methods,
    finetune_steps,
    gradient_similarity,
    grouping,
    mean_policy_gradient,
    random_partition,
)
from policygradex.clustering import affinity_agreement, cluster, quality
from policygradex.comparison import comparison_table
from policygradex.config import validate_config
from policygradex.estimator import log_prob_errors, summarise
from policygradex.io import Stopwatch, affinity_matrix, cpu_seconds, timing_total
from policygradex.stages.speedup import run as speedup_run
from policygradex.subsets import draw_subsets
from tests.helpers import tiny_config


def test_random_partition_is_balanced_and_seeded():
    labels = random_partition(10, 3, seed=1)
    assert sorted(np.bincount(labels)) == [3, 3, 4]
    np.testing.assert_array_equal(labels, random_partition(10, 3, seed=1))
    assert not np.array_equal(labels, random_partition(10, 3, seed=2))


def test_gradient_similarity_groups_aligned_gradients():
    rng = np.random.default_rng(0)
    directions = rng.normal(size=(3, 40))
    planted = np.repeat([0, 1, 2], 4)
    grads = directions[planted] + 0.3 * rng.normal(size=(12, 40))
    sim = gradient_similarity(grads)
    np.testing.assert_allclose(np.diag(sim), 1.0, rtol=1e-6)
    assert quality(cluster(sim, 3, "spectral"), planted)["ari"] == 1.0


def test_mean_policy_gradient_uses_fit_samples_weighted_by_advantage():
    features = {
        "heldout": np.array([False, False, True]),
        "advantage": np.array([1.0, -1.0, 5.0]),
        "projected_grad": np.array([[1.0, 0.0], [0.0, 1.0], [9.0, 9.0]]),
    }
    np.testing.assert_allclose(mean_policy_gradient(features), [0.5, -0.5])


def test_trivial_baselines(bench):
    assert set(grouping(bench, "single_finetuned", k=2)) == {0}
    np.testing.assert_array_equal(grouping(bench, "per_task", k=2), np.arange(4))
    random = grouping(bench, "random_0", k=2)  # at the clustering's k, which may differ from the config's
    assert sorted(np.bincount(random)) == [2, 2]
    with pytest.raises(ValueError, match="unknown baseline 'oracle'"):
        grouping(bench, "oracle", k=2)


def test_each_method_spends_k_groups_budget_but_per_task(bench):
    """single_finetuned's one group gets k groups' budget, per_task_equal_budget's n groups share k groups' budget,
    per_task's n groups get a group's budget each (and spend n/k times PolicyGradEx's)."""
    steps, n = bench["finetune"]["total_steps"], len(bench["tasks"])
    for k in (1, 2, 3):
        assert finetune_steps(bench, "single_finetuned", k) == k * steps
        assert finetune_steps(bench, "per_task", k) == finetune_steps(bench, "grad_similarity", k) == steps
        assert n * finetune_steps(bench, "per_task_equal_budget", k) == pytest.approx(k * steps, abs=n)
    np.testing.assert_array_equal(grouping(bench, "per_task_equal_budget", k=2), np.arange(n))
    off = bench | {"compare": {**bench["compare"], "per_task_equal_budget": False}}  # the default
    assert "per_task_equal_budget" in baseline_methods(bench) and "per_task_equal_budget" not in baseline_methods(off)


def test_every_baseline_name_fits_the_workflow_wildcard(bench):
    """The Snakefile's {baseline} wildcard (artifacts.BASELINE_PATTERN) admits every baseline the comparison
    asks for, and nothing else."""
    names = baseline_methods(bench | {"full_training": {**bench["full_training"], "enabled": True}})
    assert {"full_training", "random_0", "per_task_equal_budget"} <= set(names)
    assert all(re.fullmatch(BASELINE_PATTERN, name) for name in names)
    assert not re.fullmatch(BASELINE_PATTERN, "oracle") and not re.fullmatch(BASELINE_PATTERN, "random_")


def _evaluation(method, returns, groups):
    return pd.DataFrame(
        {
            "method": method,
            "task": [f"t{i}" for i in range(len(returns))],
            "group": groups,
            "mean_return": returns,
            "success_rate": 0.0,
            "episodes": 5,
        }
    )


def test_comparison_pools_random_seeds_and_measures_against_single():
    evaluations = pd.concat(
        [
            _evaluation("single", [-40.0, -60.0], [0, 0]),
            _evaluation("policygradex", [-20.0, -20.0], [0, 1]),
            _evaluation("random_0", [-30.0, -50.0], [0, 1]),
            _evaluation("random_1", [-30.0, -30.0], [0, 1]),
        ]
    )
    table = comparison_table(evaluations).set_index("method")
    assert table.loc["policygradex", "vs_single_pct"] == pytest.approx(60.0)  # -20 vs -50
    assert table.loc["random", "mean_return"] == pytest.approx(-35.0)
    assert table.loc["random", "runs"] == 2 and table.loc["random", "return_std"] == pytest.approx(
        np.std([-40, -30], ddof=1)
    )
    assert table.loc["policygradex", "k"] == 2 and table.loc["single", "k"] == 1
    assert list(table.index)[0] == "policygradex"  # sorted best first


def test_comparison_needs_the_single_policy():
    with pytest.raises(ValueError, match="single"):
        comparison_table(_evaluation("policygradex", [-1.0], [0]))


def test_speedup_bookkeeping(tmp_path):
    paths = []
    for i, seconds in enumerate([1.5, 2.5]):
        paths.append(tmp_path / f"t{i}.json")
        paths[-1].write_text(json.dumps({"stage": "x", "seconds": seconds}))
    assert timing_total(paths) == 4.0
    (tmp_path / "bad.json").write_text("{}")
    with pytest.raises(ValueError, match="bad.json"):
        timing_total([tmp_path / "bad.json"])
    with pytest.raises(ValueError, match="'cpu_seconds' was recorded must be rebuilt"):  # a file of an older commit
        timing_total(paths, "cpu_seconds")


def test_speedup_compares_both_paths_on_the_subsets_full_training_fine_tuned(tmp_path):
    """With full_training.num_subsets below the estimate's, the estimated affinity comes from the same first
    subsets and the estimate's seconds are pro-rated to them; later subsets do not enter."""
    bench = validate_config(tiny_config(full_training={"enabled": True, "num_chunks": 2, "num_subsets": 6}))
    bench = bench["benchmarks"]["tiny"]
    names = [t["name"] for t in bench["tasks"]]
    subsets = draw_subsets(4, 2, 12, bench["seed"])
    scores = np.random.default_rng(0).normal(size=(12, 4))
    scores[6:] = -scores[6:] * 10  # later subsets rank every task the other way: would spoil the agreement
    labels = [SUBSET_SEPARATOR.join(names[t] for t in subset) for subset in subsets]
    rows = [(s, labels[s], names[t], scores[s, t]) for s, subset in enumerate(subsets) for t in subset]
    frame = pd.DataFrame(rows, columns=["subset_id", "subset", "task", "score"])
    chunks = [tmp_path / "a.csv", tmp_path / "b.csv"]
    frame[frame.subset_id < 5].to_csv(chunks[0], index=False)
    frame[frame.subset_id >= 5].to_csv(chunks[1], index=False)
    affinity_matrix(frame[frame.subset_id < 6], names).to_csv(tmp_path / "full.csv")

    def timing(name, cpu):
        (tmp_path / name).write_text(json.dumps({"seconds": 2 * cpu, "cpu_seconds": cpu, "env_steps": 100 * cpu}))
        return [tmp_path / name]

    pd.DataFrame({"seconds": [3.0]}).to_csv(tmp_path / "log.csv", index=False)
    output, quality = tmp_path / "speedup.json", tmp_path / "cluster_quality.json"
    quality.write_text(json.dumps({"k": 2}))
    speedup_run(
        bench, timing("f.json", 4.0), timing("e.json", 12.0), timing("full.json", 60.0), tmp_path / "log.csv",
        chunks, tmp_path / "full.csv", quality, output,
    )  # fmt: skip
    result = json.loads(output.read_text())
    assert result["subsets_compared"] == 6 and result["num_subsets"] == 12
    assert result["estimation_cpu_seconds"]["estimate"] == pytest.approx(6.0)  # 12 s for 12 subsets, 6 compared
    assert result["speedup"] == pytest.approx(60.0 / (4.0 + 6.0))
    assert result["speedup_env_steps"] == pytest.approx(6000 / (400 + 600))  # steps pro-rated the same way
    assert result["spearman_rowwise_mean"] == pytest.approx(1.0)


def test_stopwatch_counts_cpu_of_the_process_and_its_children_not_waiting():
    clock = Stopwatch(earlier_wall=1.0, earlier_cpu=2.0)  # a resumed run's earlier seconds are carried on
    time.sleep(0.4)  # waiting: wall-clock time, no CPU
    child = "import time\nstart = time.process_time()\nwhile time.process_time() - start < 0.3: pass"
    subprocess.run([sys.executable, "-c", child], check=True)  # a finished child's CPU counts
    start = cpu_seconds()
    while cpu_seconds() - start < 0.2:  # and the process's own
        pass
    used, waited = clock.cpu - 2.0, clock.wall - 1.0
    assert used >= 0.5 and waited >= used + 0.3, (used, waited)


def test_affinity_agreement_compares_groups_and_rankings():
    pairs = np.kron(np.eye(2), np.ones((2, 2))) + np.arange(16.0).reshape(4, 4) / 100  # groups {0, 1} and {2, 3}
    assert affinity_agreement(pairs, 2 * pairs + 1, 2, "spectral") == {
        "clusters_ari_estimated_vs_full": pytest.approx(1.0),
        "spearman": pytest.approx(1.0),
        "spearman_rowwise_mean": pytest.approx(1.0),
    }
    crossed = pairs[np.ix_([0, 2, 1, 3], [0, 2, 1, 3])]  # the same blocks on tasks {0, 2} and {1, 3}
    assert affinity_agreement(pairs, crossed, 2, "spectral")["clusters_ari_estimated_vs_full"] < 0
    assert affinity_agreement(pairs, -pairs, 2, "spectral")["spearman"] == pytest.approx(-1.0)


def test_approx_error_summary():
    errors = pd.DataFrame(
        {
            "subset_id": [0, 0, 1, 0, 0, 1],
            "kind": ["log_prob"] * 3 + ["score"] * 3,
            "estimated": [0, 0, 0, 1.0, 2.0, 3.0],
            "actual": [0, 0, 0, 10.0, 20.0, 30.0],
            "rel_error": [0.01, 0.03, 0.02, 0.9, 0.9, 0.9],
        }
    )
    summary = summarise(errors)
    assert summary["validation_subsets"] == 2
    assert summary["log_prob"]["median_rel_error"] == pytest.approx(0.02)
    assert summary["score"]["spearman"] == pytest.approx(1.0)


class _FakeEstimator:
    """The pieces of SubsetEstimator that log_prob_errors reads, around a real tiny policy in float64: the Taylor
    remainder checked below must not be drowned by float32 rounding (at a step of 1e-4 it would be)."""

    def __init__(self, bench):
        from policygradex.policy import ActorLogProb, actor_params, build_policy, flatten

        self.bench = bench
        self.module = ActorLogProb(build_policy(bench))
        self.theta = {name: p.double() for name, p in actor_params(self.module).items()}
        self.module.double()
        self.theta_flat = flatten(self.theta)
        generator = torch.Generator().manual_seed(0)
        obs, actions = (torch.randn(50, 2, generator=generator, dtype=torch.float64) for _ in range(2))
        with torch.no_grad():
            log_prob = self.module(obs, actions)
        advantage = np.random.default_rng(0).standard_normal(50)
        self.features = [
            {"heldout": np.ones(50, bool), "obs": obs.numpy(), "actions": actions.numpy(), "log_prob": log_prob.numpy(),
             "advantage": advantage}
        ]  # fmt: skip


def test_first_order_error_shrinks_linearly_with_the_step(bench, monkeypatch):
    """The Taylor remainder of log pi is O(|delta|^2) while the change is O(|delta|), so the error relative to the
    change is O(|delta|): halving the step halves it, and a tiny step is almost exact. The same holds for the
    clipped PPO objective's change predicted from the predicted log-ratios."""
    # SB3 casts observations to float32 before the network; the float64 check needs them as they are
    monkeypatch.setattr("stable_baselines3.common.policies.preprocess_obs", lambda obs, *args, **kwargs: obs)
    estimator = _FakeEstimator(bench)
    direction = torch.randn(estimator.theta_flat.numel(), generator=torch.Generator().manual_seed(1))
    direction = direction.double() / direction.norm()
    for kind, steps in (("log_prob_change", (0.2, 0.1)), ("ppo_objective", (0.02, 0.01))):
        big, small = (log_prob_errors(estimator, 0, s * direction)[kind][2] for s in steps)
        assert 0.4 < small / big < 0.6, (kind, big, small)
        tiny = log_prob_errors(estimator, 0, 1e-4 * direction)[kind][2]
        assert tiny < 2 * big * 1e-4 / steps[0], (kind, big, tiny)  # still linear, down to a 1e-4 step
    assert log_prob_errors(estimator, 0, 1e-4 * direction)["log_prob"][2] < 1e-8
