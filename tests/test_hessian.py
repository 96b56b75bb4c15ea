import math

import pytest
import torch
from torch.func import functional_call
from torch.func import hessian as exact_hessian

from policygradex.hessian import Batch, hutchinson_trace, policy_loss
from policygradex.policy import ActorLogProb, actor_params, build_policy, flatten


def _small_problem():
    from policygradex.config import validate_config
    from tests.conftest import tiny_config

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
