"""Every random stream a stage draws from, derived from the benchmark's one ``seed`` in one place.

Each stream has its own offset so that, say, the evaluation's episodes never replay the feature rollouts or a
fine-tune's environments; the formulas are the ones the stages always used (changing one changes results, which
the demo's record test would see: tests/test_demo_record.py). Standard library only.
"""

from __future__ import annotations

#: stream -> (multiplier of the benchmark seed, offset); the stream's seed for item ``index`` (a task, group or
#: subset) is multiplier * seed + offset + index.
STREAMS: dict[str, tuple[int, int]] = {
    "features": (1000, 0),  # theta*'s rollouts of task i
    "random_policy": (1000, 500),  # uniformly random actions on task i (the diagnosis's floor)
    "score": (1, 0),  # the estimate's return-scoring rollouts of task i
    "finetune": (1, 1),  # group g's fine-tune
    "evaluate": (1, 10_000),  # evaluation episodes of task i
    "hessian": (1, 20_000),  # the Hessian's rollouts of task i
    "full_training": (1, 100_000),  # subset s's real fine-tune
    "random_partition": (1000, 0),  # the random baseline's r-th partition
    "trust_splits": (1, 0),  # the trust check's split halves (its seed is the benchmark's)
    "trust_null": (1, 1),  # the row permutations behind each k's z
    "trust_held_out": (1, 2),  # the held-out permutation tests
}


def derive(seed: int, stream: str, index: int = 0) -> int:
    """The seed of item ``index`` of ``stream`` (see :data:`STREAMS`) for a benchmark seeded ``seed``."""
    multiplier, offset = STREAMS[stream]
    return multiplier * seed + offset + index
