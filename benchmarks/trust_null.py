"""How often the trust verdict calls noise structure: null benchmarks, scores that ignore the groups.

Each null benchmark is synthetic subset scores (policygradex.synthetic, ``effect=0``) shaped like pointmass's
default estimate in miniature: 12 tasks in 4 planted groups of 3, ``--subsets`` subsets of 6, each task its own
offset and scale, noise per score and noise a subset shares. The trust check (trust.assess, the config's default
``cluster.trust`` settings, spectral clustering) judges each at ``k: auto`` and at k = 4 fixed in advance. One row
per (benchmark, k mode): the verdict, the chosen k, the held-out p-value, the split-half reliability and stability.
The summary, per k mode: how many verdicts say `structure` and how many held-out p-values fall at or below alpha,
each share with its exact (Clopper-Pearson) 95% interval. Seeds start at ``--first-seed``: the trust settings were
chosen on the suite's null benchmarks (seeds 0-399), so the default starts past them.

    python -m benchmarks.trust_null --benchmarks 200
    python -m benchmarks.trust_null --table docs/results/trust_null_synthetic_<commit>_seeds10000-10199_summary.csv
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.stats import binomtest
from tqdm import tqdm

from benchmarks.common import commit, script_parser, write_rows
from policygradex.subsets import subset_affinity
from policygradex.synthetic import NULL_CLUSTER, synthetic_scores
from policygradex.trust import STRUCTURE
from policygradex.trust import judge as judge_scores

PLANTED = np.repeat(np.arange(4), 3)  # 12 tasks in 4 groups of 3, like pointmass


def judge(seed: int, num_subsets: int, k: int | str) -> dict:
    """The trust check's fields for null benchmark ``seed`` at ``k``."""
    scores, members = synthetic_scores(PLANTED, num_subsets, 6, effect=0.0, seed=seed)
    result = judge_scores(subset_affinity(scores, members), scores, members, NULL_CLUSTER | {"k": k}, seed)
    return {
        "seed": seed,
        "k_mode": str(k),
        "verdict": result["verdict"],
        "k": result["k"],
        "p_value": result["p_value"],
        "reliability": result["reliability"]["row_spearman"],
        "stability": result["reliability"]["stability"],
        "p_at_most_alpha": result["p_value"] <= result["thresholds"]["alpha"],
    }


def summary(rows: pd.DataFrame, made_at: str) -> list[dict]:
    """Per k mode: the count and share of `structure` verdicts and of p-values <= alpha, with exact intervals."""
    out = []
    for mode, group in rows.groupby("k_mode", sort=False):
        draws = len(group)
        row = {"k_mode": mode, "benchmarks": draws, "seeds": f"{group['seed'].min()}-{group['seed'].max()}"}
        for name, hits in (("structure", group["verdict"] == STRUCTURE), ("p_at_most_alpha", group["p_at_most_alpha"])):
            count = int(hits.sum())
            interval = binomtest(count, draws).proportion_ci(0.95, method="exact")
            row |= {
                name: count,
                f"{name}_share": count / draws,
                f"{name}_low": interval.low,
                f"{name}_high": interval.high,
            }
        out.append(row | {"commit": made_at})
    return out


def main() -> None:
    parser = script_parser(__doc__, "trust_null", table="trust_null summary CSV")
    parser.add_argument("--benchmarks", type=int, default=200, help="null benchmarks (default: %(default)s)")
    parser.add_argument("--first-seed", type=int, default=10_000, help="seed of the first (default: %(default)s)")
    parser.add_argument("--subsets", type=int, default=100, help="subsets of each (default: %(default)s)")
    args = parser.parse_args()
    made_at = commit()
    seeds = range(args.first_seed, args.first_seed + args.benchmarks)
    rows = [
        judge(seed, args.subsets, k) | {"commit": made_at}
        for seed in tqdm(seeds, desc="null benchmarks")
        for k in ("auto", 4)
    ]
    write_rows(rows, args.out, "trust_null", hide=("commit",))
    write_rows(summary(pd.DataFrame(rows), made_at), args.out, "trust_null_summary")


if __name__ == "__main__":
    main()
