"""How many estimation subsets the trust verdict needs: the verdict against m, on tuning seeds.

For each seed, the benchmark is built by Snakemake up to ``affinity.csv`` with ``--max-subsets`` estimation
subsets (benchmarks/out/trust_subsets/<benchmark>/seed-<s>/). The subsets are drawn one after the other, so the
first m of them are exactly the subsets a run with ``estimate.num_subsets: m`` would draw: each m of ``--subsets``
is judged in this process on those first m (trust.assess, the cluster stage's settings), with k from the config
and with ``k: auto``. One row per (seed, m), written to trust_subsets.csv / .json; a markdown table is printed.

    python -m benchmarks.trust_subsets --seeds 7 --subsets 100 150 200 300 400
"""

from __future__ import annotations

import copy

from sklearn.metrics import adjusted_rand_score

from benchmarks.common import (
    benchmark_config,
    chunk_scores,
    commit,
    markdown_table,
    read_rows,
    run_workflow,
    script_parser,
    write_rows,
)
from policygradex.clustering import cluster
from policygradex.config import planted_groups, task_names, validate_config
from policygradex.subsets import subset_affinity
from policygradex.trust import judge as judge_scores


def judge(bench: dict, scores, members, k) -> dict:
    cfg = bench["cluster"]
    affinity = subset_affinity(scores, members)
    result = judge_scores(affinity, scores, members, cfg | {"k": k}, bench["seed"])
    labels = cluster(affinity, result["k"], cfg["method"])
    planted = planted_groups(bench)
    return {
        "k": result["k"],
        "verdict": result["verdict"],
        "p_value": result["p_value"],
        "row_spearman": result["reliability"]["row_spearman"],
        "stability": result["reliability"]["stability"],
        "ari": adjusted_rand_score(planted, labels) if planted else None,
    }


#: The columns ``--table`` prints.
TABLE = ["seed", "num_subsets", "k", "verdict", "stability", "p_value", "ari", "auto_k", "auto_ari"]


def main() -> None:
    parser = script_parser(
        __doc__, "trust_subsets", table="trust_subsets.csv", show=lambda path: markdown_table(read_rows(path)[TABLE])
    )
    parser.add_argument("--benchmark", default="pointmass")
    parser.add_argument("--preset", default="smoke")
    parser.add_argument("--seeds", type=int, nargs="+", default=[7])
    parser.add_argument("--subsets", type=int, nargs="+", default=[100, 150, 200, 300, 400])
    parser.add_argument("--cores", type=int, default=2)
    args = parser.parse_args()
    most = max(args.subsets)
    rows = []
    for seed in args.seeds:
        config = benchmark_config(args.benchmark, args.preset, seed=seed)
        entry = config["benchmarks"][args.benchmark]
        target = entry["presets"].setdefault(args.preset, {}) if "presets" in entry else entry
        target.setdefault("estimate", {})["num_subsets"] = most
        workdir = args.out / args.benchmark / f"seed-{seed}"
        minutes = run_workflow(workdir, config, [f"results/{args.benchmark}/affinity.csv"], args.cores) / 60
        bench = validate_config(copy.deepcopy(config))["benchmarks"][args.benchmark]
        # rows in subset-id order
        scores, members = chunk_scores(workdir / "results" / args.benchmark, "subsets", task_names(bench))
        for m in args.subsets:
            row = {"benchmark": args.benchmark, "seed": seed, "num_subsets": m, "commit": commit()}
            row["build_minutes"] = minutes
            for prefix, k in (("", bench["cluster"]["k"]), ("auto_", "auto")):
                row |= {prefix + key: value for key, value in judge(bench, scores[:m], members[:m], k).items()}
            rows.append(row)
            print(row, flush=True)
    write_rows(rows, args.out, "trust_subsets")


if __name__ == "__main__":
    main()
