import importlib
import inspect
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from policygradex import stages
from policygradex.cli import build_parser, main
from policygradex.config import stage_view, validate_config
from tests.helpers import tiny_config

ROOT = Path(__file__).resolve().parents[1]

#: Each stage and an input only it takes: its help must teach what the stage does and what it reads.
STAGES = {
    "meta_train": "--log-csv",
    "features": "--task",
    "estimate": "--chunk",
    "affinity": "--chunks",
    "cluster": "--quality",
    "finetune": "--group",
    "evaluate": "--group-policies",
    "report": "--plots-dir",
}


@pytest.mark.parametrize(("stage", "own_flag"), STAGES.items())
def test_every_stage_has_a_help_that_teaches(stage, own_flag, capsys):
    """`policygradex <stage> --help` explains the stage in a paragraph of its own (more than its one-line summary in
    the list of sub-commands), then every argument of its contract with a help text."""
    with pytest.raises(SystemExit) as exit_:
        build_parser().parse_args([stage, "--help"])
    assert exit_.value.code == 0
    out = capsys.readouterr().out
    description = out.split("\noptions:")[0].split("\n\n", 1)[1]  # between the usage and the arguments
    assert len(description.split()) >= 30, description
    assert " ".join(stages.BY_NAME[stage].summary.split()) not in " ".join(description.split())[:200]
    assert own_flag in out
    flat = " ".join(out.split())
    for argument in stages.BY_NAME[stage].arguments:
        assert argument.flag in out and argument.help and " ".join(argument.help.split()) in flat, argument.flag


@pytest.mark.parametrize("stage", stages.STAGES, ids=lambda stage: stage.name)
def test_each_stage_runs_with_exactly_its_contract(stage):
    """The contract is the stage's ``run()``: one keyword per declared argument, the optional ones defaulted, so
    the command line derived from it can call every stage the same way."""
    parameters = inspect.signature(importlib.import_module(f"policygradex.stages.{stage.name}").run).parameters
    assert list(parameters)[0] == "bench"
    assert set(parameters) - {"bench"} == {argument.name for argument in stage.arguments}
    for argument in stage.arguments:
        has_default = parameters[argument.name].default is not inspect.Parameter.empty
        assert has_default == (not argument.required), f"{stage.name}.run({argument.name}) vs its contract"


def test_rules_pass_what_each_stage_declares():
    """Every `policygradex <stage>` command in the rule files passes each required argument of the stage's contract
    and nothing it does not declare (a renamed option fails here, not in a job log)."""
    common = {"--benchmark", "--settings", "--threads"}
    calls = []
    for path in sorted((ROOT / "workflow" / "rules").glob("*.smk")):
        for match in re.finditer(r"-m policygradex (\w+)(.*?)(?:> \{log\}|\| tee \{log\})", path.read_text(), re.S):
            stage, flags = stages.BY_NAME[match[1]], set(re.findall(r"(--[a-z-]+)", match[2]))
            declared = {argument.flag for argument in stage.arguments}
            required = {argument.flag for argument in stage.arguments if argument.required}
            assert flags - common <= declared, f"{path.name}: {stage.name} is passed {flags - common - declared}"
            assert required <= flags, f"{path.name}: {stage.name} misses {required - flags}"
            calls.append(stage.name)
    assert set(calls) == set(stages.BY_NAME), "a stage no rule runs, or a rule running no stage"


def test_module_entry_point_prints_help():
    result = subprocess.run([sys.executable, "-m", "policygradex", "--help"], capture_output=True, text=True)
    assert result.returncode == 0 and "meta_train" in result.stdout


def test_meta_train_and_features_by_hand(tmp_path):
    """A stage runs on its own from a config file, CleanRL-style with a tiny budget."""
    config = tmp_path / "config.yaml"
    config.write_text(yaml.safe_dump(tiny_config()))
    policy = tmp_path / "policy.pt"
    common = ["--config", str(config), "--benchmark", "tiny"]
    assert main(["meta_train", *common, "--output", str(policy), "--log-csv", str(tmp_path / "log.csv")]) == 0
    assert policy.exists() and (tmp_path / "log.csv").read_text().startswith("steps,")
    out = tmp_path / "f.npz"
    assert main(["features", *common, "--policy", str(policy), "--task", "west-1.0", "--output", str(out)]) == 0
    assert out.exists()


@pytest.mark.parametrize("stage", ["affinity", "cluster"])
def test_a_stage_run_by_hand_gets_exactly_the_settings_a_rule_passes(tmp_path, monkeypatch, stage):
    """From a config file (by hand) as from --settings (Snakemake's rules): the stage's view and nothing else, so
    that a stage reading a section it did not declare fails by hand too (the cluster stage sees estimate.score
    and no other estimate key)."""
    from benchmarks.job_startup import stage_command

    config = tmp_path / "config.yaml"
    config.write_text(yaml.safe_dump(tiny_config()))
    bench = validate_config(tiny_config())["benchmarks"]["tiny"]
    seen = []
    module = importlib.import_module(f"policygradex.stages.{stage}")
    monkeypatch.setattr(module, "run", lambda settings, **_: seen.append(settings))
    by_rule = stage_command(stages.BY_NAME[stage])  # --settings as the rule passes it, then its input flags
    at = by_rule.index("--settings")
    by_hand = [*by_rule[:at], "--config", str(config), *by_rule[at + 2 :]]
    for args in (by_hand, by_rule):
        assert main(args) == 0
    assert seen[0] == seen[1] == stage_view(bench, stage)
    assert "finetune" not in seen[0] and (stage != "cluster" or seen[0]["estimate"] == {"score": "return"})


def test_bad_input_is_one_clear_line(tmp_path, capsys):
    settings = json.dumps({**tiny_config()["benchmarks"]["tiny"], "cluster": {"k": 0}})
    code = main(["affinity", "--benchmark", "tiny", "--settings", settings, "--chunks", "x.csv", "--output", "a.csv"])
    assert code == 2
    assert "config.benchmarks.tiny.cluster.k: 0 is less than the minimum of 2" in capsys.readouterr().err
    good = json.dumps(tiny_config()["benchmarks"]["tiny"])
    code = main(
        [
            "affinity",
            "--benchmark",
            "tiny",
            "--settings",
            good,
            "--chunks",
            str(tmp_path / "missing.csv"),
            "--output",
            str(tmp_path / "a.csv"),
        ]
    )
    assert code == 2
    assert "missing.csv: file does not exist" in capsys.readouterr().err
    assert not (tmp_path / "a.csv").exists()


def test_targets_lists_what_make_builds_from_the_config(tmp_path, capsys):
    """`policygradex targets` is the Makefile's list of files: the core, with --evidence the evidence, and full
    training's outputs only where the config enables it; an unknown benchmark names the choices."""
    config = tiny_config()
    config["benchmarks"]["tiny"]["full_training"] = {"enabled": False}
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(config))
    assert main(["targets", "tiny", "--config", str(path)]) == 0
    core = capsys.readouterr().out.split()
    assert core[0] == "results/tiny/meta/policy.pt" and "results/tiny/clusters.csv" in core
    assert main(["targets", "tiny", "--evidence", "--config", str(path)]) == 0
    evidence = capsys.readouterr().out.split()
    assert evidence[: len(core)] == core and "results/tiny/comparison.csv" in evidence
    assert "results/tiny/speedup.json" not in evidence
    assert main(["targets", "nope", "--config", str(path)]) == 2
    assert "tiny" in capsys.readouterr().err


@pytest.mark.parametrize("command", [["describe", "--list"], ["targets", "pointmass"], ["check", "pointmass"]])
def test_the_light_commands_import_no_ml_stack(command):
    """describe, targets and check answer in a fraction of a second: they import neither torch, SB3, matplotlib nor
    pandas."""
    probe = (
        "import sys\nfrom policygradex.cli import main\n"
        f"code = main({command!r})\n"
        "print(code, sorted(m for m in ('torch', 'stable_baselines3', 'matplotlib', 'pandas') if m in sys.modules))\n"
    )
    done = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.stdout.splitlines()[-1] == "0 []", done.stdout[-500:] + done.stderr[-500:]


@pytest.mark.parametrize("stage", ["affinity", "cluster", "speedup", "baselines", "compare", "report"])
def test_the_stages_that_train_and_roll_out_nothing_start_without_the_ml_stack(stage):
    """A job of a stage that computes nothing with a policy imports neither torch, SB3, gymnasium nor cvxpy (only
    ``cluster.method: sdp`` uses it): each would add seconds to every such job (benchmarks.job_startup)."""
    from benchmarks.job_startup import cpu_seconds, stage_command

    _, imported = cpu_seconds(ROOT, stage_command(stages.BY_NAME[stage]))
    assert imported != "?" and not {"torch", "stable_baselines3", "gymnasium", "cvxpy"} & set(imported.split())


def test_the_stages_warnings_and_notes_are_one_line_each_in_one_format(capsys):
    """What the end-of-run summary greps from the logs (`warning:` lines) and the notes beside them."""
    from policygradex import logs

    logs.setup()
    logs.setup()  # once is enough: a second call adds no second line
    logs.LOGGER.warning("the gradients are noise")
    logs.LOGGER.info("k = 2 is also supported")
    assert capsys.readouterr().err == "warning: the gradients are noise\nnote: k = 2 is also supported\n"
