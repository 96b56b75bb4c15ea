# Shared by every rule: config validation, wildcard constraints and input functions.
# The logic lives in the policygradex package; this file only connects it to Snakemake.
import sys
from pathlib import Path

from snakemake.exceptions import WorkflowError

SRC = Path(workflow.basedir) / "src"
sys.path.insert(0, str(SRC))  # the workflow always uses this checkout's package

from policygradex.config import ConfigError, benchmark, stage_view_json, task_names, validate_config

try:
    validate_config(config)  # fills the schema's defaults; fails before any job runs
except ConfigError as err:
    raise WorkflowError(str(err)) from None

# Jobs run the package as `python -m policygradex` from this checkout, in the venv or in the conda env.
shell.prefix("export PYTHONPATH=" + str(SRC) + ":${{PYTHONPATH:-}}; ")
ENV = "../../envs/policygradex.yaml"


wildcard_constraints:
    benchmark=r"[A-Za-z][A-Za-z0-9_]*",
    task=r"[A-Za-z0-9][A-Za-z0-9_.-]*",
    chunk=r"\d+",
    group=r"\d+",


def artifacts(name):
    """Every stage's user-facing output for benchmark `name`: requesting them all (rule all, `make demo`) also
    rebuilds any of them that was deleted, and then everything downstream of it."""
    stages = ["meta/policy.pt", "affinity.csv", "clusters.csv", "evaluation.csv", "report.html"]
    return [f"results/{name}/{stage}" for stage in stages]


def bench(wildcards):
    """The benchmark's settings; an unknown {benchmark} fails while the DAG is built, naming the choices."""
    try:
        return benchmark(config, wildcards.benchmark)
    except ConfigError as err:
        raise WorkflowError(str(err)) from None


def settings(stage):
    """Params function: the JSON settings `stage` reads, so a rule reruns only when they change."""
    return lambda wildcards: stage_view_json(bench(wildcards), stage)


def feature_files(wildcards):
    names = task_names(bench(wildcards))
    return expand("results/{benchmark}/features/{task}.npz", benchmark=wildcards.benchmark, task=names)


def chunk_files(wildcards):
    chunks = range(bench(wildcards)["estimate"]["num_chunks"])
    return expand("results/{benchmark}/subsets/chunk_{chunk}.csv", benchmark=wildcards.benchmark, chunk=chunks)


def group_ids(wildcards):
    """Groups of the clustering, read from the checkpoint's clusters.csv once it exists."""
    import pandas as pd

    clusters = checkpoints.cluster.get(benchmark=wildcards.benchmark).output.clusters
    return sorted(pd.read_csv(clusters)["group"].unique())


def group_policies(wildcards):
    return expand(
        "results/{benchmark}/groups/{group}/policy.pt",
        benchmark=wildcards.benchmark,
        group=group_ids(wildcards),
    )
