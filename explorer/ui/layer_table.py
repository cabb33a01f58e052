"""The per-layer table as the seeds would write it: shapes H×W×C, params, MACs, % of total and the formula.

The blocks open in the diagram are open here: a collapsed container is one row, a partition of the model, so the
rows always add up to the totals (and the percentages to 100 %).
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from explorer.figures.layer_rows import open_frontier
from explorer.figures.shape_text import hwc_text
from explorer.ui.downloads import download_buttons
from explorer.ui.selection import on_table_select, row_for_layer, rows_key, selected_layer, table_key


def display_table(table: pd.DataFrame, expanded: frozenset[str]) -> pd.DataFrame:
    """The rows to show, with the seeds' shape notation and each row's share of the model's totals."""
    rows = open_frontier(table, expanded)
    total = table.iloc[0]
    shown = pd.DataFrame(
        {
            "layer": [name or "(model)" for name in rows["name"]],
            "type": rows["type"],
            "input (H×W×C)": [hwc_text(s) for s in rows["input_shape"]],
            "output (H×W×C)": [hwc_text(s) for s in rows["output_shape"]],
            "params": rows["params"].astype("int64"),
            "params_pct": _share(rows["params"], total["params"]),
            "macs": rows["macs"].astype("int64"),
            "macs_pct": _share(rows["macs"], total["macs"]),
            "elementwise_ops": rows["elementwise_ops"].astype("int64"),
            "activation_bytes": rows["activation_bytes"].astype("int64"),
            "receptive_field": rows["receptive_field"],
            "weight_depth": rows["weight_depth"].astype("int64"),
            "formula": rows["formula"],
            "params_formula": rows["params_formula"],
        }
    )
    return shown.reset_index(drop=True)


def _share(values: pd.Series, total: int) -> pd.Series:
    return (100.0 * values / total).round(2) if total else values * 0.0


COLUMN_CONFIG = {
    "layer": st.column_config.TextColumn("layer", width="medium"),
    "type": st.column_config.TextColumn("type", width=150),  # BatchNorm2d, AdaptiveAvgPool2d in full
    "params": st.column_config.NumberColumn("params", format="localized"),
    "params_pct": st.column_config.ProgressColumn(
        "% params", format="%.1f%%", min_value=0, max_value=100, width="small"
    ),
    "macs": st.column_config.NumberColumn("MACs", format="localized"),
    "macs_pct": st.column_config.ProgressColumn("% MACs", format="%.1f%%", min_value=0, max_value=100, width="small"),
    "elementwise_ops": st.column_config.NumberColumn("element-wise ops", format="localized"),
    "activation_bytes": st.column_config.NumberColumn("activation bytes", format="localized"),
    "receptive_field": st.column_config.TextColumn(
        "RF (px)", width="small", help="receptive field: input pixels one output position sees"),
    "weight_depth": st.column_config.NumberColumn(
        "weight depth", width="small", help="conv/linear layers on the longest path from the input to here"),
    "formula": st.column_config.TextColumn("formula", width=560),  # wide enough for a conv's whole formula
    "params_formula": st.column_config.TextColumn("params formula", width=260),
}


def layer_table(table: pd.DataFrame, expanded: frozenset[str], *, scope: str, file_stem: str) -> pd.DataFrame:
    """Show the table with single-row selection linked to the charts, and CSV/JSON downloads; returns it."""
    shown = display_table(table, expanded)
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
        column_config=COLUMN_CONFIG,
        height=min(560, 38 + 35 * len(shown)),
        width="stretch",
    )
    download_buttons(shown, f"{file_stem}_layers", key=f"{scope}_table_download")
    return shown
