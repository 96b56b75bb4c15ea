"""Progress reporting: a tqdm bar in an interactive terminal, plain periodic lines in log files."""

from __future__ import annotations

import sys
import time
from collections.abc import Iterable, Iterator
from typing import TypeVar

from tqdm import tqdm

T = TypeVar("T")


def duration(seconds: float) -> str:
    """``seconds`` as ``1h02m``, ``3m05s`` or ``42s`` (``?`` when unknown)."""
    if not seconds < float("inf"):
        return "?"
    minutes, secs = divmod(int(round(seconds)), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m" if hours else f"{minutes}m{secs:02d}s" if minutes else f"{secs}s"


def progress(items: Iterable[T], total: int, desc: str, every: float = 10.0) -> Iterator[T]:
    """Iterate ``items`` while reporting progress to stderr.

    Snakemake sends stderr to ``logs/``; there a bar's carriage returns are noise, so when stderr is not a
    terminal a line ``desc: i/total (pct) elapsed`` is printed at most every ``every`` seconds and at the end.
    """
    if sys.stderr.isatty():
        yield from tqdm(items, total=total, desc=desc, file=sys.stderr)
        return
    start = last = time.monotonic()
    done = 0
    for item in items:
        yield item
        done += 1
        now = time.monotonic()
        if now - last >= every or done == total:
            last = now
            print(
                f"{desc}: {done}/{total} ({100 * done / max(total, 1):.0f}%), {duration(now - start)} elapsed,"
                f" {duration((total - done) * (now - start) / done)} left",
                file=sys.stderr,
                flush=True,
            )
