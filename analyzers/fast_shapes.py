"""Result stand-ins for the most common ops, computed from shapes alone.

Why: torch's own meta kernels for convolution and pooling import sympy on first use, and those for activations
import torch._dynamo — together ~1.5 s and ~80 MB once per process, more than the whole analysis of a ResNet-50.
For these few ops the output shape is textbook arithmetic, so the counting mode builds the empty meta result
itself. Everything else runs torch's real meta kernel, and tests check these stand-ins against it.
"""

from __future__ import annotations

from typing import Any, Callable, Sequence

import torch

from analyzers.numbers import per_dim, pool_window

aten = torch.ops.aten

FastResult = Callable[[tuple, dict], Any]
FAST_RESULTS: dict[Any, FastResult] = {}


def _register(*packets: Any) -> Callable[[FastResult], FastResult]:
    def decorate(fn: FastResult) -> FastResult:
        for packet in packets:
            FAST_RESULTS[packet] = fn
        return fn

    return decorate


def _like(x: torch.Tensor, shape: Sequence[int], dtype: torch.dtype | None = None) -> torch.Tensor:
    channels_last = x.dim() == 4 and not x.is_contiguous() and x.is_contiguous(memory_format=torch.channels_last)
    fmt = torch.channels_last if channels_last else torch.contiguous_format
    return torch.empty(tuple(shape), dtype=dtype or x.dtype, device="meta", memory_format=fmt)


@_register(aten.convolution)
def convolution(args: tuple, kwargs: dict) -> torch.Tensor | None:
    x, w = args[0], args[1]
    if args[6] or x.dim() != w.dim():  # transposed or unbatched: leave to torch
        return None
    ndim = x.dim() - 2
    stride, padding, dilation = (per_dim(args[i], ndim, d) for i, d in ((3, 1), (4, 0), (5, 1)))
    if isinstance(args[4], str):
        return None
    spatial = [
        (size + 2 * p - d * (k - 1) - 1) // s + 1
        for size, k, s, p, d in zip(x.shape[2:], w.shape[2:], stride, padding, dilation)
    ]
    return _like(x, [x.shape[0], w.shape[0], *spatial])


def _pool_size(size: int, k: int, s: int, p: int, d: int, ceil: bool) -> int:
    numerator = size + 2 * p - d * (k - 1) - 1 + (s - 1 if ceil else 0)
    out = numerator // s + 1
    if ceil and (out - 1) * s >= size + p:
        out -= 1
    return out


def _pool_shape(args: tuple, dilation_index: int | None, ceil_index: int) -> list[int]:
    x = args[0]
    kernel, stride, padding, dilation = pool_window(args, 2, dilation_index)
    ceil = bool(args[ceil_index]) if len(args) > ceil_index else False
    spatial = [_pool_size(int(n), k, s, p, d, ceil) for n, k, s, p, d in zip(x.shape[-2:], kernel, stride, padding,
                                                                              dilation)]
    return [*x.shape[:-2], *spatial]


@_register(aten.max_pool2d_with_indices)
def max_pool2d_with_indices(args: tuple, kwargs: dict) -> tuple[torch.Tensor, torch.Tensor] | None:
    if kwargs or args[0].dim() != 4:
        return None
    shape = _pool_shape(args, dilation_index=4, ceil_index=5)
    return _like(args[0], shape), _like(args[0], shape, torch.int64)


@_register(aten.avg_pool2d)
def avg_pool2d(args: tuple, kwargs: dict) -> torch.Tensor | None:
    if kwargs or args[0].dim() != 4:
        return None
    return _like(args[0], _pool_shape(args, dilation_index=None, ceil_index=4))


_UNARY_OUT_OF_PLACE = (aten.relu, aten.hardtanh, aten.gelu, aten.silu, aten.sigmoid, aten.tanh, aten.hardswish,
                       aten.hardsigmoid, aten.leaky_relu, aten.elu, aten.mish)
_UNARY_IN_PLACE = (aten.relu_, aten.hardtanh_, aten.silu_, aten.sigmoid_, aten.tanh_, aten.hardswish_,
                   aten.hardsigmoid_, aten.leaky_relu_, aten.elu_, aten.mish_, aten.gelu_)


@_register(*_UNARY_OUT_OF_PLACE)
def unary(args: tuple, kwargs: dict) -> torch.Tensor | None:
    x = args[0]
    return _like(x, x.shape) if x.is_contiguous() else None


@_register(*_UNARY_IN_PLACE)
def unary_in_place(args: tuple, kwargs: dict) -> torch.Tensor:
    return args[0]


@_register(aten._adaptive_avg_pool2d)
def adaptive_avg_pool2d(args: tuple, kwargs: dict) -> torch.Tensor | None:
    x, size = args[0], [int(s) for s in args[1]]
    if kwargs or x.dim() != 4 or len(size) != 2:
        return None
    return _like(x, [*x.shape[:2], *size])


def _matrix_product(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor | None:
    if a.dtype != b.dtype or a.shape[-1] != b.shape[-2]:
        return None  # let torch raise its own error
    return torch.empty((*a.shape[:-1], b.shape[-1]), dtype=a.dtype, device="meta")


@_register(aten.addmm)
def addmm(args: tuple, kwargs: dict) -> torch.Tensor | None:
    if kwargs or args[1].dim() != 2 or args[2].dim() != 2:
        return None
    return _matrix_product(args[1], args[2])


@_register(aten.mm)
def mm(args: tuple, kwargs: dict) -> torch.Tensor | None:
    if kwargs or args[0].dim() != 2 or args[1].dim() != 2:
        return None
    return _matrix_product(args[0], args[1])


@_register(aten.bmm)
def bmm(args: tuple, kwargs: dict) -> torch.Tensor | None:
    a, b = args[0], args[1]
    if kwargs or a.dim() != 3 or b.dim() != 3 or a.shape[0] != b.shape[0]:
        return None
    return _matrix_product(a, b)


@_register(aten.native_batch_norm, aten._native_batch_norm_legit_no_training)
def batch_norm(args: tuple, kwargs: dict) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor] | None:
    x = args[0]
    if kwargs or x.dim() < 2:
        return None
    stats = (int(x.shape[1]),)
    return _like(x, x.shape), torch.empty(stats, dtype=x.dtype, device="meta"), torch.empty(
        stats, dtype=x.dtype, device="meta")


def _broadcast(a: tuple[int, ...], b: tuple[int, ...]) -> tuple[int, ...] | None:
    """NumPy broadcasting of two static shapes (torch.broadcast_shapes would import sympy); None if incompatible."""
    width = max(len(a), len(b))
    a, b = (1,) * (width - len(a)) + a, (1,) * (width - len(b)) + b
    result = []
    for x, y in zip(a, b):
        if x != y and 1 not in (x, y):
            return None
        result.append(max(x, y) if 0 not in (x, y) else 0)
    return tuple(result)


def _same_dtype_operands(args: tuple) -> torch.Tensor | None:
    """The result of a broadcasting binary op when both operands are tensors of one dtype, or a float tensor and a
    Python number; None where type promotion needs torch's own rules."""
    a, b = args[0], args[1]
    if not isinstance(a, torch.Tensor):
        return None
    if isinstance(b, torch.Tensor):
        if b.dtype != a.dtype:
            return None
        shape = _broadcast(tuple(a.shape), tuple(b.shape))
        if shape is None or not (a.is_contiguous() and b.is_contiguous()):
            return None
        return torch.empty(shape, dtype=a.dtype, device="meta")
    if isinstance(b, (int, float)) and not isinstance(b, bool) and a.is_floating_point() and a.is_contiguous():
        return _like(a, a.shape)
    return None


@_register(aten.add, aten.sub, aten.mul, aten.div, aten.pow)
def binary(args: tuple, kwargs: dict) -> torch.Tensor | None:
    if len(args) != 2 or any(k != "alpha" for k in kwargs):
        return None
    return _same_dtype_operands(args)


@_register(aten.add_, aten.sub_, aten.mul_, aten.div_)
def binary_in_place(args: tuple, kwargs: dict) -> torch.Tensor | None:
    if len(args) != 2 or any(k != "alpha" for k in kwargs):
        return None
    result = _same_dtype_operands(args)
    return args[0] if result is not None and tuple(result.shape) == tuple(args[0].shape) else None


@_register(aten.mean, aten.sum)
def mean(args: tuple, kwargs: dict) -> torch.Tensor | None:
    x = args[0]
    if kwargs or len(args) < 2 or not x.is_floating_point() or args[1] is None:
        return None
    keepdim = bool(args[2]) if len(args) > 2 else False
    reduced = {d % x.dim() for d in args[1]}
    shape = [1 if i in reduced else s for i, s in enumerate(x.shape)] if keepdim else [
        s for i, s in enumerate(x.shape) if i not in reduced]
    return torch.empty(shape, dtype=x.dtype, device="meta")


@_register(aten.cat)
def cat(args: tuple, kwargs: dict) -> torch.Tensor | None:
    tensors = list(args[0])
    dim = int(args[1]) if len(args) > 1 else 0
    if kwargs or not tensors or any(t.dim() != tensors[0].dim() or t.dtype != tensors[0].dtype for t in tensors):
        return None
    first = tensors[0]
    dim %= first.dim()
    if any(t.shape[:dim] != first.shape[:dim] or t.shape[dim + 1:] != first.shape[dim + 1:] for t in tensors):
        return None
    shape = list(first.shape)
    shape[dim] = sum(int(t.shape[dim]) for t in tensors)
    return _like(first, shape)
