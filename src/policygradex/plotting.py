"""The one place that sets matplotlib up for the workflow's plots: a non-interactive backend (the jobs run
without a display, on SLURM nodes too) and the atomic PNG writer every plot goes through."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from policygradex.io import atomic_path  # noqa: E402

__all__ = ["plt", "save_figure"]


def save_figure(fig: plt.Figure, path: str | Path) -> None:
    """Write ``fig`` to ``path`` as PNG (temporary file renamed into place) and close it."""
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=110, bbox_inches="tight")
    plt.close(fig)
