"""How every Plotly figure is put on a page: our own template (not Streamlit's theme), full width, and a
toolbar reduced to what helps (zoom, pan, reset, PNG download)."""

from __future__ import annotations

from collections.abc import Callable

import plotly.graph_objects as go
import streamlit as st

__all__ = ["CONFIG", "show_figure"]

CONFIG = {
    "displaylogo": False,
    "modeBarButtonsToRemove": ["lasso2d", "select2d", "autoScale2d"],
    "toImageButtonOptions": {"format": "png", "scale": 2},
}


def show_figure(
    fig: go.Figure, *, key: str, on_select: Callable[[], None] | None = None, scroll_zoom: bool = False
) -> None:
    """Draw `fig`; with `on_select`, a click on a point reruns the page through that callback; `scroll_zoom`
    lets the mouse wheel zoom (the network diagram). A figure that sets its own width (the diagram, drawn at one
    scale) keeps it; every other one fills the column."""
    config = {**CONFIG, "scrollZoom": True} if scroll_zoom else CONFIG
    width = "content" if fig.layout.width else "stretch"
    if on_select is None:
        st.plotly_chart(fig, key=key, theme=None, config=config, width=width)
    else:
        st.plotly_chart(
            fig, key=key, theme=None, config=config, width=width, on_select=on_select, selection_mode="points"
        )
