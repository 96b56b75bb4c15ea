"""The evidence scripts: each measures one claim of the paper or one property of the workflow, and writes its
rows as CSV/JSON (committed under docs/results/) and a markdown table. Run from the repository root as
``python -m benchmarks.<name> --help``; what they share is in :mod:`benchmarks.common`."""
