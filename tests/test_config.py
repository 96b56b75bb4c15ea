import copy

import pytest
import yaml

from policygradex.config import ConfigError, benchmark, load_config, stage_view, validate_config
from tests.conftest import tiny_config


def test_default_config_is_valid_and_filled():
    config = load_config("config.yaml")
    bench = config["benchmarks"]["pointmass"]
    assert len(bench["tasks"]) == 12
    assert bench["observe_task"] == "none"
    assert bench["ppo"]["gamma"] == 0.99  # a default from the schema
    assert bench["estimate"]["score"] == "return"


def test_stage_view_holds_only_what_the_stage_reads(bench):
    view = stage_view(bench, "cluster")
    assert "cluster" in view and "estimate" not in view and "meta_train" not in view
    changed = copy.deepcopy(bench)
    changed["cluster"]["k"] = 3
    assert stage_view(changed, "meta_train") == stage_view(bench, "meta_train")


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
        (lambda b: b["tasks"][1].pop("goal"), "config.benchmarks.tiny.tasks[1]", "'goal' is a required property"),
        (lambda b: b.update(env="atari"), "config.benchmarks.tiny.env", "pointmass"),
        (lambda b: b["estimate"].update(score="loss"), "estimate.score", "surrogate"),
        (lambda b: b["estimate"].update(num_subest=3), "config.benchmarks.tiny.estimate", "allowed keys"),
        (lambda b: b["tasks"][1].update(name="east-0.5"), "tasks", "unique"),
        (lambda b: b["tasks"][0].update(goal=[1.0]), "tasks[0].goal", "too short"),
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
