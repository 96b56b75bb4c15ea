"""The evidence scripts: each measures one claim of the paper or one property of the workflow, and writes its
rows as CSV/JSON (committed under docs/results/) and a markdown table. Run from the repository root as
``python -m benchmarks.<name> --help``; what they share is in :mod:`benchmarks.common`.

Importing this package puts this checkout's ``src/`` first on the path: a script run from a git worktree pinned at
the commit under test measures that commit's package, the one its rows name (:func:`benchmarks.common.commit`),
not the one the environment was installed from (the workflow's jobs get the same through PYTHONPATH,
:func:`benchmarks.common.run_workflow`)."""

import sys
from pathlib import Path

_SRC = str(Path(__file__).resolve().parents[1] / "src")
if _SRC not in sys.path:
    sys.path.insert(0, _SRC)
