"""Command line: one sub-command per workflow stage, ``policygradex <stage> --help`` for each.

Every stage reads its settings either from a config file (``--config config.yaml --benchmark NAME``, for running
a stage by hand) or from ``--settings JSON`` (what the Snakemake rules pass: the validated part of the
benchmark's config that the stage reads, so a rule reruns exactly when its own settings change).
"""

from __future__ import annotations

import argparse
import ast
import copy
import importlib
import importlib.util
import json
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from policygradex import artifacts, logs
from policygradex.config import Benchmark, benchmark, load_config, running_benchmarks, stage_view, validate_config
from policygradex.errors import ArtifactError, ConfigError
from policygradex.stages import BY_NAME, STAGES, Stage
from policygradex.summary import preset_line

EPILOG = """The whole pipeline runs with Snakemake: `snakemake --cores 2 results/pointmass/report.html`.
Outputs live under results/{benchmark}/; `policygradex describe FILE` says what each file holds."""


def _settings(args: argparse.Namespace) -> Benchmark:
    if args.settings is not None:
        try:
            view = json.loads(args.settings)
        except json.JSONDecodeError as err:
            raise ConfigError(f"--settings is not valid JSON: {err}") from err
        # validated on a copy: validation fills the schema's defaults into the sections it is given, and the view
        # must stay what the rule passed for the filter below
        bench = validate_config({"benchmarks": {args.benchmark: copy.deepcopy(view)}}, cross_checks=False)
        # Keep only the sections (and, of a section given in part, the keys) the view holds: a stage reading a
        # setting it was not given must fail loudly (KeyError), not run on the schema's defaults.
        return {
            key: {inner: v for inner, v in value.items() if inner in view[key]} if isinstance(value, dict) else value
            for key, value in bench["benchmarks"][args.benchmark].items()
            if key in view
        }
    # by hand, the same view a rule passes: a stage run from a config file reads no more than under Snakemake
    return stage_view(benchmark(load_config(args.config), args.benchmark), args.stage)


def stage_doc(stage: Stage) -> str:
    """The docstring of the stage's module, read from its source: importing every stage (torch, matplotlib,
    cvxpy) to describe one would cost each job seconds."""
    source = Path(importlib.util.find_spec(f"policygradex.stages.{stage.name}").origin).read_text()
    return ast.get_docstring(ast.parse(source)) or stage.summary


def _add_stage(sub: argparse._SubParsersAction, stage: Stage) -> None:
    """The sub-command of ``stage``, from its contract: the module's docstring as description, then its inputs,
    outputs and options in their own groups of ``--help``."""
    doc = stage_doc(stage)
    parser = sub.add_parser(
        stage.name,
        help=stage.summary,
        description=doc,
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--benchmark", required=True, help="benchmark name: a key of config.benchmarks")
    source = parser.add_mutually_exclusive_group()
    source.add_argument("--config", default="config.yaml", help="workflow config file (default: %(default)s)")
    source.add_argument("--settings", help="the benchmark's settings as JSON (passed by the Snakemake rules)")
    parser.add_argument("--threads", type=int, default=1, help="torch threads (default: %(default)s)")
    for title, arguments in (("inputs", stage.inputs), ("outputs", stage.outputs), ("stage options", stage.options)):
        group = parser.add_argument_group(title) if arguments else None
        for argument in arguments:
            group.add_argument(
                argument.flag,
                dest=argument.name,
                required=argument.required,
                type=argument.type,
                nargs=("+" if argument.required else "*") if argument.many else None,
                default=argument.default,
                help=argument.help,
            )


def _run_stage(args: argparse.Namespace) -> None:
    """Call the stage's ``run(bench, **arguments)`` with the arguments its contract declares. Torch's threads are
    set to ``--threads`` when the stage imports torch: a stage that does not (affinity, cluster, compare, ...)
    starts without it."""
    stage = BY_NAME[args.stage]
    bench = _settings(args)
    module = importlib.import_module(f"policygradex.stages.{stage.name}")
    if "torch" in sys.modules:
        sys.modules["torch"].set_num_threads(max(1, args.threads))
    module.run(bench, **{argument.name: getattr(args, argument.name) for argument in stage.arguments})


def build_parser() -> argparse.ArgumentParser:
    """The ``policygradex`` command line: one sub-command per stage (from :data:`policygradex.stages.STAGES`), and
    the tools ``describe`` and ``targets``."""
    parser = argparse.ArgumentParser(
        prog="policygradex",
        description="PolicyGradEx: estimate which RL tasks to train together from the gradients of one "
        "meta-policy, then train one policy per group. Each sub-command is one stage of the workflow.",
        epilog=EPILOG,
    )
    sub = parser.add_subparsers(dest="stage", required=True, metavar="STAGE")
    for stage in STAGES:
        _add_stage(sub, stage)

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

    p = sub.add_parser(
        "check",
        help="check a config's benchmarks, their environments built, before any job",
        description="Validate the config (the schema, and what relates its sections), import each benchmark's"
        " `imports`, and build one environment per distinct (env_id, kwargs) of its tasks: an unknown id (with the"
        " close matches), a module that is not installed (with the pip command), a keyword argument the environment"
        " rejects (with those it takes), spaces that differ between tasks or that the policy cannot take, and"
        " weight vectors of the wrong length are each refused, naming the field. Nothing is written. Snakemake runs"
        " the same check when it loads (for gymnasium and mo_gymnasium benchmarks), remembered while nothing"
        " changes.",
        epilog="e.g. policygradex check --configfile my-tasks.yaml   (exit status 2 and one line per problem)",
    )
    p.add_argument("benchmarks", nargs="*", metavar="BENCHMARK", help="benchmarks to check (default: every one)")
    p.add_argument(
        "--configfile",
        default="config.yaml",
        help="the whole config, as `snakemake --configfile FILE --replace-workflow-config` runs it (default:"
        " %(default)s)",
    )
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


def _check(args: argparse.Namespace) -> int:
    from policygradex.check import check_config  # imports gymnasium and the user's modules

    config = load_config(args.configfile)
    names = args.benchmarks or running_benchmarks(config)
    for name in names:
        benchmark(config, name)  # an unknown name, or one that sits this preset out, fails here
    warnings = check_config(config, names)
    for name in names:
        bench = config["benchmarks"][name]
        estimate = bench["estimate"]
        print(preset_line(name, bench))
        print(
            f"  n = {len(bench['tasks'])} tasks; estimate: subset_size {estimate['subset_size']}, num_subsets"
            f" {estimate['num_subsets']}, score {estimate['score']}, step_size {estimate['step_size']}"
        )
    for warning in warnings:
        print(f"warning: {warning}")
    print(f"policygradex check: {', '.join(names)}: ok" + (f" ({len(warnings)} warnings)" if warnings else ""))
    return 0


#: Sub-commands that are no stage of the workflow (they run no rule and take no settings).
TOOLS: dict[str, Callable[[argparse.Namespace], int]] = {"describe": _describe, "targets": _targets, "check": _check}


def main(argv: Sequence[str] | None = None) -> int:
    """Run one sub-command; a bad config or artifact ends with exit status 2 and a one-line message."""
    args = build_parser().parse_args(argv)
    try:
        if args.stage in TOOLS:
            return TOOLS[args.stage](args)
        logs.setup()
        _run_stage(args)
    except (ConfigError, ArtifactError) as err:
        print(f"policygradex {args.stage}: error: {err}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
