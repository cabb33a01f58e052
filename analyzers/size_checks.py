"""Checks that a convolution or pooling window fits its input, run before the op, so an input that is too small
gets the layer's name and the arithmetic (`conv1: (4 + 2·0 − 11)/4 + 1 < 1`) instead of a kernel's stack trace."""

from __future__ import annotations

from typing import Any, Sequence

import torch

from analyzers.errors import InputTooSmallError
from analyzers.numbers import per_dim, pool_window

aten = torch.ops.aten


def _check_window(layer: str, sizes: Sequence[int], kernel: Sequence[int], stride: Sequence[int],
                  padding: Sequence[int], dilation: Sequence[int]) -> None:
    for size, f, s, p, d in zip(sizes, kernel, stride, padding, dilation):
        span = d * (f - 1) + 1
        if size + 2 * p - span < 0:
            kernel_text = f"{f}" if d == 1 else f"{d}·({f} − 1) + 1"
            where = layer or "model"
            raise InputTooSmallError(
                f"{where}: ({size} + 2·{p} − {kernel_text})/{s} + 1 < 1: the {size}-pixel input is smaller than the "
                f"{span}-pixel window; use a larger input"
            )


def check_window_fits(func: Any, args: tuple, layer: str) -> None:
    """Raise `InputTooSmallError` if a conv/pool op's window does not fit its (padded) input."""
    packet = func.overloadpacket
    if packet is aten.convolution or packet is aten._convolution:
        x, w = args[0], args[1]
        if len(args) > 6 and args[6]:  # transposed convolutions grow their input
            return
        ndim = x.dim() - 2
        _check_window(layer, x.shape[2:], w.shape[2:], per_dim(args[3], ndim, 1), per_dim(args[4], ndim, 0),
                      per_dim(args[5], ndim, 1))
    elif packet in _POOLS:
        x = args[0]
        ndim = len(args[1]) if len(args[1]) > 1 else x.dim() - 2
        window = pool_window(args, ndim, dilation_index=4 if packet in _MAX_POOLS else None)
        _check_window(layer, x.shape[-ndim:], *window)


_MAX_POOLS = frozenset({aten.max_pool2d_with_indices, aten.max_pool2d, aten.max_pool3d_with_indices, aten.max_pool1d})
_POOLS = _MAX_POOLS | frozenset({aten.avg_pool2d, aten.avg_pool3d, aten.avg_pool1d})
WINDOWED_OPS = frozenset({aten.convolution, aten._convolution}) | _POOLS
