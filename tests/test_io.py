import os
import stat

import numpy as np
import pandas as pd
import pytest

from policygradex.errors import ArtifactError
from policygradex.io import atomic_path, read_csv, read_npz, write_csv, write_npz


def test_atomic_path_leaves_nothing_on_failure(tmp_path):
    target = tmp_path / "out.csv"
    with pytest.raises(RuntimeError):
        with atomic_path(target) as tmp:
            tmp.write_text("half")
            raise RuntimeError("crash")
    assert list(tmp_path.iterdir()) == []
    with atomic_path(target) as tmp:
        tmp.write_text("whole")
    assert target.read_text() == "whole"
    assert list(tmp_path.iterdir()) == [target]


def test_read_npz_reports_truncation_and_nan(tmp_path):
    path = tmp_path / "f.npz"
    write_npz(path, x=np.arange(1000.0), y=np.array([1.0, np.nan]))
    assert read_npz(path, ["x"])["x"].shape == (1000,)
    with pytest.raises(ArtifactError, match="'y' holds NaN"):
        read_npz(path, ["x", "y"])
    with pytest.raises(ArtifactError, match="missing array 'z'"):
        read_npz(path, ["z"])
    path.write_bytes(path.read_bytes()[:100])
    with pytest.raises(ArtifactError, match="f.npz: truncated"):
        read_npz(path, ["x"])


def test_read_csv_checks_columns(tmp_path):
    path = tmp_path / "t.csv"
    path.write_text("a,b\n1,2\n")
    with pytest.raises(ArtifactError, match=r"missing columns \['c'\]"):
        read_csv(path, ["a", "c"])
    path.write_text("")
    with pytest.raises(ArtifactError, match="not a readable CSV"):
        read_csv(path, ["a"])


@pytest.mark.parametrize(("umask", "mode"), [(0o022, 0o644), (0o002, 0o664), (0o077, 0o600)])
def test_artifacts_get_the_permissions_of_the_umask(tmp_path, umask, mode):
    """As open() would create them: colleagues on a shared server can read results under umask 022."""
    old = os.umask(umask)
    try:
        write_csv(pd.DataFrame({"a": [1]}), tmp_path / "out.csv")
        write_npz(tmp_path / "out.npz", x=np.zeros(2))
    finally:
        os.umask(old)
    for name in ("out.csv", "out.npz"):
        assert stat.S_IMODE((tmp_path / name).stat().st_mode) == mode
