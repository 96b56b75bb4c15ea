import copy
import math

import pytest
import torch
from torch.func import functional_call
from torch.func import hessian as exact_hessian

from policygradex.errors import ArtifactError
from policygradex.hessian import Batch, hutchinson_trace, measure, policy_loss, rollout_batch
from policygradex.policy import ActorLogProb, actor_params, build_policy, flatten, save_policy


def _small_problem():
    from policygradex.config import validate_config
    from tests.helpers import tiny_config

    config = tiny_config(policy={"net_arch": [6]})
    bench = validate_config(config)["benchmarks"]["tiny"]
    torch.manual_seed(0)
    module = ActorLogProb(build_policy(bench))
    batch = Batch(torch.randn(64, 2), torch.randn(64, 2), torch.randn(64), torch.randn(64))
    return module, actor_params(module), batch


@pytest.mark.parametrize("loss", ["nll", "ppo"])
def test_hutchinson_matches_the_exact_trace_within_its_standard_error(loss):
    module, params, batch = _small_problem()
    names = list(params)
    flat = flatten(params)

    def loss_of_vector(vector):
        pieces, start = {}, 0
        for name in names:
            pieces[name] = vector[start : start + params[name].numel()].view_as(params[name])
            start += params[name].numel()
        return policy_loss(module, pieces, batch, loss)

    exact = torch.trace(exact_hessian(loss_of_vector)(flat)).item()
    estimate, stderr, probes = hutchinson_trace(
        lambda p: policy_loss(module, p, batch, loss), params, min_probes=200, max_probes=200, rel_tol=0.0, seed=1
    )
    assert probes == 200
    assert abs(estimate - exact) <= 3 * stderr, (estimate, exact, stderr)
    assert stderr < 0.5 * abs(exact) + 1e-6


def test_stopping_rule_stops_early_on_an_easy_trace():
    """A loss whose Hessian is c * I has v^T H v = c * D for every Rademacher v: zero variance, stop at min."""
    params = {"w": torch.zeros(5)}
    trace, stderr, probes = hutchinson_trace(
        lambda p: 1.5 * (p["w"] ** 2).sum(), params, min_probes=4, max_probes=100, rel_tol=0.01, seed=0, batch=2
    )
    assert probes == 4 and stderr == 0.0
    assert math.isclose(trace, 3.0 * 5)


def test_losses():
    module, params, batch = _small_problem()
    log_prob = functional_call(module, params, (batch.obs, batch.actions))
    torch.testing.assert_close(policy_loss(module, params, batch, "nll"), -log_prob.mean())
    at_old = Batch(batch.obs, batch.actions, batch.advantage, log_prob.detach())
    torch.testing.assert_close(policy_loss(module, params, at_old, "ppo"), -batch.advantage.mean())  # ratio 1


def _fitted_by_likelihood(policy, batch: Batch, steps: int = 300):
    """A copy of ``policy`` whose actor maximised the likelihood of ``batch``'s actions for ``steps`` epochs."""
    fitted = copy.deepcopy(policy)
    module = ActorLogProb(fitted)
    live = [module.get_parameter(name) for name in actor_params(module)]
    optimizer = torch.optim.Adam(live, lr=3e-3)
    for _ in range(steps):
        optimizer.zero_grad()
        (-module(batch.obs, batch.actions).mean()).backward()
        optimizer.step()
    return fitted


def test_an_overfitted_policy_shows_a_positive_gap_and_a_larger_trace(bench, tmp_path):
    """Planted over-fitting: many epochs on 2 episodes against the same on 30 episodes of the same behaviour
    policy. The first fits its own samples far better than fresh ones (a clearly positive gap) and is sharper."""
    bench = {**bench, "hessian": {**bench["hessian"], "episodes": 10, "min_probes": 10, "max_probes": 40}}
    torch.manual_seed(0)
    behaviour = build_policy(bench)
    start = flatten(actor_params(ActorLogProb(behaviour)))
    results = {}
    for name, episodes in (("overfitted", 2), ("well_fitted", 30)):
        batch = rollout_batch(behaviour, bench, {0: 1}, episodes)
        last = {"obs": batch.obs, "actions": batch.actions, "advantage": batch.advantage, "log_prob": batch.log_prob,
                "episodes": episodes, "behaviour_state": behaviour.state_dict()}  # fmt: skip
        save_policy(_fitted_by_likelihood(behaviour, batch), tmp_path / f"{name}.pt", last_batch=last)
        results[name] = measure(bench, tmp_path / f"{name}.pt", [0], start)
    over, well = results["overfitted"], results["well_fitted"]
    assert over["num_episodes"] == 2 and over["num_samples"] == len(rollout_batch(behaviour, bench, {0: 1}, 2).obs)
    assert over["observed_gap"] > 0.5 and over["observed_gap"] > 5 * abs(well["observed_gap"]), (over, well)
    assert over["trace"] > 2 * well["trace"], (over["trace"], well["trace"])


def test_a_policy_without_its_training_batch_is_refused(bench, tmp_path):
    save_policy(build_policy(bench), tmp_path / "old.pt")
    with pytest.raises(ArtifactError, match="keeps no training batch"):
        measure(bench, tmp_path / "old.pt", [0], torch.zeros(1))
