"""Which score should a task set that names none get: ``return`` (step 0.02) or ``surrogate`` (step 0.005)?

For each benchmark (``--benchmarks NAME:PRESET``; ``-`` for a benchmark's own settings), one seed is run up to
clusters.csv with the surrogate score, its folder copied, and the copy re-run with return scoring: Snakemake then
redoes only the estimate, the affinity and the clustering (their settings changed; theta* and the features are the
same), so the two scores are compared on the same meta-policy and the same gradients. One row per (benchmark,
score): the ARI against the planted groups, the verdict and its reason, the run's commit and start time. The
default is the score that recovers the planted groups (ARI 1.00 with the verdict ``structure``) on more task sets
(issue 37; docs/own-tasks.md).

    python -m benchmarks.score_default --benchmarks pointmass:- halfcheetah_kwargs:evidence ant:evidence \\
        reacher:evidence --seed 300 --out benchmarks/out/score_default
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from benchmarks.claims import seed_row
from benchmarks.common import benchmark_config, read_rows, run_workflow, script_parser, write_rows
from policygradex.provenance import read_runs

#: The two scores compared, each at the step it is run with (the evidence preset's surrogate, the schema's return).
SCORES = {"surrogate": 0.005, "return": 0.02}


def run_pair(name: str, preset: str, seed: int, out: Path, cores: int) -> list[dict]:
    """Both scores on one benchmark and seed (the module docstring), one row each."""
    rows, first = [], None
    for score, step in SCORES.items():
        folder = out / f"{name}-{score}"
        if first is not None and not (folder / f"seed-{seed}").exists():
            shutil.copytree(first / f"seed-{seed}", folder / f"seed-{seed}", symlinks=True)
        overrides = [f"estimate.score={score}", f"estimate.step_size={step}"]
        config = benchmark_config(name, preset if preset != "-" else None, overrides, seed)
        minutes = run_workflow(folder / f"seed-{seed}", config, [f"results/{name}/clusters.csv"], cores) / 60
        results = folder / f"seed-{seed}" / "results" / name
        quality = json.loads((results / "cluster_quality.json").read_text())
        started = read_runs(results / "provenance.json")[-1]["started"]  # this score's run (the copy holds both)
        row = {"benchmark": name, "preset": preset, "score": score, "step_size": step}
        rows.append(row | seed_row(name, seed, folder, minutes) | {"started": started, "reason": quality["reason"]})
        first = first or folder
    return rows


def main() -> None:
    parser = script_parser(__doc__, "score_default", table="score_default.csv")
    parser.add_argument("--benchmarks", nargs="+", default=[], help="NAME:PRESET pairs (PRESET - for none)")
    parser.add_argument("--seed", type=int, default=300, help="the tuning seed (default: %(default)s)")
    parser.add_argument("--cores", type=int, default=2)
    args = parser.parse_args()
    if args.table:
        print(read_rows(args.table).to_string(index=False))
        return
    rows = []
    for entry in args.benchmarks:
        name, _, preset = entry.partition(":")
        rows += run_pair(name, preset or "-", args.seed, args.out, args.cores)
        write_rows(rows, args.out, "score_default", hide=("reason",))


if __name__ == "__main__":
    main()
