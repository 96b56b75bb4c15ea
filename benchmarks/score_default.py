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
        rows.append(folder_row(name, preset, score, seed, folder, minutes))
        first = first or folder
    return rows


def folder_row(name: str, preset: str, score: str, seed: int, folder: Path, minutes: float) -> dict:
    """The row of one finished run of one score (``folder``/seed-``seed``)."""
    results = folder / f"seed-{seed}" / "results" / name
    quality = json.loads((results / "cluster_quality.json").read_text())
    started = read_runs(results / "provenance.json")[-1]["started"]  # this score's run (a copy holds both)
    row = {"benchmark": name, "preset": preset, "score": score, "step_size": SCORES[score]}
    return row | seed_row(name, seed, folder, minutes) | {"started": started, "reason": quality["reason"]}


def collect(out: Path, seed: int) -> list[dict]:
    """Rows of every finished run under ``out`` (a pair cut short gives the row of its finished half), the
    minutes of those its own score_default.csv holds; the others' minutes are unknown (NaN)."""
    known = {}
    if (out / "score_default.csv").exists():
        for row in read_rows(out / "score_default.csv").to_dict("records"):
            known[(row["benchmark"], row["score"])] = row["minutes"]
    rows = []
    for folder in sorted(out.glob(f"*-*/seed-{seed}")):
        name, _, score = folder.parent.name.rpartition("-")
        results = folder / "results" / name
        quality, chunks = results / "cluster_quality.json", list((results / "subsets").glob("chunk_*.csv"))
        if score not in SCORES or not quality.exists() or not chunks:
            continue  # this score's estimate never finished (a copy's clusters are the other score's)
        if quality.stat().st_mtime < max(chunk.stat().st_mtime for chunk in chunks):
            continue
        preset = read_runs(results / "provenance.json")[-1]["settings"].get("preset", "-")
        minutes = known.get((name, score), float("nan"))
        rows.append(folder_row(name, preset, score, seed, folder.parent, minutes))
    return rows


def main() -> None:
    parser = script_parser(
        __doc__, "score_default", table="score_default.csv", show=lambda path: read_rows(path).to_string(index=False)
    )
    parser.add_argument("--benchmarks", nargs="+", default=[], help="NAME:PRESET pairs (PRESET - for none)")
    parser.add_argument("--seed", type=int, default=300, help="the tuning seed (default: %(default)s)")
    parser.add_argument("--cores", type=int, default=2)
    parser.add_argument("--collect", action="store_true", help="run nothing: the rows of the finished runs in --out")
    args = parser.parse_args()
    if args.collect:
        write_rows(collect(args.out, args.seed), args.out, "score_default", hide=("reason",))
        return
    rows = []
    for entry in args.benchmarks:
        name, _, preset = entry.partition(":")
        rows += run_pair(name, preset or "-", args.seed, args.out, args.cores)
        write_rows(rows, args.out, "score_default", hide=("reason",))


if __name__ == "__main__":
    main()
