"""The README's picture: what ``make demo`` answers, drawn from a finished pointmass run.

The run's affinity (tasks ordered by their groups, borders between groups) and its groups drawn where the tasks'
goals are, with the report's own plotting functions, written as ``demo_<benchmark>_<commit>_seed<s>_affinity.png``
and ``..._clusters.png`` under ``--out`` (the commit is the one the run's provenance.json names), with the
affinity and the groups beside them as CSV.

    python -m benchmarks.demo_figure --run benchmarks/out/claims/seed-0 --out docs/results
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from benchmarks.common import made_at, run_benchmark, script_parser
from policygradex.config import task_names
from policygradex.io import read_affinity
from policygradex.plotting import plot_affinity, plot_clusters


def main() -> None:
    parser = script_parser(__doc__, "demo_figure")
    parser.add_argument("--run", type=Path, required=True, help="a finished run folder (config.yaml, results/)")
    args = parser.parse_args()
    name, bench = run_benchmark(args.run)
    results = args.run / "results" / name
    stem = args.out / f"demo_{name}_{made_at(results)}_seed{bench['seed']}"
    affinity = read_affinity(results / "affinity.csv", task_names(bench))
    clusters = pd.read_csv(results / "clusters.csv")
    args.out.mkdir(parents=True, exist_ok=True)
    affinity.to_csv(f"{stem}_affinity.csv")
    clusters.to_csv(f"{stem}_clusters.csv", index=False)
    plot_affinity(affinity, clusters, Path(f"{stem}_affinity.png"), "T[i, j]: mean return of task i", "Affinity T")
    plot_clusters(bench, clusters, Path(f"{stem}_clusters.png"))
    print(f"{stem}_affinity.png, {stem}_clusters.png")


if __name__ == "__main__":
    main()
