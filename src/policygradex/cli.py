"""Command line: one sub-command per workflow stage, ``policygradex <stage> --help`` for each.

Every stage reads its settings either from a config file (``--config config.yaml --benchmark NAME``, for running
a stage by hand) or from ``--settings JSON`` (what the Snakemake rules pass: the validated part of the
benchmark's config that the stage reads, so a rule reruns exactly when its own settings change).
"""

from __future__ import annotations

import argparse
import importlib
import json
import sys
from collections.abc import Callable, Sequence
from dataclasses import fields
from pathlib import Path

from policygradex import (
    affinity,
    approx_error,
    artifacts,
    baselines,
    cluster,
    compare,
    estimate,
    evaluate,
    features,
    finetune,
    full_training,
    hessian,
    meta_train,
    report,
    speedup,
)
from policygradex.config import (
    Benchmark,
    ConfigError,
    benchmark,
    load_config,
    planted_groups,
    task_names,
    validate_config,
)
from policygradex.io import ArtifactError, read_chosen_k
from policygradex.training import set_threads

EPILOG = """The whole pipeline runs with Snakemake: `snakemake --cores 2 results/pointmass/report.html`.
Outputs live under results/{benchmark}/; see README.md for what each file holds."""


TIMING_HELP = "JSON file to write the stage's compute seconds to (read by speedup)"


def _settings(args: argparse.Namespace) -> Benchmark:
    if args.settings is not None:
        try:
            view = json.loads(args.settings)
        except json.JSONDecodeError as err:
            raise ConfigError(f"--settings is not valid JSON: {err}") from err
        bench = validate_config({"benchmarks": {args.benchmark: dict(view)}}, cross_checks=False)
        # Keep only the sections the view holds: a stage reading a section it was not given must fail
        # loudly (KeyError), not run on the schema's defaults.
        return {key: value for key, value in bench["benchmarks"][args.benchmark].items() if key in view}
    return benchmark(load_config(args.config), args.benchmark)


def _stage(
    sub: argparse._SubParsersAction, name: str, help_text: str, func: Callable[..., None]
) -> argparse.ArgumentParser:
    doc = importlib.import_module(f"policygradex.{name}").__doc__ or help_text
    parser = sub.add_parser(
        name, help=help_text, description=doc, epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--benchmark", required=True, help="benchmark name: a key of config.benchmarks")
    source = parser.add_mutually_exclusive_group()
    source.add_argument("--config", default="config.yaml", help="workflow config file (default: %(default)s)")
    source.add_argument("--settings", help="the benchmark's settings as JSON (passed by the Snakemake rules)")
    parser.add_argument("--threads", type=int, default=1, help="torch threads (default: %(default)s)")
    parser.set_defaults(func=func)
    return parser


def _meta_train(b: Benchmark, a: argparse.Namespace) -> None:
    meta_train.run(b, a.output, a.log_csv)


def _features(b: Benchmark, a: argparse.Namespace) -> None:
    features.run(b, a.policy, a.task, a.output, a.timing)


def _estimate(b: Benchmark, a: argparse.Namespace) -> None:
    estimate.run(b, a.policy, a.features, a.chunk, a.output, a.timing)


def _affinity(b: Benchmark, a: argparse.Namespace) -> None:
    affinity.run(task_names(b), a.chunks, a.output)


def _cluster(b: Benchmark, a: argparse.Namespace) -> None:
    cluster.run(
        task_names(b), planted_groups(b), b["cluster"], b["seed"], a.affinity, a.chunks, a.features, a.output, a.quality
    )


def _finetune(b: Benchmark, a: argparse.Namespace) -> None:
    finetune.run(b, a.policy, a.clusters, a.group, a.output, a.log_csv, a.total_steps)


def _evaluate(b: Benchmark, a: argparse.Namespace) -> None:
    evaluate.run(b, a.clusters, a.group_policies, a.output, a.method, a.policy)


def _report(b: Benchmark, a: argparse.Namespace) -> None:
    report.run(b, a.benchmark, report.ReportFiles(**{f.name: getattr(a, f.name) for f in fields(report.ReportFiles)}))


def _full_training(b: Benchmark, a: argparse.Namespace) -> None:
    full_training.run(b, a.policy, a.features, a.chunk, a.output, a.deltas, a.timing)


def _approx_error(b: Benchmark, a: argparse.Namespace) -> None:
    approx_error.run(b, a.policy, a.features, a.estimate_chunks, a.full_chunks, a.full_deltas, a.output, a.summary)


def _speedup(b: Benchmark, a: argparse.Namespace) -> None:
    speedup.run(
        b, a.feature_timings, a.estimate_timings, a.full_timings, a.meta_log, a.estimate_chunks, a.affinity_full,
        read_chosen_k(a.quality), a.output,
    )  # fmt: skip


def _baselines(b: Benchmark, a: argparse.Namespace) -> None:
    baselines.run(b, a.baseline, read_chosen_k(a.quality), a.features or [], a.affinity_full, a.output)


def _compare(b: Benchmark, a: argparse.Namespace) -> None:
    compare.run(a.evaluations, a.output, a.plot)


def _hessian(b: Benchmark, a: argparse.Namespace) -> None:
    hessian.run(b, a.policy, a.clusters, a.group_policies, a.output, a.plot)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="policygradex",
        description="PolicyGradEx: estimate which RL tasks to train together from the gradients of one "
        "meta-policy, then train one policy per group. Each sub-command is one stage of the workflow.",
        epilog=EPILOG,
    )
    sub = parser.add_subparsers(dest="stage", required=True, metavar="STAGE")

    p = _stage(
        sub,
        "meta_train",
        "1. multitask RL (the config's trainer: PPO or SAC) on all tasks -> meta/policy.pt",
        _meta_train,
    )
    p.add_argument("--output", required=True, help="policy file to write (policy.pt)")
    p.add_argument("--log-csv", required=True, help="training curve to write (train_log.csv)")

    p = _stage(sub, "features", "2. projected per-sample gradients of one task -> features/{task}.npz", _features)
    p.add_argument("--policy", required=True, help="meta-policy theta* (meta/policy.pt)")
    p.add_argument("--task", required=True, help="task name")
    p.add_argument("--output", required=True)
    p.add_argument("--timing", help=TIMING_HELP)

    p = _stage(sub, "estimate", "3. first-order estimates for one chunk of subsets -> subsets/chunk_{c}.csv", _estimate)
    p.add_argument("--policy", required=True, help="meta-policy theta* (meta/policy.pt)")
    p.add_argument("--features", nargs="+", required=True, help="every task's features npz, in config order")
    p.add_argument("--chunk", type=int, required=True, help="chunk index 0..num_chunks-1")
    p.add_argument("--output", required=True)
    p.add_argument("--timing", help=TIMING_HELP)

    p = _stage(sub, "affinity", "4. task-affinity matrix from the subset scores -> affinity.csv", _affinity)
    p.add_argument("--chunks", nargs="+", required=True, help="every subsets/chunk_{c}.csv")
    p.add_argument("--output", required=True)

    p = _stage(
        sub, "cluster", "5. k groups of high affinity and the trust verdict -> clusters.csv, cluster_quality.json",
        _cluster,
    )  # fmt: skip
    p.add_argument("--affinity", required=True)
    p.add_argument("--chunks", nargs="+", required=True, help="every subsets/chunk_{c}.csv (split-half reliability)")
    p.add_argument("--features", nargs="+", required=True, help="every task's features npz (gradient consistency)")
    p.add_argument("--output", required=True, help="clusters.csv to write (task,group[,planted])")
    p.add_argument("--quality", required=True, help="cluster_quality.json to write (k, reliability, verdict, ...)")

    p = _stage(sub, "finetune", "6. fine-tune theta* on one group's tasks -> groups/{group}/policy.pt", _finetune)
    p.add_argument("--policy", required=True, help="meta-policy theta* (meta/policy.pt)")
    p.add_argument("--clusters", required=True)
    p.add_argument("--group", type=int, required=True)
    p.add_argument("--output", required=True)
    p.add_argument("--log-csv", required=True)
    p.add_argument("--total-steps", type=int, help="training steps (default: the config's finetune.total_steps)")

    p = _stage(sub, "evaluate", "7. returns and success of the group policies and theta* -> evaluation.csv", _evaluate)
    p.add_argument("--policy", help="meta-policy theta*: also evaluated on every task, as method 'single'")
    p.add_argument("--clusters", required=True)
    p.add_argument("--group-policies", nargs="+", required=True, help="groups/{group}/policy.pt for group 0, 1, ...")
    p.add_argument("--method", default="policygradex", help="method name of the group policies' rows")
    p.add_argument("--output", required=True)

    p = _stage(sub, "report", "8. plots and an HTML summary -> report.html", _report)
    p.add_argument("--affinity", required=True)
    p.add_argument("--clusters", required=True)
    p.add_argument("--quality", required=True)
    p.add_argument("--evaluation", required=True)
    p.add_argument("--hessian", required=True, help="hessian.csv (its plot is read from the plots folder)")
    p.add_argument("--features", nargs="+", required=True, help="features/{task}.npz of every task, in config order")
    p.add_argument("--plots-dir", required=True)
    p.add_argument("--output", required=True)
    p.add_argument(
        "--train-logs", nargs="*", default=[], help="meta/train_log.csv, then groups/{group}/train_log.csv in order"
    )

    p = _stage(
        sub,
        "full_training",
        "ground truth: real fine-tuning (the trainer) of one chunk of subsets -> full_training/chunk_{c}.csv",
        _full_training,
    )
    p.add_argument("--policy", required=True, help="meta-policy theta* (meta/policy.pt)")
    p.add_argument("--features", nargs="+", required=True, help="every task's features npz, in config order")
    p.add_argument("--chunk", type=int, required=True)
    p.add_argument("--output", required=True, help="scores CSV (as estimate's)")
    p.add_argument("--deltas", required=True, help="npz of theta_finetuned - theta* per subset")
    p.add_argument("--timing", help=TIMING_HELP)

    p = _stage(
        sub, "approx_error", "first-order error against real fine-tuning -> approx_error.csv/.json", _approx_error
    )
    p.add_argument("--policy", required=True)
    p.add_argument("--features", nargs="+", required=True)
    p.add_argument("--estimate-chunks", nargs="+", required=True, help="subsets/chunk_{c}.csv")
    p.add_argument("--full-chunks", nargs="+", required=True, help="full_training/chunk_{c}.csv")
    p.add_argument("--full-deltas", nargs="+", required=True, help="full_training/chunk_{c}.npz")
    p.add_argument("--output", required=True)
    p.add_argument("--summary", required=True)

    p = _stage(sub, "speedup", "seconds of estimation vs full training, agreement -> speedup.json", _speedup)
    p.add_argument("--feature-timings", nargs="+", required=True)
    p.add_argument("--estimate-timings", nargs="+", required=True)
    p.add_argument("--full-timings", nargs="+", required=True)
    p.add_argument("--meta-log", required=True, help="meta/train_log.csv")
    p.add_argument(
        "--estimate-chunks", nargs="+", required=True,
        help="subsets/chunk_{c}.csv (the estimated affinity over the subsets full training fine-tuned)",
    )  # fmt: skip
    p.add_argument("--affinity-full", required=True)
    p.add_argument("--quality", required=True, help="cluster_quality.json (the k both affinities are clustered at)")
    p.add_argument("--output", required=True)

    p = _stage(sub, "baselines", "a baseline grouping -> baselines/{baseline}/clusters.csv", _baselines)
    p.add_argument(
        "--baseline", required=True, help="single_finetuned, per_task, random_<r>, grad_similarity, full_training"
    )
    p.add_argument("--features", nargs="*", help="features npz (grad_similarity)")
    p.add_argument("--affinity-full", help="affinity_full.csv (full_training)")
    p.add_argument("--quality", required=True, help="cluster_quality.json: its k is the baselines' k")
    p.add_argument("--output", required=True)

    p = _stage(sub, "compare", "grouping quality of every method -> comparison.csv", _compare)
    p.add_argument("--evaluations", nargs="+", required=True, help="evaluation.csv and baselines/*/evaluation.csv")
    p.add_argument("--output", required=True)
    p.add_argument("--plot", required=True)

    p = _stage(sub, "hessian", "Hessian trace, observed gap and bound of every policy -> hessian.csv", _hessian)
    p.add_argument("--policy", required=True, help="meta-policy theta* (meta/policy.pt)")
    p.add_argument("--clusters", required=True)
    p.add_argument("--group-policies", nargs="+", required=True, help="groups/{group}/policy.pt for group 0, 1, ...")
    p.add_argument("--output", required=True)
    p.add_argument("--plot", required=True)

    p = sub.add_parser(
        "describe",
        help="what an artifact holds: the stage that wrote it and each column or key with its meaning",
        description="Describe artifacts under results/<benchmark>/: the stage that writes each, what it is for, and"
        " every column (CSV), array (npz, with shape and dtype) or key (JSON) with its meaning and unit.",
        epilog="e.g. policygradex describe results/pointmass/features/east-1.0.npz results/pointmass/speedup.json",
    )
    p.add_argument("paths", nargs="*", metavar="PATH", help="artifact files (a missing one: its entry)")
    p.add_argument("--list", action="store_true", help="print every artifact as a markdown table")

    p = sub.add_parser(
        "targets",
        help="the files that build a benchmark (what `make demo` and `make evidence` ask Snakemake for)",
        description="Print the paths under results/ that build BENCHMARK: the core artifacts (meta-policy,"
        " affinity, clusters, evaluation, Hessian, report), with --evidence also the evidence of the method's claims"
        " (approx_error.json, comparison.csv, and affinity_full.csv and speedup.json when full_training.enabled).",
        epilog="e.g. snakemake --cores 2 $(policygradex targets pointmass --evidence)",
    )
    p.add_argument("benchmark", help="a key of config.benchmarks")
    p.add_argument("--evidence", action="store_true", help="add the evidence targets")
    p.add_argument("--config", default="config.yaml", help="workflow config file (default: %(default)s)")
    return parser


def _describe(args: argparse.Namespace) -> int:
    if args.list or not args.paths:
        print(artifacts.markdown_table())
    for path in args.paths:
        print(artifacts.describe(Path(path)))
    return 0


def _targets(args: argparse.Namespace) -> int:
    bench = benchmark(load_config(args.config), args.benchmark)
    print(" ".join(artifacts.targets(args.benchmark, bench["full_training"]["enabled"], args.evidence)))
    return 0


#: Sub-commands that are no stage of the workflow (they run no rule and take no settings).
TOOLS: dict[str, Callable[[argparse.Namespace], int]] = {"describe": _describe, "targets": _targets}


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        if args.stage in TOOLS:
            return TOOLS[args.stage](args)
        set_threads(args.threads)
        args.func(_settings(args), args)
    except (ConfigError, ArtifactError) as err:
        print(f"policygradex {args.stage}: error: {err}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
