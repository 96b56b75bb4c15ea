"""The evidence scripts' shared module (benchmarks/common.py), and every script's command line."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
import yaml

from benchmarks import common
from policygradex.provenance import append, record
from tests.helpers import ROOT

SCRIPTS = sorted(
    ".".join(p.relative_to(ROOT / "benchmarks").with_suffix("").parts)
    for p in [*(ROOT / "benchmarks").glob("*.py"), *(ROOT / "benchmarks" / "tools").glob("*.py")]
    if p.stem not in ("__init__", "common")
)  # the evidence scripts, and the docs tooling as tools.<name>


def test_overrides_go_into_the_preset_the_run_uses():
    config = common.benchmark_config("ant", "evidence", ["features.episodes=64", "estimate.score=return"], seed=7)
    assert list(config["benchmarks"]) == ["ant"] and config["preset"] == "evidence"
    ant = config["benchmarks"]["ant"]
    assert ant["seed"] == 7
    assert ant["presets"]["evidence"]["features"]["episodes"] == 64
    bench = common.load_bench("ant", "evidence", ["features.episodes=64", "estimate.score=return"])
    assert bench["features"]["episodes"] == 64 and bench["estimate"]["score"] == "return"
    assert common.load_bench("pointmass", "smoke", ["cluster.k=3"])["cluster"]["k"] == 3  # no presets: the entry


def test_a_run_folder_names_its_benchmark_and_the_commit_that_made_it(tmp_path):
    config = common.benchmark_config("pointmass", "smoke", seed=3)
    (tmp_path / "config.yaml").write_text(yaml.safe_dump(config))
    name, bench = common.run_benchmark(tmp_path)
    assert name == "pointmass" and bench["seed"] == 3
    results = tmp_path / "results" / name
    assert common.made_at(results) == common.commit()  # no provenance: the checkout measuring it
    made = record(bench, ROOT) | {"commit": "abcdef0123456789", "dirty": True}
    append(results / "provenance.json", made)
    append(results / "provenance.json", made | {"commit": "9999999999"})  # a later run in the same folder
    assert common.made_at(results) == "abcdef0+dirty"
    two = yaml.safe_load((tmp_path / "config.yaml").read_text())
    two["benchmarks"]["copy"] = two["benchmarks"]["pointmass"]
    (tmp_path / "config.yaml").write_text(yaml.safe_dump(two))
    with pytest.raises(SystemExit, match="expected one benchmark"):
        common.run_benchmark(tmp_path)


def test_rows_are_written_as_csv_json_and_a_markdown_table(tmp_path, capsys):
    rows = [{"seed": 1, "commit": "abc", "ari": 0.5}, {"seed": 2, "commit": "abc", "ari": 1 / 3}]
    common.write_rows(rows, tmp_path / "out", "kind", hide=("commit",))
    assert pd.read_csv(tmp_path / "out" / "kind.csv").to_dict("records") == rows
    assert json.loads((tmp_path / "out" / "kind.json").read_text()) == rows
    assert capsys.readouterr().out.splitlines() == ["| seed | ari |", "|---|---|", "| 1 | 0.500 |", "| 2 | 0.333 |"]


def test_a_table_is_saved_with_its_rows_or_a_payload_as_json(tmp_path):
    """numpy scalars (what pandas rows hold) are written as JSON numbers; a payload replaces the rows."""
    table = pd.DataFrame({"seed": np.array([3, 4]), "ari": np.array([0.25, 1.0]), "ok": np.array([True, False])})
    common.save(table, tmp_path, "kind")
    assert json.loads((tmp_path / "kind.json").read_text()) == [
        {"seed": 3, "ari": 0.25, "ok": True},
        {"seed": 4, "ari": 1.0, "ok": False},
    ]
    pd.testing.assert_frame_equal(pd.read_csv(tmp_path / "kind.csv"), table)
    common.save(table, tmp_path, "kind", {"benchmark": "ant", "rows": np.int64(2)})
    assert json.loads((tmp_path / "kind.json").read_text()) == {"benchmark": "ant", "rows": 2}


def test_a_commit_that_looks_like_a_number_is_read_as_text(tmp_path):
    (tmp_path / "rows.csv").write_text("seed,commit,ari\n90,00366e5,1.0\n91,1234567,0.5\n")
    rows = common.read_rows(tmp_path / "rows.csv")
    assert list(rows["commit"]) == ["00366e5", "1234567"] and list(rows["seed"]) == [90, 91]


def test_ci95_is_the_t_interval_of_the_mean():
    assert common.ci95([1.0, 2.0, 3.0]) == pytest.approx(4.302653 / np.sqrt(3), rel=1e-6)
    assert np.isnan(common.ci95([2.0]))


def test_a_baselines_ari_is_against_the_planted_groups(tmp_path):
    pd.DataFrame({"task": list("abcd"), "group": [0, 0, 1, 1], "planted": ["x", "x", "y", "y"]}).to_csv(
        tmp_path / "clusters.csv", index=False
    )
    grouped = tmp_path / "baselines" / "grad_similarity"
    grouped.mkdir(parents=True)
    pd.DataFrame({"task": list("dcba"), "group": [0, 0, 1, 1]}).to_csv(grouped / "clusters.csv", index=False)
    assert common.baseline_ari(tmp_path, "grad_similarity") == 1.0
    pd.DataFrame({"task": list("dcba"), "group": [0, 1, 0, 1]}).to_csv(grouped / "clusters.csv", index=False)
    assert common.baseline_ari(tmp_path, "grad_similarity") == pytest.approx(-0.5)
    assert np.isnan(common.baseline_ari(tmp_path, "random"))


def test_a_script_measures_the_package_of_its_own_checkout(tmp_path):
    """Run from another checkout (a worktree at the commit under test), the scripts import that checkout's
    package, not the one the environment was installed from (here: this repository's, an editable install)."""
    import shutil

    (tmp_path / "benchmarks").mkdir()
    shutil.copy(ROOT / "benchmarks" / "__init__.py", tmp_path / "benchmarks" / "__init__.py")
    (tmp_path / "src" / "policygradex").mkdir(parents=True)
    (tmp_path / "src" / "policygradex" / "__init__.py").write_text("")
    done = subprocess.run(
        [sys.executable, "-c", "import benchmarks, policygradex; print(policygradex.__file__)"],
        cwd=tmp_path, capture_output=True, text=True, check=True, env={"PATH": os.environ["PATH"]},
    )  # fmt: skip
    assert done.stdout.strip() == str(tmp_path / "src" / "policygradex" / "__init__.py")


def documented_flags() -> dict[str, set[str]]:
    """Script -> the options README.md and docs/ use with it (``python -m benchmarks.<name> --flag ...``, lines
    continued with a backslash included)."""
    import re

    flags: dict[str, set[str]] = {}
    for page in [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]:
        text = re.sub(r"\\\n\s*", " ", page.read_text())
        for name, rest in re.findall(r"python -m benchmarks\.([\w.]+?)(?=[\s`]|$)([^\n`]*)", text):
            flags.setdefault(name, set()).update(re.findall(r"(?<![\w-])(--[a-z][a-z0-9-]*)", rest))
    return flags


def test_every_script_teaches_its_command_line():
    """``python -m benchmarks.<name> --help`` for every script, in one process (the ML stack imported once): it
    exits 0 and names every option the README's and docs' commands give the script."""
    check = (
        "import runpy, sys\n"
        f"for name in {SCRIPTS!r}:\n"
        "    print('begin', name, flush=True)\n"
        "    sys.argv = [name, '--help']\n"
        "    try:\n"
        "        runpy.run_module(f'benchmarks.{name}', run_name='__main__')\n"
        "    except SystemExit as exit:\n"
        "        assert exit.code in (0, None), name\n"
        "    print('ok', name, flush=True)\n"
    )
    done = subprocess.run([sys.executable, "-c", check], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    assert [line for line in done.stdout.splitlines() if line.startswith("ok ")] == [f"ok {n}" for n in SCRIPTS]
    helps = {name: done.stdout.split(f"begin {name}\n")[1].split(f"ok {name}\n")[0] for name in SCRIPTS}
    cited = documented_flags()
    assert set(cited) <= set(SCRIPTS), set(cited) - set(SCRIPTS)  # every script the docs run exists
    untaught = {name: sorted(f for f in flags if f not in helps[name]) for name, flags in cited.items()}
    assert not any(untaught.values()), untaught
    assert sum(len(flags) for flags in cited.values()) >= 20  # the commands were found


def test_a_pages_table_is_its_file(tmp_path):
    from benchmarks.tools.pages import fill

    source = tmp_path / "rows.csv"
    pd.DataFrame({"matrix": ["T", "cosine", "T"], "seed": [1, 1, 2], "rho": [0.5, 0.25, 1 / 3]}).to_csv(source)
    page = f"text\n<!-- table: {source} columns=seed,rho where=matrix:T -->\n| stale |\n<!-- /table -->\nmore\n"
    assert fill(page) == (
        f"text\n<!-- table: {source} columns=seed,rho where=matrix:T -->\n"
        "| seed | rho |\n|---|---|\n| 1 | 0.500 |\n| 2 | 0.333 |\n<!-- /table -->\nmore\n"
    )
    assert fill(fill(page)) == fill(page)


def test_a_pages_table_may_be_a_scripts_view_and_sit_in_a_list_item(tmp_path):
    """``by=`` renders what the script makes of the rows (here claims' one column per seed); an indented marker
    keeps its table inside the list item."""
    from benchmarks.tools.pages import fill

    source = tmp_path / "claims.csv"
    pd.DataFrame({"seed": [3, 4], "ari": [1.0, 0.75]}).to_csv(source, index=False)
    page = f"1. item\n   <!-- table: {source} by=claims.transposed -->\n   | stale |\n   <!-- /table -->\n"
    assert fill(page) == (
        f"1. item\n   <!-- table: {source} by=claims.transposed -->\n"
        "   | measure | 3 | 4 |\n   |---|---|---|\n   | ari | 1.000 | 0.750 |\n   <!-- /table -->\n"
    )


def test_a_template_table_takes_its_numbers_from_the_files(tmp_path):
    """A YAML template's prose is filled from the results it names; a changed file changes the page's number."""
    from benchmarks.tools.pages import fill

    source = tmp_path / "claims.csv"
    pd.DataFrame({"seed": [10, 11, 12], "ari": [1.0, 0.125, 1.0]}).to_csv(source, index=False)
    template = tmp_path / "table.yaml"
    template.write_text(yaml.safe_dump({
        "values": {
            "recovered": {"file": str(source), "where": {"ari": "1.0"}, "agg": "count", "format": "{:.0f}"},
            "worst": {"file": str(source), "column": "ari", "agg": "min"},
            "seed_11": {"file": str(source), "where": {"seed": 11}, "column": "ari", "format": "{:.2f}"},
        },
        "rows": [{"claim": "groups", "here": "{recovered} of 3 seeds (worst {worst}; seed 11: {seed_11})"}],
    }))  # fmt: skip
    page = f"<!-- table: {template} -->\n<!-- /table -->\n"
    assert fill(page) == (
        f"<!-- table: {template} -->\n| claim | here |\n|---|---|\n"
        "| groups | 2 of 3 seeds (worst 0.125; seed 11: 0.12) |\n<!-- /table -->\n"
    )
    pd.DataFrame({"seed": [10, 11, 12], "ari": [1.0, 1.0, 1.0]}).to_csv(source, index=False)
    assert "3 of 3 seeds (worst 1.000; seed 11: 1.00)" in fill(page)


def test_the_docs_tables_are_their_committed_files():
    done = subprocess.run([sys.executable, "-m", "benchmarks.tools.pages", "--check"], cwd=ROOT, capture_output=True,
                          text=True)  # fmt: skip
    assert done.returncode == 0, done.stderr


def test_every_result_file_the_docs_cite_is_committed():
    """README and docs/ name their sources as docs/results/ paths or bare file names with a seed token (with {a,b}
    alternatives, * patterns, or a stem that a file continues): each must match a committed file, so a renamed
    or missing result is caught."""
    import glob
    import re

    missing = []
    for page in [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]:
        text = page.read_text()
        # bare names too (`claims_ant_unknown_seeds3-5.csv`): every name with a seed token is a result file
        bare = [
            f"docs/results/{name}"
            for name in re.findall(r"(?<![/\w.{,*-])([A-Za-z][\w.\-{},*]*_seeds(?:\d|unknown)[\w.\-{},*]*)", text)
        ]
        for cited in re.findall(r"docs/results/[A-Za-z0-9_.\-{},*]+", text) + bare:
            cited = cited.rstrip(".,;)`")
            braces = re.match(r"(.*)\{([^}]*)\}(.*)", cited)
            names = [braces[1] + e + braces[3] for e in braces[2].split(",")] if braces else [cited]
            missing += [f"{page.name}: {n}" for n in names if n != "docs/results/" and not glob.glob(f"{ROOT / n}*")]
    assert not missing, missing


def test_every_section_whose_settings_were_fixed_before_its_runs_holds():
    """benchmarks.tools.preregistration: each page section headed "settings, fixed before any run" was committed before
    every run of the seeds it names started (its commit an ancestor of each run's, each run clean)."""
    shallow = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--is-shallow-repository"], capture_output=True,
                             text=True).stdout.strip()  # fmt: skip
    if shallow != "false":
        pytest.skip("needs the repository's history (a shallow or absent clone has none)")
    from benchmarks.tools.preregistration import rows

    found = rows()
    assert len({row["section"] for row in found}) >= 4 and len(found) >= 12
    assert [row for row in found if not row["passes"]] == []
