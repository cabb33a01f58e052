"""Checks run before a convolution or pooling op, so an input that does not fit gets the layer's name and the
reason in one line instead of a kernel's stack trace:

- a window larger than its (padded) input: `conv1: (4 + 2·0 − 11)/4 + 1 < 1: …` (pooling by torch's exact
  output-size rule, ceil mode included);
- a wrong channel count: `features.0: expected an input with 3 channels (weight 64×3×3×3, groups 1), got 1`;
- a convolution whose bias or dtype does not match its weight, or with a negative padding or a zero stride, or an
  in-place op on an expanded tensor, which torch's CPU kernels refuse but its meta kernels let through.

Each check raises only where torch itself would refuse the call; arguments torch would refuse for other reasons
(a zero stride, too much padding) are left to torch.
"""

from __future__ import annotations

from typing import Any, Sequence

import torch

from analyzers.errors import InputMismatchError, InputTooSmallError, ModelRunError
from analyzers.numbers import dims, per_dim, pool_output_size, pool_window
from analyzers.ops import MAX_POOLS, POOL_DIMS

__all__ = ["WINDOWED_OPS", "check_window_fits"]

aten = torch.ops.aten


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _sizes(value: Any, ndim: int, default: int, may_be_empty: bool = True) -> list[int] | None:
    """An aten size argument as one int per spatial dim, or None if torch would not read it that way."""
    if _is_int(value):
        return [value] * ndim
    if not isinstance(value, (list, tuple)) or not all(_is_int(v) for v in value):
        return None
    if len(value) not in ((0, 1, ndim) if may_be_empty else (1, ndim)):
        return None
    return per_dim(value, ndim, default)


def _too_small(layer: str, size: int, kernel: int, stride: int, padding: int, dilation: int, ceil: bool) -> None:
    span = dilation * (kernel - 1) + 1
    kernel_text = f"{kernel}" if dilation == 1 else f"{dilation}·({kernel} − 1) + 1"
    fraction = f"({size} + 2·{padding} − {kernel_text})/{stride}"
    rounded = f"⌈{fraction}⌉" if ceil else fraction
    raise InputTooSmallError(
        f"{layer or 'model'}: {rounded} + 1 < 1: the {size}-pixel input is smaller than the {span}-pixel window; "
        f"use a larger input"
    )


def _check_conv_window(layer: str, sizes: Sequence[int], kernel: Sequence[int], stride: Sequence[int],
                       padding: Sequence[int], dilation: Sequence[int]) -> None:
    if min(stride) <= 0 or min(padding) < 0 or min(dilation) <= 0:
        return  # torch refuses these itself
    for size, k, s, p, d in zip(sizes, kernel, stride, padding, dilation):
        if size + 2 * p - d * (k - 1) - 1 < 0:
            _too_small(layer, size, k, s, p, d, ceil=False)


def _check_convolution(args: tuple, layer: str) -> None:
    x, w, bias = args[0], args[1], args[2]
    transposed, groups = bool(args[6]), args[8]
    if not isinstance(w, torch.Tensor) or x.dim() not in (w.dim(), w.dim() - 1) or w.dim() < 3:
        return
    where = layer or "model"
    if _is_int(groups) and groups > 0:
        expected = int(w.shape[0]) if transposed else int(w.shape[1]) * groups
        channels = int(x.shape[1] if x.dim() == w.dim() else x.shape[0])
        if channels != expected:
            kind = "transposed weight" if transposed else "weight"
            raise InputMismatchError(
                f"{where}: expected an input with {expected} channels ({kind} {dims(w.shape)}, groups {groups}), "
                f"got {channels}"
            )
        out_channels = int(w.shape[1]) * groups if transposed else int(w.shape[0])
        if isinstance(bias, torch.Tensor) and (bias.dim() != 1 or bias.shape[0] != out_channels):
            raise ModelRunError(
                f"{where}: expected a bias of {out_channels} elements for weight {dims(w.shape)}, "
                f"got one of shape {dims(bias.shape) or '()'}"
            )
    if w.dtype != x.dtype:  # (a bias of another dtype is cast or refused depending on the CPU backend)
        raise ModelRunError(
            f"{where}: the input is {str(x.dtype).removeprefix('torch.')} but the weight is "
            f"{str(w.dtype).removeprefix('torch.')}; torch refuses mixed dtypes in a convolution"
        )
    ndim = w.dim() - 2
    stride, padding, dilation, output_padding = (_sizes(args[i], ndim, d, may_be_empty=False) for i, d in (
        (3, 1), (4, 0), (5, 1), (7, 0)))
    if not (stride and padding and dilation and output_padding):
        return
    if min(stride) <= 0 or min(dilation) <= 0 or min(padding) < 0 or (transposed and min(output_padding) < 0):
        raise ModelRunError(
            f"{where}: a convolution needs positive strides and dilations and non-negative padding, got stride "
            f"{dims(stride)}, dilation {dims(dilation)}, padding {dims(padding)}"
        )
    if transposed:  # transposed convolutions grow their input
        if any(op >= s and op >= d for op, s, d in zip(output_padding, stride, dilation)):
            raise ModelRunError(
                f"{where}: output padding {dims(output_padding)} must be smaller than the stride "
                f"{dims(stride)} or the dilation {dims(dilation)}"
            )
        return
    _check_conv_window(layer, x.shape[-ndim:], w.shape[2:], stride, padding, dilation)


def _check_pool(packet: Any, args: tuple, layer: str) -> None:
    ndim = POOL_DIMS[packet]
    x = args[0]
    if len(args) < 2 or x.dim() not in (ndim + 1, ndim + 2) or 0 in x.shape[1:]:
        return
    is_max = packet in MAX_POOLS
    ceil_index = 5 if is_max else 4
    ceil = args[ceil_index] if len(args) > ceil_index else False
    sizes = [_sizes(args[1], ndim, 1, may_be_empty=False),
             _sizes(args[2] if len(args) > 2 else None, ndim, 0),
             _sizes(args[3] if len(args) > 3 else 0, ndim, 0, may_be_empty=False),
             _sizes(args[4] if is_max and len(args) > 4 else 1, ndim, 1, may_be_empty=False)]
    if any(v is None for v in sizes) or not isinstance(ceil, bool):
        return
    kernel, stride, padding, dilation = pool_window(args, ndim, dilation_index=4 if is_max else None)
    if min(kernel) <= 0 or min(stride) <= 0 or min(dilation) <= 0 or min(padding) < 0:
        return
    if any(p > k // 2 for p, k in zip(padding, kernel)):
        return  # torch: "pad should be at most half of kernel size"
    for size, k, s, p, d in zip(x.shape[-ndim:], kernel, stride, padding, dilation):
        if pool_output_size(int(size), k, s, p, d, ceil) < 1:
            _too_small(layer, int(size), k, s, p, d, ceil)


def _check_in_place(packet: Any, x: torch.Tensor, layer: str) -> None:
    if x.numel() and any(stride == 0 and size > 1 for size, stride in zip(x.shape, x.stride())):
        raise ModelRunError(
            f"{layer or 'model'}: in-place {packet.__name__} writes to a broadcast (expanded) tensor whose elements "
            f"share memory; torch refuses it (clone the tensor first)"
        )


def check_window_fits(func: Any, args: tuple, layer: str) -> None:
    """Raise `InputTooSmallError` if a conv/pool window does not fit its (padded) input, `InputMismatchError` if a
    convolution's input has the wrong channel count, `ModelRunError` if its bias or dtypes do not fit its weight or
    if an in-place op writes to an expanded tensor (both of which torch's CPU kernels refuse and its meta kernels
    let through)."""
    packet = func.overloadpacket
    if packet in _IN_PLACE_POINTWISE:
        if args and isinstance(args[0], torch.Tensor):
            _check_in_place(packet, args[0], layer)
    elif packet is aten.convolution or packet is aten._convolution:
        if len(args) >= 9 and isinstance(args[0], torch.Tensor):
            _check_convolution(args, layer)
    elif packet in POOL_DIMS and args and isinstance(args[0], torch.Tensor):
        _check_pool(packet, args, layer)


_IN_PLACE_POINTWISE = frozenset({
    aten.relu_, aten.silu_, aten.sigmoid_, aten.tanh_, aten.hardswish_, aten.hardsigmoid_, aten.mish_, aten.gelu_,
    aten.hardtanh_, aten.leaky_relu_, aten.elu_, aten.add_, aten.sub_, aten.mul_, aten.div_,
})
WINDOWED_OPS = frozenset({aten.convolution, aten._convolution, *POOL_DIMS, *_IN_PLACE_POINTWISE})
