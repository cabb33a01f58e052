"""Result stand-ins for the most common ops, computed from shapes alone.

Why: torch's own meta kernels for convolution and pooling import sympy on first use, and those for activations
import torch._dynamo — together ~1.5 s and ~80 MB once per process, more than the whole analysis of a ResNet-50 —
and on torch 2.14 every pointwise op on meta runs a Python reference (~130 µs a call). For these ops the output
shape is textbook arithmetic, so the counting mode builds the empty meta result itself.

A stand-in must never be silently wrong: it answers only when every tensor operand is on the meta device and the
call is one it fully understands, with the shape, dtype and strides (memory format) that torch's CPU kernel gives.
Anything else — an argument torch would refuse, an unusual layout, type promotion — returns None, and torch's real
kernel runs (and raises where it should). `tests/test_fast_shapes_differential.py` holds every stand-in to that
against torch's meta and CPU kernels.
"""

from __future__ import annotations

import functools
from typing import Any, Callable, Sequence

import torch

from analyzers.numbers import conv_output_size, per_dim, pool_output_size, pool_window
from analyzers.shapes.layout import (CONTIGUOUS, FLOATS, META, empty, is_int, is_number, non_overlapping_and_dense, pointwise_result, strides_like_channels_last,
                                    suggested_format)

__all__ = [
    "FAST_RESULTS", "FastResult", "adaptive_avg_pool2d", "addmm", "avg_pool2d", "bernoulli_", "bmm", "cat", "clone",
    "convolution", "empty_like", "grouped_mm", "index_put", "max_pool2d_with_indices", "mean_or_sum", "mm",
    "native_batch_norm", "native_batch_norm_no_training", "native_layer_norm", "new_empty_strided", "new_zeros",
    "pool2d_result_shape", "pool_format", "roll", "safe_softmax", "sizes_ok", "softmax", "softmax_dim_ok", "stack",
]

aten = torch.ops.aten

FastResult = Callable[[tuple, dict], Any]
FAST_RESULTS: dict[Any, FastResult] = {}



def _all_meta(values: Sequence[Any]) -> bool:
    """True if every tensor among `values` (and inside list arguments such as cat's) lives on the meta device."""
    for value in values:
        if isinstance(value, torch.Tensor):
            if not value.is_meta:
                return False
        elif isinstance(value, (list, tuple)):
            if not all(v.is_meta for v in value if isinstance(v, torch.Tensor)):
                return False
    return True


def _register(*packets: Any) -> Callable[[FastResult], FastResult]:
    """Register a stand-in for `packets`; it is consulted only when all tensor operands are meta tensors (CPU
    operands, e.g. index arithmetic a model does on the side, must get real values from torch)."""

    def decorate(fn: FastResult) -> FastResult:
        @functools.wraps(fn)  # its name and docstring, and `__wrapped__`: the stand-in itself
        def meta_only(args: tuple, kwargs: dict) -> Any:
            if not _all_meta(args) or (kwargs and not _all_meta(tuple(kwargs.values()))):
                return None
            return fn(args, kwargs)

        for packet in packets:
            FAST_RESULTS[packet] = meta_only
        return meta_only

    return decorate


# ---------------------------------------------------------------- convolution


def _conv_output_format(x: torch.Tensor, w: torch.Tensor) -> torch.memory_format:
    """The CPU kernels return channels-last when a 4-d input or weight suggests it; torch's meta kernel
    always returns contiguous (it cannot know the backend), and we follow the CPU."""
    if x.dim() == 4 and torch.channels_last in (suggested_format(x), suggested_format(w)):
        return torch.channels_last
    return CONTIGUOUS


def _conv_result(x: torch.Tensor, w: torch.Tensor, shape: list[int]) -> torch.Tensor | None:
    if x.dim() == 5 and not (x.is_contiguous() and w.is_contiguous()):
        return None  # the CPU's 3-d layout depends on the backend it picks: leave it to torch
    # 1-d: contiguous, as meta answers (the CPU's layout for non-contiguous operands is its backend's choice)
    return empty(shape, x.dtype, _conv_output_format(x, w))


def _conv_params(value: Any, ndim: int, default: int) -> list[int] | None:
    """A conv size argument as one int per spatial dim, or None if it is not one torch accepts."""
    if isinstance(value, (list, tuple)) and len(value) not in (1, ndim):
        return None
    if isinstance(value, (list, tuple)) and not all(is_int(v) for v in value):
        return None
    return per_dim(value, ndim, default)


@_register(aten.convolution)
def convolution(args: tuple, kwargs: dict) -> torch.Tensor | None:
    """aten.convolution(input, weight, bias, stride, padding, dilation, transposed, output_padding, groups), batched
    1-d/2-d/3-d, plain or transposed."""
    if kwargs or len(args) != 9:
        return None
    x, w, bias, stride, padding, dilation, transposed, output_padding, groups = args
    if not isinstance(w, torch.Tensor) or x.dim() not in (3, 4, 5) or w.dim() != x.dim() or not is_int(groups):
        return None
    ndim = x.dim() - 2
    stride, padding, dilation, output_padding = (_conv_params(v, ndim, d) for v, d in (
        (stride, 1), (padding, 0), (dilation, 1), (output_padding, 0)))
    if stride is None or padding is None or dilation is None or output_padding is None:
        return None
    if (groups <= 0 or min(stride) <= 0 or min(padding) < 0 or min(dilation) <= 0 or min(output_padding) < 0
            or x.dtype not in FLOATS or w.dtype != x.dtype or 0 in x.shape or 0 in w.shape):
        return None
    out_channels = w.shape[1] * groups if transposed else w.shape[0]
    in_channels = w.shape[0] if transposed else w.shape[1] * groups
    if x.shape[1] != in_channels or w.shape[0] % groups:
        return None
    if bias is not None and (not isinstance(bias, torch.Tensor) or bias.dim() != 1
                             or bias.shape[0] != out_channels or bias.dtype != x.dtype):
        return None
    if transposed:
        if any(op >= s and op >= d for op, s, d in zip(output_padding, stride, dilation)):
            return None
        spatial = [(size - 1) * s - 2 * p + d * (k - 1) + op + 1 for size, k, s, p, d, op in zip(
            x.shape[2:], w.shape[2:], stride, padding, dilation, output_padding)]
    else:
        spatial = [conv_output_size(size, k, s, p, d) for size, k, s, p, d in zip(
            x.shape[2:], w.shape[2:], stride, padding, dilation)]
    if min(spatial) <= 0:
        return None
    return _conv_result(x, w, [x.shape[0], out_channels, *spatial])


# ---------------------------------------------------------------- pooling


def _pool_args_valid(args: tuple, dilation_index: int | None) -> bool:
    """The argument lists of an aten 2-d pool have 1 or 2 ints (stride may be empty: the kernel)."""
    lists = [(1, args[1], False)]
    if len(args) > 2:
        lists.append((2, args[2], True))
    if len(args) > 3:
        lists.append((3, args[3], False))
    if dilation_index is not None and len(args) > dilation_index:
        lists.append((dilation_index, args[dilation_index], False))
    for _, value, may_be_empty in lists:
        if is_int(value):
            continue
        if not isinstance(value, (list, tuple)) or not all(is_int(v) for v in value):
            return False
        if len(value) not in ((0, 1, 2) if may_be_empty else (1, 2)):
            return False
    return True


def pool2d_result_shape(args: tuple, dilation_index: int | None, ceil_index: int) -> list[int] | None:
    """Output shape of a 2-d max/avg pool by torch's `pool2d_shape_check` rules, or None where torch refuses."""
    x = args[0]
    if x.dim() not in (3, 4) or 0 in x.shape or x.dtype not in FLOATS or not _pool_args_valid(args, dilation_index):
        return None
    ceil = args[ceil_index] if len(args) > ceil_index else False
    if not isinstance(ceil, bool):
        return None
    kernel, stride, padding, dilation = pool_window(args, 2, dilation_index)
    if min(kernel) <= 0 or min(stride) <= 0 or min(dilation) <= 0 or min(padding) < 0:
        return None
    if any(p > k // 2 for p, k in zip(padding, kernel)):
        return None
    spatial = [pool_output_size(int(size), k, s, p, d, ceil)
               for size, k, s, p, d in zip(x.shape[-2:], kernel, stride, padding, dilation)]
    if min(spatial) < 1:
        return None
    return [*x.shape[:-2], *spatial]


def pool_format(x: torch.Tensor) -> torch.memory_format:
    return suggested_format(x) if x.dim() == 4 else CONTIGUOUS


@_register(aten.max_pool2d_with_indices)
def max_pool2d_with_indices(args: tuple, kwargs: dict) -> tuple[torch.Tensor, torch.Tensor] | None:
    """aten.max_pool2d_with_indices(input, kernel, stride=[], padding=0, dilation=1, ceil_mode=False)."""
    if kwargs or len(args) > 6:
        return None
    shape = pool2d_result_shape(args, dilation_index=4, ceil_index=5)
    if shape is None:
        return None
    fmt = pool_format(args[0])
    return empty(shape, args[0].dtype, fmt), empty(shape, torch.int64, fmt)


@_register(aten.avg_pool2d)
def avg_pool2d(args: tuple, kwargs: dict) -> torch.Tensor | None:
    """aten.avg_pool2d(input, kernel, stride=[], padding=0, ceil_mode=False, count_include_pad=True,
    divisor_override=None)."""
    if kwargs or len(args) > 7:
        return None
    if len(args) > 5 and not isinstance(args[5], bool):
        return None
    if len(args) > 6 and args[6] is not None and (not is_int(args[6]) or args[6] == 0):
        return None
    shape = pool2d_result_shape(args, dilation_index=None, ceil_index=4)
    return None if shape is None else empty(shape, args[0].dtype, pool_format(args[0]))


@_register(aten._adaptive_avg_pool2d)
def adaptive_avg_pool2d(args: tuple, kwargs: dict) -> torch.Tensor | None:
    """aten._adaptive_avg_pool2d(input, output_size): a 4-d input pooled to the given (H, W)."""
    if kwargs or len(args) != 2:
        return None
    x, size = args
    if x.dim() != 4 or 0 in x.shape or x.dtype not in FLOATS or not isinstance(size, (list, tuple)):
        return None
    if len(size) != 2 or not all(is_int(s) and s > 0 for s in size):
        return None
    return empty([*x.shape[:2], *size], x.dtype, suggested_format(x))


# ---------------------------------------------------------------- activations


_UNARY_OUT_OF_PLACE = (aten.relu, aten.gelu, aten.silu, aten.sigmoid, aten.tanh, aten.hardswish,
                       aten.hardsigmoid, aten.mish)
_UNARY_IN_PLACE = (aten.relu_, aten.silu_, aten.sigmoid_, aten.tanh_, aten.hardswish_, aten.hardsigmoid_,
                   aten.mish_, aten.gelu_)
_UNARY_WITH_NUMBERS_OUT_OF_PLACE = (aten.hardtanh, aten.leaky_relu, aten.elu)
_UNARY_WITH_NUMBERS_IN_PLACE = (aten.hardtanh_, aten.leaky_relu_, aten.elu_)
_MAX_NUMBERS = {aten.hardtanh: 2, aten.hardtanh_: 2, aten.leaky_relu: 1, aten.leaky_relu_: 1, aten.elu: 3,
                aten.elu_: 3}


def _unary_args_understood(args: tuple, kwargs: dict, most_numbers: int) -> bool:
    """One floating tensor, then at most `most_numbers` plain numbers (gelu: its `approximate` mode)."""
    if not args or not isinstance(args[0], torch.Tensor) or args[0].dtype not in FLOATS:
        return False
    rest = args[1:]
    if most_numbers < 0:  # gelu
        approximate = rest[0] if rest else kwargs.get("approximate", "none")
        return len(rest) <= 1 and set(kwargs) <= ({"approximate"} if not rest else set()) and approximate in (
            "none", "tanh")
    return not kwargs and len(rest) <= most_numbers and all(is_number(v) for v in rest)


def _numbers_allowed(packet: Any) -> int:
    if packet is aten.gelu or packet is aten.gelu_:
        return -1
    return _MAX_NUMBERS.get(packet, 0)


def _unary_stand_in(packet: Any, in_place: bool) -> FastResult:
    allowed = _numbers_allowed(packet)

    def stand_in(args: tuple, kwargs: dict) -> torch.Tensor | None:
        if not _unary_args_understood(args, kwargs, allowed):
            return None
        x = args[0]
        if in_place:
            return x if non_overlapping_and_dense(x) else None
        return pointwise_result((x,), tuple(x.shape), x.dtype)

    stand_in.__name__ = f"{packet.__name__}_stand_in"
    return stand_in


for _packet in (*_UNARY_OUT_OF_PLACE, *_UNARY_WITH_NUMBERS_OUT_OF_PLACE):
    _register(_packet)(_unary_stand_in(_packet, in_place=False))
for _packet in (*_UNARY_IN_PLACE, *_UNARY_WITH_NUMBERS_IN_PLACE):
    _register(_packet)(_unary_stand_in(_packet, in_place=True))


# ---------------------------------------------------------------- matrix products


def _matrix_operands_ok(*tensors: torch.Tensor) -> bool:
    first = tensors[0]
    return first.dtype in FLOATS and all(isinstance(t, torch.Tensor) and t.dtype == first.dtype for t in tensors)


@_register(aten.mm)
def mm(args: tuple, kwargs: dict) -> torch.Tensor | None:
    """aten.mm(a, b): (n, k) @ (k, p) → (n, p), contiguous."""
    if kwargs or len(args) != 2 or not _matrix_operands_ok(*args):
        return None
    a, b = args
    if a.dim() != 2 or b.dim() != 2 or a.shape[1] != b.shape[0]:
        return None
    return empty((a.shape[0], b.shape[1]), a.dtype)


@_register(aten.addmm)
def addmm(args: tuple, kwargs: dict) -> torch.Tensor | None:
    """aten.addmm(bias, a, b, *, beta=1, alpha=1): the bias must broadcast to (n, p)."""
    if len(args) != 3 or set(kwargs) - {"beta", "alpha"} or not all(is_number(v) for v in kwargs.values()):
        return None
    bias, a, b = args
    if not _matrix_operands_ok(a, b, bias) or a.dim() != 2 or b.dim() != 2 or a.shape[1] != b.shape[0]:
        return None
    shape = (int(a.shape[0]), int(b.shape[1]))
    if bias.dim() > 2 or _broadcast(tuple(bias.shape), shape) != shape:
        return None
    return empty(shape, a.dtype)


@_register(aten.bmm)
def bmm(args: tuple, kwargs: dict) -> torch.Tensor | None:
    """aten.bmm(a, b): (B, n, k) @ (B, k, p) → (B, n, p), contiguous."""
    if kwargs or len(args) != 2 or not _matrix_operands_ok(*args):
        return None
    a, b = args
    if a.dim() != 3 or b.dim() != 3 or a.shape[0] != b.shape[0] or a.shape[2] != b.shape[1]:
        return None
    return empty((a.shape[0], a.shape[1], b.shape[2]), a.dtype)


_GROUPED_DTYPES = frozenset({torch.float32, torch.bfloat16, torch.float16})


def _grouped_operand_ok(t: Any) -> bool:
    """The CPU kernel's layout rule: row- or column-major in the last two dims, every other stride a multiple of
    16 bytes."""
    if not isinstance(t, torch.Tensor) or t.dim() not in (2, 3):
        return False
    strides, sizes = t.stride(), t.shape
    unit = t.dim() - 1 if strides[-1] == 1 else t.dim() - 2 if strides[-2] == 1 else None
    if unit is None or 0 in sizes:
        return False
    across = t.dim() - 2 if unit == t.dim() - 1 else t.dim() - 1  # the other matrix dim: it steps over whole lines
    return strides[across] >= sizes[unit] and all(
        stride > 0 and (stride * t.element_size()) % 16 == 0 for d, stride in enumerate(strides) if d != unit)


@_register(*([aten._grouped_mm] if hasattr(aten, "_grouped_mm") else []))
def grouped_mm(args: tuple, kwargs: dict) -> torch.Tensor | None:
    """aten._grouped_mm(a, b, offs=None, bias=None, out_dtype=None), a mixture of experts' expert layers. torch's
    meta kernel copies the CUDA kernel's checks and refuses float32 ("Expected mat_a to be BFloat16"); the CPU
    kernel takes float32, bfloat16 and float16, and so do we: 2-d @ 3-d (G, K, N) → (M, N); 2-d @ 2-d → (G, M, N);
    3-d (G, M, K) @ 2-d → (M, N); 3-d @ 3-d → (G, M, N) (no offsets), contiguous."""
    if len(args) < 2 or len(args) > 3:
        return None
    a, b = args[0], args[1]
    extra = dict(kwargs)
    offs = args[2] if len(args) == 3 else extra.pop("offs", None)
    if extra.pop("bias", None) is not None or extra.pop("out_dtype", None) not in (None, getattr(a, "dtype", None)):
        return None
    if extra or not (_grouped_operand_ok(a) and _grouped_operand_ok(b)):
        return None
    if a.dtype not in _GROUPED_DTYPES or b.dtype != a.dtype:
        return None
    shapes = (tuple(int(d) for d in a.shape), tuple(int(d) for d in b.shape))
    if a.dim() == 3 and b.dim() == 3:
        (g, m, k), (g2, k2, n) = shapes
        return empty((g, m, n), a.dtype) if offs is None and g == g2 and k == k2 else None
    if not (isinstance(offs, torch.Tensor) and offs.dim() == 1 and offs.dtype == torch.int32 and offs.is_meta):
        return None
    groups = int(offs.shape[0])
    if a.dim() == 2 and b.dim() == 3:
        (m, k), (g, k2, n) = shapes
        return empty((m, n), a.dtype) if g == groups and k == k2 else None
    if a.dim() == 2:
        (m, k), (k2, n) = shapes
        return empty((groups, m, n), a.dtype) if k == k2 else None
    (g, m, k), (k2, n) = shapes
    return empty((m, n), a.dtype) if g == groups and k == k2 else None


# ---------------------------------------------------------------- normalisation


def _is_channel_vector(t: Any, channels: int, dtype: torch.dtype) -> bool:
    return t is None or (isinstance(t, torch.Tensor) and t.dim() == 1 and t.shape[0] == channels
                         and t.dtype == dtype)


def _batch_norm_result(x: torch.Tensor, stats: tuple, training: bool) -> tuple[torch.Tensor, ...] | None:
    if x.dim() < 2 or 0 in x.shape or x.dtype not in FLOATS:
        return None
    channels = int(x.shape[1])
    if not all(_is_channel_vector(t, channels, x.dtype) for t in stats):
        return None
    running_mean, running_var = stats[2], stats[3]
    if (running_mean is None) != (running_var is None) or (not training and running_mean is None):
        return None
    out = empty(x.shape, x.dtype, suggested_format(x) if x.dim() in (4, 5) else CONTIGUOUS)
    # The CPU kernel saves no statistics in eval mode: it returns two empty (0,) tensors. (torch's meta kernel
    # returns (C,)-shaped ones; we follow the CPU.)
    saved = (channels,) if training else (0,)
    return out, empty(saved, x.dtype), empty(saved, x.dtype)


@_register(aten.native_batch_norm)
def native_batch_norm(args: tuple, kwargs: dict) -> tuple[torch.Tensor, ...] | None:
    """aten.native_batch_norm(input, weight, bias, running_mean, running_var, training, momentum, eps)."""
    if kwargs or len(args) != 8 or not isinstance(args[5], bool) or not all(is_number(v) for v in args[6:]):
        return None
    return _batch_norm_result(args[0], args[1:5], training=args[5])


@_register(aten._native_batch_norm_legit_no_training)
def native_batch_norm_no_training(args: tuple, kwargs: dict) -> tuple[torch.Tensor, ...] | None:
    """aten._native_batch_norm_legit_no_training(input, weight, bias, running_mean, running_var, momentum, eps)."""
    if kwargs or len(args) != 7 or not all(is_number(v) for v in args[5:]):
        return None
    return _batch_norm_result(args[0], args[1:5], training=False)


@_register(aten.native_layer_norm)
def native_layer_norm(args: tuple, kwargs: dict) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor] | None:
    """aten.native_layer_norm(input, normalized_shape, weight, bias, eps) → (out, mean, rstd): out contiguous, the
    statistics one per normalised row, shaped like the input with the normalised dims set to 1."""
    if kwargs or len(args) != 5 or not isinstance(args[0], torch.Tensor) or not is_number(args[4]):
        return None
    x, normalized, weight, bias = args[:4]
    if x.dtype not in FLOATS or not isinstance(normalized, (list, tuple)) or not normalized:
        return None
    if not all(is_int(n) for n in normalized) or x.dim() < len(normalized):
        return None
    axis = x.dim() - len(normalized)
    if tuple(x.shape[axis:]) != tuple(normalized):
        return None
    for param in (weight, bias):
        if param is not None and (not isinstance(param, torch.Tensor) or tuple(param.shape) != tuple(normalized)
                                  or param.dtype != x.dtype):
            return None
    stats = (*x.shape[:axis], *[1] * len(normalized))
    return empty(x.shape, x.dtype), empty(stats, x.dtype), empty(stats, x.dtype)


def softmax_dim_ok(x: torch.Tensor, dim: Any) -> bool:
    return is_int(dim) and -max(x.dim(), 1) <= dim < max(x.dim(), 1)


@_register(aten._softmax, aten._log_softmax)
def softmax(args: tuple, kwargs: dict) -> torch.Tensor | None:
    """aten._softmax / _log_softmax(input, dim, half_to_float): same shape, contiguous (the CPU refuses
    half_to_float)."""
    if kwargs or len(args) != 3 or not isinstance(args[0], torch.Tensor) or args[2] is not False:
        return None
    x = args[0]
    if x.dtype not in FLOATS or not softmax_dim_ok(x, args[1]):
        return None
    return empty(x.shape, x.dtype)


@_register(aten._safe_softmax)
def safe_softmax(args: tuple, kwargs: dict) -> torch.Tensor | None:
    """aten._safe_softmax(input, dim, dtype=None), the softmax of scaled_dot_product_attention's math path (rows
    that are all −inf give 0): same shape and dtype, contiguous."""
    if not 2 <= len(args) <= 3 or set(kwargs) - {"dtype"} or not isinstance(args[0], torch.Tensor):
        return None
    x = args[0]
    dtype = args[2] if len(args) > 2 else kwargs.get("dtype")
    if x.dtype not in FLOATS or dtype not in (None, x.dtype) or not softmax_dim_ok(x, args[1]):
        return None
    return empty(x.shape, x.dtype)


# ---------------------------------------------------------------- broadcasting arithmetic


def _broadcast(a: tuple[int, ...], b: tuple[int, ...]) -> tuple[int, ...] | None:
    """NumPy broadcasting of two static shapes (torch.broadcast_shapes would import sympy); None if incompatible."""
    width = max(len(a), len(b))
    a, b = (1,) * (width - len(a)) + a, (1,) * (width - len(b)) + b
    result = []
    for x, y in zip(a, b):
        if x != y and 1 not in (x, y):
            return None
        result.append(y if x == 1 else x)
    return tuple(result)


def _binary_operands(args: tuple, kwargs: dict, packet: Any) -> tuple[torch.Tensor, Any] | None:
    """(self, other) of an add/sub/mul/div/pow call we understand: a floating tensor with a tensor of its dtype
    or a plain Python number (no type promotion), `alpha` (a number) only for add/sub."""
    if len(args) != 2:
        return None
    if kwargs:
        if packet not in _TAKES_ALPHA or set(kwargs) != {"alpha"} or not is_number(kwargs["alpha"]):
            return None
    a, b = args
    if not isinstance(a, torch.Tensor) or a.dtype not in FLOATS:
        return None
    if isinstance(b, torch.Tensor):
        return (a, b) if b.dtype == a.dtype else None
    return (a, b) if is_number(b) else None


_TAKES_ALPHA = frozenset({aten.add, aten.sub, aten.add_, aten.sub_})


def _binary_stand_in(packet: Any, in_place: bool) -> FastResult:
    def stand_in(args: tuple, kwargs: dict) -> torch.Tensor | None:
        operands = _binary_operands(args, kwargs, packet)
        if operands is None:
            return None
        a, b = operands
        shape = _broadcast(tuple(a.shape), tuple(b.shape)) if isinstance(b, torch.Tensor) else tuple(a.shape)
        if in_place:  # the result is `a` itself: `b` must broadcast to it, and `a` must not overlap itself
            return a if shape == tuple(a.shape) and non_overlapping_and_dense(a) else None
        if shape is None:
            return None
        if isinstance(b, torch.Tensor):
            return pointwise_result((a, b), shape, a.dtype)
        # add/sub/mul/div wrap the number into a 0-d operand of their TensorIterator; pow(tensor, number) is a
        # one-operand iterator.
        return pointwise_result((a,), shape, a.dtype, with_scalar=packet is not aten.pow)

    stand_in.__name__ = f"{packet.__name__}_stand_in"
    return stand_in


for _packet in (aten.add, aten.sub, aten.mul, aten.div, aten.pow):
    _register(_packet)(_binary_stand_in(_packet, in_place=False))
for _packet in (aten.add_, aten.sub_, aten.mul_, aten.div_):
    _register(_packet)(_binary_stand_in(_packet, in_place=True))


# ---------------------------------------------------------------- reductions and concatenation


def _reduced_dims(x: torch.Tensor, dims: Any) -> set[int] | None:
    """The dims a mean/sum reduces (None or [] = all of them), or None where torch would refuse them."""
    if dims is None or (isinstance(dims, (list, tuple)) and len(dims) == 0):
        return set(range(x.dim()))
    if is_int(dims):
        dims = [dims]
    if not isinstance(dims, (list, tuple)) or not all(is_int(d) and -x.dim() <= d < x.dim() for d in dims):
        return None
    reduced = {d % x.dim() for d in dims}
    return reduced if len(reduced) == len(dims) else None


@_register(aten.mean, aten.sum)
def mean_or_sum(args: tuple, kwargs: dict) -> torch.Tensor | None:
    """aten.mean/sum(input, dim=None, keepdim=False) of a floating tensor: always a contiguous result."""
    if kwargs or not 1 <= len(args) <= 3 or not isinstance(args[0], torch.Tensor):
        return None
    x = args[0]
    keepdim = args[2] if len(args) > 2 else False
    if x.dim() == 0 or x.dtype not in FLOATS or not isinstance(keepdim, bool):
        return None
    reduced = _reduced_dims(x, args[1] if len(args) > 1 else None)
    if reduced is None:
        return None
    if keepdim:
        shape = [1 if i in reduced else s for i, s in enumerate(x.shape)]
    else:
        shape = [s for i, s in enumerate(x.shape) if i not in reduced]
    return empty(shape, x.dtype)


def _tensors_and_dim(args: tuple, kwargs: dict) -> tuple[Sequence[torch.Tensor], int] | None:
    """cat's and stack's (tensors, dim=0): a non-empty list of tensors and an int, no keyword arguments."""
    if kwargs or not 1 <= len(args) <= 2 or not isinstance(args[0], (list, tuple)) or not args[0]:
        return None
    tensors = args[0]
    dim = args[1] if len(args) > 1 else 0
    if not all(isinstance(t, torch.Tensor) for t in tensors) or not is_int(dim):
        return None
    return tensors, dim


@_register(aten.cat)
def cat(args: tuple, kwargs: dict) -> torch.Tensor | None:
    """aten.cat(tensors, dim=0) of same-dtype, same-rank tensors; the result keeps their common memory format."""
    operands = _tensors_and_dim(args, kwargs)
    if operands is None:
        return None
    tensors, dim = operands
    first = tensors[0]
    rank = first.dim()
    if rank == 0 or not -rank <= dim < rank or any(t.dim() != rank or t.dtype != first.dtype for t in tensors):
        return None
    dim %= rank
    if any(t.shape[:dim] != first.shape[:dim] or t.shape[dim + 1:] != first.shape[dim + 1:] for t in tensors):
        return None
    shape = list(first.shape)
    shape[dim] = sum(int(t.shape[dim]) for t in tensors)
    formats = {suggested_format(t) for t in tensors}
    return empty(shape, first.dtype, formats.pop() if len(formats) == 1 else CONTIGUOUS)


@_register(aten.stack)
def stack(args: tuple, kwargs: dict) -> torch.Tensor | None:
    """aten.stack(tensors, dim=0) of same-shape, same-dtype tensors whose concatenation would be contiguous.

    torch concatenates them along `dim` and views the result with the new dim split out (at the end: concatenates
    them unsqueezed there); only the contiguous case is answered, where that view is contiguous too."""
    operands = _tensors_and_dim(args, kwargs)
    if operands is None:
        return None
    tensors, dim = operands
    first = tensors[0]
    rank = first.dim()
    if not -rank - 1 <= dim <= rank or first.dtype not in FLOATS or first.numel() == 0:
        return None
    if any(t.shape != first.shape or t.dtype != first.dtype for t in tensors):
        return None
    dim %= rank + 1
    for t in tensors:
        shape, strides = tuple(t.shape), t.stride()
        if dim == rank:  # unsqueezed at the end: a size-1 dim of stride 1
            shape, strides = (*shape, 1), (*strides, 1)
        if len(shape) in (4, 5) and strides_like_channels_last(shape, strides):
            return None
    return empty((*first.shape[:dim], len(tensors), *first.shape[dim:]), first.dtype)


@_register(aten.roll)
def roll(args: tuple, kwargs: dict) -> torch.Tensor | None:
    """aten.roll(input, shifts, dims=[]): a contiguous copy (one shift and no dims rolls the flattened input)."""
    if kwargs or not 2 <= len(args) <= 3 or not isinstance(args[0], torch.Tensor):
        return None
    x, shifts = args[0], args[1]
    dims = args[2] if len(args) > 2 else []
    if not isinstance(shifts, (list, tuple)) or not isinstance(dims, (list, tuple)) or not shifts:
        return None
    if not all(is_int(v) for v in (*shifts, *dims)) or x.dtype not in FLOATS or x.numel() == 0:
        return None
    if dims:
        if len(dims) != len(shifts) or not all(-x.dim() <= d < x.dim() for d in dims):
            return None
    elif len(shifts) != 1:
        return None
    return empty(x.shape, x.dtype)


def _preserved_like(x: torch.Tensor, dtype: torch.dtype) -> torch.Tensor:
    """`empty_like(x, memory_format=preserve)`: x's own strides when it is dense, else its suggested format."""
    if non_overlapping_and_dense(x):
        return torch.empty_strided(x.shape, x.stride(), dtype=dtype, device="meta")
    return empty(x.shape, dtype, suggested_format(x))


def _like_result(x: Any, memory_format: Any, dtype: Any = None) -> torch.Tensor | None:
    """The result of clone/empty_like of `x` (a non-empty floating tensor) in `memory_format` (preserve or
    contiguous; None means preserve)."""
    if not isinstance(x, torch.Tensor) or x.dtype not in FLOATS or x.numel() == 0:
        return None
    dtype = x.dtype if dtype is None else dtype
    if memory_format is None or memory_format is torch.preserve_format:
        return _preserved_like(x, dtype)
    return empty(x.shape, dtype) if memory_format is CONTIGUOUS else None


@_register(aten.clone)
def clone(args: tuple, kwargs: dict) -> torch.Tensor | None:
    """aten.clone(input, *, memory_format=None)."""
    if len(args) != 1 or set(kwargs) - {"memory_format"}:
        return None
    return _like_result(args[0], kwargs.get("memory_format"))



@_register(aten.empty_like)
def empty_like(args: tuple, kwargs: dict) -> torch.Tensor | None:
    """aten.empty_like(input, *, dtype=None, layout=None, device=None, pin_memory=None, memory_format=None), on the
    meta device, strided, of a floating dtype."""
    if len(args) != 1 or not _factory_options_understood({k: v for k, v in kwargs.items() if k != "memory_format"}):
        return None
    return _like_result(args[0], kwargs.get("memory_format"), kwargs.get("dtype"))


@_register(aten.bernoulli_)
def bernoulli_(args: tuple, kwargs: dict) -> torch.Tensor | None:
    """aten.bernoulli_.float(input, p=0.5, *, generator=None), F.dropout's mask in training: in place, p in
    [0, 1]."""
    if not 1 <= len(args) <= 2 or set(kwargs) - {"generator"} or kwargs.get("generator") is not None:
        return None
    x = args[0]
    p = args[1] if len(args) > 1 else 0.5
    if not isinstance(x, torch.Tensor) or x.dtype not in FLOATS or not is_number(p) or not 0 <= p <= 1:
        return None
    return x if non_overlapping_and_dense(x) else None


def _factory_options_understood(kwargs: dict) -> bool:
    """The factory keywords of empty_like / new_zeros / new_empty_strided that keep the result a strided meta
    tensor of a floating dtype."""
    if set(kwargs) - {"dtype", "layout", "device", "pin_memory"}:
        return False
    dtype, device = kwargs.get("dtype"), kwargs.get("device")
    return ((dtype is None or dtype in FLOATS) and kwargs.get("layout") in (None, torch.strided)
            and kwargs.get("pin_memory") in (None, False) and (device is None or device == META or device == "meta"))


def sizes_ok(value: Any) -> bool:
    return isinstance(value, (list, tuple)) and all(is_int(v) and v >= 0 for v in value)


@_register(aten.new_zeros)
def new_zeros(args: tuple, kwargs: dict) -> torch.Tensor | None:
    """aten.new_zeros(input, size, *, dtype=None, …): contiguous, the input's dtype unless given."""
    if len(args) != 2 or not isinstance(args[0], torch.Tensor) or not sizes_ok(args[1]):
        return None
    if args[0].dtype not in FLOATS or not _factory_options_understood(kwargs):
        return None
    return empty(args[1], kwargs.get("dtype") or args[0].dtype)


@_register(aten.new_empty_strided)
def new_empty_strided(args: tuple, kwargs: dict) -> torch.Tensor | None:
    """aten.new_empty_strided(input, size, stride, *, dtype=None, …): exactly those sizes and strides."""
    if len(args) != 3 or not isinstance(args[0], torch.Tensor) or not sizes_ok(args[1]) or not sizes_ok(args[2]):
        return None
    if len(args[1]) != len(args[2]) or args[0].dtype not in FLOATS or not _factory_options_understood(kwargs):
        return None
    return torch.empty_strided(tuple(args[1]), tuple(args[2]), dtype=kwargs.get("dtype") or args[0].dtype,
                               device="meta")


@_register(aten.index_put)
def index_put(args: tuple, kwargs: dict) -> torch.Tensor | None:
    """aten.index_put(input, indices, values, accumulate=False) with int64 index tensors of one shape for the
    leading dims: a copy of the input (its layout preserved). Which indices are in range is data meta has not got."""
    if kwargs or not 3 <= len(args) <= 4 or (len(args) == 4 and not isinstance(args[3], bool)):
        return None
    x, indices, values = args[:3]
    if not isinstance(x, torch.Tensor) or not isinstance(values, torch.Tensor) or x.dtype not in FLOATS:
        return None
    if not isinstance(indices, (list, tuple)) or not 1 <= len(indices) <= x.dim() or values.dtype != x.dtype:
        return None
    if not all(isinstance(i, torch.Tensor) and i.dtype == torch.int64 for i in indices):
        return None
    index_shape = tuple(indices[0].shape)
    if any(tuple(i.shape) != index_shape for i in indices):
        return None
    target = (*index_shape, *x.shape[len(indices):])
    if _broadcast(tuple(values.shape), target) != target:
        return None
    return _like_result(x, None)
