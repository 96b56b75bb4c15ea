"""How well a workflow run's rollouts pin each task's policy gradient down: the gradient consistency of every
``features/{task}.npz`` under the given results folders (see src/policygradex/features.py; recomputed from the
stored projected gradients, advantages and held-out split for files written before it was stored).

Prints a markdown table (median, min, max per folder) and writes gradient_consistency.csv under ``--out``.

    python -m benchmarks.gradient_consistency results/pointmass results/ant
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from benchmarks.common import script_parser, write_rows
from policygradex.diagnosis import consistency_of


def folder_row(folder: Path) -> dict:
    values = []
    for path in sorted((folder / "features").glob("*.npz")):
        with np.load(path) as f:
            values.append(consistency_of(dict(f)))
            episodes = int(f["episode"].max()) + 1
    return {
        "results": str(folder),
        "tasks": len(values),
        "episodes_per_task": episodes,
        "median": float(np.median(values)),
        "min": float(np.min(values)),
        "max": float(np.max(values)),
    }


def main() -> None:
    parser = script_parser(__doc__, "gradient_consistency")
    parser.add_argument("folders", type=Path, nargs="+", help="results/<benchmark> folders of workflow runs")
    args = parser.parse_args()
    write_rows([folder_row(folder) for folder in args.folders], args.out, "gradient_consistency")


if __name__ == "__main__":
    main()
