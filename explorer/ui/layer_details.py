"""The selected layer beside the diagram: what it is, its shapes, its parameters and MACs with their formulas,
its receptive field, and (for a block) a button to open or close it in the diagram and the table.

The table can be long and Streamlit cannot scroll it to a row; this panel shows the clicked layer's row where
the click happened.
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from explorer.figures.field_text import field_words
from explorer.figures.shape_text import hwc_text
from explorer.ui.expansion import set_open
from explorer.ui.human import compact, exact
from explorer.ui.page_setup import escape_markdown

__all__ = ["layer_details"]


def layer_details(table: pd.DataFrame, layer: str | None, expanded: frozenset[str], *, scope: str, key: str,
                  sides: tuple[int, ...] = (), tokens: bool = False) -> None:
    """The panel for `layer` (a name in `table`), or a hint when nothing is selected."""
    rows = table[table["name"] == layer] if layer is not None else table.iloc[0:0]
    if rows.empty:
        st.info("Click a box or a dot in the diagram (or a row of the table) to see that layer here.",
                icon=":material/touch_app:")  # fmt: skip
        return
    row = next(rows.itertuples())
    name = row.name or "(model)"
    st.markdown(f"**`{name.replace('`', '')}`** · {escape_markdown(str(row.type))}")  # no escapes in code
    calls = int(getattr(row, "calls", 1))
    if calls == 0:
        st.caption("Never called by this forward (e.g. an auxiliary head in eval mode): no cost counted.")
    st.markdown(f"in **{hwc_text(row.input_shape, tokens) or '—'}** → out **{hwc_text(row.output_shape, tokens) or '—'}**")
    st.metric("Parameters", compact(int(row.params)), help=f"{exact(int(row.params))} parameters")
    if row.params_formula:
        st.caption(escape_markdown(str(row.params_formula)))
    st.metric("MACs", compact(int(row.macs)), help=f"{exact(int(row.macs))} multiply–accumulates")
    if row.formula:
        st.caption(escape_markdown(str(row.formula)))
    st.markdown(f"Element-wise ops **{exact(int(row.elementwise_ops))}** · activations "
                f"**{exact(int(row.activation_bytes))} B**")  # fmt: skip
    field = field_words(str(row.receptive_field or ""), str(row.rf_jump or ""), sides)
    st.markdown(f"Receptive field: **{field}**" + (f" · calls {calls}" if calls > 1 else ""))
    if not bool(row.is_leaf) and row.name:
        is_open = row.name in expanded
        st.button(
            "Collapse this block" if is_open else "Expand this block",
            key=f"{scope}_toggle_block",
            icon=":material/unfold_less:" if is_open else ":material/unfold_more:",
            on_click=set_open,
            args=(scope, key, str(row.name), not is_open),
            width="stretch",
        )
