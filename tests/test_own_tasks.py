"""Your own tasks: a Gymnasium environment of your own (tests/tiny_envs.py, registered through `imports:`), with
Box or Discrete spaces and tasks that differ only by constructor arguments; an MO-Gymnasium environment beyond
the robots; Meta-World suites; and the check that refuses a bad entry, naming the field, before any job."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

from policygradex import check
from policygradex.config import benchmark, load_config, validate_config
from policygradex.envs import make_vec_env
from policygradex.errors import ConfigError
from policygradex.families import meta_world_suite
from policygradex.policy import ActorLogProb, act, actor_params, build_policy
from policygradex.stages import estimate
from tests.helpers import TINY_BUDGETS, run_scenario, shipped_config, snakemake

#: Budgets of seconds (the episodes the environments' own), 4 tasks in 2 groups.
TINY = {key: value for key, value in TINY_BUDGETS.items() if key != "episode_length"} | {
    "vec_env": {"envs_per_task": 2},
    "meta_train": {"total_steps": 1024},
    "features": {"episodes": 6, "projection_dim": 16},
    "estimate": {"num_subsets": 12, "subset_size": 2, "num_chunks": 1},
    "cluster": {"k": 2},
}


def own_bench(env_id: str, goals: list[float], **settings) -> dict:
    """A benchmark of tests/tiny_envs.py's ``env_id``: one task per goal (a constructor argument), the planted
    group the goal's side of the start."""
    tasks = [{"name": f"goal{g:g}", "kwargs": {"goal": g}, "group": "left" if g < 0 else "right"} for g in goals]
    return {"env": "gymnasium", "env_id": env_id, "imports": ["tests.tiny_envs"], "success_key": "reached",
            "tasks": tasks, **copy.deepcopy(TINY), **settings}  # fmt: skip


def corridor_bench(**settings) -> dict:
    """The Discrete corridor of 7 cells starting in cell 3, goals at both ends."""
    tasks = [{"name": f"cell{g}", "kwargs": {"goal": g}, "group": "left" if g < 3 else "right"} for g in (0, 1, 5, 6)]
    return {"env": "gymnasium", "env_id": "PgxCorridor-v0", "imports": ["tests.tiny_envs"], "success_key": "reached",
            "tasks": tasks, **copy.deepcopy(TINY), **settings}  # fmt: skip


@pytest.fixture(scope="module")
def own_run(tmp_path_factory) -> Path:
    """One Snakemake run over benchmarks a user could write in YAML alone: on tests/tiny_envs.py, the Box line up
    to its clusters and the Discrete corridor through every core stage, meta-trained in subprocess vector envs
    (which import the module themselves); and config.yaml's reacher (MO-Gymnasium, Discrete actions) at its smoke
    preset, shrunk (4 of its tasks, seconds of budget), up to its clusters."""
    reacher = shipped_config()["benchmarks"]["reacher"]  # MO-Gymnasium beyond the robots, its smoke preset shrunk
    reacher["tasks"] = [task for task in reacher["tasks"] if task["name"] in ("east", "east-n", "west", "west-n")]
    reacher["presets"]["smoke"] = copy.deepcopy(TINY) | {"episode_length": 20}
    config = {  # no preset named: line and corridor run their own settings, the reacher its default, smoke
        "benchmarks": {
            "line": own_bench("PgxLine-v0", [-1.0, -0.8, 0.8, 1.0]),
            "corridor": corridor_bench(vec_env={"envs_per_task": 2, "strategy": "async"}),
            "reacher": reacher,
        },
    }
    targets = ["results/line/clusters.csv", "results/corridor/report.html", "results/reacher/clusters.csv"]
    return run_scenario(tmp_path_factory.mktemp("own-tasks"), config, *targets, importable=True)


def test_a_gymnasium_env_of_your_own_runs_through_the_workflow(own_run):
    """Box and Discrete spaces, tasks by keyword arguments or MO weights: every stage ran; the corridor's Discrete
    actions went through fine-tuning, evaluation (its success key read) and the Hessian."""
    for name, tasks in (("line", 4), ("corridor", 4), ("reacher", 4)):
        clusters = pd.read_csv(own_run / "results" / name / "clusters.csv")
        assert len(clusters) == tasks and clusters["group"].nunique() == 2
    with np.load(own_run / "results" / "reacher" / "features" / "east.npz") as f:
        assert f["actions"].ndim == 1 and f["obs"].shape[1] == 6  # Discrete torques, the arm's 6 observations
    results = own_run / "results" / "corridor"
    with np.load(results / "features" / "cell0.npz") as f:
        assert f["obs"].shape[1] == 7 and set(np.unique(f["obs"])) == {0.0, 1.0}  # one-hot cells
        assert f["actions"].ndim == 1 and set(np.unique(f["actions"])) <= {0.0, 1.0, 2.0}
    evaluation = pd.read_csv(results / "evaluation.csv")
    assert set(evaluation["method"]) == {"single", "policygradex"} and evaluation["mean_return"].notna().all()
    # the corridor's goal cells are reached within its 12 steps: success comes from the `reached` info key
    assert evaluation["success_rate"].between(0, 1).all()
    hessian = pd.read_csv(results / "hessian.csv")
    assert len(hessian) == 3 and np.isfinite(hessian["trace"]).all()
    assert "<img" in (results / "report.html").read_text()


def test_subprocess_vector_envs_import_the_benchmarks_modules():
    """`vec_env.strategy: async` steps each environment in a fresh process, which imports `imports:` itself."""
    bench = benchmark(validate_config(_own_config()), "own")
    env = make_vec_env(bench, [0, 3], envs_per_task=2, seed=0, asynchronous=True)
    try:
        assert type(env).__name__ == "SubprocVecEnv"
        env.reset()
        _, rewards, _, _ = env.step(np.ones((4, 1), np.float32))
    finally:
        env.close()
    assert rewards[0] < rewards[-1]  # moving right: away from goal -1, towards goal +1


def test_discrete_actions_have_the_categorical_log_probability_and_both_scores(own_run, tmp_path):
    """The policy of a Discrete action space is categorical: log pi of the actions it takes is SB3's own, and the
    estimate scores a subset by return and by the surrogate."""
    bench = benchmark(load_config(own_run / "config.yaml"), "corridor")
    policy = build_policy(bench)
    obs = torch.eye(7)
    actions, _, log_prob = act(policy, obs, deterministic=False)
    module = ActorLogProb(policy)
    torch.testing.assert_close(module(obs, actions.float()), log_prob)
    assert set(actor_params(module)) and not hasattr(policy, "log_std")
    results = own_run / "results" / "corridor"
    features = [results / "features" / f"{task['name']}.npz" for task in bench["tasks"]]
    scores = {}
    for score in ("return", "surrogate"):
        bench["estimate"]["score"] = score
        estimate.run(bench, results / "meta" / "policy.pt", features, 0, tmp_path / f"{score}.csv")
        scores[score] = pd.read_csv(tmp_path / f"{score}.csv")
        assert len(scores[score]) == 12 * 2 and np.isfinite(scores[score]["score"]).all()
    assert not np.allclose(scores["return"]["score"], scores["surrogate"]["score"])


def _own_config(**settings) -> dict:
    """The line benchmark ``own`` with ``settings`` replaced."""
    return {"benchmarks": {"own": {**own_bench("PgxLine-v0", [-1.0, -0.8, 0.8, 1.0]), **settings}}}


def _tasks(*specs: dict) -> list[dict]:
    return [{"name": f"t{i}", **spec} for i, spec in enumerate(specs)]


@pytest.mark.parametrize(
    ("config", "message"),
    [
        (
            _own_config(imports=["no_such_module_xyz"]),
            "config.benchmarks.own.imports[0]: module 'no_such_module_xyz' is not installed",
        ),
        (_own_config(env_id="PgxLin-v0"), "config.benchmarks.own.env_id: 'PgxLin-v0' is not a registered environment"),
        (
            _own_config(tasks=_tasks({"kwargs": {"goal": 1, "colour": 2}}, {}, {}, {})),
            "config.benchmarks.own.tasks[0].kwargs.colour: PgxLine-v0 does not take it",
        ),
        (_own_config(env_kwargs={"sped": 2}), "config.benchmarks.own.env_kwargs.sped: PgxLine-v0 does not take it"),
        (
            _own_config(tasks=_tasks({}, {}, {"env_id": "PgxCorridor-v0"}, {})),
            "config.benchmarks.own.tasks[2]: task t2's observation space Discrete(7) differs from task t0's",
        ),
        (
            _own_config(env_id="Blackjack-v1", imports=[], episode_length=10, tasks=_tasks({}, {}, {}, {})),
            "config.benchmarks.own.tasks[0]: Blackjack-v1's observation space: Tuple is not supported",
        ),
        (_own_config(env_id="PgxCorridor-v0", trainer="sac"), "config.benchmarks.own.trainer: sac needs continuous"),
        (
            {
                "benchmarks": {
                    "own": {
                        **TINY,
                        "env": "mo_gymnasium",
                        "env_id": "mo-mountaincar-v0",
                        "tasks": _tasks(*[{"weights": [1, 0]}] * 4),
                    }
                }
            },
            "config.benchmarks.own.tasks[0].weights: mo-mountaincar-v0's reward has 3 components, so a task needs 3",
        ),
        (
            {
                "benchmarks": {
                    "own": {
                        **TINY,
                        "env": "gymnasium",
                        "env_id": "Pendulum-v1",
                        "tasks": _tasks({"kwargs": {"g": 10.0}}, {"kwargs": {"g": "heavy"}}, {}, {}),
                    }
                }
            },
            "config.benchmarks.own.tasks[1].kwargs.g: 'heavy' makes the environment fail at its first step: TypeError",
        ),
        (
            _own_config(success_key="reachd"),
            "config.benchmarks.own.success_key: 'reachd' is not a key of the step's info, so success would read 0"
            " forever; info has: reached",
        ),
    ],  # fmt: skip
    ids=[
        "import",
        "unknown id",
        "task kwarg",
        "env_kwargs",
        "spaces differ",
        "unsupported space",
        "sac",
        "weights",
        "kwarg of the wrong type",
        "success_key",
    ],
)
def test_the_check_refuses_a_bad_entry_naming_the_field(config, message):
    with pytest.raises(ConfigError) as refusal:
        check.check_config(validate_config(copy.deepcopy(config)))
    assert message in str(refusal.value)


def test_the_check_warns_where_return_scores_cannot_see_a_step():
    """Discrete actions scored by return (named: the default is the surrogate): greedy rollouts change only where a
    step flips an argmax. Warned (the run goes on), and not with the surrogate or with Box actions."""
    corridor = {"benchmarks": {"own": corridor_bench(estimate={"num_subsets": 12, "score": "return"})}}
    (warning,) = check.check_config(validate_config(copy.deepcopy(corridor)))
    assert warning.startswith("config.benchmarks.own.estimate.score: return scores greedy rollouts, and with Discrete")
    surrogate = copy.deepcopy(corridor)
    surrogate["benchmarks"]["own"]["estimate"]["score"] = "surrogate"
    assert check.check_config(validate_config(surrogate)) == []
    assert check.check_config(validate_config(_own_config())) == []


def test_the_check_names_the_close_matches_and_what_the_env_takes():
    with pytest.raises(ConfigError, match=r"did you mean PgxLine-v0"):
        check.check_config(validate_config(_own_config(env_id="PgxLin-v0")))
    with pytest.raises(ConfigError, match=r"it takes: goal, speed"):
        check.check_config(validate_config(_own_config(env_kwargs={"sped": 2})))


def test_a_bad_entry_fails_when_snakemake_loads_with_nothing_written(tmp_path):
    (tmp_path / "config.yaml").write_text(json.dumps(_own_config(env_kwargs={"sped": 2})))
    result = snakemake(tmp_path, "results/own/clusters.csv", importable=True)
    assert result.returncode != 0
    assert "config.benchmarks.own.env_kwargs.sped: PgxLine-v0 does not take it" in result.stderr
    assert not (tmp_path / "results").exists()


def test_a_passed_check_is_remembered_until_the_settings_change(tmp_path, monkeypatch):
    """The Snakefile's check builds environments once: a second load with the same settings builds none, a
    changed keyword argument is checked again."""
    config = validate_config(_own_config())
    built = []
    real = check._build
    monkeypatch.setattr(check, "_build", lambda bench, task: built.append(task["name"]) or real(bench, task))
    check.check_config(config, cache_dir=tmp_path)
    assert len(built) == 4  # one environment per distinct (env_id, kwargs): four goals
    check.check_config(config, cache_dir=tmp_path)
    assert len(built) == 4
    config["benchmarks"]["own"]["env_kwargs"] = {"speed": 0.3}
    check.check_config(config, cache_dir=tmp_path)
    assert len(built) == 8


def test_the_policygradex_check_command(tmp_path, capsys):
    from policygradex.cli import main

    path = tmp_path / "mine.yaml"
    path.write_text(json.dumps(_own_config()))
    assert main(["check", "--configfile", str(path)]) == 0
    assert "own: ok" in capsys.readouterr().out
    path.write_text(json.dumps(_own_config(env_id="PgxLin-v0")))
    assert main(["check", "--configfile", str(path)]) == 2
    assert "config.benchmarks.own.env_id" in capsys.readouterr().err


def test_episode_length_and_observe_task_default_from_the_environment_and_the_family():
    own = benchmark(validate_config(_own_config()), "own")
    assert own["episode_length"] == 20 and own["observe_task"] == "none"  # PgxLine-v0's max_episode_steps
    config = {
        "benchmarks": {
            "mw": {"env": "metaworld", "suite": "ML10-test", "cluster": {"k": 2}, "estimate": {"subset_size": 3}}
        }
    }
    mw = benchmark(validate_config(config), "mw")
    assert mw["observe_task"] == "onehot" and [t["name"] for t in mw["tasks"]] == meta_world_suite("ML10-test")
    assert len(mw["tasks"]) == 5 and mw["tasks"][0]["name"] == "drawer-open-v3"


@pytest.mark.parametrize("suite", ["MT10", "MT25", "MT50", "ML10-train", "ML25-test", "ML45-train", "ML45-test"])
def test_every_meta_world_suite_resolves_to_known_tasks(suite):
    from metaworld import env_dict

    tasks = meta_world_suite(suite)
    assert len(tasks) >= 5 and len(set(tasks)) == len(tasks) and set(tasks) <= set(env_dict.ALL_V3_ENVIRONMENTS)


def test_fields_of_other_families_are_refused():
    config = {"benchmarks": {"pm": {"env": "pointmass", "tasks": _tasks({"goal": [1, 0], "kwargs": {"a": 1}},
                                                                           {"goal": [0, 1]})}}}  # fmt: skip
    with pytest.raises(ConfigError, match=r"tasks\[0\]\.kwargs: only env gymnasium or mo_gymnasium reads it"):
        validate_config(config)
    config = {
        "benchmarks": {"pm": {"env": "pointmass", "suite": "MT10", "tasks": _tasks({"goal": [1, 0]}, {"goal": [0, 1]})}}
    }
    with pytest.raises(ConfigError, match=r"suite: only env metaworld reads a suite"):
        validate_config(config)


def test_the_shipped_robots_read_as_mo_gymnasium_too():
    """`env: mo_mujoco` is MO-Gymnasium under its first name: the ant's entry as mo_gymnasium builds the same
    environment, rewards and settings (but the episode length, which mo_gymnasium takes from the environment:
    the same 1000 steps)."""
    config = shipped_config()
    ant = config["benchmarks"]["ant"]
    config["benchmarks"]["ant_mo"] = {**copy.deepcopy(ant), "env": "mo_gymnasium"}
    config["benchmarks"] = {name: config["benchmarks"][name] for name in ("ant", "ant_mo")}
    config["default_benchmarks"] = None
    validated = validate_config(config)
    first, second = (benchmark(validated, name) for name in ("ant", "ant_mo"))
    assert {k: v for k, v in first.items() if k != "env"} == {k: v for k, v in second.items() if k != "env"}


def test_the_shipped_own_task_benchmarks_pass_the_check_and_step():
    """config.yaml's gymnasium (HalfCheetah-v5 by keyword arguments) and mo_gymnasium (the Discrete reacher)
    entries: their environments pass the check, and a reacher task's reward is its weights times the reward
    vector (no shared term outside the robots)."""
    config = validate_config(shipped_config())
    check.check_config(config, ["halfcheetah_kwargs", "reacher"])
    reacher = benchmark(config, "reacher")
    assert reacher["episode_length"] == 200 and reacher["observe_task"] == "none"  # the smoke preset's
    env = make_vec_env(reacher, [1], envs_per_task=1, seed=0)  # east-n: weights [1, 0, 0.3, 0]
    env.reset()
    _, reward, _, infos = env.step(np.array([4]))  # no torque
    env.close()
    vector = np.asarray(infos[0]["reward_vector"])
    assert reward[0] == pytest.approx(vector @ np.array([1.0, 0.0, 0.3, 0.0]), rel=1e-5)
    cheetah = benchmark(config, "halfcheetah_kwargs")
    assert cheetah["episode_length"] == 200  # the smoke preset's; the environment's own limit is 1000
    forward, backward = (make_vec_env(cheetah, [task], 1, seed=0) for task in (0, 4))
    rewards = []
    for env in (forward, backward):
        env.reset()
        rewards.append(env.step(np.zeros((1, 6), np.float32))[1][0])
        env.close()
    assert rewards[0] == pytest.approx(-rewards[1], abs=1e-6)  # forward_reward_weight 1 and -1, no action cost
