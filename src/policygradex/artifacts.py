"""What every artifact under ``results/{benchmark}/`` holds: the stage that writes it, and each column or key with
its meaning and unit.

One table serves ``policygradex describe PATH`` (a file's fields as found in it, each with its meaning, and any
field this table does not know) and ``policygradex describe --list`` (the table itself, as markdown, for the
README). A test builds the tiny workflow and checks that every file it writes is described here, field by field.
Standard library only, so that describing a file is instant.
"""

from __future__ import annotations

import csv
import difflib
import json
import re
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

#: What a run builds for a benchmark (``make demo``), the evidence of the method's claims (``make evidence``, and
#: a bare ``snakemake``), and what really fine-tuning every subset adds (``full_training.enabled``). The Snakefile
#: and the Makefile (``policygradex targets``) read these lists; nothing else keeps a copy.
CORE_TARGETS = ["meta/policy.pt", "affinity.csv", "clusters.csv", "evaluation.csv", "hessian.csv", "report.html"]
EVIDENCE_TARGETS = ["approx_error.json", "comparison.csv"]
FULL_TRAINING_TARGETS = ["affinity_full.csv", "speedup.json"]

#: The baseline groupings of the comparison: these, ``random_<r>`` for r < compare.random_seeds,
#: ``per_task_equal_budget`` when compare.per_task_equal_budget, and ``full_training`` (the affinity of really
#: fine-tuned subsets) when full_training.enabled.
FIXED_BASELINES = ["single_finetuned", "per_task", "grad_similarity"]
#: Every name a baseline can have (the Snakefile's {baseline} wildcard).
BASELINE_PATTERN = "|".join([*FIXED_BASELINES, "per_task_equal_budget", "full_training", r"random_\d+"])


def targets(name: str, full_training: bool, evidence: bool) -> list[str]:
    """The paths under results/ that build benchmark ``name``: its core, with ``evidence`` the evidence too
    (and full training's outputs when ``full_training``: it is enabled for the benchmark)."""
    files = list(CORE_TARGETS)
    if evidence:
        files += EVIDENCE_TARGETS + (FULL_TRAINING_TARGETS if full_training else [])
    return [f"results/{name}/{f}" for f in files]


@dataclass(frozen=True)
class Artifact:
    """One kind of file under results/{benchmark}/: where it lives, which stage writes it, what it and its fields
    mean."""

    pattern: str  # path under results/{benchmark}/; a {placeholder} stands for one path component
    stage: str  # the rule (and `policygradex` sub-command) that writes it
    what: str
    fields: dict[str, str] = field(default_factory=dict)  # column / key -> meaning (unit)

    def matches(self, relative: str) -> bool:
        """Whether ``relative`` (a path under results/{benchmark}/) is an instance of this artifact's pattern."""
        return re.fullmatch(_regex(self.pattern), relative) is not None


_TRAIN_LOG = {
    "steps": "environment steps so far, summed over the tasks' environments",
    "seconds": "wall-clock seconds since training started (resumed runs included)",
    "mean_return": "mean undiscounted return of the episodes that ended since the previous row",
    "success_rate": "share of those episodes that ended in success (0 to 1; 0 where the env has no success)",
}
_POLICY = {
    "state_dict": "the SB3 policy's parameters (actor, critic, log std): load with policygradex.policy.load_policy",
    "meta": "steps (trained), tasks (names, config order), last_batch (the training set at the end of training:"
    " obs, actions, advantages, log pi of the behaviour policy, episodes; read by the hessian stage)",
}
_SUBSET_SCORES = {
    "subset_id": "index of the subset in the seeded draw (0 .. num_subsets-1)",
    "subset": "the subset's tasks, joined by ';'",
    "task": "the scored task (one row per task of the subset)",
    "score": "the task's score under theta* + delta-theta_S (estimate.score: mean return, or the clipped PPO"
    " surrogate gain over theta*)",
}
_CLUSTERS = {
    "task": "task name, config order",
    "group": "group id, 0 .. k-1 (the finetune fan-out: groups/{group}/)",
    "planted": "the task's planted label from the config (only when every task has one)",
}
_EVALUATION = {
    "method": "policygradex (the task's group policy) or single (theta* on every task)",
    "task": "task name",
    "group": "the task's group (policygradex); 0 for single (its one policy)",
    "mean_return": "mean undiscounted return over the episodes",
    "success_rate": "share of successful episodes (0 to 1)",
    "episodes": "evaluation episodes",
}
_TIMING = {
    "stage": "the stage that ran",
    "seconds": "wall-clock seconds of the stage's work (without Python start-up)",
    "cpu_seconds": "CPU seconds of the stage's process and its finished children (read by speedup)",
    "task": "the task (features)",
    "chunk": "the chunk (estimate, full_training)",
    "subsets": "subsets in the chunk",
    "env_steps": "environment steps the job took: feature rollouts, scoring rollouts, fine-tuning (read by speedup)",
    "step_factors": "estimate with step: line_search: how many subsets chose each multiple of the step",
}

ARTIFACTS: tuple[Artifact, ...] = (
    Artifact("meta/policy.pt", "meta_train", "theta*: the multitask policy trained on all n tasks", _POLICY),
    Artifact("meta/train_log.csv", "meta_train", "meta-training curve", _TRAIN_LOG),
    Artifact(
        "features/{task}.npz",
        "features",
        "rollouts of theta* on one task and their projected per-sample policy gradients (N samples, d dims)",
        {
            "task": "task name",
            "obs": "observations (N, obs_dim)",
            "actions": "the policy's actions before clipping to the bounds: (N, act_dim) for Box actions, (N,) of"
            " action indices for Discrete; log pi is of these",
            "log_prob": "log pi*(a|s) at theta* (N,; nats)",
            "advantage": "GAE advantages, standardised per task (N,; unitless)",
            "episode": "index of the sample's episode (N,)",
            "heldout": "True for the held-out episodes: scoring and the first-order check use them, the fit the rest",
            "projected_grad": "R^T d log pi(a|s) / d theta over the actor's parameters (N, d); R is the projection"
            " (Rademacher +-1/sqrt(d), or per layer a Kronecker product of two) drawn from projection_seed",
            "gradient_consistency": "cosine of the task's policy gradients on the fitted and held-out halves (-1 to"
            " 1; near 0: the gradients are noise at this many episodes)",
            "episode_return": "undiscounted return of each episode (episodes,)",
            "episode_success": "whether each episode succeeded (episodes,)",
            "random_return": "undiscounted return of each episode of uniformly random actions on the task (the"
            " floor theta* should beat; 8 episodes)",
            "random_success": "whether each random-action episode succeeded",
            "discrete_actions": "True when the action space is Discrete (a categorical policy)",
            "action_mode_share": "with Discrete actions, the share of steps taking the most frequent action (near 1:"
            " the policy has collapsed onto one action); NaN otherwise",
            "projection_seed": "seed of the projection matrix P (the benchmark's seed)",
            "projection": "features.projection: dense (one Rademacher matrix) or kronecker (one per layer)",
            "projection_dim": "features.projection_dim, the d asked for (kronecker may give fewer columns)",
            "num_params": "D, the number of actor parameters",
            "theta_norm": "||theta*|| over the actor's parameters (sets the estimate's step: step_size x this)",
        },
    ),
    Artifact("subsets/chunk_{chunk}.csv", "estimate", "estimated scores of one chunk of subsets", _SUBSET_SCORES),
    Artifact(
        "affinity.csv",
        "affinity",
        "T[i, j] = mean score of task i (row) over the subsets holding i and j (column j); the diagonal averages"
        " every subset holding i; in the score's unit",
    ),
    Artifact("clusters.csv", "cluster", "the groups (the clustering checkpoint)", _CLUSTERS),
    Artifact(
        "cluster_quality.json",
        "cluster",
        "how the groups were chosen and whether to trust them (docs/trust.md)",
        {
            "k_requested": "cluster.k from the config (an integer or 'auto')",
            "method": "cluster.method (spectral or sdp)",
            "num_groups": "groups found",
            "k": "the k used",
            "k_selection": "how k was chosen: config, or auto (the largest k about as stable as the most stable)",
            "k_scores": "per candidate k: z against the null, held-out p-value, split-half stability (ARI; what"
            " auto reads), eigengap",
            "also_supported": "other k that pass the same checks (another level of the structure)",
            "reliability": "split halves of the subsets: splits, half_subsets, pair_coverage, row_spearman_half,"
            " row_spearman (Spearman-Brown corrected to all subsets), stability_by_k, stability (mean ARI)",
            "p_value": "permutation p-value of the mean within-group similarity, each half's groups judged on the"
            " other half",
            "permutation": "that test: statistic, null_mean, null_sd, null_q95, z, permutations, p_value",
            "verdict": "structure or no_reliable_structure",
            "reason": "the checks behind the verdict, with their values and thresholds",
            "gradient_consistency": "median over the tasks of their features' gradient consistency (null for"
            " features files that lack it)",
            "diagnoses": "each measured cause that can leave the affinity without information (cause, detail, fix;"
            " src/policygradex/diagnosis.py): identical_subsets, constant_scores, collapsed_policy,"
            " no_better_than_random, noisy_gradients",
            "thresholds": "cluster.trust settings the verdict used",
            "ari": "adjusted Rand index against the planted groups (-0.5 to 1; only with planted labels)",
            "nmi": "normalised mutual information against the planted groups (0 to 1; only with planted labels)",
        },
    ),
    Artifact(
        "groups/{group}/policy.pt", "finetune", "the group's policy, fine-tuned from theta* on its tasks", _POLICY
    ),
    Artifact("groups/{group}/train_log.csv", "finetune", "the group's fine-tuning curve", _TRAIN_LOG),
    Artifact(
        "evaluation.csv",
        "evaluate",
        "deterministic evaluation of each task under its group's policy and under theta* alone",
        _EVALUATION,
    ),
    Artifact(
        "hessian.csv",
        "hessian",
        "Hessian trace of every policy's loss on its own training set against its generalization gap",
        {
            "method": "single (theta*) or policygradex (a group policy)",
            "group": "the group (policygradex rows)",
            "trace": "Hutchinson estimate of Tr(H) of the per-sample loss on the training set",
            "trace_stderr": "standard error of that estimate",
            "num_probes": "Rademacher probes used",
            "train_loss": "loss on the policy's last training batch",
            "test_loss": "loss on fresh rollouts of the behaviour policy",
            "observed_gap": "test_loss - train_loss",
            "bound": "sqrt(distance^2 x trace / num_episodes), the bound with C = 1",
            "distance": "||theta - theta_0|| (theta_0: where the policy's training started)",
            "num_episodes": "N: independent episodes in the training set",
            "num_samples": "samples in the training set",
            "non_vacuous": "bound below the loss scale",
            "bound_holds": "observed_gap <= bound",
        },
    ),
    Artifact("plots/{name}.png", "report", "figures of the report (hessian.png: hessian, comparison.png: compare)"),
    Artifact("report.html", "report", "the self-contained report: verdict, affinity, clusters, evaluation, plots"),
    Artifact("report.zip", "snakemake --report", "Snakemake's browsable record of the run (make demo writes it)"),
    Artifact(
        "full_training/chunk_{chunk}.csv",
        "full_training",
        "scores after real fine-tuning of a chunk of subsets",
        _SUBSET_SCORES,
    ),
    Artifact(
        "full_training/chunk_{chunk}.npz",
        "full_training",
        "the parameter change of each really fine-tuned subset",
        {"subset_id": "the subsets (rows)", "delta": "theta_finetuned - theta* over the actor's parameters (rows, D)"},
    ),
    Artifact(
        "affinity_full.csv",
        "affinity_full",
        "the affinity from really fine-tuned subsets (as affinity.csv; full_training.num_subsets of them)",
    ),
    Artifact(
        "speedup.json",
        "speedup",
        "cost of the estimated affinity against full training on the same subsets, and their agreement",
        {
            "num_tasks": "n",
            "num_subsets": "estimate.num_subsets",
            "subsets_compared": "the first subsets both paths scored (full_training.num_subsets)",
            "finetune_steps_per_subset": "finetune.total_steps",
            "meta_train_seconds": "wall-clock seconds of meta-training (shared by both paths, not counted)",
            "estimation_cpu_seconds": "CPU seconds of features, estimate (pro-rated to the subsets compared),"
            " estimate_all_subsets and total",
            "full_training_cpu_seconds": "CPU seconds of full_training",
            "speedup": "full_training_cpu_seconds / estimation_cpu_seconds.total (the headline)",
            "estimation_seconds": "as estimation_cpu_seconds, wall-clock",
            "full_training_seconds": "wall-clock seconds of full_training",
            "speedup_wall": "the wall-clock ratio (inflated or deflated by jobs sharing the machine)",
            "estimation_env_steps": "environment steps of features (rollouts of theta*) and estimate (scoring"
            " rollouts; 0 with the surrogate), pro-rated as the seconds",
            "full_training_env_steps": "environment steps of full_training: each fine-tune's and its scoring",
            "speedup_env_steps": "full_training_env_steps / estimation_env_steps.total",
            "clusters_ari_estimated_vs_full": "ARI between the clusterings of both affinities at k",
            "spearman": "Spearman of both affinities over all n^2 entries (also rewards each task's scale)",
            "spearman_rowwise_mean": "mean over tasks of the Spearman of their rows (each task's own ranking)",
        },
    ),
    Artifact(
        "approx_error.csv",
        "approx_error",
        "first-order prediction against real fine-tuning, per validation subset, task and kind",
        {
            "subset_id": "the validation subset",
            "subset": "its tasks",
            "task": "the task",
            "kind": "ppo_objective, log_prob_change (headline), log_prob (secondary) or score",
            "estimated": "the first-order prediction",
            "actual": "the value after real fine-tuning",
            "rel_error": "|estimated - actual| relative to the kind's scale (see approx_error.py)",
        },
    ),
    Artifact(
        "approx_error.json",
        "approx_error",
        "the first-order error summarised per kind",
        {
            "validation_subsets": "subsets compared",
            "ppo_objective": "median_rel_error, mean_rel_error, rows",
            "log_prob_change": "median_rel_error, mean_rel_error, rows",
            "log_prob": "median_rel_error, mean_rel_error, rows",
            "score": "median_rel_error, mean_rel_error, rows, spearman (estimated vs real scores)",
        },
    ),
    Artifact(
        "baselines/{baseline}/clusters.csv",
        "baselines",
        "a baseline's groups (same columns as clusters.csv)",
        {k: v for k, v in _CLUSTERS.items() if k != "planted"},
    ),  # fmt: skip
    Artifact(
        "baselines/{baseline}/groups/{group}/policy.pt", "finetune_baseline", "a baseline group's policy", _POLICY
    ),
    Artifact(
        "baselines/{baseline}/groups/{group}/train_log.csv", "finetune_baseline", "its fine-tuning curve", _TRAIN_LOG
    ),  # fmt: skip
    Artifact(
        "baselines/{baseline}/evaluation.csv",
        "evaluate_baseline",
        "a baseline's evaluation (as evaluation.csv, method = the baseline)",
        _EVALUATION | {"method": "the baseline", "group": "the task's group"},
    ),
    Artifact(
        "comparison.csv",
        "compare",
        "grouping quality: every method's mean over tasks, random partitions pooled",
        {
            "method": "single, single_finetuned, per_task, per_task_equal_budget, random, grad_similarity,"
            " full_training, policygradex",
            "k": "groups (policies) of the method",
            "mean_return": "mean over tasks of the evaluation's mean return",
            "mean_success": "mean over tasks of the success rate",
            "vs_single_pct": "100 x (mean_return - single's) / |single's|",
            "return_std": "standard deviation over runs (random partitions), else 0",
            "runs": "runs pooled",
        },
    ),
    Artifact("timing/{stage}/{job}.json", "features, estimate, full_training", "a stage job's seconds", _TIMING),
    Artifact(
        "provenance.json",
        "snakemake (onstart)",
        "what made the folder, one record per run that built in it, oldest first (src/policygradex/provenance.py)",
        {
            "runs": "records of started, commit, dirty (the package, workflow or config.yaml differed from the"
            " commit, or the package was imported from outside the checkout), package_source (where the package"
            " was imported from), settings_sha256, settings (the benchmark's resolved settings), packages"
            " (versions) and command"
        },
    ),
)


def fields_of(pattern: str) -> list[str]:
    """The columns or keys of the artifact ``pattern``, in the order its writer writes them."""
    return list(next(a for a in ARTIFACTS if a.pattern == pattern).fields)


# The formats the stages write and read, from the table above (one definition for writer, reader and describe).
SUBSET_COLUMNS = fields_of("subsets/chunk_{chunk}.csv")
SUBSET_SEPARATOR = ";"
CLUSTER_COLUMNS = ["task", "group"]  # and "planted" when the config has planted labels
EVALUATION_COLUMNS = fields_of("evaluation.csv")
HESSIAN_COLUMNS = fields_of("hessian.csv")
COMPARISON_COLUMNS = fields_of("comparison.csv")
ERROR_COLUMNS = fields_of("approx_error.csv")
LOG_COLUMNS = fields_of("meta/train_log.csv")
FULL_KEYS = fields_of("full_training/chunk_{chunk}.npz")
#: The arrays every features file must hold (the others are diagnostics that older files may lack).
FEATURE_KEYS = ["task", "obs", "actions", "log_prob", "advantage", "episode", "heldout", "projected_grad"]


def _regex(pattern: str) -> str:
    return re.sub(r"\\\{\w+\\\}", "[^/]+", re.escape(pattern))


def unknown_path_regex() -> str:
    """A regex for the paths under results/{benchmark}/ that are no artifact (for the workflow's catch-all)."""
    known = "|".join(_regex(a.pattern) for a in ARTIFACTS)
    return f"(?!(?:{known})$).+"


def unknown_target_message(benchmark: str, path: str, targets: list[str] | None, benchmarks: list[str]) -> str:
    """Why results/<benchmark>/<path> cannot be built, with the closest artifact names and the valid targets."""
    if targets is None:
        return f"results/{benchmark}/{path}: unknown benchmark '{benchmark}'; config.benchmarks has " + ", ".join(
            benchmarks
        )
    close = difflib.get_close_matches(path, [a.pattern for a in ARTIFACTS], n=3, cutoff=0.6)
    hint = f" Did you mean {' or '.join(close)}?" if close else ""
    return (
        f"results/{benchmark}/{path} is not an artifact of this workflow.{hint} The targets of {benchmark}:\n  "
        + "\n  ".join(targets)
        + "\n(policygradex describe --list: every artifact, intermediate ones too)"
    )


def find(relative: str) -> Artifact | None:
    """The artifact whose pattern matches ``relative`` (a path under results/{benchmark}/), or None."""
    return next((a for a in ARTIFACTS if a.matches(relative)), None)


def relative_path(path: Path) -> str:
    """``path`` below its ``results/{benchmark}/`` folder (the whole path when it is not under one)."""
    parts = path.as_posix().split("/")
    if "results" in parts:
        parts = parts[len(parts) - parts[::-1].index("results") + 1 :]
    return "/".join(parts)


def found_fields(path: Path) -> dict[str, str]:
    """Field -> what the file holds there (shape and dtype, or the value's type), as found in the file."""
    suffix = path.suffix
    if suffix == ".npz":
        with zipfile.ZipFile(path) as archive:  # the npy headers, without numpy
            return {name[: -len(".npy")]: _npy_header(archive, name) for name in archive.namelist()}
    if suffix == ".csv":
        with open(path, newline="") as f:
            header = next(csv.reader(f), [])
        return {name: "column" for name in header if name}
    if suffix == ".json":
        data = json.loads(path.read_text())
        return {key: type(value).__name__ for key, value in data.items()} if isinstance(data, dict) else {}
    return {}  # policy.pt (its keys need torch), png, html: described, not read


def _npy_header(archive: zipfile.ZipFile, name: str) -> str:
    with archive.open(name) as f:
        head = f.read(256).decode("latin1")
    shape = re.search(r"'shape': \(([^)]*)\)", head)
    dtype = re.search(r"'descr': '([^']*)'", head)
    return f"shape ({shape.group(1) if shape else '?'}), dtype {dtype.group(1) if dtype else '?'}"


def undescribed(path: Path) -> list[str]:
    """The fields of the file at ``path`` that its artifact entry does not describe (all, if none matches)."""
    artifact = find(relative_path(path))
    if artifact is None:
        return [relative_path(path)]
    return _undescribed(artifact, found_fields(path))


def _undescribed(artifact: Artifact, fields: dict[str, str]) -> list[str]:
    if artifact.pattern in ("affinity.csv", "affinity_full.csv"):
        return []  # columns are the tasks
    return [name for name in fields if name not in artifact.fields]


def describe(path: Path) -> str:
    """What the file at ``path`` is and holds: its stage, its purpose, and each field found with its meaning."""
    relative = relative_path(path)
    artifact = find(relative)
    if artifact is None:
        known = "\n".join(f"  {a.pattern}" for a in ARTIFACTS)
        return f"{path}: not a PolicyGradEx artifact (results/<benchmark>/...); the artifacts:\n{known}"
    lines = [f"{path}", f"  written by: {artifact.stage}", f"  {artifact.what}"]
    fields = found_fields(path) if path.exists() else {}
    for name, meaning in artifact.fields.items():
        found = fields.get(name)
        if found is None and fields:
            continue  # an optional field this file does not have
        lines.append(f"  {name}{f' [{found}]' if found and found != 'column' else ''}: {meaning}")
    lines += [f"  {name} [{fields[name]}]: (not described)" for name in _undescribed(artifact, fields)]
    return "\n".join(lines)


def markdown_table() -> str:
    """Every artifact as a markdown table: file, stage, what it holds and its fields."""
    rows = ["| file under `results/{benchmark}/` | stage | what it holds | fields |", "|---|---|---|---|"]
    for a in ARTIFACTS:
        names = ", ".join(f"`{name}`" for name in a.fields) or "(see what it holds)"
        rows.append(f"| `{a.pattern}` | `{a.stage}` | {a.what} | {names} |")
    return "\n".join(rows)
