"""What every evidence script shares: running the workflow into a folder, reading a finished run, the agreement
statistics, writing CSV/JSON/markdown and the common command-line arguments.

The scripts run as modules from the repository root (``python -m benchmarks.<name>``) with the package installed
(``make venv``); they import each other's logic from here only.
"""

from __future__ import annotations

import argparse
import copy
import functools
import json
import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import yaml
from scipy import stats

from policygradex.provenance import CODE_PATHS, checkout_commit

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "benchmarks" / "out"
#: The small pointmass scenario the tests build on (.test/config/config.yaml, benchmark ``tiny``).
TINY_CONFIG = ROOT / ".test" / "config" / "config.yaml"


def snakemake_command(workdir: Path, cores: int, *args: str) -> list[str]:
    """The command line that builds ``args`` (targets and options) in ``workdir`` with this checkout's workflow, run
    by this process's interpreter (so its environment's Snakemake and package): the evidence scripts' and the
    tests' runs alike."""
    snakefile = ROOT / "workflow" / "Snakefile"
    return [sys.executable, "-m", "snakemake", "--snakefile", str(snakefile), "--directory", str(workdir),
            "--cores", str(cores), *args]  # fmt: skip


def run_workflow(
    workdir: Path, config: dict, targets: list[str], cores: int, args: list[str] = (), path: list[Path] = ()
) -> float:
    """Write ``config`` to ``workdir``/config.yaml, build ``targets`` there with Snakemake (log appended to
    snakemake.log; ``args`` added to its command line, ``path`` to PYTHONPATH after src/) and return the
    wall-clock seconds. The Snakefile and the package are this checkout's, also where the environment was
    installed from another one (a git worktree pinned at the commit under test runs its own code: PYTHONPATH puts
    its src/ first)."""
    workdir.mkdir(parents=True, exist_ok=True)
    (workdir / "config.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
    start = time.monotonic()
    with open(workdir / "snakemake.log", "a") as log:
        subprocess.run(
            snakemake_command(workdir, cores, *targets, *args),
            check=True,
            stdout=log,
            stderr=subprocess.STDOUT,
            env={**os.environ, "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}",
                 "PYTHONPATH": os.pathsep.join(map(str, [ROOT / "src", *path]))},
        )  # fmt: skip
    return time.monotonic() - start


def apply_overrides(bench: dict, preset: str, overrides: list[str]) -> None:
    """Apply ``--set section.key=value`` settings (values read as YAML) to a raw benchmark entry, merged as a
    preset's entry is (:func:`policygradex.config.merged`), after its preset: into the preset's entry when the
    benchmark has one, since presets are merged over the benchmark."""
    from policygradex.config import merged

    if "presets" in bench and preset not in bench["presets"]:
        return  # the benchmark does not offer the preset: validating the config says so
    layer: dict = {}
    for override in overrides:
        path, _, value = override.partition("=")
        *sections, key = path.split(".")
        node = layer
        for section in sections:
            node = node.setdefault(section, {})
        node[key] = yaml.safe_load(value)
    if "presets" in bench:
        bench["presets"][preset] = merged(bench["presets"][preset] or {}, layer)
    else:
        bench.update(merged(bench, layer))


def benchmark_config(benchmark: str, preset: str, overrides: list[str] = (), seed: int | None = None) -> dict:
    """The shipped config.yaml reduced to ``benchmark`` at ``preset``, with ``overrides`` and ``seed`` (when given)
    applied: what every benchmark script runs or validates."""
    from policygradex.config import only_benchmark

    config = only_benchmark(yaml.safe_load((ROOT / "config.yaml").read_text()), benchmark)
    bench = config["benchmarks"][benchmark]
    apply_overrides(bench, preset, list(overrides))
    if seed is not None:
        bench["seed"] = seed
    # A benchmark that names no presets runs its own settings in the scripts, as their committed results were
    # made (the workflow would merge a shared preset over it when asked).
    config["preset"] = preset if "presets" in bench else None
    return config


def load_bench(benchmark: str, preset: str, overrides: list[str] = (), seed: int | None = None) -> dict:
    """:func:`benchmark_config`'s benchmark, validated (defaults filled in, preset merged)."""
    from policygradex import config as settings

    config = benchmark_config(benchmark, preset, overrides, seed)
    return settings.benchmark(settings.validate_config(config), benchmark)  # fails if it lacks the preset


def tiny_config(**overrides) -> dict:
    """The 4-task pointmass scenario of the tests and the scripts (:data:`TINY_CONFIG`, not yet validated),
    sections replaced (copies of ``overrides``: the caller's dicts stay its own)."""
    config = yaml.safe_load(TINY_CONFIG.read_text())
    config["benchmarks"]["tiny"].update(copy.deepcopy(overrides))
    return config


def run_benchmark(run: Path) -> tuple[str, dict]:
    """The name and settings of the one benchmark of a finished run folder (a :func:`run_workflow` workdir),
    validated with this checkout's defaults."""
    from policygradex.config import validate_config

    config = validate_config(yaml.safe_load((run / "config.yaml").read_text()), cross_checks=False)
    (name, bench), *others = config["benchmarks"].items()
    if others:
        raise SystemExit(f"{run}/config.yaml: expected one benchmark, found {[name] + [o[0] for o in others]}")
    return name, bench


def mean_gradients(results: Path, names: list[str]) -> np.ndarray:
    """Each task's mean projected policy gradient (rows, in ``names``' order) from a finished run's features: what
    gradient similarity compares."""
    from policygradex.artifacts import FEATURE_KEYS
    from policygradex.baselines import mean_policy_gradient
    from policygradex.io import read_npz

    return np.array([mean_policy_gradient(read_npz(results / "features" / f"{t}.npz", FEATURE_KEYS)) for t in names])


def chunk_scores(results: Path, folder: str, names: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """A finished run's subset scores and memberships (subsets x tasks) from the chunks under ``folder``
    (``subsets``: the estimate's; ``full_training``: the really fine-tuned ones)."""
    from policygradex.io import read_subset_scores

    return read_subset_scores(sorted((results / folder).glob("chunk_*.csv")), names)


def run_label(run: Path) -> str:
    """A run folder as rows name it: relative to the repository when it lies inside."""
    return str(run.relative_to(ROOT) if run.is_relative_to(ROOT) else run)


@functools.cache
def commit() -> str:
    """The checkout's short commit hash, ``+dirty`` when the package, workflow, config or the benchmark scripts
    (the measuring code is part of the measurement) differ from it: the code that measures in this process. Read
    once per process (at the first call: scripts call it when they start), so that commits made while a long
    measurement runs do not relabel its later rows."""
    head, dirty = checkout_commit(ROOT, (*CODE_PATHS, "benchmarks"), short=True)
    return head + ("+dirty" if dirty else "")


def made_at(results: Path) -> str:
    """The commit that made a run's ``results/<benchmark>`` folder, as its provenance.json records it (this
    checkout's, :func:`commit`, for a folder made before runs recorded it)."""
    from policygradex.provenance import run_commit

    made_by = run_commit(results)
    return made_by if made_by != "unknown" else commit()


def baseline_ari(results: Path, baseline: str) -> float:
    """ARI of a baseline's clusters against the planted groups of clusters.csv (NaN without planted groups or
    without the baseline's clusters): how PolicyGradEx's recovery compares with the baseline's."""
    from policygradex.clustering import quality
    from policygradex.io import read_clusters

    grouped = results / "baselines" / baseline / "clusters.csv"
    clusters = pd.read_csv(results / "clusters.csv").set_index("task")
    if not grouped.exists() or "planted" not in clusters.columns:
        return float("nan")
    groups = read_clusters(grouped, list(clusters.index)).set_index("task")["group"].reindex(clusters.index)
    return quality(groups.to_numpy(), clusters["planted"].to_numpy())["ari"]


def comparison_returns(results: Path, methods: list[str]) -> dict:
    """Mean return of each of ``methods`` in the run's comparison.csv (NaN without one)."""
    if not (results / "comparison.csv").exists():
        return {f"return_{m}": float("nan") for m in methods}
    table = pd.read_csv(results / "comparison.csv").set_index("method")
    return {f"return_{m}": float(table.loc[m, "mean_return"]) for m in methods}


def ci95(values) -> float:
    """Half-width of the 95% t-interval of the mean (NaN for a single value)."""
    values = pd.Series(values, dtype=float).dropna()
    n = len(values)
    return float(stats.t.ppf(0.975, n - 1) * values.std(ddof=1) / np.sqrt(n)) if n > 1 else float("nan")


def save(table: pd.DataFrame, out: Path, name: str, payload: dict | list | None = None) -> None:
    """Write ``table`` to ``out``/``name``.csv and ``payload`` (default: the table's rows; a script may put what
    it ran with beside them) to ``out``/``name``.json: the two files every script's outputs come as."""
    out.mkdir(parents=True, exist_ok=True)
    table.to_csv(out / f"{name}.csv", index=False)
    payload = table.to_dict("records") if payload is None else payload
    (out / f"{name}.json").write_text(json.dumps(payload, indent=2, default=_plain) + "\n")


def _plain(value):
    """numpy scalars (and anything else json cannot write) as Python numbers, else as text."""
    return value.item() if isinstance(value, np.generic) else str(value)


def write_rows(rows: list[dict], out: Path, name: str, hide: tuple[str, ...] = ()) -> pd.DataFrame:
    """Write a benchmark's rows (:func:`save`) and print them as a markdown table (without the columns ``hide``:
    those the files keep for provenance, such as the run folder and commit)."""
    table = pd.DataFrame(rows)
    save(table, out, name, rows)
    print(markdown_table(table.drop(columns=[c for c in hide if c in table.columns])))
    return table


#: Columns that hold commits: text, even where a short hash is all digits and an "e" (00366e5 is no number).
COMMIT_COLUMNS = ("commit", "made_at", "measured_at", "package_commit", "script_commit")


def read_rows(path: Path) -> pd.DataFrame:
    """A committed CSV of rows, its commit columns read as text."""
    return pd.read_csv(path, dtype={column: str for column in COMMIT_COLUMNS})


def result_rows(path: Path, key: str | None = None) -> pd.DataFrame:
    """A committed result as rows: a CSV (:func:`read_rows`), or a JSON list of rows (the one under ``key``)."""
    if path.suffix != ".json":
        return read_rows(path)
    rows = json.loads(path.read_text())
    return pd.DataFrame(rows[key] if key else rows)


def keep_rows(table: pd.DataFrame, column: str, values) -> pd.DataFrame:
    """The rows whose ``column`` holds one of ``values``, compared as text (a page writes seeds and flags so)."""
    return table[table[column].astype(str).isin([str(v) for v in values])]


def markdown_table(table: pd.DataFrame) -> str:
    """A GitHub markdown table, floats with 3 decimals (pandas' to_markdown needs the optional tabulate)."""
    cells = table.map(lambda v: f"{v:.3f}" if isinstance(v, float) else str(v))
    lines = ["| " + " | ".join(map(str, table.columns)) + " |", "|" + "---|" * len(table.columns)]
    lines += ["| " + " | ".join(row) + " |" for row in cells.itertuples(index=False)]
    return "\n".join(lines)


def rows_table(path: Path) -> str:
    """A committed CSV of rows as a markdown table: what ``--table`` prints unless the script says otherwise."""
    return markdown_table(read_rows(path))


def rows_without(*columns: str) -> Callable[[Path], str]:
    """A ``show`` for ``--table``: the rows as a markdown table without ``columns`` (kept for provenance)."""
    return lambda path: markdown_table(read_rows(path).drop(columns=list(columns), errors="ignore"))


class PrintTable(argparse.Action):
    """``--table FILE``: print the table of a committed output (``show(FILE)``) and exit, whatever else the command
    line asks for (as ``--help`` does)."""

    def __init__(self, *args, show: Callable[[Path], str], **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.show = show

    def __call__(self, parser, namespace, values, option_string=None) -> None:
        print(self.show(values))
        parser.exit()


def script_parser(
    doc: str,
    name: str,
    table: str | None = None,
    label: bool = False,
    show: Callable[[Path], str] = rows_table,
    many: bool = False,
) -> argparse.ArgumentParser:
    """A script's command line with the arguments they share: ``--out`` (benchmarks/out/``name`` by default);
    with ``table`` (what the file is), ``--table FILE`` to only print a committed output again, as ``show`` makes
    it (by default the rows as a markdown table; with ``many``, ``--table FILE...`` and ``show`` gets the list);
    with ``label``, ``--commit`` for measurements that no run folder's provenance names."""
    made = argparse.ArgumentParser(description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)
    made.add_argument("--out", type=Path, default=OUT / name, help="folder of the outputs (default: %(default)s)")
    if table:
        made.add_argument(
            "--table",
            type=Path,
            nargs="+" if many else None,
            metavar="FILE",
            action=PrintTable,
            show=show,
            help=f"only print the table of a {table}",
        )
    if label:
        made.add_argument("--commit", default=commit(), help="the commit measured (default: this checkout's)")
    return made


def run_folders_args(doc: str, name: str) -> argparse.Namespace:
    """The command line of the scripts that measure finished run folders: ``--runs`` and ``--out``."""
    made = script_parser(doc, name)
    made.add_argument("--runs", type=Path, nargs="+", required=True, help="run folders (config.yaml, results/)")
    return made.parse_args()
