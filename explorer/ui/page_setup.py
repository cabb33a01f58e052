"""What every page does first, so that a page also runs on its own (AppTest, `streamlit run page.py`)."""

from __future__ import annotations

import re
import string

import streamlit as st

from analyzers.errors import first_line
from explorer.figures import theme  # noqa: F401  (registers the Plotly template)


def page_header(title: str, caption: str) -> None:
    st.title(title)
    st.caption(caption)


def show_user_error(exc: Exception) -> None:
    """The first line of a user error, shown as text: a spec line, a file name or a cell quoted in it may hold
    Markdown (`![i](http://…)` would make the browser fetch that URL, `[click](http://…)` would be a live link)."""
    st.error(escape_markdown(first_line(exc)), icon=":material/error:")


def escape_markdown(text: str) -> str:
    """A user's text shown literally in a Markdown element, on one line.

    Every ASCII punctuation character is backslash-escaped (CommonMark allows that for each of them and renders
    the character itself): no link, image, HTML, emphasis, code, math, heading, list or Streamlit directive
    (`:red[…]`, `:material/…:`) can form. Escapes do not stop GFM's autolink literals, which Streamlit's renderer
    finds in the text after parsing (checked in Chromium: `http\\:\\/\\/…` still became a link), so an invisible
    WORD JOINER (U+2060) goes where those patterns need adjacent characters: inside `://`, between
    `www` and `.`, and after `@`.
    """
    one_line = " ".join(text.split())
    for pattern, broken in _AUTOLINK_BREAKS:
        one_line = pattern.sub(broken, one_line)
    return "".join("\\" + ch if ch in _ASCII_PUNCTUATION else ch for ch in one_line)


WORD_JOINER = "\u2060"
_AUTOLINK_BREAKS = (
    (re.compile("://"), ":" + WORD_JOINER + "//"),
    (re.compile(r"(www)(\.)", re.IGNORECASE), r"\1" + WORD_JOINER + r"\2"),
    (re.compile("@"), "@" + WORD_JOINER),
)
_ASCII_PUNCTUATION = frozenset(string.punctuation)
