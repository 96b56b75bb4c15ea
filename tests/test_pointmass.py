import numpy as np
import pytest

from policygradex.envs import make_vec_env
from policygradex.envs.pointmass import START_NOISE, PointMassVecEnv


def make(observe_task="none", env_tasks=(0, 1), episode_length=5):
    return PointMassVecEnv(
        goals=[[1.0, 0.0], [0.0, -1.0], [2.0, 2.0]],
        env_tasks=env_tasks,
        episode_length=episode_length,
        max_speed=0.1,
        success_radius=0.15,
        observe_task=observe_task,
        seed=3,
    )


def test_moves_by_clipped_action_and_rewards_negative_distance():
    env = make()
    obs = env.reset()
    assert obs.shape == (2, 2) and np.abs(obs).max() <= START_NOISE
    next_obs, reward, done, _ = env.step(np.array([[5.0, 0.0], [0.0, -1.0]]))  # first action is clipped to 1
    np.testing.assert_allclose(next_obs - obs, [[0.1, 0.0], [0.0, -0.1]], atol=1e-6)
    goals = np.array([[1.0, 0.0], [0.0, -1.0]])
    np.testing.assert_allclose(reward, -np.linalg.norm(next_obs - goals, axis=1), atol=1e-6)
    assert not done.any()


def test_episode_truncates_resets_and_reports_success():
    env = make(episode_length=10)
    env.reset()
    for _ in range(10):
        obs, _, done, infos = env.step(np.array([[1.0, 0.0], [1.0, 0.0]]))
    assert done.all()
    assert infos[0]["TimeLimit.truncated"] and infos[0]["is_success"]  # moved 1.0 east: on the goal
    assert not infos[1]["is_success"]
    assert infos[0]["episode"]["l"] == 10 and infos[0]["episode"]["r"] < 0
    np.testing.assert_allclose(infos[0]["terminal_observation"], [1.0, 0.0], atol=START_NOISE + 1e-6)
    assert np.abs(obs).max() <= START_NOISE  # auto-reset to the start


def test_onehot_observation_spans_all_tasks():
    env = make("onehot", env_tasks=(2, 0))
    obs = env.reset()
    assert env.observation_space.shape == (5,)
    np.testing.assert_array_equal(obs[:, 2:], [[0, 0, 1], [1, 0, 0]])


def test_same_seed_same_trajectory():
    a, b = make(), make()
    np.testing.assert_array_equal(a.reset(), b.reset())


def test_rejects_bad_arguments():
    with pytest.raises(ValueError, match="observe_task"):
        make("image")
    with pytest.raises(ValueError, match="env_tasks"):
        make(env_tasks=(0, 7))


def test_make_vec_env_repeats_each_task(bench):
    env = make_vec_env(bench, [1, 3], envs_per_task=3, seed=0)
    assert env.num_envs == 6
    np.testing.assert_array_equal(env.env_tasks, [1, 1, 1, 3, 3, 3])
