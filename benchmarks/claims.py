"""The paper's claims on a benchmark, over several seeds: the whole workflow with its evidence, per seed.

For each seed, the default config.yaml with ``benchmarks.<benchmark>.seed`` replaced is run by Snakemake in its
own folder (benchmarks/out/claims/seed-<s>/) up to every evidence artifact. One row per seed:

- recovery of the planted groups: ARI and NMI of clusters.csv (cluster_quality.json), the ARI of gradient
  similarity's groups (and of real fine-tuning's, where ``full_training.enabled``), and the median gradient
  consistency of the features (how well the rollouts pin each task's policy gradient down, features.py);
- first-order error: median relative error of log pi (and of its change), Spearman of estimated vs real
  scores (approx_error.json);
- speedup of the estimated over the full-training affinity, their Spearman and clustering agreement
  (speedup.json);
- grouping quality: mean return of each method and PolicyGradEx's gain over each other method
  (comparison.csv); over the seeds, comparison_summary.csv holds each method's mean return and PolicyGradEx's
  mean gain over it, each with its 95% t-interval (``--table-comparison claims.csv`` prints it again).

Measures whose artifacts a benchmark does not make (speedup.json without ``full_training.enabled``) or that
``--targets`` leaves out are left out. Writes claims.csv, claims.json and claims.md (markdown table) and prints
the table.

    python -m benchmarks.claims --seeds 0 1 2
    python -m benchmarks.claims --benchmark ant --preset evidence --targets clusters.csv --out benchmarks/out/ant
    python -m benchmarks.claims --benchmark ant --preset evidence --targets clusters.csv --seeds 0 \
        --set policy.log_std_init=0 --out benchmarks/out/ant-std1      # one setting changed: an ablation
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import pandas as pd

from benchmarks.common import OUT, baseline_ari, benchmark_config, ci95, markdown_table, read_rows, run_workflow, save
from benchmarks.common import made_at as run_commit
from policygradex.provenance import read_runs

TARGETS = ["clusters.csv", "evaluation.csv", "hessian.csv", "approx_error.json", "speedup.json", "comparison.csv"]


def run_seed(
    benchmark: str, seed: int, out: Path, cores: int, preset: str, targets: list[str], overrides: list[str]
) -> dict:
    workdir = out / f"seed-{seed}"
    config = benchmark_config(benchmark, preset, overrides, seed)
    seconds = run_workflow(workdir, config, [f"results/{benchmark}/{t}" for t in targets], cores)
    return seed_row(benchmark, seed, out, seconds / 60)


def seed_row(benchmark: str, seed: int, out: Path, minutes: float, made_at: str | None = None) -> dict:
    """The measures of one seed's finished run folder (module docstring), made at commit ``made_at`` (by default
    the commit its provenance.json names; this checkout's for a folder made before runs recorded it)."""
    results = out / f"seed-{seed}" / "results" / benchmark
    row = {"seed": seed, "commit": made_at or run_commit(results), "started": run_started(results), "minutes": minutes}
    quality = json.loads((results / "cluster_quality.json").read_text())
    nan = float("nan")  # measures a benchmark has no data for (no planted groups, files of older commits)
    row |= {"ari": quality.get("ari", nan), "nmi": quality.get("nmi", nan), "k": quality["k"]}
    row["ari_grad_similarity"] = baseline_ari(results, "grad_similarity")
    if (results / "baselines" / "full_training").exists():  # real fine-tuning's groups (full_training.enabled)
        row["ari_full_training"] = baseline_ari(results, "full_training")
    row["verdict"] = quality["verdict"]
    row |= {"stability": quality["reliability"]["stability"], "p_value": quality["p_value"]}
    consistency = [float(np.load(f)["gradient_consistency"]) for f in sorted((results / "features").glob("*.npz"))]
    row["gradient_consistency_median"] = float(np.median(consistency))
    if (results / "approx_error.json").exists():
        approx = json.loads((results / "approx_error.json").read_text())
        row |= {
            "ppo_objective_median_rel_error": approx.get("ppo_objective", {}).get("median_rel_error", nan),
            "logp_change_median_rel_error": approx["log_prob_change"]["median_rel_error"],
            "logp_median_rel_error": approx["log_prob"]["median_rel_error"],
            "score_spearman": approx["score"].get("spearman", nan),
        }
    if (results / "speedup.json").exists():
        speed = json.loads((results / "speedup.json").read_text())
        row |= {
            "speedup": speed["speedup"],
            "affinity_spearman_rowwise": speed["spearman_rowwise_mean"],
            "affinity_spearman": speed["spearman"],
            "clusters_ari_vs_full": speed["clusters_ari_estimated_vs_full"],
        }
    if (results / "hessian.csv").exists():
        hessian = pd.read_csv(results / "hessian.csv")
        row |= {
            "hessian_policies": len(hessian),
            "hessian_gap_median": float(hessian["observed_gap"].median()),
            "hessian_bound_median": float(hessian["bound"].median()),
            "hessian_bound_holds_share": float(hessian["bound_holds"].mean()),
            "hessian_non_vacuous_share": float(hessian["non_vacuous"].mean()),
        }
    if (results / "comparison.csv").exists():
        table = pd.read_csv(results / "comparison.csv").set_index("method")
        comparison = table["mean_return"]
        row |= {f"return_{method}": value for method, value in comparison.items()}
        row |= {f"success_{method}": value for method, value in table["mean_success"].items()}
        for other in comparison.index.drop("policygradex"):
            row[f"gain_vs_{other}_pct"] = float(gain_pct(comparison["policygradex"], comparison[other]))
    return row


def run_started(results: Path) -> str:
    """When the first run that built a results folder started (provenance.json), ``unknown`` before runs recorded
    it: what lets a page check that its settings were fixed before its runs."""
    path = results / "provenance.json"
    return read_runs(path)[0]["started"] if path.exists() else "unknown"


def gain_pct(value: float | pd.Series, other: float | pd.Series) -> float | pd.Series:
    """PolicyGradEx's gain over another method in percent of the other's |mean return| (returns may be < 0)."""
    return 100 * (value - other) / abs(other)


def transposed(table: pd.DataFrame) -> pd.DataFrame:
    """claims.csv with one row per measure and one column per seed (and the mean, min and max): claims.md."""
    return table.set_index("seed").T.reset_index(names="measure")


def comparison_summary(table: pd.DataFrame) -> pd.DataFrame:
    """Per method of comparison.csv, over the seeds (rows of claims.csv): the mean return with its 95% interval,
    and PolicyGradEx's gain over the method: the mean of the per-seed gains in percent with their 95% interval,
    and in return (``difference``), which stays meaningful where a method's mean return is near 0."""
    seeds = table[pd.to_numeric(table["seed"], errors="coerce").notna()]
    rows = []
    for method in [c.removeprefix("return_") for c in seeds.columns if c.startswith("return_")]:
        returns = seeds[f"return_{method}"].astype(float)
        gains = gain_pct(seeds["return_policygradex"].astype(float), returns)
        differences = seeds["return_policygradex"].astype(float) - returns
        rows.append({
            "method": method,
            "seeds": " ".join(str(int(s)) for s in seeds["seed"].astype(float)),
            "commit": " ".join(sorted(set(seeds["commit"]))),
            "mean_return": returns.mean(),
            "return_ci95": ci95(returns),
            "gain_pct": gains.mean() if method != "policygradex" else float("nan"),
            "gain_ci95": ci95(gains) if method != "policygradex" else float("nan"),
            "difference": differences.mean() if method != "policygradex" else float("nan"),
            "difference_ci95": ci95(differences) if method != "policygradex" else float("nan"),
        })  # fmt: skip
    return pd.DataFrame(rows)


HESSIAN_TABLE = ["seed", "method", "group", "trace", "train_loss", "test_loss", "observed_gap", "bound",
                 "num_episodes", "num_samples", "non_vacuous", "bound_holds"]  # fmt: skip


def combine_hessian(out: Path, benchmark: str, seeds: list[int]) -> pd.DataFrame | None:
    """Every seed's hessian.csv in one frame (written to <out>/hessian.csv), or None where a seed has none."""
    paths = [out / f"seed-{seed}" / "results" / benchmark / "hessian.csv" for seed in seeds]
    if not all(path.exists() for path in paths):
        return None
    table = pd.concat(pd.read_csv(path).assign(seed=seed) for seed, path in zip(seeds, paths, strict=True))
    save(table, out, "hessian")
    return table


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--benchmark", default="pointmass")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--cores", type=int, default=2)
    parser.add_argument("--preset", default="smoke", help="config.preset (benchmarks without presets ignore it)")
    parser.add_argument("--targets", nargs="+", default=TARGETS, help="artifacts to build under results/<benchmark>/")
    parser.add_argument(
        "--set",
        dest="overrides",
        nargs="+",
        default=[],
        metavar="SECTION.KEY=VALUE",
        help="settings changed from config.yaml (after the preset), e.g. features.episodes=64 estimate.score=return",
    )
    parser.add_argument("--out", type=Path, default=OUT / "claims")
    parser.add_argument("--table-hessian", type=Path, metavar="CSV", help="only print the table of a hessian.csv")
    parser.add_argument(
        "--table-comparison", type=Path, metavar="CSV", help="only print the comparison summary of a claims.csv"
    )
    parser.add_argument(
        "--table-rows",
        type=Path,
        metavar="CSV",
        help="only print the rows of a committed CSV (e.g. docs/results/...) as markdown, the --columns given",
    )
    parser.add_argument("--columns", nargs="+", help="with --table-rows: the columns to print (default: all)")
    parser.add_argument(
        "--collect",
        action="store_true",
        help="run nothing: the rows of the --seeds whose folders under --out hold every target (minutes unknown)",
    )
    parser.add_argument("--commit", help="with --collect: the commit the runs were made at")
    args = parser.parse_args()
    if args.table_hessian:
        print(markdown_table(read_rows(args.table_hessian)[HESSIAN_TABLE]))
        return
    if args.table_comparison:
        print(markdown_table(comparison_summary(read_rows(args.table_comparison))))
        return
    if args.table_rows:
        table = read_rows(args.table_rows)
        print(markdown_table(table[args.columns or list(table.columns)]))
        return
    rows = []
    for seed in args.seeds:
        if args.collect:
            results = args.out / f"seed-{seed}" / "results" / args.benchmark
            if not all((results / target).exists() for target in args.targets):
                print(f"seed {seed}: not finished, left out", flush=True)
                continue
            rows.append(seed_row(args.benchmark, seed, args.out, float("nan"), args.commit))
        else:
            rows.append(run_seed(args.benchmark, seed, args.out, args.cores, args.preset, args.targets, args.overrides))
        print(f"seed {seed}: {rows[-1]}", flush=True)
    table = pd.DataFrame(rows)
    summary = table.drop(columns="seed").select_dtypes("number").agg(["mean", "min", "max"]).reset_index(names="seed")
    table = pd.concat([table, summary], ignore_index=True)
    save(table, args.out, "claims", rows)
    wide = markdown_table(transposed(table))
    (args.out / "claims.md").write_text(wide + "\n")
    print(wide)
    combine_hessian(args.out, args.benchmark, args.seeds)
    if "return_policygradex" in table:
        summary = comparison_summary(table)
        save(summary, args.out, "comparison_summary")
        print(markdown_table(summary))


if __name__ == "__main__":
    main()
