"""Whole-number fields that never change what the user typed behind their back.

Streamlit's `number_input` turns "1e9" into 1 and "3.7" into 3, puts the default back when the field is emptied,
and with `max_value` keeps an over-range entry to the browser (a red field beside the old numbers), all without a
word. These fields are text: every entry is read exactly, and one that is not a whole number in range comes back
as a `problem` sentence the page shows in place of numbers computed for another input.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

import streamlit as st

__all__ = ["Entry", "entry_problems", "parse_whole_number", "whole_number_input"]


@dataclass(frozen=True)
class Entry:
    """What a field holds: its value when it is a whole number in range, else the sentence that says why not."""

    label: str
    value: int | None
    problem: str | None = None


def parse_whole_number(label: str, text: str, low: int, high: int) -> Entry:
    """Read `text` as a whole number from `low` to `high`: digits with optional thousands separators
    ("4,096", "4 096", "4_096"), or any exact notation of a whole number ("1e3", "64.0")."""
    allowed = f"allowed: whole numbers {low:,}–{high:,}"
    cleaned = text.strip().replace(",", "").replace("_", "").replace(" ", "").replace("\u202f", "")
    if not cleaned:
        return Entry(label, None, f"{label} is empty ({allowed})")
    try:
        number = Decimal(cleaned)
    except InvalidOperation:
        number = None
    shown = " ".join(text.split())[:40]
    if number is None or not number.is_finite():
        return Entry(label, None, f"{label} = '{shown}' is not a number ({allowed})")
    if number != number.to_integral_value():
        return Entry(label, None, f"{label} = '{shown}' is not a whole number ({allowed})")
    if not low <= number <= high:  # compared as decimals: "1e999999" never becomes a million-digit int
        written = f"{int(number):,}" if number.adjusted() < 30 else shown
        return Entry(label, None, f"{label} = {written} is out of range ({allowed})")
    return Entry(label, int(number))


def whole_number_input(label: str, *, default: int, low: int, high: int, key: str, help: str | None = None,
                       container: Any = None, disabled: bool = False) -> Entry:
    """A text field holding a whole number (`default` at first); read back exactly, never clipped or rounded."""
    where = container if container is not None else st
    text = where.text_input(label, value=f"{default}", key=key, help=help or f"A whole number, {low:,} to {high:,}",
                            disabled=disabled)
    return parse_whole_number(label, text, low, high)


def entry_problems(*entries: Entry) -> str | None:
    """One line naming every field that cannot be used, or None when all can."""
    problems = [e.problem for e in entries if e.problem]
    if not problems:
        return None
    return "; ".join(problems) + ". Nothing is analysed until it is."
