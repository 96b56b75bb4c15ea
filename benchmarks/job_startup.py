"""What a stage's job costs before it does any work: the CPU seconds from starting ``python -m policygradex
<stage>`` to its first read of an input (issue 39: jobs should import only what they use).

Each stage is started as Snakemake starts it (``--settings`` the tiny benchmark's view of the stage, every input
a path that does not exist), so the job imports what it imports, sets its threads, validates its settings, and
stops with its one-line error at the first input it reads. The CPU seconds (user + system) of each such process
are measured ``--repeats`` times per stage and checkout, alternating the checkouts (``--checkouts``: folders whose
src/ is put first on PYTHONPATH, e.g. a git worktree of the commit before the change and this one), and the median
is kept. Rows: stage, checkout, its commit, median CPU seconds, and what the job had imported.

    python -m benchmarks.job_startup --checkouts /tmp/before . --out benchmarks/out/job_startup
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
from pathlib import Path

import numpy as np

from benchmarks.common import TINY_CONFIG, read_rows, script_parser, write_rows
from policygradex.provenance import checkout_commit

#: Reported by the job on exit: which heavy libraries its start-up imported.
PROBE = (
    "import atexit, sys\n"
    "atexit.register(lambda: print('imported:', ' '.join(m for m in ('torch', 'stable_baselines3', 'cvxpy',"
    " 'matplotlib', 'pandas', 'sklearn', 'gymnasium') if m in sys.modules), file=sys.stderr))\n"
    "from policygradex.cli import main\n"
    "sys.exit(main(sys.argv[1:]))\n"
)


def stage_command(stage) -> list[str]:
    """The arguments of a job of ``stage`` on the tiny benchmark, every path one that does not exist."""
    import yaml

    from policygradex.config import stage_view_json, validate_config

    bench = validate_config(yaml.safe_load(TINY_CONFIG.read_text()))["benchmarks"]["tiny"]
    args = [stage.name, "--benchmark", "tiny", "--settings", stage_view_json(bench, stage.name)]
    for argument in stage.arguments:
        if argument.required:
            values = ["/nonexistent/a", "/nonexistent/b"] if argument.many else ["/nonexistent/a"]
            args += [argument.flag, *(values if argument.type is str else ["0"])]
    return args


def cpu_seconds(checkout: Path, args: list[str]) -> tuple[float, str]:
    """CPU seconds (user + system) of one job started from ``checkout``, and what it imported."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    env = {**os.environ, "PYTHONPATH": str(checkout / "src")}
    done = subprocess.run([sys.executable, "-c", PROBE, *args], capture_output=True, text=True, env=env)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    imported = next((line for line in done.stderr.splitlines() if line.startswith("imported:")), "imported: ?")
    seconds = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return seconds, imported.removeprefix("imported:").strip()


def commit_of(checkout: Path) -> str:
    head, dirty = checkout_commit(checkout, ("src",), short=True)
    return head + ("+dirty" if dirty else "")


def main() -> None:
    parser = script_parser(
        __doc__, "job_startup", table="job_startup.csv", show=lambda path: read_rows(path).to_string(index=False)
    )
    parser.add_argument("--checkouts", type=Path, nargs="+", default=[Path(".")], help="folders holding src/")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    from policygradex.stages import STAGES

    checkouts = [path.resolve() for path in args.checkouts]
    rows = []
    for stage in STAGES:
        command = stage_command(stage)
        seconds: dict[Path, list[float]] = {path: [] for path in checkouts}
        imported: dict[Path, str] = {}
        for _ in range(args.repeats):
            for path in checkouts:  # alternating, so that a busy spell of the machine hits both
                cpu, imported[path] = cpu_seconds(path, command)
                seconds[path].append(cpu)
        for path in checkouts:
            rows.append({"stage": stage.name, "checkout": str(path), "commit": commit_of(path),
                         "cpu_s_median": float(np.median(seconds[path])), "repeats": args.repeats,
                         "imported": imported[path]})  # fmt: skip
    write_rows(rows, args.out, "job_startup", hide=("checkout",))
    print(json.dumps({"checkouts": [str(p) for p in checkouts]}))


if __name__ == "__main__":
    main()
