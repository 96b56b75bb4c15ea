"""Atomic writes and validated reads of the workflow's artifacts.

Every artifact is written to a temporary file beside its final path and renamed into place only when complete,
so a crash never leaves a half-written file that Snakemake would take for a finished output.
"""

from __future__ import annotations

import contextlib
import json
import os
import resource
import tempfile
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from policygradex.artifacts import CLUSTER_COLUMNS, SUBSET_COLUMNS, SUBSET_SEPARATOR
from policygradex.errors import ArtifactError
from policygradex.subsets import subset_affinity


def _umask() -> int:
    """The process's umask (read by setting it, so set it straight back)."""
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


@contextlib.contextmanager
def atomic_path(path: str | Path) -> Iterator[Path]:
    """Yield a temporary path in ``path``'s folder; rename it to ``path`` if the block succeeds."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp" + path.suffix, dir=path.parent)
    os.close(fd)
    os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes it owner-only; artifacts get what open() would give
    try:
        yield Path(tmp)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def write_csv(frame: pd.DataFrame, path: str | Path, index: bool = False) -> None:
    """Write ``frame`` to ``path`` atomically (never a half-written CSV), floats with 10 significant digits."""
    with atomic_path(path) as tmp:
        frame.to_csv(tmp, index=index, float_format="%.10g")


def write_json(data: Any, path: str | Path) -> None:
    """Write ``data`` as indented, key-sorted JSON to ``path`` atomically."""
    with atomic_path(path) as tmp:
        tmp.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n")


def cpu_seconds() -> float:
    """User + system CPU seconds of this process (all its threads) and of its finished child processes (SB3's
    subprocess environments, once closed)."""
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


@dataclass
class Stopwatch:
    """Wall-clock and CPU seconds since it was made, plus those an interrupted earlier run spent. The CPU seconds
    are what a comparison of costs should use: on a shared machine the wall clock also counts other jobs."""

    earlier_wall: float = 0.0
    earlier_cpu: float = 0.0
    _start: tuple[float, float] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self._start = (time.perf_counter(), cpu_seconds())

    @property
    def wall(self) -> float:
        """Wall-clock seconds so far, earlier runs included."""
        return self.earlier_wall + time.perf_counter() - self._start[0]

    @property
    def cpu(self) -> float:
        """CPU seconds of this process so far, earlier runs included."""
        return self.earlier_cpu + cpu_seconds() - self._start[1]


def write_timing(path: str | Path | None, stage: str, clock: Stopwatch, **info: Any) -> None:
    """Record a stage's wall-clock and CPU seconds (read by ``speedup``); nothing when ``path`` is None."""
    if path is not None:
        write_json({"stage": stage, "seconds": clock.wall, "cpu_seconds": clock.cpu, **info}, path)


def timing_total(paths: Sequence[str | Path], key: str = "seconds") -> float:
    """The sum of ``key`` (``seconds``, ``cpu_seconds`` or ``env_steps``) over the stage timing files at ``paths``."""
    total = 0.0
    for path in paths:
        try:
            total += float(json.loads(Path(path).read_text())[key])
        except (OSError, ValueError, KeyError) as err:
            raise ArtifactError(
                f"{path}: not a timing file with '{key}' ({err}); one written before '{key}' was recorded"
                " must be rebuilt (delete it and rerun)"
            ) from err
    return total


def write_npz(path: str | Path, **arrays: np.ndarray) -> None:
    """Write ``arrays`` as a compressed npz to ``path`` atomically."""
    with atomic_path(path) as tmp, open(tmp, "wb") as handle:
        np.savez_compressed(handle, **arrays)


def read_csv(path: str | Path, columns: list[str], index_col: int | None = None) -> pd.DataFrame:
    """Read a CSV and check that it has ``columns`` and no missing values."""
    try:
        frame = pd.read_csv(path, index_col=index_col)
    except FileNotFoundError as err:
        raise ArtifactError(f"{path}: file does not exist") from err
    except (pd.errors.EmptyDataError, pd.errors.ParserError) as err:
        raise ArtifactError(f"{path}: not a readable CSV ({err})") from err
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise ArtifactError(f"{path}: missing columns {missing}; found {list(frame.columns)}")
    if frame[columns].isna().any().any():
        raise ArtifactError(f"{path}: empty or NaN values in columns {columns}")
    return frame


def read_npz(path: str | Path, keys: list[str]) -> dict[str, np.ndarray]:
    """Load named arrays from an npz and check that they are present and finite."""
    try:
        with np.load(path, allow_pickle=False) as data:
            arrays = {key: data[key] for key in data.files}
    except FileNotFoundError as err:
        raise ArtifactError(f"{path}: file does not exist") from err
    except Exception as err:  # zipfile.BadZipFile, EOFError, ValueError on truncation
        raise ArtifactError(f"{path}: truncated or not an npz file ({type(err).__name__}: {err})") from err
    for key in keys:
        if key not in arrays:
            raise ArtifactError(f"{path}: missing array '{key}'; found {sorted(arrays)}")
        if arrays[key].dtype.kind == "f" and not np.isfinite(arrays[key]).all():
            raise ArtifactError(f"{path}: array '{key}' holds NaN or infinite values")
    return arrays


def read_chosen_k(quality_path: str | Path) -> int:
    """The k the clustering used (the config's, or the one ``k: auto`` chose), from cluster_quality.json: the
    baselines group at the same k."""
    try:
        return int(json.loads(Path(quality_path).read_text())["k"])
    except (FileNotFoundError, json.JSONDecodeError, KeyError, TypeError, ValueError) as err:
        raise ArtifactError(f"{quality_path}: no integer k ({type(err).__name__}: {err})") from err


def score_matrices(scores: pd.DataFrame, names: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
    """``subset_id,subset,task,score`` rows as an m x n score matrix (NaN where a task is not scored) and the m x n
    membership of the subsets, rows in order of subset id."""
    index = {name: i for i, name in enumerate(names)}
    unknown = sorted(set(scores["task"]) - set(index))
    if unknown:
        raise ArtifactError(f"subset scores name tasks not in the benchmark: {', '.join(unknown)}")
    ids = sorted(scores["subset_id"].unique())
    row = {subset_id: r for r, subset_id in enumerate(ids)}
    values = np.full((len(ids), len(names)), np.nan)
    members = np.zeros((len(ids), len(names)), dtype=bool)
    values[scores["subset_id"].map(row), scores["task"].map(index)] = scores["score"]
    for subset_id, label in scores.groupby("subset_id")["subset"].first().items():
        members[row[subset_id], [index[t] for t in label.split(SUBSET_SEPARATOR)]] = True
    return values, members


def read_scores(paths: Sequence[str | Path]) -> pd.DataFrame:
    """The estimate's chunk CSVs, ``subset_id,subset,task,score`` rows, in one frame."""
    return pd.concat([read_csv(path, SUBSET_COLUMNS) for path in paths], ignore_index=True)


def read_subset_scores(paths: Sequence[str | Path], names: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
    """The estimate's chunk CSVs as :func:`score_matrices`."""
    return score_matrices(read_scores(paths), names)


def affinity_matrix(scores: pd.DataFrame, names: Sequence[str]) -> pd.DataFrame:
    """The n x n affinity (affinity.csv's frame) from ``subset_id,subset,task,score`` rows; fails if a pair never
    shares a subset."""
    t = subset_affinity(*score_matrices(scores, names))
    if np.isnan(t).any():
        i, j = np.argwhere(np.isnan(t))[0]
        raise ArtifactError(
            f"tasks {names[i]} and {names[j]} never share a subset, so T[{names[i]}, {names[j]}] is undefined; "
            "raise estimate.num_subsets"
        )
    return pd.DataFrame(t, index=list(names), columns=list(names))


def read_affinity(path: str | Path, names: Sequence[str] | None = None) -> pd.DataFrame:
    """Read affinity.csv and check that it is a finite square matrix over the same tasks in rows and columns."""
    frame = read_csv(path, columns=[], index_col=0)
    if list(frame.index) != list(frame.columns):
        raise ArtifactError(
            f"{path}: rows {list(frame.index)} and columns {list(frame.columns)} must name the same tasks"
        )
    if names is not None and list(frame.index) != list(names):
        raise ArtifactError(f"{path}: tasks {list(frame.index)} differ from the benchmark's {list(names)}")
    if not np.isfinite(frame.to_numpy(dtype=float)).all():
        raise ArtifactError(f"{path}: affinity holds NaN or infinite values")
    return frame


def read_clusters(path: str | Path, names: Sequence[str]) -> pd.DataFrame:
    """Read clusters.csv and check it assigns every task of the benchmark exactly once to groups 0..g-1."""
    frame = read_csv(path, CLUSTER_COLUMNS)
    unknown = sorted(set(frame["task"]) - set(names))
    if unknown:
        raise ArtifactError(
            f"{path}: unknown tasks {', '.join(map(str, unknown))}; the benchmark has {', '.join(names)}"
        )
    if sorted(frame["task"]) != sorted(names):
        raise ArtifactError(f"{path}: every task must appear exactly once; got {list(frame['task'])}")
    groups = sorted(frame["group"].unique())
    if groups != list(range(len(groups))):
        raise ArtifactError(f"{path}: groups must be numbered 0..g-1, got {groups}")
    return frame
