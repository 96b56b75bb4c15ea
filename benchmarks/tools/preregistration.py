"""Were the settings fixed before the runs? A check of every page section that says so (issue 38).

A section headed "...: settings, fixed before any run" in README.md or docs/ promises that the settings it states
were committed before any of its runs started. For each such section this script finds the commit that wrote
its heading (the oldest commit whose diff adds it, ``git log -S``), the seeds it names in bold, the result files
the section and its results cite (up to the next such heading or the next ``## `` section), and in each file
every run of those seeds: its commit (the commit the run started from, its provenance) and, where the file has
it, its start time. A run passes when the
settings commit is an ancestor of (or is) the run's commit, so that the run's checkout held the settings, its
commit is clean, and its start time, where recorded, is later than the settings commit. One row per (section,
file, run); ``--check`` exits 1 naming each run that fails.

    python -m benchmarks.tools.preregistration --out benchmarks/out/preregistration
    python -m benchmarks.tools.preregistration --check
"""

from __future__ import annotations

import re
import subprocess
import sys
from datetime import datetime

import pandas as pd

from benchmarks.common import ROOT, read_rows, script_parser, write_rows
from policygradex import provenance

HEADING = re.compile(r"^(#{2,4}) (.*: settings, fixed before any run)\s*$", re.M)


def git(*args: str) -> str:
    return provenance.git(ROOT, *args)


def sections() -> list[tuple[str, str, str]]:
    """(page, heading, text) of every section that says its settings were fixed before any run."""
    found = []
    for page in [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]:
        text = page.read_text()
        for match in HEADING.finditer(text):
            rest = text[match.end() :]
            ends = [m.start() for m in (HEADING.search(rest), re.search(r"^## ", rest, re.M)) if m]
            found.append((page.name, match.group(2), rest[: min(ends)] if ends else rest))
    return found


def is_ancestor(older: str, newer: str) -> bool:
    try:
        git("merge-base", "--is-ancestor", older, newer)
    except subprocess.CalledProcessError:
        return False
    return True


def rows() -> list[dict]:
    """One row per (section, cited file, run): see the module docstring."""
    table = []
    for page, heading, text in sections():
        fixed = git("log", "--reverse", "-S", heading, "--format=%h %cI", "--", "README.md", "docs").splitlines()[0]
        settings_commit, settings_time = fixed.split()
        cited = sorted(set(re.findall(r"docs/results/[\w.\-]+\.csv", text)))
        seeds = {int(seed) for seed in re.findall(r"\d+", " ".join(re.findall(r"\*\*([\d, and]+)\*\*", text)))}
        for path in cited:
            runs = read_rows(ROOT / path)
            if "seed" not in runs or not ({"commit", "made_at"} & set(runs.columns)):
                continue  # a summary or a decision: no runs of its own
            runs = runs[pd.to_numeric(runs["seed"], errors="coerce").isin(seeds)]  # the section's own seeds
            for _, run in runs.iterrows():
                commit = str(run.get("commit", run.get("made_at", "unknown")))
                clean = commit.removesuffix("+dirty")
                started = str(run["started"]) if "started" in run and pd.notna(run["started"]) else ""
                later = not started or datetime.fromisoformat(started) > datetime.fromisoformat(settings_time)
                known = clean != "unknown" and bool(re.fullmatch(r"[0-9a-f]{7,40}", clean))
                table.append({
                    "page": page, "section": heading, "settings_commit": settings_commit,
                    "settings_time": settings_time, "file": path, "seed": run.get("seed", ""), "run_commit": commit,
                    "started": started or "not recorded",
                    "passes": known and commit == clean and is_ancestor(settings_commit, clean) and later,
                })  # fmt: skip
    return table


def main() -> None:
    parser = script_parser(
        __doc__,
        "preregistration",
        table="preregistration.csv",
        show=lambda path: read_rows(path).to_string(index=False),
    )
    parser.add_argument("--check", action="store_true", help="write nothing; exit 1 naming every run that fails")
    args = parser.parse_args()
    found = list({tuple(r.items()): r for r in rows()}.values())  # one row per run, however many rows it has
    if args.check:
        failed = [f"{r['page']} '{r['section']}': {r['file']} seed {r['seed']} ({r['run_commit']})" for r in found
                  if not r["passes"]]  # fmt: skip
        print("\n".join(failed) or f"{len(found)} runs in {len({r['section'] for r in found})} sections: all pass")
        sys.exit(1 if failed else 0)
    write_rows(found, args.out, "preregistration", hide=("settings_time", "page"))


if __name__ == "__main__":
    main()
