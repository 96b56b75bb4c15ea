"""The end-of-run summary on the console: per benchmark, the groups, their quality, the trust verdict and where
the compute went; and how long the run took.

The Snakefile's ``onsuccess`` handler prints it, so that what a run found (and every warning a stage raised,
with the log it is in) reaches the person at the terminal, not only the job logs. Standard library only: it
runs inside Snakemake's own process.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterable
from pathlib import Path


def advice(diagnoses: list[dict[str, str]], consistency: float | None) -> str:
    """What to do about a negative verdict: the fixes of the causes diagnosis.py measured; with none measured,
    what is left (the halves disagree although every measurement is fine)."""
    if diagnoses:
        return "; ".join(f"{d['fix']} ({d['cause']})" for d in diagnoses)
    measured = f"the gradients are consistent (median {consistency:.2f}), so " if consistency is not None else ""
    return (
        f"{measured}no measured cause: the two halves of the subsets disagree on the groups; raise"
        " estimate.num_subsets, try a k the report lists as also supported, or the tasks may hold no groups at"
        " this k (docs/trust.md)"
    )


def stage_warnings(logs: Path) -> list[str]:
    """Lines starting with ``warning:`` in the benchmark's stage logs, each with its log's path, deduplicated."""
    seen: dict[str, list[str]] = {}
    for log in sorted(logs.rglob("*.log")) if logs.is_dir() else ():
        for line in log.read_text(errors="replace").splitlines():
            if line.startswith("warning:"):
                seen.setdefault(line, []).append(str(log))
    return [f"{line} [{', '.join(paths[:2])}{', ...' if len(paths) > 2 else ''}]" for line, paths in seen.items()]


def stage_seconds(logs: Path) -> dict[str, dict[str, float]]:
    """Stage -> {jobs, wall_s, cpu_s} summed over its jobs, from the job records Snakemake's ``benchmark:``
    directive writes under ``logs`` (``<stage>.benchmark.tsv`` or ``<stage>/<job>.benchmark.tsv``): where the
    compute of the artifacts that exist went, largest wall time first."""
    totals: dict[str, dict[str, float]] = {}
    for path in sorted(logs.rglob("*.benchmark.tsv")) if logs.is_dir() else ():
        relative = path.relative_to(logs)
        stage = relative.parts[0] if len(relative.parts) > 1 else path.name.removesuffix(".benchmark.tsv")
        with open(path, newline="") as f:
            records = list(csv.DictReader(f, delimiter="\t"))
        if records:
            entry = totals.setdefault(stage, {"jobs": 0, "wall_s": 0.0, "cpu_s": 0.0})
            entry["jobs"] += 1
            entry["wall_s"] += float(records[-1]["s"])
            entry["cpu_s"] += float(records[-1]["cpu_time"])
    return dict(sorted(totals.items(), key=lambda item: -item[1]["wall_s"]))


def compute_line(logs: Path) -> str | None:
    """One line: the jobs' minutes per stage (:func:`stage_seconds`), None when no job recorded any."""
    totals = stage_seconds(logs)
    if not totals:
        return None
    parts = [
        f"{stage} {t['wall_s'] / 60:.1f}" + (f" ({t['jobs']:.0f} jobs)" if t["jobs"] > 1 else "")
        for stage, t in totals.items()
    ]
    minutes = sum(t["wall_s"] for t in totals.values()) / 60
    return f"  compute: {minutes:.1f} job-minutes: {', '.join(parts)} [{logs}/**/*.benchmark.tsv]"


#: The preset whose answer is not one: its budgets prove that the workflow runs.
SMOKE = "smoke"


def preset_line(name: str, bench: dict) -> str:
    """What a run of the benchmark costs: its preset and the preset's ``cost`` (``none`` for a benchmark run at its
    own settings), then each setting whose default followed the task set (``resolved_defaults``), one a line:
    printed at the start of a run and by ``policygradex check``."""
    if "preset" in bench:
        cost = f": {bench['cost']}" if "cost" in bench else ""
        head = f"{name}: preset {bench['preset']}{cost}"
    else:
        head = (
            f"{name}: preset none: its own settings (--config preset=smoke, evidence or full runs a budget whose"
            " cost the README's preset table gives)"
        )
    notes = bench.get("resolved_defaults", {})
    return "\n".join([head, *(f"  {key}: {note}" for key, note in notes.items())])


def smoke_warning(bench: dict) -> str | None:
    """The summary's line when the smoke preset made the answer, else None."""
    if bench.get("preset") != SMOKE:
        return None
    return (
        "  preset: smoke, budgets that prove the workflow runs; these groups are no answer: run the benchmark's"
        " recommended preset (--config preset=..., README 'Configuration and presets')"
    )


def targeted_benchmarks(targets: Iterable[str], default: Iterable[str]) -> list[str]:
    """The benchmarks a run builds: those of its ``results/<benchmark>/...`` targets, ``default`` when it names no
    file (a bare run, or rule names)."""
    names = [t.split("/")[1] for t in targets if t.startswith("results/") and t.count("/") >= 2]
    return list(dict.fromkeys(names)) or list(default)


def benchmark_summary(name: str, results: Path, logs: Path, bench: dict | None = None) -> list[str]:
    """Lines describing one benchmark's clusters.csv and cluster_quality.json (empty when not built)."""
    quality_path, clusters_path = results / "cluster_quality.json", results / "clusters.csv"
    if not (quality_path.exists() and clusters_path.exists()):
        return []
    quality = json.loads(quality_path.read_text())
    with open(clusters_path, newline="") as f:
        rows = list(csv.DictReader(f))
    groups: dict[str, list[str]] = {}
    for row in rows:
        groups.setdefault(row["group"], []).append(row["task"])
    lines = [f"{name}: {len(groups)} groups (k {quality.get('k_selection', 'config')}) from {clusters_path}"]
    lines += [f"  group {g}: {' '.join(tasks)}" for g, tasks in groups.items()]
    warning = smoke_warning(bench or {})
    lines += [warning] if warning else []
    if "ari" in quality:
        lines.append(f"  against the planted groups: ARI {quality['ari']:.2f}, NMI {quality['nmi']:.2f}")
    verdict = quality.get("verdict")
    if verdict == "structure":
        lines.append(f"  verdict: structure ({quality['reason']})")
    elif verdict is not None:
        lines.append(f"  verdict: NO RELIABLE STRUCTURE ({quality['reason']})")
        lines.append(f"  what to do: {advice(quality.get('diagnoses', []), quality.get('gradient_consistency'))}")
    for other in quality.get("also_supported", []):
        lines.append(
            f"  also supported: k = {other['k']} (stability {other['stability']:.2f}, p {other['p_value']:.3f});"
            f" set cluster.k: {other['k']} for that grouping"
        )
    compute = compute_line(logs)
    lines += [compute] if compute else []
    lines += [f"  {warning}" for warning in stage_warnings(logs)]
    return lines


def summary(benchmarks: dict[str, dict], root: Path = Path("."), seconds: float | None = None) -> str:
    """The summary of every benchmark (name -> settings) whose clusters exist under ``root``/results (empty string
    if none), and how long this run took (``seconds``, wall clock) when given."""
    lines = []
    for name, bench in benchmarks.items():
        lines += benchmark_summary(name, root / "results" / name, root / "logs" / name, bench)
    if lines and seconds is not None:
        lines.append(f"this run took {seconds / 60:.1f} minutes (wall clock, from the start of Snakemake)")
    return "\n".join(["PolicyGradEx summary", *lines]) if lines else ""
