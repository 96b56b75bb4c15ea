"""Where the first-order model holds: its error against the fine-tuning budget, on real fine-tunes.

For one benchmark and seed, Snakemake builds theta* (``meta/policy.pt``) and every task's features in an empty
folder under ``--out``. Then, for each budget in ``--budgets`` (PPO steps; the budget of the workflow's
``finetune``), the first ``--subsets`` estimation subsets are really fine-tuned from theta* (the workflow's own
``full_training.finetune_delta``), and on each task's held-out samples the first-order prediction is compared
with the fine-tuned policy, as ``approx_error`` does it (every kind it reports: ``ppo_objective`` and
``log_prob_change`` are the headline ones, ``log_prob`` is normalised by |log pi|, whose size is arbitrary).
``step`` = ||delta|| / ||theta*|| says how far each fine-tune moved. Kind ``score`` compares, per task of the
subset, its score from ``estimate`` (theta* + dtheta_S) with its score under the fine-tuned parameters (the same
scoring function, as ``approx_error`` does it); the summary gives their Spearman per budget.

``--run FOLDER`` takes theta* and the features of a finished run instead (a ``claims.py`` seed folder), with the
settings of this checkout's ``--preset`` (which must be the ones the run was made with). ``--repeat`` fine-tunes
each subset a second time with another seed: how well the real fine-tunes agree with each other (cosine of the
two deltas, Spearman of their scores) bounds how well any estimate can agree with one of them.

Writes first_order.csv (one row per budget, subset, task and kind), first_order.json (median error per budget
and kind, median step) and first_order.png (median error against the budget and against the step), and prints
the table.

    python -m benchmarks.first_order                                   # pointmass, seed 0
    python -m benchmarks.first_order --benchmark ant --preset evidence --subsets 4
    python -m benchmarks.first_order --benchmark metaworld --preset workstation --seed 10 --subsets 4 \
        --budgets 2560 10240 50000 --run benchmarks/out/mt10/reported/seed-10
"""

from __future__ import annotations

import json
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import pandas as pd
from scipy.stats import spearmanr

from benchmarks.common import benchmark_config, commit, load_bench, markdown_table, run_workflow, save, script_parser
from policygradex.config import task_names
from policygradex.estimator import SubsetEstimator, chunk_subsets, log_prob_errors
from policygradex.training import finetune_delta


def build_features(benchmark: str, preset: str, seed: int, overrides: list[str], workdir: Path, cores: int) -> dict:
    """theta* and the features of every task, built by the workflow in ``workdir``; the validated benchmark."""
    config = benchmark_config(benchmark, preset, overrides, seed)
    validated = load_bench(benchmark, preset, overrides, seed)
    targets = [f"results/{benchmark}/features/{task}.npz" for task in task_names(validated)]
    run_workflow(workdir, config, targets, cores)
    return validated


def sweep(bench: dict, workdir: Path, name: str, budgets: list[int], count: int, repeat: bool) -> pd.DataFrame:
    """One row per budget, subset, task and kind (module docstring); with ``repeat``, each subset is fine-tuned a
    second time with another seed, and rows of kind ``score_repeat`` compare the two fine-tunes' scores (how far
    the real fine-tune itself reproduces: the ceiling of the score Spearman), ``repeat_cosine`` their deltas."""
    results = workdir / "results" / name
    features = [results / "features" / f"{task}.npz" for task in task_names(bench)]
    estimator = SubsetEstimator(bench, results / "meta" / "policy.pt", features)
    theta_norm = float(estimator.theta_flat.norm())
    rows = []
    for budget in budgets:
        for subset_id, subset in chunk_subsets(bench, count, 1, 0).items():
            seed = bench["seed"] + 100_000 + subset_id
            delta = estimator.as_tensor(finetune_delta(estimator, subset, seed, total_steps=budget))
            common = {"budget": budget, "subset_id": subset_id, "step": float(delta.norm()) / theta_norm}
            scores = {"score": (estimator.estimate(subset), estimator.scores(subset, delta))}
            if repeat:
                again = estimator.as_tensor(finetune_delta(estimator, subset, seed + 1_000_000, total_steps=budget))
                common["repeat_cosine"] = float(delta @ again / (delta.norm() * again.norm()))
                scores["score_repeat"] = (scores["score"][1], estimator.scores(subset, again))
            for task in subset:
                name_of = {**common, "task": estimator.names[task]}
                for kind, (first, second) in scores.items():
                    error = abs(first[task] - second[task]) / max(abs(second[task]), 1e-12)
                    rows.append({**name_of, "kind": kind, "predicted": first[task], "actual": second[task],
                                 "rel_error": error})  # fmt: skip
                for kind, (predicted, real, error) in log_prob_errors(estimator, task, delta).items():
                    rows.append({**name_of, "kind": kind, "predicted": predicted, "actual": real, "rel_error": error})
            print(f"budget {budget} subset {subset_id}: step {common['step']:.4f}", flush=True)
    return pd.DataFrame(rows)


def summarise(rows: pd.DataFrame) -> pd.DataFrame:
    """Per budget: the median step, each kind's median relative error, and the Spearman of estimated vs real
    scores over the (subset, task) pairs."""
    errors = rows[~rows["kind"].isin(["score", "score_repeat"])]
    table = errors.pivot_table(index="budget", columns="kind", values="rel_error", aggfunc="median")
    table.columns = [f"median_rel_error_{kind}" for kind in table.columns]
    table.insert(0, "median_step", rows.groupby("budget")["step"].median())
    for kind in ("score", "score_repeat"):
        pairs = rows[rows["kind"] == kind].groupby("budget")
        if len(pairs):
            table[f"{kind}_spearman"] = pairs.apply(lambda g: spearmanr(g["predicted"], g["actual"]).statistic)
    if "repeat_cosine" in rows:
        table["repeat_cosine_median"] = rows.groupby("budget")["repeat_cosine"].median()
    return table.reset_index()


def plot(summary: pd.DataFrame, path: Path, title: str) -> None:
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.8), sharey=True)
    for column in [c for c in summary.columns if c.startswith("median_rel_error_")]:  # score_spearman: the table
        label = column.removeprefix("median_rel_error_")
        axes[0].plot(summary["budget"], summary[column], "o-", label=label)
        axes[1].plot(summary["median_step"], summary[column], "o-", label=label)
    axes[0].set_xlabel("fine-tuning budget (PPO steps)")
    axes[1].set_xlabel("||delta|| / ||theta*|| (median)")
    axes[0].set_ylabel("median relative error")
    for ax in axes:
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.axhline(0.02, color="grey", linestyle=":", linewidth=1)  # the paper's "within 2%"
    axes[1].legend(fontsize=8)
    fig.suptitle(title)
    fig.savefig(path, dpi=110, bbox_inches="tight")
    plt.close(fig)


def main() -> None:
    parser = script_parser(
        __doc__,
        "first_order",
        table="first_order.json",
        show=lambda path: markdown_table(pd.DataFrame(json.loads(path.read_text())["summary"])),
        label=True,
    )
    parser.add_argument("--benchmark", default="pointmass")
    parser.add_argument("--preset", default="smoke", help="config preset (benchmarks without presets ignore it)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--budgets", type=int, nargs="+", default=[1000, 3000, 10000, 50000])
    parser.add_argument("--subsets", type=int, default=8, help="estimation subsets fine-tuned per budget")
    parser.add_argument("--set", nargs="*", default=[], metavar="SECTION.KEY=VALUE", help="config overrides")
    parser.add_argument("--cores", type=int, default=2)
    parser.add_argument("--run", type=Path, help="a finished run folder whose theta* and features to use")
    parser.add_argument("--repeat", action="store_true", help="fine-tune each subset twice (the real side's noise)")
    args = parser.parse_args()

    args.commit = args.commit or commit()
    args.out.mkdir(parents=True, exist_ok=True)
    if args.run is not None:
        workdir, bench = args.run, load_bench(args.benchmark, args.preset, args.set, args.seed)
    else:
        workdir = args.out / f"{args.benchmark}-seed-{args.seed}"
        bench = build_features(args.benchmark, args.preset, args.seed, args.set, workdir, args.cores)
    rows = sweep(bench, workdir, args.benchmark, args.budgets, args.subsets, args.repeat)
    summary = summarise(rows)
    info = {"benchmark": args.benchmark, "preset": args.preset, "seed": args.seed, "commit": args.commit,
            "subsets": args.subsets, "overrides": " ".join(args.set), "run": str(args.run or workdir)}  # fmt: skip
    save(
        rows.assign(commit=args.commit, seed=args.seed),
        args.out,
        "first_order",
        {**info, "summary": summary.to_dict("records")},
    )
    plot(summary, args.out / "first_order.png", f"First-order error, {args.benchmark} seed {args.seed}")
    print(markdown_table(summary))


if __name__ == "__main__":
    main()
