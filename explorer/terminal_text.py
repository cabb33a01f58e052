"""User text made safe to print: control characters (ANSI escapes, newlines, bidi overrides) shown as escapes.

A spec's name, a file name or a module name from a user's factory ends up on the terminal; written raw, an ESC
sequence there can recolour, move the cursor or retitle the window, and a newline splits a one-line error in two.
"""

from __future__ import annotations

import unicodedata

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
