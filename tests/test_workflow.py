"""End-to-end: the real Snakemake workflow on a tiny 4-task config in a temporary directory."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
import yaml
from scipy.stats import spearmanr

from policygradex import artifacts
from policygradex.config import schema as config_schema
from policygradex.diagnosis import NOISY_CONSISTENCY
from policygradex.summary import advice
from tests.helpers import ROOT, STRUCTURE_CONFIG, TINY_TARGETS, run_scenario, snakemake, tiny_config


def repository_snakemake(*args: str) -> subprocess.CompletedProcess:
    """A dry run of ``snakemake`` as a user types it in the repository root (no --snakefile, no profile)."""
    command = [str(Path(sys.executable).parent / "snakemake"), "-n", "--cores", "2", *args]
    return subprocess.run(command, cwd=ROOT, capture_output=True, text=True)


def repository_dry_run(*args: str) -> str:
    """:func:`repository_snakemake`, which must succeed; its console."""
    result = repository_snakemake(*args)
    assert result.returncode == 0, result.stderr[-3000:]
    return result.stdout + result.stderr


def planned_jobs(result: subprocess.CompletedProcess) -> set[str]:
    """Rule names of the 'Job stats' table of a dry run."""
    lines = result.stdout.splitlines()
    start = lines.index("Job stats:") + 3
    jobs = set()
    for line in lines[start:]:
        if not line.strip() or line.startswith("total"):
            break
        jobs.add(line.split()[0])
    return jobs


@pytest.fixture
def workdir(tiny_run: Path) -> Path:
    """The session's finished tiny run (read only)."""
    return tiny_run


def test_bare_snakemake_loads_the_default_profile_and_builds_the_default_benchmarks():
    console = repository_dry_run("--forceall")  # every job planned, whatever the checkout has built already
    assert "Using workflow specific profile workflow/profiles/default" in console
    assert "results/pointmass/clusters.csv" in console
    assert not any(f"results/{name}/" in console for name in ("halfcheetah", "hopper", "ant", "metaworld"))


def test_a_preset_runs_the_benchmarks_offering_it_and_refuses_the_others():
    """The design brief's MT10 command as typed runs MT10's default preset, workstation, whose settings its jobs
    get; `--config preset=workstation` names it, and then a robot's target fails naming the robot's presets."""
    console = repository_dry_run("--forceall", "-p", "results/metaworld/clusters.csv")
    assert "results/metaworld/meta/policy.pt" in console and '"meta_train": {"total_steps": 1000000}' in console
    result = repository_snakemake("results/ant/clusters.csv", "--config", "preset=workstation")
    assert result.returncode != 0
    refusal = "'workstation' is not a preset of benchmark 'ant'; its presets: smoke, full, evidence"
    assert refusal in result.stdout + result.stderr


def test_list_rules_describes_every_stage():
    console = repository_dry_run("--list-rules")
    rules = [line for line in console.splitlines() if line and not line.startswith(("Using", " "))]
    assert len(rules) >= 17 and all(" (" in rule for rule in rules), rules  # "name (docstring)"


def test_a_wrong_target_names_the_valid_ones():
    result = repository_snakemake("results/pointmass/cluster.csv")
    assert result.returncode != 0
    console = result.stdout + result.stderr
    assert "Did you mean clusters.csv?" in console and "results/pointmass/report.html" in console


def test_a_user_config_replaces_the_shipped_one(tmp_path):
    (tmp_path / "my.yaml").write_text(yaml.safe_dump(tiny_config()))
    console = repository_dry_run("--configfile", str(tmp_path / "my.yaml"), "--replace-workflow-config")
    assert "results/tiny/clusters.csv" in console and "results/pointmass/" not in console


@pytest.fixture(scope="module")
def structure_run(tmp_path_factory) -> Path:
    """The scenario of .test/config_structure, up to its report: planted groups the verdict calls `structure`."""
    config = yaml.safe_load(STRUCTURE_CONFIG.read_text())
    return run_scenario(tmp_path_factory.mktemp("structure-run"), config, "results/structure/report.html")


@pytest.mark.parametrize(
    ("run", "verdict"),
    [
        # 12 subsets of 2 tasks: halves of 6 cannot reproduce a grouping, whatever the tasks
        ("tiny_run", "no_reliable_structure"),
        # 6 tasks in two opposite directions, 120 subsets: the planted groups, found again by either half
        ("structure_run", "structure"),
    ],
)
def test_the_console_and_the_report_give_the_verdict_and_its_reason(request, run, verdict):
    """Both paths of the verdict reach the terminal (the onsuccess summary) and the report: the verdict, the checks
    behind it against their thresholds, the advice when it is negative."""
    workdir = request.getfixturevalue(run)
    name = "tiny" if run == "tiny_run" else "structure"
    results = workdir / "results" / name
    quality = json.loads((results / "cluster_quality.json").read_text())
    thresholds, reliability = quality["thresholds"], quality["reliability"]
    checks = {
        "p-value": quality["p_value"] <= thresholds["alpha"],
        "reliability": reliability["row_spearman"] >= thresholds["min_reliability"],
        "stability": reliability["stability"] >= thresholds["min_stability"],
    }
    assert quality["verdict"] == verdict
    assert all(checks.values()) == (verdict == "structure"), checks
    for check, passed in checks.items():  # a positive verdict names every check, a negative one those that failed
        if verdict == "structure" or not passed:
            assert check in quality["reason"], (check, quality["reason"])
    # the held-out p-value is a permutation p-value: (1 + null draws at least as extreme) / (permutations + 1)
    draws = quality["p_value"] * (quality["permutation"]["permutations"] + 1)
    assert draws == pytest.approx(round(draws)) and round(draws) >= 1
    console = (workdir / "console.txt").read_text()
    summary = console[console.index("PolicyGradEx summary") :]
    clusters = pd.read_csv(results / "clusters.csv")
    assert f"{name}: {clusters['group'].nunique()} groups" in summary and f"ARI {quality['ari']:.2f}" in summary
    page = (results / "report.html").read_text()
    if verdict == "structure":
        assert f"verdict: structure ({quality['reason']})" in summary and "NO RELIABLE" not in summary
        assert "No reliable structure" not in page and quality["ari"] == 1.0  # the planted groups, found
    else:
        assert f"verdict: NO RELIABLE STRUCTURE ({quality['reason']})" in summary
        # what to try: the fixes of the measured causes, or with none measured, the advice that says so
        assert f"what to do: {advice(quality['diagnoses'], quality['gradient_consistency'])}" in summary
        assert "No reliable structure" in page and "<b>not reliable</b>" in page


def test_the_console_reports_progress_and_compute(workdir):
    """Training jobs report on the console (steps, their rate, the return, the time left), and the summary says
    where the compute went, per stage, and how long the run took."""
    console = (workdir / "console.txt").read_text()
    start = console.index("tiny: preset smoke: seconds on 2 cores")  # the preset and its cost, before any job
    assert start < console.index("rule meta_train")
    line = r"meta_train results/tiny/meta: [\d,]+/[\d,]+ steps \(\d+%\), [\d,]+ steps/s, mean return"
    assert re.search(line, console)
    assert re.search(r"finetune results/tiny/groups/\d+: .* left", console)
    summary = console[console.index("PolicyGradEx summary") :]
    compute = re.search(r"compute: [\d.]+ job-minutes: (.*)", summary)[1]
    assert re.search(r"\bmeta_train [\d.]+", compute) and re.search(r"\bfeatures [\d.]+ \(4 jobs\)", compute)
    assert re.search(r"this run took [\d.]+ minutes", summary)
    assert "preset: smoke, budgets that prove the workflow runs; these groups are no answer" in summary


def test_every_stage_writes_its_artifacts(workdir):
    results = workdir / "results" / "tiny"
    names = ["east-0.5", "east-1.0", "west-0.5", "west-1.0"]
    for task in names:
        with np.load(results / "features" / f"{task}.npz") as f:
            assert str(f["task"]) == task
            assert f["projected_grad"].shape == (len(f["advantage"]), 16)
            assert f["heldout"].any() and not f["heldout"].all()
    chunks = pd.concat(pd.read_csv(results / "subsets" / f"chunk_{c}.csv") for c in range(2))
    assert list(chunks.columns) == ["subset_id", "subset", "task", "score"]
    assert sorted(chunks["subset_id"].unique()) == list(range(12))
    affinity = pd.read_csv(results / "affinity.csv", index_col=0)
    assert list(affinity.index) == names and list(affinity.columns) == names
    clusters = pd.read_csv(results / "clusters.csv")
    assert list(clusters["task"]) == names and set(clusters["group"]) == {0, 1}
    quality = json.loads((results / "cluster_quality.json").read_text())
    assert quality["k"] == 2 and quality["k_selection"] == "config"
    assert quality["reliability"]["splits"] == 10 and quality["reliability"]["half_subsets"] == 6
    assert list(clusters["planted"]) == ["east", "east", "west", "west"]
    for group in (0, 1):
        assert (results / "groups" / str(group) / "policy.pt").exists()
    evaluation = pd.read_csv(results / "evaluation.csv")
    assert list(evaluation.columns) == ["method", "task", "group", "mean_return", "success_rate", "episodes"]
    assert set(evaluation["method"]) == {"single", "policygradex"}
    assert len(evaluation) == 2 * len(names)
    page = (results / "report.html").read_text()
    assert "<img" in page and "Gradient consistency" in page
    assert page.index("Can the groups be trusted?") < page.index("<h2>Clusters</h2>")
    assert 'alt="similarity"' in page and 'alt="k_scores"' in page  # both plots embedded in the page
    assert page.index("In short.") < page.index("Can the groups be trusted?")
    assert 'alt="train_curves"' in page and page.count("<p>Table:") == 4
    assert (results / "plots" / "gradient_consistency.png").stat().st_size > 0
    # each task's gradient consistency is a cosine, and the estimate warns exactly when their median is noise
    consistency = [float(np.load(results / "features" / f"{task}.npz")["gradient_consistency"]) for task in names]
    assert all(-1.0 <= c <= 1.0 for c in consistency)
    estimate_logs = "".join(p.read_text() for p in (workdir / "logs" / "tiny" / "estimate").glob("*.log"))
    warned = f"warning: median gradient consistency {np.median(consistency):.2f} < {NOISY_CONSISTENCY}"
    assert (warned in estimate_logs) == (np.median(consistency) < NOISY_CONSISTENCY), estimate_logs[-2000:]
    hessian = pd.read_csv(results / "hessian.csv")
    assert list(hessian["method"]) == ["single", "policygradex", "policygradex"]
    assert (hessian["trace"] > 0).all()  # nll: Fisher-like curvature, positive at a trained policy
    # N is the independent episodes of each policy's last training batch (kept in its policy.pt), and the bound is
    # sqrt(r^2 Tr(H) / N) of the row's own figures
    paths = ["meta/policy.pt", "groups/0/policy.pt", "groups/1/policy.pt"]
    for row, path in zip(hessian.itertuples(), paths, strict=True):
        last = torch.load(results / path, weights_only=True)["meta"]["last_batch"]
        assert row.num_episodes == last["episodes"] and row.num_samples == len(last["obs"])
        assert row.bound == pytest.approx((row.distance**2 * row.trace / row.num_episodes) ** 0.5)
    assert (results / "plots" / "hessian.png").stat().st_size > 0
    assert (workdir / "logs" / "tiny" / "meta_train.log").exists()


def test_the_evidence_files_hold_every_method_and_kind(workdir):
    """What make evidence builds on the tiny benchmark: each file's content, not only its existence."""
    results = workdir / "results" / "tiny"
    comparison = pd.read_csv(results / "comparison.csv")
    methods = {"single", "single_finetuned", "per_task", "random", "grad_similarity", "full_training", "policygradex"}
    methods.add("per_task_equal_budget")  # the tiny config turns it on
    assert set(comparison["method"]) == methods and np.isfinite(comparison["mean_return"]).all()
    # each task of per_task_equal_budget trained k/n of a group's steps (k = n/2 here), per_task's a whole group's
    steps = {
        baseline: {
            pd.read_csv(p)["steps"].iloc[-1] for p in (results / "baselines" / baseline).glob("groups/*/train_log.csv")
        }
        for baseline in ("per_task", "per_task_equal_budget")
    }
    assert steps == {"per_task": {1024}, "per_task_equal_budget": {512}}
    approx = json.loads((results / "approx_error.json").read_text())
    assert {"ppo_objective", "log_prob_change", "log_prob", "score"} <= set(approx)
    # the fine-tunes are small steps: the first-order prediction of log pi is close in the paper's normalisation
    assert 0 < approx["log_prob"]["median_rel_error"] < 0.5
    speed = json.loads((results / "speedup.json").read_text())
    # CPU and wall seconds of each stage's processes, summed over its jobs' timing files; every subset was fine-tuned
    # (full_training.num_subsets: all), so the estimate's seconds count whole
    seconds = {
        (stage, key): sum(json.loads(p.read_text())[key] for p in (results / "timing" / stage).glob("*.json"))
        for stage in ("features", "estimate", "full_training")
        for key in ("cpu_seconds", "seconds")
    }
    assert all(value > 0 for value in seconds.values())
    for stage in ("features", "estimate"):
        assert speed["estimation_cpu_seconds"][stage] == pytest.approx(seconds[stage, "cpu_seconds"])
    assert speed["full_training_cpu_seconds"] == pytest.approx(seconds["full_training", "cpu_seconds"])
    for key, ratio in (("cpu_seconds", "speedup"), ("seconds", "speedup_wall")):
        estimation = seconds["features", key] + seconds["estimate", key]
        assert speed[ratio] == pytest.approx(seconds["full_training", key] / estimation)
    # environment steps on both sides: every feature sample is one step; each fine-tune takes its budget (PPO
    # rounds up to whole rollouts) and scores its tasks by rollouts too
    samples = sum(len(np.load(p)["obs"]) for p in (results / "features").glob("*.npz"))
    assert speed["estimation_env_steps"]["features"] == samples
    assert speed["estimation_env_steps"]["estimate"] > 0  # the tiny config scores by return: rollouts
    per_subset = speed["full_training_env_steps"] / speed["subsets_compared"]
    assert per_subset >= speed["finetune_steps_per_subset"]
    assert speed["speedup_env_steps"] == pytest.approx(
        speed["full_training_env_steps"] / speed["estimation_env_steps"]["total"]
    )
    # T_full[i, j]: the mean score of task i over the really fine-tuned subsets holding i and j (the definition,
    # from the chunks' rows)
    full = pd.read_csv(results / "affinity_full.csv", index_col=0)
    names = ["east-0.5", "east-1.0", "west-0.5", "west-1.0"]
    assert list(full.index) == list(full.columns) == names
    scores = pd.concat(pd.read_csv(p) for p in sorted((results / "full_training").glob("chunk_*.csv")))
    members = scores.groupby("subset_id")["task"].apply(set)
    for i in names:
        for j in names:
            holding = members[members.apply(lambda tasks, i=i, j=j: {i, j} <= tasks)].index
            rows = scores[(scores["task"] == i) & scores["subset_id"].isin(holding)]
            assert full.loc[i, j] == pytest.approx(rows["score"].mean()), (i, j)
    estimated = pd.read_csv(results / "affinity.csv", index_col=0).to_numpy()
    rows = [spearmanr(e, f).statistic for e, f in zip(estimated, full.to_numpy(), strict=True)]
    assert speed["spearman_rowwise_mean"] == pytest.approx(np.nanmean(rows))  # per row: each task's own ranking


def test_the_snakemake_report_is_written_without_warnings(workdir, tmp_path):
    result = snakemake(workdir, *TINY_TARGETS, "--report", str(tmp_path / "report.zip"))
    assert result.returncode == 0, result.stderr[-3000:]
    assert "Warning" not in result.stdout + result.stderr and (tmp_path / "report.zip").stat().st_size > 0


def test_every_artifact_and_every_field_is_described(workdir):
    """policygradex describe knows every file the workflow wrote and every column, array or key in it."""
    files = [p for p in (workdir / "results" / "tiny").rglob("*") if p.is_file()]
    assert len(files) > 40
    for path in files:
        assert artifacts.undescribed(path) == [], path
    text = artifacts.describe(workdir / "results" / "tiny" / "features" / "east-0.5.npz")
    assert "written by: features" in text and "projected_grad [shape (" in text


def test_rerun_has_nothing_to_do_and_deleting_affinity_reruns_only_downstream(workdir, tmp_path):
    dry = snakemake(workdir, "-n", *TINY_TARGETS)
    assert "Nothing to be done" in dry.stdout, dry.stdout[-2000:]
    copy = tmp_path / "copy"
    shutil.copytree(workdir, copy)  # keeps mtimes and .snakemake metadata
    (copy / "results" / "tiny" / "affinity.csv").unlink()
    dry = snakemake(copy, "-n", *TINY_TARGETS)
    # affinity.csv feeds the clustering (whose fine-tunes are planned once the checkpoint has run), the
    # evaluation and Hessian of the group policies, the report, the speedup, the baselines (they group at the
    # clustering's k, from cluster_quality.json) and the comparison.
    assert planned_jobs(dry) == {
        "affinity", "cluster", "evaluate", "hessian", "report", "speedup", "baselines", "evaluate_baseline", "compare"
    }  # fmt: skip


def test_changing_k_reclusters_without_retraining_the_meta_policy(workdir, tmp_path):
    copy = tmp_path / "copy"
    shutil.copytree(workdir, copy)
    config = tiny_config()
    config["benchmarks"]["tiny"]["cluster"]["k"] = 3
    (copy / "config.yaml").write_text(yaml.safe_dump(config))
    dry = snakemake(copy, "-n", *TINY_TARGETS)
    assert "meta_train" not in planned_jobs(dry) and "cluster" in planned_jobs(dry)


#: A change of every estimate key and whether full training's real fine-tunes depend on it.
ESTIMATE_CHANGES = [
    ("num_subsets", 16, True),  # full training fine-tunes every subset of the estimate unless told fewer
    ("subset_size", 3, True),
    ("num_chunks", 3, False),
    ("l2_inverse", 0.1, False),
    ("fit", "logistic", False),
    ("step_size", 0.01, False),
    ("score", "surrogate", True),
    ("score_episodes", 2, True),
    ("step", "line_search", False),
    ("step_factors", [0.5, 1.0, 2.0], False),
    ("gradients", "unit", False),
]


def test_every_estimate_key_has_a_rerun_expectation():
    estimate = config_schema()["$defs"]["benchmark"]["properties"]["estimate"]["properties"]
    assert [key for key, _, _ in ESTIMATE_CHANGES] == list(estimate)


@pytest.mark.parametrize(("key", "value", "fine_tunes_again"), ESTIMATE_CHANGES)
def test_an_estimate_setting_reruns_full_training_only_when_its_outputs_depend_on_it(
    workdir, tmp_path, key, value, fine_tunes_again
):
    """Settings views are key-level: each estimate key reruns the estimate; its step, fit and chunking never the
    real fine-tunes of full training (the most expensive stage), which the subsets and the scoring do change."""
    copy = tmp_path / "copy"
    shutil.copytree(workdir, copy)
    config = tiny_config()
    config["benchmarks"]["tiny"]["estimate"][key] = value
    (copy / "config.yaml").write_text(yaml.safe_dump(config))
    jobs = planned_jobs(snakemake(copy, "-n", *TINY_TARGETS))
    assert "estimate" in jobs and not {"meta_train", "features"} & jobs
    assert ("full_training" in jobs) == fine_tunes_again, jobs


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda b: b["cluster"].update(k=9), "config.benchmarks.tiny.cluster.k"),
        (lambda b: b["estimate"].update(subset_size=5), "config.benchmarks.tiny.estimate.subset_size"),
        (lambda b: b["tasks"][0].pop("goal"), "config.benchmarks.tiny.tasks[0].goal"),
        (lambda b: b.update(env="metaworld", observe_task="onehot"), "'east-0.5' is not a Meta-World task"),
        (lambda b: b.update(env="mo_mujoco", env_id="mo-ant-v5"), "mo-ant-v5 needs 3 weights"),
    ],
)
def test_bad_config_fails_before_any_job(tmp_path, mutate, message):
    config = tiny_config()
    mutate(config["benchmarks"]["tiny"])
    (tmp_path / "config.yaml").write_text(yaml.safe_dump(config))
    result = snakemake(tmp_path, "results/tiny/clusters.csv")
    assert result.returncode != 0
    assert message in result.stderr
    assert not (tmp_path / "results").exists()


def test_unknown_benchmark_fails_before_any_job(tmp_path):
    (tmp_path / "config.yaml").write_text(yaml.safe_dump(tiny_config()))
    result = snakemake(tmp_path, "results/metaworld/clusters.csv")
    assert result.returncode != 0
    assert "unknown benchmark 'metaworld'" in result.stderr
    assert not (tmp_path / "results").exists()


def test_same_seed_gives_byte_identical_affinity_and_clusters(workdir, tmp_path):
    (tmp_path / "config.yaml").write_text((workdir / "config.yaml").read_text())
    result = snakemake(tmp_path, "results/tiny/clusters.csv")
    assert result.returncode == 0, result.stderr[-3000:]
    for name in ("affinity.csv", "clusters.csv"):
        first = (workdir / "results" / "tiny" / name).read_bytes()
        assert (tmp_path / "results" / "tiny" / name).read_bytes() == first, name


def _truncate(path: Path) -> None:
    path.write_bytes(path.read_bytes()[: len(path.read_bytes()) // 2])


def _nan_gradient(path: Path) -> None:
    with np.load(path) as data:
        arrays = dict(data)
    arrays["projected_grad"][3, 1] = np.nan
    np.savez(path, **arrays)


def _drop_row(path: Path) -> None:
    frame = pd.read_csv(path, index_col=0)
    frame.iloc[:-1].to_csv(path)


def _unknown_task(path: Path) -> None:
    frame = pd.read_csv(path)
    frame.loc[0, "task"] = "north-9.9"
    frame.to_csv(path, index=False)


def _drop_score(path: Path) -> None:
    pd.read_csv(path).drop(columns="score").to_csv(path, index=False)


@pytest.mark.parametrize(
    ("artifact", "corrupt", "stage", "message"),
    [
        ("features/east-0.5.npz", _truncate, "estimate", "east-0.5.npz: truncated or not an npz file"),
        ("features/west-1.0.npz", _nan_gradient, "estimate", "west-1.0.npz: array 'projected_grad' holds NaN"),
        ("meta/policy.pt", _truncate, "features", "policy.pt: not a readable policy file"),
        ("subsets/chunk_1.csv", _drop_score, "affinity", "chunk_1.csv: missing columns ['score']"),
        ("affinity.csv", _drop_row, "cluster", "affinity.csv: rows"),
        ("clusters.csv", _unknown_task, "finetune", "clusters.csv: unknown tasks north-9.9"),
    ],
)
def test_corrupt_artifact_fails_with_the_file_and_the_problem(workdir, tmp_path, artifact, corrupt, stage, message):
    """Each kind of artifact, damaged, makes the stage that reads it fail naming the file, via Snakemake."""
    copy = tmp_path / "copy"
    shutil.copytree(workdir, copy)
    corrupt(copy / "results" / "tiny" / artifact)
    downstream = {
        "estimate": "results/tiny/subsets/chunk_0.csv",
        "features": "results/tiny/features/east-1.0.npz",
        "affinity": "results/tiny/affinity.csv",
        "cluster": "results/tiny/clusters.csv",
        "finetune": "results/tiny/groups/0/policy.pt",
    }[stage]
    result = snakemake(copy, "--forcerun", stage, "--allowed-rules", stage, "--", downstream)
    assert result.returncode != 0
    logs = "".join(p.read_text() for p in (copy / "logs" / "tiny").rglob("*.log"))
    assert message in logs, logs[-2000:]


def test_full_training_chunk_resumes_after_a_crash(workdir, tmp_path, monkeypatch):
    """A chunk of real fine-tunes killed after its first subset redoes only the rest, with the same result."""
    from policygradex.config import benchmark, load_config, task_names
    from policygradex.stages import full_training

    bench = benchmark(load_config(workdir / "config.yaml"), "tiny")
    results = workdir / "results" / "tiny"
    features = [results / "features" / f"{task}.npz" for task in task_names(bench)]
    original, calls = full_training.finetune_delta, []

    def crash_on_second(*args, **kwargs):
        if calls:
            raise RuntimeError("killed")
        calls.append(1)
        return original(*args, **kwargs)

    out = tmp_path / "chunk_0.csv"
    arguments = (bench, results / "meta" / "policy.pt", features, 0, out, tmp_path / "chunk_0.npz")
    monkeypatch.setattr(full_training, "finetune_delta", crash_on_second)
    with pytest.raises(RuntimeError, match="killed"):
        full_training.run(*arguments)
    assert (tmp_path / "chunk_0.csv.ckpt").exists() and not out.exists()
    monkeypatch.undo()
    full_training.run(*arguments)
    assert out.read_bytes() == (results / "full_training" / "chunk_0.csv").read_bytes()
    assert not (tmp_path / "chunk_0.csv.ckpt").exists()


def test_surrogate_score_needs_no_environment_steps(workdir, tmp_path, monkeypatch):
    """estimate with score: surrogate scores held-out samples only: no env is built, the scores are finite."""
    from policygradex import rollouts
    from policygradex.config import benchmark, load_config, task_names
    from policygradex.stages import estimate

    bench = benchmark(load_config(workdir / "config.yaml"), "tiny")
    bench["estimate"]["score"] = "surrogate"
    results = workdir / "results" / "tiny"
    monkeypatch.setattr(rollouts, "make_vec_env", lambda *a, **k: pytest.fail("an environment was built"))
    features = [results / "features" / f"{task}.npz" for task in task_names(bench)]
    estimate.run(bench, results / "meta" / "policy.pt", features, 0, tmp_path / "chunk.csv")
    scores = pd.read_csv(tmp_path / "chunk.csv")
    assert len(scores) == 6 * 2 and np.isfinite(scores["score"]).all()  # 6 subsets of 2 tasks in chunk 0


def test_sac_trainer_runs_every_core_stage(tmp_path):
    sac = {"learning_starts": 256, "batch_size": 64, "buffer_size": 10000, "train_freq": 4}
    (tmp_path / "config.yaml").write_text(
        yaml.safe_dump(tiny_config(trainer="sac", sac=sac, vec_env={"envs_per_task": 1}))
    )
    result = snakemake(tmp_path, "results/tiny/report.html")
    assert result.returncode == 0, result.stderr[-3000:]
    results = tmp_path / "results" / "tiny"
    meta = torch.load(results / "meta" / "policy.pt", weights_only=True)
    assert any(name.startswith("critic_target.") for name in meta["state_dict"])  # a SAC policy
    evaluation = pd.read_csv(results / "evaluation.csv")
    assert set(evaluation["method"]) == {"single", "policygradex"} and evaluation["mean_return"].notna().all()
    assert (pd.read_csv(results / "hessian.csv")["trace"] > 0).all()


def test_the_start_of_a_run_names_the_benchmarks_it_builds_and_their_presets():
    """What the Snakefile's onstart prints: the presets of the benchmarks the command targets (the default
    benchmarks for a bare run), `none` for a benchmark run at its own settings, and the settings that followed
    the task set."""
    from policygradex.summary import preset_line, smoke_warning, targeted_benchmarks

    targets = ["results/metaworld/clusters.csv", "results/ant/report.html", "results/metaworld/x.csv", "all"]
    assert targeted_benchmarks(targets, ["pointmass"]) == ["metaworld", "ant"]
    assert targeted_benchmarks([], ["pointmass"]) == ["pointmass"]
    assert (
        preset_line("mt10", {"preset": "workstation", "cost": "32 minutes"}) == "mt10: preset workstation: 32 minutes"
    )
    own = preset_line("pm", {"env": "pointmass", "resolved_defaults": {"estimate.subset_size": "3 (about n/2)"}})
    assert own.startswith("pm: preset none: its own settings") and own.endswith(
        "\n  estimate.subset_size: 3 (about n/2)"
    )
    assert smoke_warning({"preset": "workstation"}) is None and "no answer" in smoke_warning({"preset": "smoke"})


def test_the_run_records_what_made_it(workdir):
    """provenance.json: one record for the one run that built the folder, naming this checkout's commit, the
    resolved settings (as the jobs got them) and their hash, the packages; the report shows it."""
    from policygradex import provenance
    from policygradex.config import validate_config

    runs = provenance.read_runs(workdir / "results" / "tiny" / "provenance.json")
    assert len(runs) == 1
    (run,) = runs
    assert run["commit"] == (workdir / "commit.txt").read_text()
    assert run["settings"] == json.loads(json.dumps(validate_config(tiny_config())["benchmarks"]["tiny"]))
    assert run["settings_sha256"] == provenance.settings_hash(run["settings"])
    assert run["packages"]["torch"] == torch.__version__ and "snakemake" in run["command"]
    page = (workdir / "results" / "tiny" / "report.html").read_text()
    assert f"commit {run['commit'][:10]}" in page and run["settings_sha256"][:12] in page


def test_a_folder_built_twice_keeps_both_records_and_names_the_first(tmp_path):
    from policygradex import provenance

    path = tmp_path / "results" / "b" / "provenance.json"
    first = provenance.record({"seed": 1}, ROOT)
    provenance.append(path, first)
    provenance.append(path, {**first, "commit": "f" * 40, "dirty": True})
    assert [run["commit"] for run in provenance.read_runs(path)] == [first["commit"], "f" * 40]
    assert provenance.run_commit(path.parent) == first["commit"][:7] + ("+dirty" if first["dirty"] else "")
    assert provenance.run_commit(tmp_path) == "unknown"
    assert provenance.settings_hash({"a": 1, "b": 2}) == provenance.settings_hash({"b": 2, "a": 1})


def test_a_run_whose_package_comes_from_another_checkout_is_dirty(tmp_path):
    """A git worktree run with the environment of the main clone imports the main clone's package: the worktree's
    commit then does not name the code that ran, and the record says so."""
    from policygradex import provenance

    subprocess.run(["git", "-C", str(ROOT), "worktree", "add", "--detach", str(tmp_path / "wt"), "HEAD"], check=True,
                   capture_output=True)  # fmt: skip
    try:
        other = provenance.run_record(tmp_path / "wt")
        own = provenance.run_record(ROOT)
    finally:
        subprocess.run(["git", "-C", str(ROOT), "worktree", "remove", "--force", str(tmp_path / "wt")], check=True)
    assert other["package_source"] == own["package_source"] == str(ROOT / "src" / "policygradex")
    assert other["dirty"] and other["commit"] == own["commit"]
