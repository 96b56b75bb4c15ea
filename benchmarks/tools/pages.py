"""Fill the tables of README.md and the docs/ pages from the committed result files, so that every table there is
its file.

A page marks a table with an HTML comment naming its source, and this script writes the markdown table between
the marker and ``<!-- /table -->`` (floats with 3 decimals, as every script prints them):

    <!-- table: docs/results/gradient_similarity_X_summary.csv columns=matrix,seeds,row_spearman_vs_full -->
    | matrix | seeds | row_spearman_vs_full |
    ...
    <!-- /table -->

``where=COLUMN:VALUE[|VALUE...]`` keeps the rows whose column holds one of the values, ``by=SCRIPT.FUNCTION``
turns the rows into the table a script prints (``benchmarks.<SCRIPT>.<FUNCTION>``, a frame to a frame: a
transposed, pivoted or summarised view), ``columns=`` picks and orders columns (default: all), in that order; a
JSON file is a list of rows, or ``key=NAME`` names the list in it. A YAML file is a template
(:mod:`benchmarks.tools.headlines`): its ``rows`` are the table's, their text with ``{name}`` fields, each computed from
a committed result file as its ``values`` entry says, so that a table of prose keeps its numbers in their files. A
marker indented (in a list item) indents its table alike.
``--check`` changes nothing and fails, naming the page, when a table differs from its file (a test runs it).

    python -m benchmarks.tools.pages            # rewrite the tables of README.md and docs/*.md
    python -m benchmarks.tools.pages --check
"""

from __future__ import annotations

import importlib
import re
import sys
from pathlib import Path

from benchmarks.common import ROOT, keep_rows, markdown_table, result_rows, script_parser
from benchmarks.tools import headlines

MARKER = re.compile(
    r"^(?P<indent>[ \t]*)<!-- table: (?P<spec>[^>]*?) -->\n(?P<body>.*?)^(?P=indent)<!-- /table -->", re.S | re.M
)


def render(spec: str) -> str:
    """The markdown table a marker's ``spec`` (a file, then ``columns=`` and ``where=`` options) stands for."""
    path, *options = spec.split()
    settings = dict(option.partition("=")[::2] for option in options)
    unknown = set(settings) - {"columns", "where", "by", "key"}
    if unknown:
        raise SystemExit(f"{path}: unknown table options {sorted(unknown)} (columns=, where=, by=, key=)")
    if path.endswith(".yaml"):
        table = headlines.fill(ROOT / path)
    else:
        table = result_rows(ROOT / path, settings.get("key"))
    if "where" in settings:  # rows first, so that the filter may use a column the table leaves out
        column, _, values = settings["where"].partition(":")
        table = keep_rows(table, column, values.split("|"))
    if "by" in settings:
        script, _, function = settings["by"].partition(".")
        table = getattr(importlib.import_module(f"benchmarks.{script}"), function)(table)
    if "columns" in settings:
        table = table[settings["columns"].split(",")]
    return markdown_table(table.reset_index(drop=True)) + "\n"


def fill(text: str) -> str:
    """``text`` with every marked table rewritten from its file."""

    def table(marker: re.Match) -> str:
        indent = marker["indent"]
        lines = "".join(f"{indent}{line}\n" for line in render(marker["spec"]).splitlines())
        return f"{indent}<!-- table: {marker['spec']} -->\n{lines}{indent}<!-- /table -->"

    return MARKER.sub(table, text)


def main() -> None:
    parser = script_parser(__doc__, "pages")
    parser.add_argument("--check", action="store_true", help="fail if a page's table differs from its file")
    pages = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
    parser.add_argument("--pages", type=Path, nargs="+", default=pages)
    args = parser.parse_args()
    stale = []
    for page in args.pages:
        text = page.read_text()
        filled = fill(text)
        if filled != text:
            stale.append(page)
            if not args.check:
                page.write_text(filled)
    if args.check and stale:
        sys.exit(f"tables differ from their files in: {', '.join(str(p.relative_to(ROOT)) for p in stale)}")
    print(f"{len(args.pages)} pages, {len(stale)} {'stale' if args.check else 'rewritten'}")


if __name__ == "__main__":
    main()
