"""What every page does first, so that a page also runs on its own (AppTest, `streamlit run page.py`)."""

from __future__ import annotations

import streamlit as st

from analyzers.errors import first_line
from analyzers.safe_text import WORD_JOINER, escape_markdown, visible_text  # noqa: F401  (pages import them here)
from explorer.figures import theme  # noqa: F401  (registers the Plotly template)

__all__ = ["WORD_JOINER", "escape_markdown", "page_header", "show_user_error", "visible_text"]


def page_header(title: str, caption: str) -> None:
    st.title(title)
    st.caption(caption)


def show_user_error(exc: Exception) -> None:
    """The first line of a user error, shown as text: a spec line, a file name or a cell quoted in it may hold
    Markdown (`![i](http://…)` would make the browser fetch that URL, `[click](http://…)` would be a live link)."""
    st.error(escape_markdown(first_line(exc)), icon=":material/error:")
