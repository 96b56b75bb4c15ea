"""CPU seconds of return scoring per estimation subset: one task at a time against all tasks in lockstep.

``estimate`` with ``score: return`` rolls out theta* + delta-theta_S on every task of a subset
(``estimate.score_episodes`` deterministic episodes each). It used to run one task after the other; it now steps
every task of the subset together with one policy forward per step (``rollouts.collect_task_episodes``; each task
keeps its own seeded environments, so the scores are the same). For each benchmark, ``--subsets`` random subsets
of its config (size ``estimate.subset_size``) are scored both ways with the meta-policy's untrained network (the
cost of a rollout does not depend on the weights; episodes run to their length or termination), alternating the
two ways ``--repeats`` times; the median CPU seconds per subset of each, their ratio and the largest score
difference are printed as a table and written to scoring.csv / scoring.json (with the commit).

    python -m benchmarks.scoring --benchmarks pointmass:smoke ant:evidence --out benchmarks/out/scoring
"""

from __future__ import annotations

import time

import numpy as np
import torch

from benchmarks.common import commit, load_bench, rows_without, script_parser, write_rows
from policygradex.policy import build_policy
from policygradex.rollouts import collect_episodes, collect_task_episodes
from policygradex.subsets import draw_subsets


def one_at_a_time(policy, bench: dict, subset: tuple[int, ...], episodes: int) -> dict[int, float]:
    return {
        t: np.mean([e.total_return for e in collect_episodes(policy, bench, t, episodes, bench["seed"] + t, True)])
        for t in subset
    }


def lockstep(policy, bench: dict, subset: tuple[int, ...], episodes: int) -> dict[int, float]:
    found = collect_task_episodes(policy, bench, {t: bench["seed"] + t for t in subset}, episodes, True)
    return {t: np.mean([e.total_return for e in found[t]]) for t in subset}


def measure(name: str, preset: str, num_subsets: int, repeats: int) -> dict:
    bench = load_bench(name, preset)
    cfg = bench["estimate"]
    subsets = draw_subsets(len(bench["tasks"]), cfg["subset_size"], num_subsets, bench["seed"])
    policy = build_policy(bench)
    seconds: dict[str, list[float]] = {"one_at_a_time": [], "lockstep": []}
    scores: dict[str, list[dict]] = {}
    for _ in range(repeats):
        for way, score in (("one_at_a_time", one_at_a_time), ("lockstep", lockstep)):
            start = time.process_time()
            scores[way] = [score(policy, bench, s, cfg["score_episodes"]) for s in subsets]
            seconds[way].append((time.process_time() - start) / num_subsets)
    gap = max(abs(a[t] - b[t]) for a, b in zip(scores["one_at_a_time"], scores["lockstep"], strict=True) for t in a)
    slow, fast = (float(np.median(seconds[w])) for w in ("one_at_a_time", "lockstep"))
    return {
        "benchmark": name,
        "preset": preset,
        "subset_size": cfg["subset_size"],
        "score_episodes": cfg["score_episodes"],
        "episode_length": bench["episode_length"],
        "subsets": num_subsets,
        "repeats": repeats,
        "one_at_a_time_cpu_s_per_subset": slow,
        "lockstep_cpu_s_per_subset": fast,
        "speedup": slow / fast,
        "max_score_difference": float(gap),
        "commit": commit(),
    }


def main() -> None:
    parser = script_parser(
        __doc__,
        "scoring",
        table="scoring.csv",
        show=rows_without("commit", "repeats"),
    )
    parser.add_argument("--benchmarks", nargs="+", default=["pointmass:smoke", "ant:evidence"], metavar="NAME:PRESET")
    parser.add_argument("--subsets", type=int, default=5)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    torch.set_num_threads(1)  # as an estimate job runs
    rows = []
    for spec in args.benchmarks:
        name, _, preset = spec.partition(":")
        rows.append(measure(name, preset or "smoke", args.subsets, args.repeats))
        print(rows[-1], flush=True)
    write_rows(rows, args.out, "scoring", hide=("commit", "repeats"))


if __name__ == "__main__":
    main()
