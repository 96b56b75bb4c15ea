# Shared by every rule: config validation, wildcard constraints and input functions.
# The logic lives in the policygradex package; this file only connects it to Snakemake.
import shlex
import sys
from pathlib import Path

from snakemake.exceptions import WorkflowError
from snakemake.settings.types import DeploymentMethod

SRC = Path(workflow.basedir).parent / "src"
sys.path.insert(0, str(SRC))  # the workflow always uses this checkout's package

from policygradex.artifacts import BASELINE_PATTERN, targets, unknown_path_regex, unknown_target_message
from policygradex.check import CACHE_DIR as CHECK_CACHE, check_config, environment_benchmarks
from policygradex.config import (
    ConfigError,
    benchmark,
    full_training_chunks,
    stage_view_json,
    task_names,
    validate_config,
)

if workflow.overwrite_configfiles and not workflow.config_settings.replace_workflow_config:
    print(
        f"note: {', '.join(map(str, workflow.overwrite_configfiles))} extends config.yaml (its benchmarks stay);"
        " add --replace-workflow-config to use only your file",
        file=sys.stderr,
    )

try:
    validate_config(config)  # fills the schema's defaults; fails before any job runs
    # the environments of ids and keyword arguments from the config: built once, remembered while unchanged; their
    # warnings are said by onstart for the benchmarks the command builds (the targets are known only then)
    CHECK_WARNINGS = check_config(config, environment_benchmarks(config), cache_dir=CHECK_CACHE)
except ConfigError as err:
    raise WorkflowError(str(err)) from None

# Jobs run the package from this checkout as `$PGX_PYTHON -m policygradex`: with the interpreter that runs Snakemake
# (`.venv/bin/snakemake` works without activating the venv; on SLURM the job's own Snakemake), or with the conda
# env's `python` under --software-deployment-method conda.
CONDA = DeploymentMethod.CONDA in workflow.deployment_settings.deployment_method
PYTHON = "python" if CONDA else shlex.quote(sys.executable)
shell.prefix(f"export PYTHONPATH={shlex.quote(str(SRC))}:${{{{PYTHONPATH:-}}}}; PGX_PYTHON={PYTHON}; ")
ENV = "../../envs/policygradex.yaml"


wildcard_constraints:
    benchmark=r"[A-Za-z][A-Za-z0-9_]*",
    task=r"[A-Za-z0-9][A-Za-z0-9_.-]*",
    chunk=r"\d+",
    group=r"\d+",
    baseline=BASELINE_PATTERN,


def artifacts(name):
    """Every stage's user-facing output for benchmark `name`, with the evidence of the method's claims
    (rule all; the Makefile asks `policygradex targets` for the same lists). Requesting them all also
    rebuilds any of them that was deleted, and then everything downstream of it."""
    return targets(name, config["benchmarks"][name]["full_training"]["enabled"], evidence=True)


def bench(wildcards):
    """The benchmark's settings; an unknown {benchmark} fails while the DAG is built, naming the choices."""
    try:
        return benchmark(config, wildcards.benchmark)
    except ConfigError as err:
        raise WorkflowError(str(err)) from None


def settings(stage):
    """Params function: the JSON settings `stage` reads, so a rule reruns only when they change."""
    return lambda wildcards: stage_view_json(bench(wildcards), stage)


def training_threads(wildcards):
    """Cores of a training job: all it may have when its environments step in subprocesses
    (`vec_env.strategy: async`; Snakemake caps this at --cores), else one."""
    return workflow.cores if bench(wildcards)["vec_env"]["strategy"] == "async" else 1


def per_chunk(pattern, count):
    """Input function: `pattern` expanded over the chunks 0..count(benchmark)-1."""

    def files(wildcards):
        chunks = range(count(bench(wildcards)))
        return expand(pattern, benchmark=wildcards.benchmark, chunk=chunks)

    return files


def per_task(pattern):
    def files(wildcards):
        return expand(pattern, benchmark=wildcards.benchmark, task=task_names(bench(wildcards)))

    return files


feature_files = per_task("results/{benchmark}/features/{task}.npz")
feature_timings = per_task("results/{benchmark}/timing/features/{task}.json")
estimate_chunks = per_chunk("results/{benchmark}/subsets/chunk_{chunk}.csv", lambda b: b["estimate"]["num_chunks"])
estimate_timings = per_chunk(
    "results/{benchmark}/timing/estimate/chunk_{chunk}.json", lambda b: b["estimate"]["num_chunks"]
)
full_chunks = per_chunk("results/{benchmark}/full_training/chunk_{chunk}.csv", full_training_chunks)
full_deltas = per_chunk("results/{benchmark}/full_training/chunk_{chunk}.npz", full_training_chunks)
full_timings = per_chunk("results/{benchmark}/timing/full_training/chunk_{chunk}.json", full_training_chunks)


def group_ids(clusters):
    import pandas as pd

    return sorted(pd.read_csv(clusters)["group"].unique())


def group_policies(wildcards):
    """The clustering's group policies, the fan-out read from the checkpoint's clusters.csv."""
    clusters = checkpoints.cluster.get(benchmark=wildcards.benchmark).output.clusters
    return expand(
        "results/{benchmark}/groups/{group}/policy.pt", benchmark=wildcards.benchmark, group=group_ids(clusters)
    )


def train_logs(wildcards):
    """The training curves the report plots: meta-training's, then each group's (read from the checkpoint)."""
    groups = [str(Path(p).parent / "train_log.csv") for p in group_policies(wildcards)]
    return [f"results/{wildcards.benchmark}/meta/train_log.csv", *groups]


def baseline_group_policies(wildcards):
    clusters = checkpoints.baselines.get(benchmark=wildcards.benchmark, baseline=wildcards.baseline).output[0]
    return expand(
        "results/{benchmark}/baselines/{baseline}/groups/{group}/policy.pt",
        benchmark=wildcards.benchmark,
        baseline=wildcards.baseline,
        group=group_ids(clusters),
    )


def require_full_training(wildcards):
    """affinity_full.csv and speedup.json need every subset really fine-tuned: say how to turn that on."""
    if not bench(wildcards)["full_training"]["enabled"]:
        raise WorkflowError(
            f"results/{wildcards.benchmark}/affinity_full.csv needs "
            f"config.benchmarks.{wildcards.benchmark}.full_training.enabled: true"
        )
    return full_chunks(wildcards)


# Baselines of the comparison (baselines.smk, compare.smk).
def baseline_inputs(wildcards):
    """Every baseline groups at PolicyGradEx's k (cluster_quality.json); two need more."""
    inputs = {"quality": f"results/{wildcards.benchmark}/cluster_quality.json"}
    if wildcards.baseline == "grad_similarity":
        inputs["features"] = feature_files(wildcards)
    if wildcards.baseline == "full_training":
        inputs["affinity_full"] = f"results/{wildcards.benchmark}/affinity_full.csv"
    return inputs


def baseline_args(wildcards, input):
    if "features" in input.keys():
        return "--features " + " ".join(input.features)
    if "affinity_full" in input.keys():
        return f"--affinity-full {input.affinity_full}"
    return ""


def baseline_steps(wildcards, input):
    """Fine-tuning steps of each group of a baseline (baselines.finetune_steps), at PolicyGradEx's k as
    clustered: Snakemake evaluates this when the job is scheduled, after cluster_quality.json exists."""
    from policygradex.io import read_chosen_k
    from policygradex.baselines import finetune_steps  # imported here: it pulls in the ML stack

    return finetune_steps(bench(wildcards), wildcards.baseline, read_chosen_k(input.quality))


def comparison_inputs(wildcards):
    from policygradex.baselines import baseline_methods  # imported here: it pulls in the ML stack

    methods = baseline_methods(bench(wildcards))
    return [f"results/{wildcards.benchmark}/evaluation.csv"] + expand(
        "results/{benchmark}/baselines/{baseline}/evaluation.csv", benchmark=wildcards.benchmark, baseline=methods
    )


def fail_unknown_target(wildcards):
    """Input function of the catch-all for unknown targets: the error naming the valid ones."""
    known = artifacts(wildcards.benchmark) if wildcards.benchmark in config["benchmarks"] else None
    raise WorkflowError(unknown_target_message(wildcards.benchmark, wildcards.path, known, list(config["benchmarks"])))
