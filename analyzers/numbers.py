"""Number and shape formatting shared by formulas and reports (the seeds write volumes as H×W×C)."""

from __future__ import annotations

from typing import Any, Sequence


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
    has_dilation = dilation_index is not None and len(args) > dilation_index
    dilation = per_dim(args[dilation_index] if has_dilation else None, ndim, 1)
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
