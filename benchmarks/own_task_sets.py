"""Task sets of a user's own, written with the documented minimum, run as the README says (issue 37's evidence).

Each file of ``--task-sets`` (benchmarks/task_sets/*.yaml: one benchmark each, with env, env_id, tasks with
kwargs and a planted ``group``, cluster.k, and nothing else: no estimate, presets or score) runs once per seed
from an empty folder, as a user would type it: ``snakemake results/<name>/clusters.csv --configfile FILE
--replace-workflow-config --config preset=PRESET`` (the file copied into the folder with the seed set, the folder
of task_sets/ on PYTHONPATH for the module of nav_module). One row per (task set, seed): the settings the
workflow chose for it, the ARI against the planted groups, the verdict with its reason, and the causes the
cluster stage diagnosed (a miss is reported with them).

    python -m benchmarks.own_task_sets --task-sets benchmarks/task_sets/*.yaml --seeds 10 11 12 \\
        --preset evidence --out benchmarks/out/own_task_sets
"""

from __future__ import annotations

import json
from pathlib import Path

import yaml

from benchmarks.common import ROOT, read_rows, run_workflow, script_parser, write_rows
from policygradex.provenance import read_runs, run_commit


def run_one(path: Path, seed: int, preset: str, out: Path, cores: int) -> dict:
    """One task set at one seed from an empty folder (module docstring); its row."""
    config = yaml.safe_load(path.read_text())
    (name, bench), *_ = config["benchmarks"].items()
    bench["seed"] = seed
    workdir = out / name / f"seed-{seed}"
    if workdir.exists():
        raise SystemExit(f"{workdir} exists: every reported run starts from an empty folder")
    args = ["--configfile", str(workdir / "config.yaml"), "--replace-workflow-config", "--config", f"preset={preset}"]
    minutes = run_workflow(workdir, config, [f"results/{name}/clusters.csv"], cores, args, [path.parent]) / 60
    results = workdir / "results" / name
    quality = json.loads((results / "cluster_quality.json").read_text())
    run = read_runs(results / "provenance.json")[0]
    settings = run["settings"]
    return {
        "task_set": name,
        "file": str(path.relative_to(ROOT)),
        "seed": seed,
        "commit": run_commit(results),
        "started": run["started"],
        "minutes": minutes,
        "n": len(settings["tasks"]),
        "preset": settings.get("preset", "none"),
        "subset_size": settings["estimate"]["subset_size"],
        "num_subsets": settings["estimate"]["num_subsets"],
        "score": settings["estimate"]["score"],
        "ari": quality.get("ari", float("nan")),
        "k": quality["k"],
        "verdict": quality["verdict"],
        "gradient_consistency": quality.get("gradient_consistency"),
        "diagnoses": " ".join(d["cause"] for d in quality.get("diagnoses", [])) or "none",
        "reason": quality["reason"],
    }


def main() -> None:
    parser = script_parser(
        __doc__,
        "own_task_sets",
        table="own_task_sets.csv",
        show=lambda path: read_rows(path).drop(columns=["reason"]).to_string(index=False),
    )
    parser.add_argument("--task-sets", type=Path, nargs="+", default=[], help="config files, one benchmark each")
    parser.add_argument("--seeds", type=int, nargs="+", default=[10, 11, 12])
    parser.add_argument("--preset", default="evidence", help="the --config preset=... of every run")
    parser.add_argument("--cores", type=int, default=2)
    args = parser.parse_args()
    rows = []
    for seed in args.seeds:  # every task set at the first seed before any at the second
        for path in args.task_sets:
            rows.append(run_one(path.resolve(), seed, args.preset, args.out, args.cores))
            write_rows(rows, args.out, "own_task_sets", hide=("file", "reason", "started"))


if __name__ == "__main__":
    main()
