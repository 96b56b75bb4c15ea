"""The random task subsets of the estimate (and of full training): drawing them, covering pairs, chunking, and
averaging their scores into an affinity.

numpy only, so the config check can draw the subsets before any job runs and say which task pairs would never
share one (the affinity T[i, j] needs at least one subset holding both i and j).
"""

from __future__ import annotations

import functools
import itertools
from collections.abc import Sequence

import numpy as np

from policygradex.errors import ConfigError


def draw_subsets(n: int, size: int, count: int, seed: int) -> list[tuple[int, ...]]:
    """``count`` random subsets of ``size`` of range(n), drawn so that every pair of tasks co-occurs early.

    Each subset is seeded with a pair that has been covered least so far (ties broken at random) and filled
    uniformly at random. Deterministic in ``seed``.
    """
    rng = np.random.default_rng(seed)
    coverage = np.zeros((n, n), dtype=np.int64)
    pairs = list(itertools.combinations(range(n), 2))
    subsets = []
    for _ in range(count):
        counts = np.array([coverage[i, j] for i, j in pairs])
        least = np.flatnonzero(counts == counts.min())
        i, j = pairs[rng.choice(least)]
        rest = rng.choice([t for t in range(n) if t not in (i, j)], size=size - 2, replace=False)
        subset = tuple(sorted([i, j, *rest.tolist()]))
        for a, b in itertools.combinations(subset, 2):
            coverage[a, b] += 1
            coverage[b, a] += 1
        subsets.append(subset)
    return subsets


def uncovered_pairs(n: int, subsets: Sequence[Sequence[int]]) -> list[tuple[int, int]]:
    """The pairs (i < j) of range(n) that no subset holds together."""
    covered = {pair for s in subsets for pair in itertools.combinations(sorted(s), 2)}
    return [pair for pair in itertools.combinations(range(n), 2) if pair not in covered]


@functools.cache  # the config's defaults and its checks ask for it for the same (n, size, seed)
def min_covering_count(n: int, size: int, seed: int) -> int:
    """The fewest subsets :func:`draw_subsets` needs (at this seed) to cover every pair of range(n)."""
    count = max(1, -(-n * (n - 1) // (size * (size - 1))))  # no fewer than pairs / pairs per subset
    while uncovered_pairs(n, draw_subsets(n, size, count, seed)):
        count += 1
    return count


def chunk_ids(count: int, num_chunks: int, chunk: int) -> range:
    """Subset ids handled by ``chunk``: a contiguous, near-equal share of range(count)."""
    if not 0 <= chunk < num_chunks:
        raise ConfigError(f"--chunk {chunk} is outside 0..{num_chunks - 1} (the stage's num_chunks is {num_chunks})")
    bounds = np.linspace(0, count, num_chunks + 1).round().astype(int)
    return range(bounds[chunk], bounds[chunk + 1])


def subset_affinity(scores: np.ndarray, members: np.ndarray) -> np.ndarray:
    """T[i, j] = mean of task i's scores over the subsets (rows) holding both i and j; NaN where none does.

    ``scores`` is m x n with task i's score in subset s at [s, i] (anything where i is not in s), ``members``
    the m x n boolean membership.
    """
    held = members.astype(float)
    total = (np.where(members, scores, 0.0)).T @ held
    count = held.T @ held
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(count > 0, total / np.where(count > 0, count, 1), np.nan)


def linear_affinity(grads: np.ndarray, members: np.ndarray) -> np.ndarray:
    """T_lin, the first-order model of the estimate's affinity: task i's score in subset S is g_i^T u_S, u_S the
    unit sum of the subset's mean gradients (rows of ``grads``; ``members`` subsets x tasks, bool). What T reduces
    to when the logistic fit stays near its start and the score is linear in the step (docs/gradient-similarity.md)."""
    scores = np.full(members.shape, np.nan)
    for row, holds in enumerate(members):
        step = grads[holds].sum(axis=0)
        scores[row, holds] = grads[holds] @ (step / max(np.linalg.norm(step), 1e-12))
    return subset_affinity(scores, members)
