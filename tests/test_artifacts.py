"""The artifact table behind `policygradex describe` and the workflow's catch-all for unknown targets."""

import re

import numpy as np
import pandas as pd

from policygradex import artifacts
from policygradex.cli import main
from tests.helpers import ROOT


def test_unknown_path_regex_claims_only_paths_that_are_no_artifact():
    regex = re.compile(artifacts.unknown_path_regex())
    for known in ("clusters.csv", "features/east-1.0.npz", "baselines/random_0/groups/1/policy.pt", "report.zip"):
        assert regex.fullmatch(known) is None, known
    for typo in ("cluster.csv", "features/east-1.0.csv", "groups/0/policy.pth", "report"):
        assert regex.fullmatch(typo) is not None, typo


def test_the_message_for_a_wrong_target_suggests_the_close_one_and_lists_the_targets():
    message = artifacts.unknown_target_message("pm", "cluster.csv", ["results/pm/clusters.csv"], ["pm"])
    assert "Did you mean clusters.csv?" in message and "results/pm/clusters.csv" in message
    assert "unknown benchmark 'pn'" in artifacts.unknown_target_message("pn", "clusters.csv", None, ["pm"])


def test_describe_reads_the_fields_of_a_file_and_flags_undescribed_ones(tmp_path, capsys):
    folder = tmp_path / "results" / "pm" / "features"
    folder.mkdir(parents=True)
    np.savez(folder / "east.npz", obs=np.zeros((3, 2), np.float32), surprise=np.ones(4))
    csv = tmp_path / "results" / "pm" / "evaluation.csv"
    pd.DataFrame({"method": ["single"], "task": ["east"], "note": ["x"]}).to_csv(csv, index=False)
    assert artifacts.undescribed(folder / "east.npz") == ["surprise"]
    assert artifacts.undescribed(csv) == ["note"]
    assert main(["describe", str(folder / "east.npz")]) == 0
    out = capsys.readouterr().out
    assert "written by: features" in out
    assert "obs [shape (3, 2), dtype <f4]: observations" in out
    assert "surprise [shape (4,), dtype <f8]: (not described)" in out


def test_the_table_lists_every_artifact_once_and_the_readme_shows_it_as_it_is():
    """Each artifact has one row, and the docs' table is `policygradex describe --list` as it is now: a field
    added to a file must reach the user's guide."""
    table = artifacts.markdown_table()
    patterns = [a.pattern for a in artifacts.ARTIFACTS]
    assert len(set(patterns)) == len(patterns)
    page = ROOT / "docs" / "stages-and-artifacts.md"
    assert table in page.read_text(), f"{page}: the artifact table differs from describe --list"
