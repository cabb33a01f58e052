"""Input sizes: one type and one text parser for every caller (the CLI's commands, bench, specs, the zoo, sources).

Sizes are channels first, without the batch: PyTorch's order. Specs and the app write volumes H×W×C; they convert
at their edges, never here.
"""

from __future__ import annotations

import re

from analyzers.errors import InputSizeError

InputSize = tuple[int, int, int]  # channels, height, width

_SEPARATOR = re.compile(r"\s*[x×,]\s*")
_MAX_DIGITS = 13  # the analyzer takes at most 2**40 elements (13 digits); longer digit strings are not sizes


def parse_input_size(text: str, *, flag: str = "--input", dimensions: tuple[int, int] = (1, 4)) -> tuple[int, ...]:
    """'3x224x224' (also '3×224×224', '3,224,224', spaces around separators) → (3, 224, 224).

    `dimensions` is the (fewest, most) sizes allowed: the analyzer takes 1 to 4, a benchmark's image input exactly
    3. Anything else is an `InputSizeError` (a `UserError`) whose one line names `flag` and the text given.
    """
    fewest, most = dimensions
    form = "CxHxW" if dimensions == (3, 3) else f"CxHxW ({fewest} to {most} sizes)"
    shown = repr(text) if len(text) <= 40 else repr(text[:37]) + "…"
    expected = f"{flag} {shown}: expected {form} with positive integers, e.g. 3x224x224"
    parts = _SEPARATOR.split(text.strip())
    if not all(re.fullmatch(r"[0-9]{1,%d}" % _MAX_DIGITS, part, re.ASCII) for part in parts):
        raise InputSizeError(expected)
    size = tuple(int(part) for part in parts)
    if not fewest <= len(size) <= most:
        raise InputSizeError(f"{expected}; got {len(size)} size{'s' if len(size) > 1 else ''}")
    if min(size) < 1:
        raise InputSizeError(f"{expected}; got a 0")
    return size
