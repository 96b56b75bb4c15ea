import copy

import pytest
import yaml

from policygradex.config import benchmark, load_config, merged, shipped_presets, stage_view, validate_config
from policygradex.errors import ConfigError
from tests.helpers import ROOT, real_bench, tiny_config


def test_default_config_is_valid_and_filled():
    config = load_config(ROOT / "config.yaml")
    bench = config["benchmarks"]["pointmass"]
    assert len(bench["tasks"]) == 12
    assert bench["observe_task"] == "none"
    assert bench["policy_gradient"]["gamma"] == 0.99  # a default from the schema
    assert bench["estimate"]["score"] == "return"


def test_config_yaml_has_one_preset_mechanism():
    """No YAML anchors, aliases or merge keys: every preset of a benchmark is written in its own entry, and only
    the config loader merges it (section by section) over the benchmark's settings."""
    events = list(yaml.parse((ROOT / "config.yaml").read_text()))
    assert not [e for e in events if isinstance(e, yaml.AliasEvent) or getattr(e, "anchor", None)]
    assert "<<" not in [e.value for e in events if isinstance(e, yaml.ScalarEvent)]


def test_config_yaml_restates_no_shared_preset_setting():
    """What the benchmarks' presets share is written once, in the workflow's presets (presets.yaml): no benchmark's
    own entry repeats a value the shared entry of that name already sets, and no two benchmarks' entries are
    identical unless empty (a shared preset taken as it is)."""
    config = yaml.safe_load((ROOT / "config.yaml").read_text())
    shared, seen = shipped_presets(), {}
    assert "presets" not in config  # the workflow's, so that --replace-workflow-config keeps them
    for name, bench in config["benchmarks"].items():
        for preset, own in (bench.get("presets") or {}).items():
            for section, value in (own or {}).items():
                base = shared.get(preset, {}).get(section)
                if isinstance(value, dict) and isinstance(base, dict):
                    repeated = {key for key, v in value.items() if base.get(key) == v}
                    assert not repeated, f"{name}.presets.{preset}.{section} repeats the shared {sorted(repeated)}"
                else:
                    assert value != base, f"{name}.presets.{preset}.{section} repeats the shared value"
            if own:
                key = yaml.safe_dump(own, sort_keys=True)
                assert key not in seen, f"{name}.presets.{preset} restates {seen.get(key)}'s"
                seen[key] = f"{name}.presets.{preset}"


def test_a_preset_is_the_shared_entry_then_the_benchmarks_own():
    halfcheetah, metaworld = real_bench("halfcheetah"), real_bench("metaworld", preset="smoke")
    assert halfcheetah["meta_train"]["total_steps"] == 16384 and metaworld["meta_train"]["total_steps"] == 20480
    assert halfcheetah["features"]["projection_dim"] == metaworld["features"]["projection_dim"] == 64  # shared
    assert metaworld["estimate"]["subset_size"] == 5 and metaworld["estimate"]["num_chunks"] == 2  # own, shared
    with pytest.raises(ConfigError, match="'workstation' is offered by no benchmark; their presets: smoke, full, ev"):
        real_bench("halfcheetah", preset="workstation")  # alone in its config: no benchmark offers it


def test_a_preset_no_benchmark_offers_is_a_typo():
    """A benchmark lacking the chosen preset sits the run out, but a preset that no benchmark offers would leave
    them all out: it fails, listing the presets there are."""
    config = yaml.safe_load((ROOT / "config.yaml").read_text())
    with pytest.raises(
        ConfigError,
        match="'ful' is offered by no benchmark \\(did you mean 'full'\\?\\); their presets: smoke, full, evidence, w",
    ):
        validate_config({**config, "preset": "ful"})
    resolved = validate_config({**copy.deepcopy(config), "preset": "workstation"})
    assert benchmark(resolved, "metaworld")["meta_train"]["total_steps"] == 1_000_000
    with pytest.raises(ConfigError, match="'workstation' is not a preset of benchmark 'ant'; its presets: smoke, full"):
        benchmark(resolved, "ant")


def test_each_benchmark_runs_its_default_preset_unless_one_is_named():
    """The design brief's `snakemake --cores 16 results/metaworld/clusters.csv` names no preset: MT10 runs its
    `default_preset`, workstation (the README's recommendation), the robots smoke; a named preset wins. The
    resolved settings say which preset made them and what it costs."""
    mt10, ant = real_bench("metaworld"), real_bench("ant")
    assert (mt10["preset"], mt10["meta_train"]["total_steps"]) == ("workstation", 1_000_000)
    assert "25 minutes" in mt10["cost"] and "default_preset" not in mt10 and "presets" not in mt10
    assert (ant["preset"], ant["meta_train"]["total_steps"]) == ("smoke", 16384) and "not an answer" in ant["cost"]
    assert real_bench("metaworld", preset="smoke")["meta_train"]["total_steps"] == 20480
    with pytest.raises(ConfigError, match=r"metaworld\.default_preset: 'desk' is not one of its presets: smoke, full"):
        real_bench("metaworld", mutate=lambda b: b.update(default_preset="desk"))
    with pytest.raises(ConfigError, match=r"metaworld\.preset: filled in by the preset merge"):
        real_bench("metaworld", mutate=lambda b: b.update(preset="full"))


def test_stage_view_holds_only_what_the_stage_reads(bench):
    view = stage_view(bench, "cluster")
    assert "cluster" in view and "meta_train" not in view
    assert view["estimate"] == {"score": bench["estimate"]["score"]}  # one key of a section: the diagnosis's fix
    changed = copy.deepcopy(bench)
    changed["estimate"]["num_subsets"] += 1
    assert stage_view(changed, "cluster") == view  # no other estimate setting reruns the clustering
    changed = copy.deepcopy(bench)
    changed["cluster"]["k"] = 3
    assert stage_view(changed, "meta_train") == stage_view(bench, "meta_train")


def test_settings_shared_by_trainers_have_their_own_sections(bench):
    """gamma, GAE lambda and the clip range drive the features and the surrogate whatever the trainer, so they live
    in policy_gradient, outside the trainers' sections; a training stage gets its own trainer's section only."""
    features = stage_view(bench, "features")
    assert "policy_gradient" in features and "ppo" not in features
    changed = copy.deepcopy(bench)
    changed["ppo"]["n_epochs"] += 1
    assert stage_view(changed, "features") == features  # a PPO setting does not rerun the features
    sac = validate_config(tiny_config(trainer="sac"))["benchmarks"]["tiny"]
    meta_train = stage_view(sac, "meta_train")
    assert {"sac", "policy_gradient", "vec_env", "checkpoint"} <= set(meta_train) and "ppo" not in meta_train


def _bad(mutate):
    config = tiny_config()
    mutate(config["benchmarks"]["tiny"])
    with pytest.raises(ConfigError) as err:
        validate_config(config)
    return str(err.value)


@pytest.mark.parametrize(
    ("mutate", "field", "hint"),
    [
        (lambda b: b["cluster"].update(k=5), "config.benchmarks.tiny.cluster.k", "k <= n"),
        (lambda b: b["estimate"].update(subset_size=9), "config.benchmarks.tiny.estimate.subset_size", "n = 4"),
        (lambda b: b["meta_train"].update(total_steps=-1), "meta_train.total_steps", "minimum"),
        (lambda b: b["finetune"].update(total_steps=0), "finetune.total_steps", "minimum"),
        (lambda b: b["tasks"][1].pop("goal"), "config.benchmarks.tiny.tasks[1].goal", "need a goal"),
        (lambda b: b.update(env="atari"), "config.benchmarks.tiny.env", "pointmass"),
        (lambda b: b["estimate"].update(score="loss"), "estimate.score", "surrogate"),
        (lambda b: b["estimate"].update(num_subest=3), "config.benchmarks.tiny.estimate", "allowed keys"),
        (lambda b: b["tasks"][1].update(name="east-0.5"), "tasks", "unique"),
        (lambda b: b["tasks"][0].update(goal=[1.0]), "tasks[0].goal", "too short"),
        (
            lambda b: b["estimate"].update(num_subsets=4, num_chunks=1),
            "config.benchmarks.tiny.estimate.num_subsets",
            "without a shared subset",
        ),
        (
            lambda b: b["estimate"].update(num_subsets=8),  # 6 cover every pair of 4 tasks; each half needs 6
            "config.benchmarks.tiny.estimate.num_subsets",
            "must be at least 12",
        ),
        (
            lambda b: b["full_training"].update(num_subsets=4),  # 6 of the first subsets cover every pair
            "config.benchmarks.tiny.full_training.num_subsets",
            "without a shared subset",
        ),
        (
            lambda b: b["full_training"].update(num_subsets=13),
            "config.benchmarks.tiny.full_training.num_subsets",
            "between approx_error.validation_subsets = 2",
        ),
        (lambda b: b["tasks"][0].update(goal=[float("nan"), 0.0]), "config.benchmarks.tiny.tasks[0].goal[0]", "finite"),
        (lambda b: b["estimate"].update(step_size=float("inf")), "estimate.step_size", "not a finite number"),
        (lambda b: b["cluster"].update(k="three"), "config.benchmarks.tiny.cluster.k", "an integer >= 2 or 'auto'"),
        (lambda b: b["cluster"].update(trust={"alpha": 0}), "cluster.trust.alpha", "minimum"),
    ],
)
def test_bad_config_names_the_field(mutate, field, hint):
    message = _bad(mutate)
    assert field in message
    assert hint in message


def test_unknown_benchmark_lists_the_configured_ones():
    config = validate_config(tiny_config())
    with pytest.raises(ConfigError, match="unknown benchmark 'metaword'.*tiny"):
        benchmark(config, "metaword")


def test_missing_config_file(tmp_path):
    with pytest.raises(ConfigError, match="does not exist"):
        load_config(tmp_path / "nope.yaml")
    (tmp_path / "list.yaml").write_text(yaml.safe_dump([1, 2]))
    with pytest.raises(ConfigError, match="mapping"):
        load_config(tmp_path / "list.yaml")


def test_real_benchmarks_take_the_smoke_preset_unless_told_otherwise():
    smoke, full = real_bench("ant"), real_bench("ant", preset="full")
    assert smoke["meta_train"]["total_steps"] < full["meta_train"]["total_steps"]
    assert smoke["episode_length"] == 200 and full["episode_length"] == 1000  # mo_mujoco's standard horizon
    assert full["vec_env"]["strategy"] == "async" and full["vec_env"]["envs_per_task"] == 2
    assert full["ppo"]["n_epochs"] == 10 and full["ppo"]["learning_rate"] == 0.0003  # preset merged, not replaced
    assert "presets" not in smoke
    assert stage_view(smoke, "meta_train")["env_id"] == "mo-ant-v5"
    assert "max_speed" not in stage_view(smoke, "meta_train")  # a pointmass-only setting
    with pytest.raises(ConfigError, match="config.preset: 'paper' is offered by no benchmark; their presets: smoke"):
        real_bench("ant", preset="paper")


def test_a_preset_that_changes_part_of_a_nested_section_keeps_the_rest_of_it():
    """cluster.trust is a section inside a section: a preset that sets one of its keys leaves the benchmark's
    other trust settings as they were, as it does for the keys of a section."""
    config = tiny_config(cluster={"k": 2, "trust": {"splits": 4, "alpha": 0.01}})
    config["benchmarks"]["tiny"]["presets"] = {"smoke": {"cluster": {"trust": {"splits": 6}}}}
    trust = validate_config(config)["benchmarks"]["tiny"]["cluster"]["trust"]
    assert trust["splits"] == 6 and trust["alpha"] == 0.01
    layer = {"a": {"b": {"c": 3}}, "e": [4]}
    assert merged({"a": {"b": {"c": 1, "d": 2}}}, layer) == {"a": {"b": {"c": 3, "d": 2}}, "e": [4]}


def test_metaworld_suites_give_their_task_names():
    mt10 = real_bench("metaworld")
    assert len(mt10["tasks"]) == 10 and mt10["tasks"][0]["name"] == "reach-v3"
    assert mt10["episode_length"] == 200 and real_bench("metaworld", preset="full")["episode_length"] == 500
    assert len(real_bench("metaworld_mt50")["tasks"]) == 50


@pytest.mark.parametrize(
    ("name", "mutate", "message"),
    [
        (
            "metaworld",
            lambda b: b.update(tasks=[{"name": "reach-v3"}, {"name": "open-the-fridge-v3"}, {"name": "push-v3"}]),
            "config.benchmarks.metaworld.tasks[1].name: 'open-the-fridge-v3' is not a Meta-World task",
        ),
        (
            "ant",
            lambda b: b["tasks"][2].update(weights=[1.0, 0.0]),
            "config.benchmarks.ant.tasks[2].weights: mo-ant-v5 needs 3 weights, one per reward component"
            " (x_velocity, y_velocity, energy)",
        ),
        ("hopper", lambda b: b.update(env_id="mo-walker-v5"), "config.benchmarks.hopper.env_id"),
        ("metaworld", lambda b: b.update(observe_task="weights"), "observe_task: 'weights' needs weight-vector"),
        ("metaworld", lambda b: b.pop("suite"), "config.benchmarks.metaworld.tasks: required"),
    ],
)
def test_bad_real_benchmark_settings_name_the_field(name, mutate, message):
    with pytest.raises(ConfigError) as err:
        real_bench(name, mutate=mutate)
    assert message in str(err.value)


def test_a_benchmark_whose_package_is_missing_says_which(monkeypatch):
    import importlib.util

    real_find_spec = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda n, *a: None if n == "mo_gymnasium" else real_find_spec(n, *a)
    )
    with pytest.raises(
        ConfigError, match="config.benchmarks.hopper.env: 'mo_mujoco' needs the Python package 'mo_gymnasium'"
    ):
        real_bench("hopper")


# ---- Defaults that follow the task set (issue 37): a config written with the documented minimum.


def own_tasks(n: int, **settings) -> dict:
    """A config of one pointmass benchmark of ``n`` tasks written with the documented minimum (no estimate,
    presets or score), ``settings`` added to its entry."""
    tasks = [{"name": f"t{i}", "goal": [1.0, 0.1 * i], "group": "a" if i < n // 2 else "b"} for i in range(n)]
    return {"benchmarks": {"mine": {"env": "pointmass", "tasks": tasks, "cluster": {"k": 2}, **settings}}}


@pytest.mark.parametrize(("n", "size"), [(3, 2), (4, 2), (5, 2), (6, 3), (8, 4), (12, 6), (50, 25)])
def test_the_subsets_follow_n_when_the_config_names_none(n, size):
    """About n/2 tasks a subset, between 2 and n - 1, so that subsets differ; at least 100 subsets, and enough
    for each half of the trust check to cover every pair; each default said in resolved_defaults."""
    from policygradex.subsets import draw_subsets, min_covering_count, uncovered_pairs

    bench = validate_config(own_tasks(n))["benchmarks"]["mine"]
    estimate = bench["estimate"]
    assert estimate["subset_size"] == size
    count = estimate["num_subsets"]
    assert count >= max(100, 2 * min_covering_count(n, size, 0))
    assert not uncovered_pairs(n, draw_subsets(n, size, count // 2, 0))
    assert f"about n/2 of n = {n}" in bench["resolved_defaults"]["estimate.subset_size"]
    assert set(bench["resolved_defaults"]) == {f"estimate.{key}" for key in ("subset_size", "num_subsets",
                                                                              "score", "step_size")}  # fmt: skip


def test_subsets_that_are_all_the_whole_task_set_are_refused_with_the_reason():
    with pytest.raises(ConfigError, match=r"mine\.estimate\.subset_size: 6 tasks per subset of n = 6: every subset"
                       r" would be the whole task set.*use 2 to 5 \(leave it out for about n/2: 3\)"):  # fmt: skip
        validate_config(own_tasks(6, estimate={"subset_size": 6}))
    with pytest.raises(ConfigError, match=r"mine\.tasks: n = 2 tasks leave nothing to estimate"):
        validate_config(own_tasks(2))


def test_a_preset_below_the_minimum_count_is_raised_and_the_run_says_so():
    """The smoke preset's fixed 18 subsets cannot give each half of the trust check every pair of 7 tasks in
    subsets of 3: the larger count wins and resolved_defaults says why; a count the user set is refused instead."""
    from policygradex.subsets import min_covering_count

    need = 2 * min_covering_count(7, 3, 0)
    assert need > 18  # the case this test is about
    bench = validate_config({**own_tasks(7), "preset": "smoke"})["benchmarks"]["mine"]
    assert bench["estimate"]["num_subsets"] == need
    assert "the preset's 18 raised" in bench["resolved_defaults"]["estimate.num_subsets"]
    with pytest.raises(ConfigError, match=r"mine\.estimate\.num_subsets: 18 subsets"):
        validate_config(own_tasks(7, estimate={"num_subsets": 18}))


def test_every_shared_preset_reaches_a_config_of_its_own():
    """A user's file alone (as --replace-workflow-config runs it) gets the workflow's presets: asked for evidence,
    it runs evidence's settings, whether it names no presets or names them as the shipped own sets do; asked for
    none, it runs its own settings; a benchmark restricted to other presets is refused by name."""
    for settings in ({}, {"presets": {"smoke": {}, "evidence": {}}}, {"presets": {"evidence": {}}}):
        bench = validate_config({**own_tasks(6, **copy.deepcopy(settings)), "preset": "evidence"})["benchmarks"]
        mine = bench["mine"]
        assert mine["preset"] == "evidence" and "2 cores" in mine["cost"]
        assert (mine["estimate"]["score"], mine["estimate"]["num_subsets"], mine["features"]["episodes"]) == (
            "surrogate", 288, 256)  # fmt: skip
    own = validate_config(own_tasks(6))["benchmarks"]["mine"]
    assert "preset" not in own and own["meta_train"]["total_steps"] == 300000
    alone = validate_config(own_tasks(6, presets={"evidence": {}}))["benchmarks"]["mine"]
    assert "preset" not in alone  # offers no smoke, asked for none: its own settings
    restricted = validate_config({**own_tasks(6, presets={"evidence": {}}), "preset": "full"})
    with pytest.raises(ConfigError, match="'full' is not a preset of benchmark 'mine'; its presets: evidence"):
        benchmark(restricted, "mine")


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ({"benchmarks": {"my-tasks": own_tasks(4)["benchmarks"]["mine"]}},
         "config.benchmarks: 'my-tasks' is not allowed: a benchmark name is the {benchmark} wildcard of every path:"
         " it starts with a letter and holds only letters, digits and '_'"),
        (own_tasks(4, tasks=[{"name": "x" * 300, "goal": [1, 0]}, {"name": "y", "goal": [0, 1]}]),
         "mine.tasks[0].name: 'xxxxxxxxxxxxxxxxxxxxxxxx...' (300 characters) is not allowed: a task name is part of"
         " file names"),
        (own_tasks(4, estimate={"step_size": 1e9}),
         "mine.estimate.step_size: 1000000000.0 is greater than the maximum of 1 (the step is this fraction of"),
        (own_tasks(4, estimate={"subset_sise": 2}), "('subset_sise' was unexpected) (did you mean 'subset_size'?)"),
        (own_tasks(4, estimate={"score": "retrun"}), "mine.estimate.score: 'retrun' is not one of"),
    ],
)  # fmt: skip
def test_names_limits_and_misspellings_are_refused_in_words(config, message):
    with pytest.raises(ConfigError) as err:
        validate_config(config)
    assert message in str(err.value)


def test_a_yaml_syntax_error_is_one_line_with_file_line_and_column(tmp_path):
    path = tmp_path / "mine.yaml"
    path.write_text("benchmarks:\n  mine:\n    env: pointmass\n    tasks: [{name: a, goal: [1, 0]}\n")
    with pytest.raises(ConfigError) as err:
        load_config(path)
    assert str(err.value).startswith(f"{path}:5:1: not valid YAML: while parsing a flow sequence")
    assert "\n" not in str(err.value)
