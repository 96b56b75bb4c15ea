"""What made a run folder: the code, the settings and the packages, recorded when a run starts.

The Snakefile's ``onstart`` handler appends one record per run to ``results/<benchmark>/provenance.json`` for
every benchmark the run builds: the commit of the workflow's checkout (and whether its code or config differed
from it, or the package is imported from outside it), the benchmark's resolved settings with their hash, the
versions of the packages that compute, the command line and the start time. A folder built in several runs (a
rerun after a change of ``cluster.k``, say) keeps every record, oldest first, so a figure can name the code of
the run that made it rather than the checkout of the moment it is written. Standard library only: it runs inside
Snakemake's process.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import importlib.util
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

#: The packages whose versions a record names.
PACKAGES = (
    "policygradex", "torch", "stable-baselines3", "gymnasium", "mo-gymnasium", "metaworld", "mujoco", "numpy",
    "scikit-learn", "snakemake",
)  # fmt: skip

#: What of a checkout counts as the code of a run (a change elsewhere, results or docs, leaves it clean).
CODE_PATHS = ("src", "workflow", "config.yaml")


def git(repository: Path, *args: str) -> str:
    """The output of ``git -C repository ARGS``, stripped: the one reader of git for the package, its tests and the
    evidence scripts. Raises CalledProcessError when git fails (OSError without git)."""
    done = subprocess.run(["git", "-C", str(repository), *args], capture_output=True, text=True, check=True)
    return done.stdout.strip()


def checkout_commit(repository: Path, paths: Sequence[str] = CODE_PATHS, short: bool = False) -> tuple[str, bool]:
    """(commit, dirty) of the git checkout at ``repository`` (its short hash with ``short``): ``unknown`` outside
    git; dirty when a file under ``paths`` (by default the package, the workflow and config.yaml) differs from the
    commit."""
    try:
        head = git(repository, "rev-parse", *(["--short"] if short else []), "HEAD")
        changes = git(repository, "status", "--porcelain", "--", *paths)
    except (OSError, subprocess.CalledProcessError):
        return "unknown", False
    return head, bool(changes)


def package_source() -> str:
    """The folder the ``policygradex`` package is imported from by this interpreter (and so by the jobs, which run
    the same environment), found without importing it."""
    spec = importlib.util.find_spec("policygradex")
    return str(Path(spec.origin).resolve().parent) if spec and spec.origin else "absent"


def settings_hash(settings: dict[str, Any]) -> str:
    """A stable hash of a benchmark's resolved settings (sorted-key JSON)."""
    return hashlib.sha256(json.dumps(settings, sort_keys=True, default=str).encode()).hexdigest()


def package_versions() -> dict[str, str]:
    """Python's version and each package of :data:`PACKAGES` (``absent`` when not installed)."""
    versions = {"python": platform.python_version()}
    for package in PACKAGES:
        try:
            versions[package] = importlib.metadata.version(package)
        except importlib.metadata.PackageNotFoundError:
            versions[package] = "absent"
    return versions


def record(settings: dict[str, Any], repository: Path, argv: list[str] | None = None) -> dict[str, Any]:
    """One run's record for a benchmark with these resolved ``settings``."""
    return run_record(repository, argv) | settings_record(settings)


def run_record(repository: Path, argv: list[str] | None = None) -> dict[str, Any]:
    """What a run's records share, whatever the benchmark: start time, commit, packages, command. The run counts
    as dirty also when the package it imports is not the checkout's own (an environment installed from another
    checkout, as an editable install of a second clone would be): then the commit does not name the code."""
    commit, dirty = checkout_commit(repository)
    source = package_source()
    own = Path(repository).resolve() / "src" / "policygradex"
    return {
        "started": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "commit": commit,
        "dirty": dirty or Path(source) != own,
        "package_source": source,
        "packages": package_versions(),
        "command": " ".join(argv if argv is not None else sys.argv),
    }


def settings_record(settings: dict[str, Any]) -> dict[str, Any]:
    """A benchmark's part of a record: its resolved settings and their hash."""
    return {"settings_sha256": settings_hash(settings), "settings": settings}


def start_run(benchmarks: dict[str, dict[str, Any]], names: list[str], repository: Path) -> None:
    """The Snakefile's ``onstart``: append this run's record to ``results/<name>/provenance.json`` of every
    benchmark ``names`` builds (the commit and packages read once for all of them)."""
    shared = run_record(repository)
    for name in names:
        append(Path("results") / name / "provenance.json", shared | settings_record(benchmarks[name]))


def append(path: Path, entry: dict[str, Any]) -> None:
    """Add ``entry`` to the ``runs`` of the provenance file at ``path``, written atomically."""
    runs = read_runs(path) if path.exists() else []
    path.parent.mkdir(parents=True, exist_ok=True)
    text = json.dumps({"runs": [*runs, entry]}, indent=2, default=str) + "\n"
    with tempfile.NamedTemporaryFile("w", dir=path.parent, delete=False, suffix=".tmp") as tmp:
        tmp.write(text)
    os.replace(tmp.name, path)


def read_runs(path: Path) -> list[dict[str, Any]]:
    """The records of a provenance file, oldest first."""
    return list(json.loads(Path(path).read_text())["runs"])


def run_commit(results: Path) -> str:
    """The commit that made a benchmark's results folder: its first run's (``+dirty`` when its code differed),
    ``unknown`` for a folder without a provenance file (made before they were written)."""
    path = Path(results) / "provenance.json"
    if not path.exists():
        return "unknown"
    first = read_runs(path)[0]
    return first["commit"][:7] + ("+dirty" if first["dirty"] else "")
