"""Tables of prose whose numbers come from their files: a YAML template filled from the committed results.

A template has ``rows`` (one mapping of column to text per table row) and ``values``: for each ``{name}`` a row's
text holds, where its number comes from. A value names

- ``file``: a committed result (CSV, or JSON: a list of rows);
- ``where``: ``{column: value or [values]}``, the rows it reads (compared as text), and ``query``, a pandas query
  the rows must also pass (``gain_pct > 0``);
- ``column`` and ``agg``: ``value`` (the one cell left, a number or a text), ``mean``, ``median``, ``min``, ``max``,
  ``sum``, ``nunique`` or ``count`` (the rows left); ``abs: true`` takes the cells' absolute values first;
- ``scale`` (default 1) and ``format`` (a Python format string, default ``{:.3f}``).

``benchmarks.tools.pages`` renders a marker naming the template (``<!-- table: docs/X.yaml -->``) with :func:`fill`, so
``pages --check`` fails when a number of the page no longer is what its file says.

    python -m benchmarks.tools.headlines docs/evidence-table.yaml      # print every value with its source
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

import pandas as pd
import yaml

from benchmarks.common import ROOT, keep_rows, result_rows

AGGREGATES = ("value", "mean", "median", "min", "max", "sum", "nunique", "count")


def compute(name: str, spec: dict[str, Any]) -> float | str:
    """The number of one template value (module docstring)."""
    path = ROOT / spec["file"]
    agg = spec.get("agg", "value")
    if agg not in AGGREGATES:
        raise SystemExit(f"value {name}: agg must be one of {', '.join(AGGREGATES)}, got {agg!r}")
    frame = result_rows(path)
    for column, wanted in (spec.get("where") or {}).items():
        frame = keep_rows(frame, column, wanted if isinstance(wanted, list) else [wanted])
    if "query" in spec:
        frame = frame.query(spec["query"])
    if agg == "count":
        return float(len(frame))
    cells = frame[spec["column"]]
    if agg == "value":
        if len(cells) != 1:
            raise SystemExit(f"value {name}: {spec['file']} has {len(cells)} rows where one was expected")
        cell = cells.iloc[0]
        return cell if isinstance(cell, str) else float(cell)
    cells = pd.to_numeric(cells)
    return float(getattr(cells.abs() if spec.get("abs") else cells, agg)())


def values(template: dict[str, Any]) -> dict[str, str]:
    """Every value of ``template``, formatted as the page writes it."""
    filled = {}
    for name, spec in template.get("values", {}).items():
        number = compute(name, spec)
        number = number if isinstance(number, str) else number * spec.get("scale", 1)
        filled[name] = spec.get("format", "{:.3f}" if not isinstance(number, str) else "{}").format(number)
    return filled


def fill(path: Path) -> pd.DataFrame:
    """The table of the template at ``path``, its ``{name}`` fields filled from the files."""
    template = yaml.safe_load(path.read_text())
    filled = values(template)
    return pd.DataFrame(
        [{column: str(text).format_map(filled) for column, text in row.items()} for row in template["rows"]]
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("template", type=Path, help="a YAML template (docs/evidence-table.yaml)")
    args = parser.parse_args()
    template = yaml.safe_load(args.template.read_text())
    for name, text in values(template).items():
        spec = template["values"][name]
        print(f"{name} = {text}  ({spec['file']}, {spec.get('agg', 'value')} of {spec.get('column', 'rows')})")


if __name__ == "__main__":
    main()
