"""Numbers and shapes: formatting shared by formulas and reports (the seeds write volumes as H×W×C), and the one
reading of a whole number or a size from a user or from our own files.

Python's `int()` reads far more than a person means by a number: other scripts' digits (`int("٣")` is 3, full-width
`"３"` too), underscores (`"1_0"` is 10), signs and surrounding spaces; and `int(8.7)` quietly truncates. A count a
user gives is plain ASCII digits or a true integer, and anything else is refused, so `whole_number` is the only way
in for every command-line type, bench script, spec and API argument.
"""

from __future__ import annotations

import operator
import re
from typing import Any, Sequence

__all__ = [
    "SIZE_DIGITS", "ascii_shape", "conv_output_size", "decimal_number", "dims", "n", "parse_dims", "per_dim",
    "pool_output_size", "pool_window", "product", "volume", "whole_number",
]

_DIGITS = re.compile(r"[0-9]+")  # an explicit range: `\d` would match every script's digits
_DECIMAL = re.compile(r"(?:[0-9]{1,15}(?:\.[0-9]{0,15})?|\.[0-9]{1,15})(?:[eE][-+]?[0-9]{1,3})?")
_SIZE_SEPARATOR = re.compile(r"\s*[x×,]\s*")
SIZE_DIGITS = 13  # 2**40, the most elements an input may have, has 13 digits: a longer dim is no size
_MOST_DIGITS = 1000  # int() refuses text past 4300 digits; a count this long is refused by the caller's range


def whole_number(value: object) -> int | None:
    """`value` as an int when it plainly is one, else None for the caller to refuse in its own words.

    An integer (Python's, NumPy's, a 0-d integer tensor; never a bool, never a float, not even 8.0) or text of ASCII
    digits 0–9 only: no sign, underscore, space or other script's digits.
    """
    if isinstance(value, str):
        return int(value) if len(value) <= _MOST_DIGITS and _DIGITS.fullmatch(value) else None
    if isinstance(value, bool):
        return None
    try:
        return operator.index(value)  # type: ignore[arg-type]
    except TypeError:
        return None


def decimal_number(text: str) -> float | None:
    """Text of a non-negative decimal in ASCII ('0.75', '.5', '1e-4', '1000') as a float, else None: `float()` would
    also read other scripts' digits, underscores, 'inf' and 'nan'. '1e999' is still infinite: callers hold the value
    to their own range."""
    return float(text) if _DECIMAL.fullmatch(text) else None


def parse_dims(text: str) -> tuple[int, ...] | None:
    """The dims of a shape as text: '1x3x224x224' (also '×' or ',' between them, spaces around) → (1, 3, 224, 224);
    None unless every dim is `whole_number` text of at most `SIZE_DIGITS` digits. Reads what `ascii_shape` and
    `dims` write and what users type; it says nothing about which sizes are allowed
    (`analyzers.counting.inputs.parse_input_size` does)."""
    values: list[int] = []
    for part in _SIZE_SEPARATOR.split(text.strip()):
        value = whole_number(part) if len(part) <= SIZE_DIGITS else None
        if value is None:
            return None
        values.append(value)
    return tuple(values)


def n(value: int | float) -> str:
    """Thousands separators: 120422400 → '120,422,400'."""
    if isinstance(value, float) and not value.is_integer():
        return f"{value:,.4g}"
    return f"{int(value):,}"


def dims(shape: Sequence[int]) -> str:
    """Dimensions joined by '×': (5, 5, 192) → '5×5×192'."""
    return "×".join(str(int(d)) for d in shape)


def volume(shape: Sequence[int]) -> str:
    """An N,C,*spatial activation shape as the seeds draw it, spatial first and channels last: (1,32,28,28) → '28×28×32'.

    The batch dimension is left out; shapes with fewer than three dims are shown as they are without the batch.
    """
    if len(shape) >= 3:
        return dims([*shape[2:], shape[1]])
    return dims(shape[1:]) if len(shape) == 2 else dims(shape)


def ascii_shape(shape: Sequence[int]) -> str:
    """A machine-friendly shape for CSV: (1, 3, 224, 224) → '1x3x224x224'."""
    return "x".join(str(int(d)) for d in shape)


def product(values: Sequence[int]) -> int:
    result = 1
    for v in values:
        result *= int(v)
    return result


def per_dim(value: Any, ndim: int, default: int) -> list[int]:
    """An aten size argument (int, one-element list, per-dim list or empty) as one int per spatial dim."""
    if value is None or (isinstance(value, (list, tuple)) and len(value) == 0):
        return [default] * ndim
    if isinstance(value, int):
        return [value] * ndim
    values = [int(v) for v in value]
    return values * ndim if len(values) == 1 else values


def pool_window(args: tuple, ndim: int, dilation_index: int | None) -> tuple[list[int], ...]:
    """Kernel, stride (default, when empty or None: the kernel), padding and dilation of an aten pooling call, one int per dim.

    Max pools carry dilation at `dilation_index` (4); average pools have none (pass None).
    """
    kernel = per_dim(args[1], ndim, 1)
    stride_arg = args[2] if len(args) > 2 else None
    stride = kernel if stride_arg is None or stride_arg == [] or stride_arg == () else per_dim(stride_arg, ndim, 1)
    padding = per_dim(args[3] if len(args) > 3 else None, ndim, 0)
    dilation_arg = args[dilation_index] if dilation_index is not None and len(args) > dilation_index else None
    dilation = per_dim(dilation_arg, ndim, 1)
    return kernel, stride, padding, dilation


def conv_output_size(size: int, kernel: int, stride: int = 1, padding: int = 0, dilation: int = 1) -> int:
    """The output side of a convolution or (floor-mode) pooling window: ⌊(n + 2p − d·(k − 1) − 1)/s⌋ + 1, the one
    home of this arithmetic (the seeds write it ⌊(n + 2p − f)/s⌋ + 1 with d = 1). May be ≤ 0: callers refuse that."""
    return (size + 2 * padding - dilation * (kernel - 1) - 1) // stride + 1


def pool_output_size(size: int, kernel: int, stride: int, padding: int, dilation: int, ceil_mode: bool) -> int:
    """torch's `pooling_output_shape` for one dim: ⌊(size + 2p − d·(k − 1) − 1)/s⌋ + 1, rounded up in ceil mode,
    where the last window must still start inside the input or its left padding (else it is dropped).

    E.g. size 2, kernel 3, stride 2, ceil mode: ⌈(2 − 3)/2⌉ + 1 = 1 (the window hangs over the right edge).
    """
    out = conv_output_size(size + (stride - 1 if ceil_mode else 0), kernel, stride, padding, dilation)
    if ceil_mode and (out - 1) * stride >= size + padding:
        out -= 1
    return out
