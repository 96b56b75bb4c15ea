"""The real benchmarks' environments: task rewards, what the policy observes, success, and rollouts."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest
import torch

from policygradex.envs import make_task_env, make_vec_env, mo_mujoco
from policygradex.envs.wrappers import EpisodeSuccess
from policygradex.families import MO_COMPONENTS, MO_SHARED_TERMS
from policygradex.gradients import per_sample_grads
from policygradex.policy import ActorLogProb, actor_params, build_policy
from policygradex.rollouts import collect_episodes, collect_task_episodes
from tests.helpers import real_bench


def test_ant_direction_reward_counts_the_survival_bonus_once():
    bench = real_bench("ant")
    west = bench["tasks"].index(next(t for t in bench["tasks"] if t["name"] == "west-165"))
    env = make_task_env(bench, west, seed=0)
    env.reset(seed=0)
    weights = np.array(bench["tasks"][west]["weights"])
    for _ in range(5):
        _, reward, terminated, _, info = env.step(np.zeros(8, dtype=np.float32))
        bonus = info["reward_survive"] + info["reward_contact"]
        direction = weights[0] * info["x_velocity"] + weights[1] * info["y_velocity"]
        assert reward == pytest.approx(direction + bonus, abs=1e-5)  # zero action: no energy cost
        assert info["reward_vector"][0] == pytest.approx(info["x_velocity"] + bonus, abs=1e-5)
        # a plain w . r would pay the bonus sum(w) = -0.21 times: a west task would be paid for falling over
        assert reward > float(weights @ info["reward_vector"])
        assert not terminated


@pytest.mark.parametrize("env_id", sorted(MO_COMPONENTS))
def test_each_mo_env_has_its_components_and_shared_terms(env_id):
    assert set(MO_SHARED_TERMS) == set(MO_COMPONENTS)
    env = mo_mujoco.make_env(env_id, np.zeros(len(MO_COMPONENTS[env_id])), episode_length=5, seed=0)
    env.reset(seed=0)
    _, reward, _, _, info = env.step(env.action_space.sample())
    assert len(info["reward_vector"]) == len(MO_COMPONENTS[env_id])
    # with no weight on any objective, what is left is the shared part alone, counted once
    assert reward == pytest.approx(sum(info[term] for term in MO_SHARED_TERMS[env_id]))


@pytest.mark.parametrize(("name", "code_size"), [("halfcheetah", 2), ("ant", 0), ("metaworld", 10)])
def test_the_policy_sees_the_configured_task_code(name, code_size):
    bench = real_bench(name)
    env = make_vec_env(bench, [1, 2], envs_per_task=1, seed=0)
    obs = env.reset()
    assert obs.dtype == np.float32 and obs.shape[0] == 2
    code = obs[:, obs.shape[1] - code_size :]
    if bench["observe_task"] == "weights":
        np.testing.assert_allclose(code, [bench["tasks"][1]["weights"], bench["tasks"][2]["weights"]], rtol=1e-6)
    if bench["observe_task"] == "onehot":
        np.testing.assert_array_equal(code, np.eye(10, dtype=np.float32)[[1, 2]])
    assert build_policy(bench).observation_space.shape == obs.shape[1:]
    env.close()


class _Flag(gym.Env):
    """Three-step episodes; ``info["success"]`` is true at the steps listed in ``succeed_at``."""

    observation_space = gym.spaces.Box(-1, 1, (1,))
    action_space = gym.spaces.Box(-1, 1, (1,))

    def __init__(self, succeed_at: tuple[int, ...]) -> None:
        self.succeed_at, self.t = succeed_at, 0

    def reset(self, *, seed=None, options=None):
        self.t = 0
        return np.zeros(1, np.float32), {}

    def step(self, action):
        self.t += 1
        return np.zeros(1, np.float32), 0.0, False, self.t == 3, {"success": self.t in self.succeed_at}


@pytest.mark.parametrize(("succeed_at", "expected"), [((2,), True), ((), False), ((3,), True)])
def test_an_episode_succeeds_if_the_task_was_ever_solved(succeed_at, expected):
    env = EpisodeSuccess(_Flag(succeed_at), "success")
    env.reset()
    infos = [env.step(np.zeros(1))[-1] for _ in range(3)]
    assert "is_success" not in infos[0] and "is_success" not in infos[1]
    assert infos[2]["is_success"] is expected
    env.reset()
    assert env.step(np.zeros(1))[-1].get("is_success") is None


def test_mujoco_rollouts_keep_early_terminated_episodes_and_give_per_sample_gradients():
    """The hopper (its default entry ends an episode when it falls; the ant's never ends early) with wild
    actions: episodes end early, are kept whole and are not bootstrapped."""
    bench = real_bench("hopper")
    bench["episode_length"] = 60
    torch.manual_seed(0)
    policy = build_policy(bench)
    with torch.no_grad():
        policy.log_std.fill_(1.0)  # wild actions: the hopper falls and episodes end early
    episodes = collect_episodes(policy, bench, task_id=0, episodes=6, seed=0)
    lengths = [len(ep.rewards) for ep in episodes]
    assert len(episodes) == 6 and max(lengths) <= 60
    ended_early = [ep for ep in episodes if len(ep.rewards) < 60]
    assert ended_early, lengths  # the case under test happened
    assert all(ep.bootstrap == 0.0 for ep in ended_early)  # terminated: no bootstrap
    module = ActorLogProb(policy)
    params = actor_params(module)
    obs = torch.as_tensor(np.concatenate([ep.obs for ep in episodes]))
    actions = torch.as_tensor(np.concatenate([ep.actions for ep in episodes]))
    grads = per_sample_grads(module, params, obs, actions)
    assert grads.shape == (sum(lengths), sum(p.numel() for p in params.values()))
    assert torch.isfinite(grads).all()


@pytest.mark.parametrize("name", ["pointmass", "ant"])
def test_lockstep_rollouts_of_several_tasks_equal_one_task_at_a_time(name, bench):
    """Return scoring and evaluation roll every task of a subset out in lockstep (one policy forward per step):
    each task keeps its own seeded env, so its episodes are those of a rollout of that task alone."""
    if name == "ant":
        bench = real_bench("ant")
        bench["episode_length"] = 30
    torch.manual_seed(0)
    policy = build_policy(bench)
    seeds = {0: 11, 2: 13, 3: 14}
    together = collect_task_episodes(policy, bench, seeds, episodes=3, deterministic=True)
    assert list(together) == [0, 2, 3]
    for task, seed in seeds.items():
        alone = collect_episodes(policy, bench, task, episodes=3, seed=seed, deterministic=True)
        assert [len(e.rewards) for e in together[task]] == [len(e.rewards) for e in alone]
        np.testing.assert_allclose([e.total_return for e in together[task]], [e.total_return for e in alone], 1e-5)
    returns = [e.total_return for t in seeds for e in together[t]]
    assert len(set(np.round(returns, 6))) > 1  # tasks (goals / weights) differ: not one rollout copied


def test_rollouts_leave_the_callers_random_state_alone(bench):
    """A rollout seeds the policy's action noise itself; torch's global generator is as it was before, so what a
    caller draws next does not depend on whether a rollout ran in between."""
    policy = build_policy(bench)
    before = torch.random.get_rng_state()
    episodes = collect_episodes(policy, bench, task_id=0, episodes=2, seed=5)
    assert torch.equal(torch.random.get_rng_state(), before)
    again = collect_episodes(policy, bench, task_id=0, episodes=2, seed=5)  # and seeded: the same episodes
    np.testing.assert_array_equal(episodes[0].actions, again[0].actions)
