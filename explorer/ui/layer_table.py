"""The per-layer table as the seeds would write it: shapes H×W×C, params, MACs, % of total and the formula.

The blocks open in the diagram are open here: a collapsed container is one row, a partition of the model, so the
rows always add up to the totals (and the percentages to 100 %). Number columns are as wide as their widest
number: the grid sizes its columns once, on the first data it sees, and a later batch or input would otherwise
clip 473,520,144,384 to "73,520,144,384". The downloads are the whole analysis in the CLI's report schema.
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from explorer.figures.field_text import field_cell, input_sides
from explorer.figures.layer_rows import open_frontier
from explorer.figures.shape_text import hwc_text, token_layout
from analyzers.records import Analysis
from explorer.ui.downloads import analysis_downloads
from explorer.ui.selection import on_table_select, row_for_layer, rows_key, selected_layer, table_key

__all__ = [
    "CELL_PADDING_PX", "COLUMN_CONFIG", "DIGIT_PX", "HEADER_CHAR_PX", "NUMBER_COLUMNS", "SHAPE_HELP", "column_config",
    "display_table", "layer_table", "number_width",
]


def display_table(table: pd.DataFrame, expanded: frozenset[str], sides: tuple[int, ...] = (),
                  tokens: bool = False) -> pd.DataFrame:
    """The rows to show, with the seeds' shape notation (token sequences as T tokens × D), each row's share of the
    model's totals and its receptive field clipped to the input's `sides` (the theoretical one beside it)."""
    rows = open_frontier(table, expanded)
    total = table.iloc[0]
    shown = pd.DataFrame(
        {
            "layer": [name or "(model)" for name in rows["name"]],
            "type": rows["type"],
            "input": [hwc_text(s, tokens) for s in rows["input_shape"]],
            "output": [hwc_text(s, tokens) for s in rows["output_shape"]],
            "params": rows["params"].astype("int64"),
            "params_pct": _share(rows["params"], total["params"]),
            "macs": rows["macs"].astype("int64"),
            "macs_pct": _share(rows["macs"], total["macs"]),
            "elementwise_ops": rows["elementwise_ops"].astype("int64"),
            "activation_bytes": rows["activation_bytes"].astype("int64"),
            "receptive_field": [field_cell(f, sides) for f in rows["receptive_field"]],
            "weight_depth": rows["weight_depth"].astype("int64"),
            "formula": rows["formula"],
            "params_formula": rows["params_formula"],
        }
    )
    return shown.reset_index(drop=True)


def _share(values: pd.Series, total: int) -> pd.Series:
    return (100.0 * values / total).round(2) if total else values * 0.0


SHAPE_HELP = "H×W×C for a feature map (the seeds' order), T tokens × D for a token sequence, F for a vector"
NUMBER_COLUMNS = {"params": "params", "macs": "MACs", "elementwise_ops": "element-wise ops",
                  "activation_bytes": "activation bytes"}
DIGIT_PX = 8.2  # a digit or comma of the grid's 14 px font, with room to spare
HEADER_CHAR_PX = 7.6
CELL_PADDING_PX = 28  # the cell's own padding plus the header's sort and menu icons


def number_width(values: pd.Series, header: str) -> int:
    """Pixels that show the widest number of `values` with its thousands separators, and the header."""
    widest = max((len(f"{int(v):,}") for v in values), default=1)
    return int(max(DIGIT_PX * widest, HEADER_CHAR_PX * len(header)) + CELL_PADDING_PX)


def column_config(shown: pd.DataFrame) -> dict[str, object]:
    """The static columns' settings, and number columns sized to this table's numbers."""
    numbers = {column: st.column_config.NumberColumn(label, format="localized",
                                                     width=number_width(shown[column], label))
               for column, label in NUMBER_COLUMNS.items()}  # fmt: skip
    return {**COLUMN_CONFIG, **numbers}


COLUMN_CONFIG = {
    "layer": st.column_config.TextColumn("layer", width="medium"),
    "input": st.column_config.TextColumn("input", help=SHAPE_HELP),
    "output": st.column_config.TextColumn("output", help=SHAPE_HELP),
    "type": st.column_config.TextColumn("type", width=150),  # BatchNorm2d, AdaptiveAvgPool2d in full
    "params_pct": st.column_config.ProgressColumn(
        "% params", format="%.1f%%", min_value=0, max_value=100, width="small"
    ),
    "macs_pct": st.column_config.ProgressColumn("% MACs", format="%.1f%%", min_value=0, max_value=100, width="small"),
    "receptive_field": st.column_config.TextColumn(
        "RF (px)", width=110, help="receptive field: input pixels one output position sees, at most the input's "
                                   "size (the theoretical field beside it when it is larger)"),
    "weight_depth": st.column_config.NumberColumn(
        "weight depth", width="small", help="conv/linear layers on the longest path from the input to here"),
    "formula": st.column_config.TextColumn("formula", width=560),  # wide enough for a conv's whole formula
    "params_formula": st.column_config.TextColumn("params formula", width=260),
}


def layer_table(table: pd.DataFrame, expanded: frozenset[str], *, scope: str, file_stem: str,
                analysis: Analysis) -> pd.DataFrame:
    """Show the table with single-row selection linked to the charts, and the analysis's CSV/JSON downloads;
    returns the rows shown."""
    shown = display_table(table, expanded, input_sides(analysis), token_layout(analysis))
    names = list(open_frontier(table, expanded)["name"])
    st.session_state[rows_key(scope)] = names
    key = table_key(scope)
    row = row_for_layer(names, selected_layer(scope))
    # Point the row selection at the selected layer before the table is drawn: a click on a chart, or a block
    # opened or closed (which renumbers the rows), then shows up in the table.
    st.session_state[key] = {"selection": {"rows": [row] if row is not None else [], "columns": [], "cells": []}}
    st.dataframe(
        shown,
        key=key,
        on_select=lambda: on_table_select(scope),
        selection_mode="single-row",
        hide_index=True,
        column_config=column_config(shown),
        height=min(560, 38 + 35 * len(shown)),
        width="stretch",
    )
    analysis_downloads(analysis, file_stem, key=f"{scope}_table_download")
    return shown
