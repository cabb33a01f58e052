"""Whole-number fields that never change what the user typed behind their back.

Streamlit's `number_input` turns "1e9" into 1 and "3.7" into 3, puts the default back when the field is emptied,
and with `max_value` keeps an over-range entry to the browser (a red field beside the old numbers), all without a
word. These fields are text: every entry is read exactly, and one that is not a whole number in range comes back
as a `problem` sentence the page shows in place of numbers computed for another input.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import streamlit as st

from analyzers.numbers import whole_number

__all__ = ["Entry", "entry_problems", "parse_whole_number", "whole_number_input"]


@dataclass(frozen=True)
class Entry:
    """What a field holds: its value when it is a whole number in range, else the sentence that says why not."""

    label: str
    value: int | None
    problem: str | None = None


def parse_whole_number(label: str, text: str, low: int, high: int) -> Entry:
    """Read `text` as a whole number from `low` to `high`, as the engine reads every number a user gives
    (`analyzers.numbers.whole_number`: ASCII digits only, so "3.7", "1e9", "٣" and "1_0" are refused, not read as
    3, 1, 3 and 10); surrounding spaces are ignored."""
    allowed = f"allowed: whole numbers {low:,}–{high:,}"
    cleaned = text.strip()
    if not cleaned:
        return Entry(label, None, f"{label} is empty ({allowed})")
    value = whole_number(cleaned)
    if value is None:
        return Entry(label, None, f"{label} = '{' '.join(cleaned.split())[:40]}' is not a whole number ({allowed})")
    if not low <= value <= high:
        written = f"{value:,}" if len(cleaned) <= 24 else cleaned[:20] + "…"
        return Entry(label, None, f"{label} = {written} is out of range ({allowed})")
    return Entry(label, value)


def whole_number_input(label: str, *, default: int, low: int, high: int, key: str, help: str | None = None,
                       container: Any = None, disabled: bool = False) -> Entry:
    """A text field holding a whole number (`default` at first); read back exactly, never clipped or rounded."""
    where = container if container is not None else st
    held = st.session_state.get(key)
    if held is not None and not isinstance(held, str):  # a number set by code (a preset, a test): as its text
        st.session_state[key] = str(held)
    text = where.text_input(label, value=f"{default}", key=key, help=help or f"A whole number, {low:,} to {high:,}",
                            disabled=disabled)
    return parse_whole_number(label, text, low, high)


def entry_problems(*entries: Entry) -> str | None:
    """One line naming every field that cannot be used, or None when all can."""
    problems = [e.problem for e in entries if e.problem]
    if not problems:
        return None
    return "; ".join(problems) + ". Nothing is analysed until it is."
