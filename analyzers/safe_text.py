"""User text made safe to show: on a terminal, control characters (ANSI escapes, newlines, bidi overrides) as
escapes; in Markdown, every character that would become markup escaped.

A spec's name, a file name or a module name from a user's factory ends up on the terminal; written raw, an ESC
sequence there can recolour, move the cursor or retitle the window, and a newline splits a one-line error in two.
In Markdown (the app's messages, `report --markdown`) the same name could become a link, an image the browser
fetches, or HTML.
"""

from __future__ import annotations

import re
import string
import unicodedata

__all__ = ["WORD_JOINER", "escape_markdown", "is_unsafe", "printable", "visible_text"]

# Explicit bidirectional formatting: they reorder how the rest of the line is displayed ("Trojan source").
_BIDI_CONTROLS = frozenset("\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


def is_unsafe(char: str) -> bool:
    """A C0/C1 control character (ESC, CR, LF, …, U+0085) or a bidi control."""
    return unicodedata.category(char) == "Cc" or char in _BIDI_CONTROLS


def printable(text: str) -> str:
    r"""`text` with each unsafe character written as a Python escape (`\x1b`, `\n`, `\u202e`); the rest as is."""
    if not any(is_unsafe(char) for char in text):
        return text
    return "".join(repr(char)[1:-1] if is_unsafe(char) else char for char in text)


def escape_markdown(text: str) -> str:
    """A user's text shown literally in a Markdown element, on one line.

    Every ASCII punctuation character is backslash-escaped (CommonMark allows that for each of them and renders
    the character itself): no link, image, HTML, emphasis, code, math, heading, list or Streamlit directive
    (`:red[…]`, `:material/…:`) can form. Escapes do not stop GFM's autolink literals, which Streamlit's renderer
    finds in the text after parsing (checked in Chromium: `http\\:\\/\\/…` still became a link), so an invisible
    WORD JOINER (U+2060) goes where those patterns need adjacent characters: inside `://`, between
    `www` and `.`, and after `@`. Characters that show nothing (a zero-width space, a no-break space, a
    direction mark) are written as their code point, `U+200B`: an error that quotes `'conv​'` must show why
    `conv` was refused.
    """
    one_line = " ".join(visible_text(text).split())
    for pattern, broken in _AUTOLINK_BREAKS:
        one_line = pattern.sub(broken, one_line)
    return "".join("\\" + ch if ch in _ASCII_PUNCTUATION else ch for ch in one_line)


def visible_text(text: str) -> str:
    """`text` with every character that shows nothing (format and control characters, unassigned and private
    code points, separators other than the plain space) written as `U+XXXX`; tabs and line ends stay."""
    return "".join(ch if ch in "\t\n\r" or unicodedata.category(ch) not in _INVISIBLE or ch == " " else
                   f"U+{ord(ch):04X}" for ch in text)


_INVISIBLE = frozenset({"Cf", "Cc", "Co", "Cn", "Zl", "Zp", "Zs"})
WORD_JOINER = "\u2060"
_AUTOLINK_BREAKS = (
    (re.compile("://"), ":" + WORD_JOINER + "//"),
    (re.compile(r"(www)(\.)", re.IGNORECASE), r"\1" + WORD_JOINER + r"\2"),
    (re.compile("@"), "@" + WORD_JOINER),
)
_ASCII_PUNCTUATION = frozenset(string.punctuation)
