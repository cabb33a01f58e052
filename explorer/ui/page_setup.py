"""What every page does first, so that a page also runs on its own (AppTest, `streamlit run page.py`)."""

from __future__ import annotations

import streamlit as st

from explorer.figures import theme  # noqa: F401  (registers the Plotly template)
from explorer.user_errors import USER_ERRORS


def page_header(title: str, caption: str) -> None:
    st.title(title)
    st.caption(caption)


def user_errors() -> tuple[type[Exception], ...]:
    """The exceptions whose one-line message is shown with `st.error` instead of a traceback."""
    return USER_ERRORS()


def show_user_error(exc: Exception) -> None:
    st.error(str(exc).splitlines()[0] if str(exc) else type(exc).__name__, icon=":material/error:")


def escape_markdown(text: str) -> str:
    """A user's text shown literally in a Markdown element (no links, images, emphasis or HTML)."""
    return "".join("\\" + ch if ch in "\\`*_{}[]()<>#+-.!|~:$" else ch for ch in text)
