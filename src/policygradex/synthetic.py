"""Synthetic subset scores with planted groups: what the trust check is calibrated on (its tests and
``python -m benchmarks.trust_null``), with no RL in the loop.

Each synthetic benchmark draws m subsets as the estimate does; task i's score in subset S is its own offset and
scale (as real tasks' returns differ), times a planted effect that grows with the share of S's other members in
i's group, plus noise per score and noise shared by the whole subset (one lucky estimate lifts every member,
which makes T[i, j] and T[j, i] move together without any task structure). ``effect=0`` is a null benchmark: the
scores ignore the groups.
"""

from __future__ import annotations

import numpy as np

from policygradex.config import section_defaults
from policygradex.subsets import draw_subsets

NULL_CLUSTER = {key: value for key, value in section_defaults("cluster").items() if key != "k"}
"""The ``cluster`` section (without k) that judges synthetic benchmarks: the schema's defaults."""


def synthetic_scores(
    labels: np.ndarray,
    num_subsets: int,
    subset_size: int,
    effect: float,
    seed: int,
    noise: float = 1.0,
    shared: float = 0.5,
    neighbour: float = 0.0,
) -> tuple[np.ndarray, np.ndarray]:
    """Scores (subsets x tasks, NaN where a task is not in the subset) and membership of ``num_subsets`` subsets of
    ``subset_size`` tasks, the tasks' planted groups ``labels``. ``neighbour``: the effect of a member of the next or
    previous group (groups on a ring, like the ant's compass)."""
    rng = np.random.default_rng(seed)
    n, groups = len(labels), len(set(labels))
    offset, scale = rng.normal(size=n) * 5, rng.uniform(0.5, 2.0, n)
    scores, members = np.full((num_subsets, n), np.nan), np.zeros((num_subsets, n), dtype=bool)
    for s, subset in enumerate(draw_subsets(n, subset_size, num_subsets, seed)):
        lucky = rng.normal()
        for i in subset:
            others = [j for j in subset if j != i]
            same = np.mean([labels[j] == labels[i] for j in others])
            near = np.mean([(labels[j] - labels[i]) % groups in (1, groups - 1) for j in others])
            planted = effect * same + neighbour * near
            scores[s, i] = offset[i] + scale[i] * (planted + shared * lucky + noise * rng.normal())
            members[s, i] = True
    return scores, members
