"""The two errors a user sees as one line (``policygradex <stage>: error: ...``, exit status 2): a bad setting and
a bad file. Standard library only, so that the light commands (check, describe, targets) and Snakemake's process
can catch them without importing the numerical stack."""

from __future__ import annotations


class ConfigError(ValueError):
    """A configuration value is missing or not allowed; the message names the field."""


class ArtifactError(ValueError):
    """An input artifact is missing, truncated or inconsistent; the message names the file."""
