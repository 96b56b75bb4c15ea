import numpy as np
import pytest
import torch

from policygradex.config import validate_config
from policygradex.features import compute_features
from policygradex.gradients import (
    first_order_change,
    make_projection,
    per_sample_grads,
    projected_grads,
    projection_matrix,
)
from policygradex.policy import ActorLogProb, actor_params, build_policy, flatten, save_policy, unflatten
from policygradex.rollouts import Episode, gae
from tests.helpers import real_bench, tiny_config


def _policy_and_batch(bench, n=7):
    torch.manual_seed(0)
    policy = build_policy(bench)
    obs = torch.randn(n, 2)
    actions = torch.randn(n, 2)
    return policy, obs, actions


def test_actor_log_prob_matches_sb3(bench):
    policy, obs, actions = _policy_and_batch(bench)
    _, log_prob, _ = policy.evaluate_actions(obs, actions)
    torch.testing.assert_close(ActorLogProb(policy)(obs, actions), log_prob)


def test_actor_params_exclude_the_critic(bench):
    policy, _, _ = _policy_and_batch(bench)
    names = set(actor_params(ActorLogProb(policy)))
    assert "policy.log_std" in names and any("policy_net" in n for n in names)
    assert not any("value" in n for n in names)


def test_per_sample_grads_match_a_loop_of_autograd(bench):
    policy, obs, actions = _policy_and_batch(bench)
    module = ActorLogProb(policy)
    params = actor_params(module)
    fast = per_sample_grads(module, params, obs, actions, batch_size=3)  # several batches
    live = [module.get_parameter(name) for name in params]
    for t in range(len(obs)):
        grads = torch.autograd.grad(module(obs[t : t + 1], actions[t : t + 1]).sum(), live)
        torch.testing.assert_close(fast[t], torch.cat([g.reshape(-1) for g in grads]), rtol=1e-4, atol=1e-5)


def test_batched_projection_equals_projecting_the_whole_gradient_matrix(bench):
    policy, obs, actions = _policy_and_batch(bench, n=11)
    module = ActorLogProb(policy)
    params = actor_params(module)
    projection = projection_matrix(int(flatten(params).numel()), 6, seed=3)
    whole = per_sample_grads(module, params, obs, actions, batch_size=len(obs)) @ projection  # N x D at once
    for batch_size in (1, 4, 11, 64):  # one sample, ragged last batch, exactly N, larger than N
        batched = projected_grads(module, params, obs, actions, projection, batch_size=batch_size)
        torch.testing.assert_close(batched, whole, rtol=1e-4, atol=1e-5)  # float32 sums in another order


def test_first_order_change_is_the_gradient_times_delta(bench):
    policy, obs, actions = _policy_and_batch(bench)
    module = ActorLogProb(policy)
    params = actor_params(module)
    delta = torch.randn(int(flatten(params).numel()), generator=torch.Generator().manual_seed(1)) * 0.01
    base, change = first_order_change(module, params, delta, obs, actions)
    torch.testing.assert_close(base, module(obs, actions).detach())
    torch.testing.assert_close(change, per_sample_grads(module, params, obs, actions) @ delta, rtol=1e-4, atol=1e-6)
    # and it is the first-order term: the remainder of the real change shrinks quadratically with the step

    def remainder(scale: float) -> float:
        moved = unflatten(flatten(params) + scale * delta, params)
        actual = torch.func.functional_call(module, moved, (obs, actions)) - base
        return float((actual - scale * change).abs().max())

    assert remainder(0.1) < remainder(1.0) / 30


def test_features_do_not_depend_on_the_gradient_batch_size(bench, tmp_path):
    torch.manual_seed(0)
    path = tmp_path / "policy.pt"
    save_policy(build_policy(bench), path)
    small, whole = (
        compute_features({**bench, "features": {**bench["features"], "batch_size": b}}, path, "east-0.5")
        for b in (5, 100_000)
    )
    assert small["projected_grad"].shape[0] > 5  # several batches were needed
    np.testing.assert_allclose(small["projected_grad"], whole["projected_grad"], rtol=1e-4, atol=1e-5)
    np.testing.assert_array_equal(small["obs"], whole["obs"])  # same rollouts: only the batching differs


def test_projection_is_seeded_rademacher():
    p = projection_matrix(500, 50, seed=4)
    assert torch.equal(p, projection_matrix(500, 50, seed=4))
    assert not torch.equal(p, projection_matrix(500, 50, seed=5))
    np.testing.assert_allclose(sorted(set(p.abs().flatten().tolist())), [50**-0.5], rtol=1e-6)
    # E[P P^T] = I: squared norms are preserved on average (200 seeded vectors; one ratio's sd is 0.2 at d = 50).
    x = torch.randn(200, 500, generator=torch.Generator().manual_seed(0))
    ratio = ((x @ p).norm(dim=1) ** 2 / x.norm(dim=1) ** 2).mean()
    assert abs(ratio - 1) < 0.05


def test_flatten_roundtrip(bench):
    params = actor_params(ActorLogProb(build_policy(bench)))
    back = unflatten(flatten(params), params)
    for name in params:
        torch.testing.assert_close(back[name], params[name])


def test_gae_matches_hand_computation():
    ep = Episode(
        obs=np.zeros((3, 2)),
        actions=np.zeros((3, 2)),
        rewards=np.array([1.0, 0.0, 2.0]),
        values=np.array([0.5, 0.2, 0.1]),
        log_prob=np.zeros(3),
        bootstrap=0.4,
        success=False,
    )
    gamma, lam = 0.9, 0.8
    d = [1 + 0.9 * 0.2 - 0.5, 0 + 0.9 * 0.1 - 0.2, 2 + 0.9 * 0.4 - 0.1]
    expected = [d[0] + gamma * lam * (d[1] + gamma * lam * d[2]), d[1] + gamma * lam * d[2], d[2]]
    np.testing.assert_allclose(gae(ep, gamma, lam), expected)


def test_sac_actor_log_prob_matches_sb3_squashed_gaussian():
    bench = validate_config(tiny_config(trainer="sac"))["benchmarks"]["tiny"]
    torch.manual_seed(0)
    policy = build_policy(bench)
    obs = torch.randn(7, 2)
    actions, log_prob = policy.actor.action_log_prob(obs)  # SB3's sample and its log-probability
    module = ActorLogProb(policy)
    torch.testing.assert_close(module(obs, actions), log_prob)
    names = set(actor_params(module))
    assert names and all(name.startswith("policy.actor.") for name in names)  # the twin critics are left out
    grads = per_sample_grads(module, actor_params(module), obs, actions.detach())
    assert grads.shape == (7, sum(p.numel() for p in actor_params(module).values()))
    assert torch.isfinite(grads).all()


def test_ppo_actions_start_at_the_configured_std(bench):
    assert torch.equal(build_policy(bench).log_std, torch.zeros(2))  # SB3's default where the config is silent
    ant = real_bench("ant")
    assert ant["policy"]["log_std_init"] == -2.0
    torch.testing.assert_close(build_policy(ant).log_std.detach(), torch.full((8,), -2.0))


def _explicit_matrix(projection, num_params):
    """R column by column: lift of each unit coefficient."""
    return torch.stack([projection.lift(torch.eye(projection.dim)[j]) for j in range(projection.dim)], dim=1)


@pytest.mark.parametrize("trainer", ["ppo", "sac"])
@pytest.mark.parametrize("kind", ["dense", "kronecker"])
def test_projections_give_r_transpose_g_and_lift_gives_r_w(bench, trainer, kind):
    """project() is the per-sample gradients times the same matrix R whose columns lift() gives: the estimator
    fits w on projected gradients and steps along R w, so the two must be adjoint. The Kronecker projection
    gets there without forming any per-sample gradient."""
    bench = {**bench, "trainer": trainer}
    policy, obs, actions = _policy_and_batch(bench, n=9)
    module = ActorLogProb(policy)
    params = actor_params(module)
    num_params = int(flatten(params).numel())
    projection = make_projection(kind, module, params, 40, seed=3)
    assert 0 < projection.dim <= 40
    r = _explicit_matrix(projection, num_params)
    assert r.shape == (num_params, projection.dim)
    exact = per_sample_grads(module, params, obs, actions) @ r
    for batch_size in (4, 64):  # ragged last batch; one batch
        # float32 products of the explicit R sum in another order (errors up to 2e-5 seen); a wrong R is off by O(1)
        torch.testing.assert_close(projection.project(obs, actions, batch_size), exact, rtol=1e-3, atol=1e-4)
    # a random projection: close to norm-preserving on average (entries +-1/sqrt(d) per factor)
    assert 0.5 < float((r**2).sum(dim=1).mean()) < 2.0


def test_kronecker_projection_covers_every_layer_and_the_free_log_std(bench):
    policy, _, _ = _policy_and_batch(bench)
    module = ActorLogProb(policy)
    projection = make_projection("kronecker", module, actor_params(module), 40, seed=0)
    assert list(projection.free) == ["policy.log_std"]
    assert {name for name, _ in projection.layers} >= {"policy.action_net"}
    again = make_projection("kronecker", module, actor_params(module), 40, seed=0)
    torch.testing.assert_close(again.lift(torch.ones(again.dim)), projection.lift(torch.ones(projection.dim)))
