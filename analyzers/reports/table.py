"""Per-layer reports as pandas DataFrames, with CSV / JSON / Markdown writers and a CSV reader that round-trips.

pandas is imported here only, so an analysis that needs no table never pays for it.
"""

from __future__ import annotations

import csv
import io
import numbers
import json
from pathlib import Path
from typing import Any

import pandas as pd

from analyzers.counting.formula_text import jump_text, receptive_field_text, start_text
from analyzers.numbers import ascii_shape
from analyzers.records import Analysis, LayerRecord
from analyzers.predict.roofline import ModelBound
from analyzers.reports.summary import summary_dict
from analyzers.errors import first_line
from analyzers.safe_text import escape_markdown, printable
from analyzers.user_files import UnusableFileError, read_text, write_text
from analyzers.counting.formula_text import layer_formula, params_formula

__all__ = [
    "COLUMNS", "MARKDOWN_COLUMNS", "SHAPE_SEPARATOR", "read_csv", "to_csv", "to_dataframe", "to_json", "to_markdown",
]

SHAPE_SEPARATOR = "; "
_INT64_MAX = 2**63 - 1

# Column → dtype; the order is the CSV's column order.
COLUMNS: dict[str, str] = {
    "name": "string",
    "type": "string",
    "kind": "string",
    "category": "string",
    "depth": "int64",
    "is_leaf": "bool",
    "calls": "int64",
    "input_shape": "string",
    "output_shape": "string",
    "params": "int64",
    "trainable_params": "int64",
    "param_bytes": "int64",
    "macs": "int64",
    "flops": "int64",
    "elementwise_ops": "int64",
    "activation_elements": "int64",
    "activation_bytes": "int64",
    "receptive_field": "string",
    "rf_jump": "string",
    "rf_start": "string",
    "weight_depth": "int64",
    "formula": "string",
    "params_formula": "string",
    "uncounted_ops": "string",
}


def _row(r: LayerRecord) -> dict[str, Any]:
    return {
        "name": r.name,
        "type": r.type,
        "kind": r.kind.value,
        "category": r.category.value if r.category is not None else "",
        "depth": r.depth,
        "is_leaf": r.is_leaf,
        "calls": r.calls,
        "input_shape": SHAPE_SEPARATOR.join(ascii_shape(s) for s in r.input_shapes),
        "output_shape": SHAPE_SEPARATOR.join(ascii_shape(s) for s in r.output_shapes),
        "params": r.params,
        "trainable_params": r.trainable_params,
        "param_bytes": r.param_bytes,
        "macs": r.macs,
        "flops": r.flops,
        "elementwise_ops": r.elementwise_ops,
        "activation_elements": r.activation_elements,
        "activation_bytes": r.activation_bytes,
        "receptive_field": receptive_field_text(r.receptive_field),
        "rf_jump": jump_text(r.receptive_field),
        "rf_start": start_text(r.receptive_field),
        "weight_depth": r.weight_depth,
        "formula": layer_formula(r),
        "params_formula": params_formula(r),
        "uncounted_ops": SHAPE_SEPARATOR.join(r.uncounted_ops),
    }


def to_dataframe(analysis: Analysis, max_depth: int | None = None, roofline: ModelBound | None = None) -> pd.DataFrame:
    """One row per record (execution order); `max_depth` keeps records at or above that depth.

    With a `roofline`, leaf rows also get `roofline_ms`, `arithmetic_intensity` (FLOP/byte) and `bound_by`.
    """
    rows = [_row(r) for r in analysis.records if max_depth is None or r.depth <= max_depth]
    # a count past int64 (e.g. 2**63 parameters from a user's factory) stays a Python int in an object column
    dtypes = {c: "object" if t == "int64" and any(abs(row[c]) > _INT64_MAX for row in rows) else t
              for c, t in COLUMNS.items()}
    frame = pd.DataFrame(rows, columns=list(COLUMNS)).astype(dtypes)
    if roofline is not None:
        bounds = {b.name: b for b in roofline.layers}
        frame["roofline_ms"] = frame["name"].map(lambda name: bounds[name].bound_ms if name in bounds else None)
        frame["arithmetic_intensity"] = frame["name"].map(
            lambda name: bounds[name].arithmetic_intensity if name in bounds else None)
        frame["bound_by"] = frame["name"].map(
            lambda name: ("memory" if bounds[name].memory_bound else "compute") if name in bounds else "")
    return frame


def to_csv(analysis: Analysis, path: str | Path | None = None, max_depth: int | None = None,
           roofline: ModelBound | None = None) -> str | None:
    """Write the per-layer table as CSV to `path` (or return it as text when `path` is None)."""
    text = to_dataframe(analysis, max_depth, roofline).to_csv(index=False)
    if path is None:
        return text
    write_text(path, text)
    return None


def read_csv(source: str | Path | io.StringIO) -> pd.DataFrame:
    """Read a report CSV back with the same dtypes, so `read_csv(to_csv(a))` equals `to_dataframe(a)`. A path is
    read as a regular file of bounded size, and a header that is not a report's is refused before any row is
    parsed (a header of 700,000 columns would take pandas minutes)."""
    text = source.getvalue() if isinstance(source, io.StringIO) else read_text(source, "a layer report CSV")
    header = next(csv.reader([text[: text.find("\n") + 1 or len(text)]]), [])
    missing = [c for c in COLUMNS if c not in header]
    if missing or len(header) > 2 * len(COLUMNS):
        raise UnusableFileError(f"not a layer report: {len(header):,} column(s) in its header"
                                + (f", without {', '.join(missing[:5])}" if missing else ""))
    try:
        frame = pd.read_csv(io.StringIO(text), dtype=COLUMNS, keep_default_na=False, na_values=[])
    except (ValueError, pd.errors.ParserError) as exc:
        raise UnusableFileError(f"not a layer report: {first_line(exc)}") from None
    return frame[list(COLUMNS)].astype(COLUMNS)


def to_json(analysis: Analysis, path: str | Path | None = None, max_depth: int | None = None) -> str:
    """Totals plus the per-layer rows as one JSON document."""
    document = {
        "summary": summary_dict(analysis),
        "layers": [_row(r) for r in analysis.records if max_depth is None or r.depth <= max_depth],
    }
    text = json.dumps(document, indent=2, ensure_ascii=False)
    if path is not None:
        write_text(path, text + "\n")
    return text


MARKDOWN_COLUMNS = ("name", "type", "output_shape", "params", "macs", "elementwise_ops", "formula")
# Cells that may hold a user's text (module and class names from their factory): control characters printed as
# escapes, as the terminal table does, and then no Markdown or HTML can form from them
_USER_TEXT = frozenset({"name", "type"})


def to_markdown(analysis: Analysis, max_depth: int | None = None) -> str:
    """A GitHub-flavoured Markdown table of the main columns, numbers with thousands separators."""
    frame = to_dataframe(analysis, max_depth)
    lines = [
        "| " + " | ".join(MARKDOWN_COLUMNS) + " |",
        "|" + "|".join("---:" if c in ("params", "macs", "elementwise_ops") else "---" for c in MARKDOWN_COLUMNS) + "|",
    ]
    for row in frame.itertuples(index=False):
        cells = []
        for column in MARKDOWN_COLUMNS:
            value = getattr(row, column)
            if isinstance(value, numbers.Integral):
                text = f"{value:,}"
            elif column in _USER_TEXT:
                text = escape_markdown(printable(str(value)))
            else:
                text = str(value).replace("|", "\\|")
            if column == "name":
                text = "&nbsp;" * 2 * int(row.depth) + (text or "(model)")
            cells.append(text)
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)

