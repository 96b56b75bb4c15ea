"""The stage contract: what each stage of the workflow reads, writes and is told, declared once.

A stage is one name everywhere: its module (``policygradex/stages/<name>.py``, an adapter whose
``run(bench, **arguments)`` reads the inputs, calls the library and writes the outputs), its ``policygradex
<name>`` sub-command, its Snakemake rule (in ``workflow/rules/<name>.smk``), and its
log file. Each :class:`Stage` below lists

- ``sections``: the config sections it reads besides the shared keys (:data:`policygradex.config.SHARED_KEYS`),
  or single keys of a section (``estimate.score``).
  The Snakemake rules pass exactly that view of the benchmark's settings (``--settings``), so changing, say,
  ``cluster.k`` reruns the clustering and what follows, not the meta-training;
- ``inputs``, ``outputs`` and ``options``: its command-line arguments. Each :class:`Argument`'s ``name`` is both
  the ``--option`` (with dashes) and the keyword of the stage's ``run()``.

The command line (:mod:`policygradex.cli`) and the settings view (:func:`policygradex.config.stage_view`) are
derived from this table, so a stage cannot take an argument its ``run()`` does not, nor read a section its rule
does not pass. This module imports nothing heavy: the Snakefile reads it through the config module.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

#: The trainers' settings sections; a stage that trains lists both, and the settings view keeps only the
#: benchmark's own trainer's.
TRAINERS = ("ppo", "sac")
#: What a stage that builds a learner reads: its trainer, the shared objective and the vector environment.
LEARNER = (*TRAINERS, "policy_gradient", "vec_env")


@dataclass(frozen=True)
class Argument:
    """One command-line argument of a stage: ``--<name>`` (dashes for underscores), ``run(<name>=...)``."""

    name: str
    help: str
    many: bool = False  # one or more values (a list; zero or more when not required)
    required: bool = True
    type: type = str
    default: Any = None

    @property
    def flag(self) -> str:
        """The command-line option: ``--`` and the name with dashes."""
        return "--" + self.name.replace("_", "-")


@dataclass(frozen=True)
class Stage:
    """One stage: its settings sections and its arguments (see the module docstring)."""

    name: str
    summary: str  # one line for `policygradex --help`: what it does -> what it writes
    sections: tuple[str, ...] = ()
    inputs: tuple[Argument, ...] = ()
    outputs: tuple[Argument, ...] = ()
    options: tuple[Argument, ...] = ()

    @property
    def arguments(self) -> tuple[Argument, ...]:
        """Every argument: inputs, outputs, options."""
        return self.inputs + self.outputs + self.options


_TIMING = Argument("timing", "JSON file to write the stage's compute seconds to (read by speedup)", required=False)
_POLICY = Argument("policy", "meta-policy theta* (meta/policy.pt)")
_FEATURES = Argument("features", "every task's features/{task}.npz, in config order", many=True)
_CLUSTERS = Argument("clusters", "clusters.csv (task,group[,planted])")
_GROUP_POLICIES = Argument("group_policies", "groups/{group}/policy.pt for group 0, 1, ...", many=True)
_ESTIMATE_CHUNKS = Argument("estimate_chunks", "every subsets/chunk_{c}.csv", many=True)
_QUALITY = Argument("quality", "cluster_quality.json (its k: the chosen number of groups)")
_CHUNK = Argument("chunk", "chunk index 0..num_chunks-1", type=int)

STAGES: tuple[Stage, ...] = (
    Stage(
        "meta_train",
        "1. multitask RL (the config's trainer: PPO or SAC) on all tasks -> meta/policy.pt",
        sections=(*LEARNER, "checkpoint", "meta_train"),
        outputs=(
            Argument("output", "policy file to write (meta/policy.pt)"),
            Argument("log_csv", "training curve to write (meta/train_log.csv)"),
        ),
    ),
    Stage(
        "features",
        "2. projected per-sample gradients of one task -> features/{task}.npz",
        sections=("policy_gradient", "features"),
        inputs=(_POLICY,),
        outputs=(Argument("output", "features/{task}.npz to write"), _TIMING),
        options=(Argument("task", "task name"),),
    ),
    Stage(
        "estimate",
        "3. first-order estimates for one chunk of subsets -> subsets/chunk_{c}.csv",
        sections=("policy_gradient", "estimate"),
        inputs=(_POLICY, _FEATURES),
        outputs=(Argument("output", "subsets/chunk_{c}.csv to write"), _TIMING),
        options=(_CHUNK,),
    ),
    Stage(
        "affinity",
        "4. task-affinity matrix from the subset scores -> affinity.csv",
        inputs=(Argument("chunks", "every subsets/chunk_{c}.csv", many=True),),
        outputs=(Argument("output", "affinity.csv to write"),),
    ),
    Stage(
        "cluster",
        "5. k groups of high affinity and the trust verdict -> clusters.csv, cluster_quality.json",
        sections=("cluster", "estimate.score"),
        inputs=(
            Argument("affinity", "affinity.csv"),
            Argument("chunks", "every subsets/chunk_{c}.csv (split-half reliability)", many=True),
            Argument("features", "every task's features npz (gradient consistency)", many=True),
        ),
        outputs=(
            Argument("output", "clusters.csv to write (task,group[,planted])"),
            Argument("quality", "cluster_quality.json to write (k, reliability, verdict, ...)"),
        ),
    ),
    Stage(
        "finetune",
        "6. fine-tune theta* on one group's tasks -> groups/{group}/policy.pt",
        sections=(*LEARNER, "checkpoint", "finetune"),
        inputs=(_POLICY, _CLUSTERS),
        outputs=(
            Argument("output", "groups/{group}/policy.pt to write"),
            Argument("log_csv", "training curve to write"),
        ),
        options=(
            Argument("group", "the group's number in clusters.csv", type=int),
            Argument(
                "total_steps", "training steps (default: the config's finetune.total_steps)", required=False, type=int
            ),
        ),
    ),
    Stage(
        "evaluate",
        "7. returns and success of the group policies and theta* -> evaluation.csv",
        sections=("evaluate",),
        inputs=(
            Argument("clusters", "clusters.csv: which policy plays which task"),
            _GROUP_POLICIES,
            Argument("policy", "meta-policy theta*: also evaluated on every task, as method 'single'", required=False),
        ),
        outputs=(Argument("output", "evaluation.csv to write"),),
        options=(
            Argument("method", "method name of the group policies' rows", required=False, default="policygradex"),
        ),
    ),
    Stage(
        "report",
        "8. plots and an HTML summary -> report.html",
        inputs=(
            Argument("affinity", "affinity.csv"),
            _CLUSTERS,
            Argument("quality", "cluster_quality.json"),
            Argument("evaluation", "evaluation.csv"),
            Argument("hessian", "hessian.csv (its plot is read from the plots folder)"),
            _FEATURES,
            Argument(
                "train_logs",
                "meta/train_log.csv, then groups/{group}/train_log.csv in order",
                many=True,
                required=False,
                default=[],
            ),
        ),
        outputs=(Argument("plots_dir", "folder of the plots"), Argument("output", "report.html to write")),
        options=(Argument("title", "what the report is about (the rules pass the benchmark's name)", required=False),),
    ),
    Stage(
        "full_training",
        "ground truth: real fine-tuning (the trainer) of one chunk of subsets -> full_training/chunk_{c}.csv",
        # the subsets and how their fine-tuned tasks are scored; no setting of the estimate's step or fit
        sections=(
            *LEARNER,
            "estimate.subset_size",
            "estimate.num_subsets",
            "estimate.score",
            "estimate.score_episodes",
            "finetune",
            "full_training",
            "approx_error",
        ),
        inputs=(_POLICY, _FEATURES),
        outputs=(
            Argument("output", "scores CSV to write (as estimate's)"),
            Argument("deltas", "npz of theta_finetuned - theta* per subset, to write"),
            _TIMING,
        ),
        options=(_CHUNK,),
    ),
    Stage(
        "approx_error",
        "first-order error against real fine-tuning -> approx_error.csv/.json",
        sections=("policy_gradient", "estimate", "approx_error"),
        inputs=(
            _POLICY,
            _FEATURES,
            _ESTIMATE_CHUNKS,
            Argument("full_chunks", "every full_training/chunk_{c}.csv", many=True),
            Argument("full_deltas", "every full_training/chunk_{c}.npz", many=True),
        ),
        outputs=(
            Argument("output", "approx_error.csv to write"),
            Argument("summary", "approx_error.json to write"),
        ),
    ),
    Stage(
        "speedup",
        "seconds of estimation vs full training, agreement -> speedup.json",
        sections=("estimate", "finetune", "cluster", "full_training", "approx_error"),
        inputs=(
            Argument("feature_timings", "every features/{task}.timing.json", many=True),
            Argument("estimate_timings", "every subsets/chunk_{c}.timing.json", many=True),
            Argument("full_timings", "every full_training/chunk_{c}.timing.json", many=True),
            Argument("meta_log", "meta/train_log.csv"),
            Argument(
                "estimate_chunks",
                "every subsets/chunk_{c}.csv (the estimated affinity over the subsets full training fine-tuned)",
                many=True,
            ),
            Argument("affinity_full", "affinity_full.csv"),
            Argument("quality", "cluster_quality.json (the k both affinities are clustered at)"),
        ),
        outputs=(Argument("output", "speedup.json to write"),),
    ),
    Stage(
        "baselines",
        "a baseline grouping -> baselines/{baseline}/clusters.csv",
        sections=("cluster", "compare", "full_training"),
        inputs=(
            _QUALITY,
            Argument("features", "features npz (grad_similarity)", many=True, required=False, default=[]),
            Argument("affinity_full", "affinity_full.csv (full_training)", required=False),
        ),
        outputs=(Argument("output", "baselines/{baseline}/clusters.csv to write"),),
        options=(
            Argument(
                "baseline",
                "single_finetuned, per_task, per_task_equal_budget, random_<r>, grad_similarity, full_training",
            ),
        ),
    ),
    Stage(
        "compare",
        "grouping quality of every method -> comparison.csv",
        sections=("cluster", "compare", "finetune"),
        inputs=(Argument("evaluations", "evaluation.csv and baselines/*/evaluation.csv", many=True),),
        outputs=(Argument("output", "comparison.csv to write"), Argument("plot", "comparison.png to write")),
    ),
    Stage(
        "hessian",
        "Hessian trace, observed gap and bound of every policy -> hessian.csv",
        sections=(*LEARNER, "hessian"),
        inputs=(_POLICY, _CLUSTERS, _GROUP_POLICIES),
        outputs=(Argument("output", "hessian.csv to write"), Argument("plot", "hessian.png to write")),
    ),
)

#: Each stage by name.
BY_NAME: dict[str, Stage] = {stage.name: stage for stage in STAGES}
