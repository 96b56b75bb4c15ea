"""The stages' warnings and notes, in one format: ``warning: ...`` and ``note: ...`` lines on the job's stderr (its
log), which the end-of-run summary collects (summary.stage_warnings reads the ``warning:`` lines). Standard library
only."""

from __future__ import annotations

import logging
import sys

LOGGER = logging.getLogger("policygradex")

#: The word a line starts with, per level: what the summary greps for.
WORDS = {logging.WARNING: "warning", logging.INFO: "note"}


class _Stderr(logging.Handler):
    """One line per record on the stderr of the moment (a job's log; a test's captured stream)."""

    def emit(self, record: logging.LogRecord) -> None:
        word = WORDS.get(record.levelno, record.levelname.lower())
        sys.stderr.write(f"{word}: {record.getMessage()}\n")


def setup() -> None:
    """Send the package's warnings and notes to stderr, one line each (the CLI calls this once per job)."""
    if not LOGGER.handlers:
        LOGGER.addHandler(_Stderr())
        LOGGER.setLevel(logging.INFO)
        LOGGER.propagate = False


setup()  # a stage run from Python, not the CLI, warns the same way
