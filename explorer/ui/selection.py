"""The selected layer, shared by the layer table and the charts through `st.session_state`.

Streamlit reports a click on a chart or a table row through the widget's selection state; the callbacks here
turn either event into one layer name, and point the table's own selection at that layer so a click on the
diagram highlights the row (and a row click outlines the box).
"""

from __future__ import annotations

from typing import Any

import streamlit as st

from explorer.figures.layer_rows import shown_row

__all__ = [
    "EMPTY_TABLE_SELECTION", "chart_key", "on_chart_select", "on_table_select", "row_for_layer", "rows_key",
    "select_layer", "selected_key", "selected_layer", "table_key",
]

EMPTY_TABLE_SELECTION: dict[str, Any] = {"selection": {"rows": [], "columns": [], "cells": []}}


def selected_key(scope: str) -> str:
    return f"{scope}_selected_layer"


def table_key(scope: str) -> str:
    return f"{scope}_layer_table"


def chart_key(scope: str, chart: str) -> str:
    return f"{scope}_{chart}_chart"


def rows_key(scope: str) -> str:
    """Where the table's displayed layer names are kept, to map a row index back to a layer and forth."""
    return f"{scope}_table_names"


def selected_layer(scope: str) -> str | None:
    return st.session_state.get(selected_key(scope))


def row_for_layer(names: list[str], layer: str | None) -> int | None:
    """The table row showing `layer`: the layer itself, else the collapsed container that holds it."""
    return shown_row(names, layer)


def select_layer(scope: str, layer: str | None) -> None:
    """Make `layer` the selection everywhere: remember it and point the table's row selection at it."""
    st.session_state[selected_key(scope)] = layer
    row = row_for_layer(st.session_state.get(rows_key(scope), []), layer)
    state = {"selection": {"rows": [row] if row is not None else [], "columns": [], "cells": []}}
    st.session_state[table_key(scope)] = state


def on_table_select(scope: str) -> None:
    """Callback of the layer table: the clicked row's layer becomes the selection."""
    state = st.session_state.get(table_key(scope)) or EMPTY_TABLE_SELECTION
    rows = state["selection"]["rows"]
    names = st.session_state.get(rows_key(scope), [])
    st.session_state[selected_key(scope)] = names[rows[0]] if rows and rows[0] < len(names) else None


def on_chart_select(scope: str, chart: str) -> None:
    """Callback of a chart whose points carry the layer name as `customdata`."""
    state = st.session_state.get(chart_key(scope, chart)) or {}
    points = (state.get("selection") or {}).get("points") or []
    names = [p.get("customdata") for p in points if isinstance(p.get("customdata"), str)]
    if names:
        select_layer(scope, names[0])
