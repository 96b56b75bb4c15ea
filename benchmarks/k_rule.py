"""How ``cluster.k: auto`` chooses k, on finished runs: every candidate k's scores and the k each rule picks.

For each run folder (a Snakemake working directory of benchmarks/claims.py, trust.py or trust_subsets.py: its
config.yaml and results/<benchmark>/subsets/), the trust check (trust.assess with ``k: auto`` and the config's
cluster settings) is run in this process on all of the run's estimation subsets. One row per (run, k): z against
the permutation null, the held-out p-value, the split-half stability, the ARI of the clusters at k against the
planted groups, and the k picked by the stability rule (trust.choose_k, the rule in use) and by the former z
rule (largest z). Writes k_rule.csv / .json (with the commit) under ``--out`` and prints a markdown table.

    python -m benchmarks.k_rule --runs benchmarks/out/trust_subsets/pointmass/seed-7 \
        benchmarks/out/trust_subsets/pointmass/seed-8
"""

from __future__ import annotations

from pathlib import Path

from sklearn.metrics import adjusted_rand_score

from benchmarks.common import chunk_scores, commit, run_benchmark, run_folders_args, run_label, write_rows
from policygradex.clustering import partition, similarity
from policygradex.config import planted_groups, task_names
from policygradex.subsets import subset_affinity
from policygradex.trust import judge


def judge_run(run: Path) -> list[dict]:
    name, bench = run_benchmark(run)
    scores, members = chunk_scores(run / "results" / name, "subsets", task_names(bench))
    cfg = bench["cluster"]
    affinity = subset_affinity(scores, members)
    result = judge(affinity, scores, members, cfg | {"k": "auto"}, bench["seed"])
    z_rule = max(result["k_scores"], key=lambda row: row["z"])["k"]
    planted = planted_groups(bench)
    sim = similarity(affinity)
    return [
        {
            "run": run_label(run),
            "benchmark": name,
            "seed": bench["seed"],
            "num_subsets": len(scores),
            "commit": commit(),
            **row,
            "ari": adjusted_rand_score(planted, partition(sim, row["k"], cfg["method"])) if planted else None,
            "stability_rule_k": result["k"],
            "z_rule_k": z_rule,
        }
        for row in result["k_scores"]
    ]


def main() -> None:
    args = run_folders_args(__doc__, "k_rule")
    rows = [row for run in args.runs for row in judge_run(run.resolve())]
    write_rows(rows, args.out, "k_rule", hide=("run", "commit"))


if __name__ == "__main__":
    main()
