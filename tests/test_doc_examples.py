"""Every YAML example of the README and docs/ passes the check as written (what a user copies must work), with
the defaults that follow its task set; a placeholder names itself in its first line and is skipped by name."""

from __future__ import annotations

import re

import pytest
import yaml

from policygradex import check
from policygradex.config import validate_config
from tests.helpers import ROOT

#: Examples that stand for the user's own package (their first line says so): nothing here can build them.
PLACEHOLDERS = {"mygrid"}


def yaml_examples() -> list[tuple[str, str, dict]]:
    """(page, benchmark name, entry) of every benchmark in a ```yaml block of README.md and docs/*.md; a block that
    holds entries without the `benchmarks:` key above them (a continuation of the page's first block) counts too."""
    found = []
    for page in [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]:
        for block in re.findall(r"```yaml\n(.*?)```", page.read_text(), flags=re.S):
            data = yaml.safe_load(block)
            entries = data.get("benchmarks", data) if isinstance(data, dict) else {}
            for name, entry in entries.items():
                if isinstance(entry, dict) and "env" in entry:
                    found.append((page.name, name, entry))
    return found


EXAMPLES = yaml_examples()


def test_the_pages_hold_the_examples_this_test_is_about():
    assert {(page, name) for page, name, _ in EXAMPLES} >= {
        ("README.md", "mytasks"), ("own-tasks.md", "mytasks"), ("own-tasks.md", "mygrid"),
        ("own-tasks.md", "myreacher"), ("own-tasks.md", "mymw"),
    }  # fmt: skip


@pytest.mark.parametrize(("page", "name", "entry"), EXAMPLES, ids=[f"{p}:{n}" for p, n, _ in EXAMPLES])
def test_every_yaml_example_passes_the_check_as_written(page, name, entry):
    if name in PLACEHOLDERS:
        pytest.skip(f"{page}'s {name} is a placeholder for the user's own package (its comment says so)")
    config = validate_config({"benchmarks": {name: entry}})
    bench = config["benchmarks"][name]
    n = len(bench["tasks"])
    assert 2 <= bench["estimate"]["subset_size"] < n
    check.check_config(config)
