"""Result stand-ins for the backward ops a training step spends its time in, from shapes alone.

Why: on torch 2.14 the meta kernels of most backward ops (convolution, batch and layer norm, softmax, the pointwise
`*_backward` ops, select/slice) run Python decompositions and fake-tensor machinery (0.1–8 ms a call); a transformer
or ResNet backward makes hundreds of them. Each gradient here has a shape known from the call, so the stand-in is an
empty meta tensor with the strides torch's CPU kernel gives (element-wise gradients: TensorIterator's layout rules,
`analyzers.shapes.forward.pointwise_result`; pools: the input's suggested memory format). As in
`analyzers.shapes.forward`, a stand-in answers only for meta operands and calls it fully understands; anything else
returns None and torch's own kernel runs. `tests/test_backward_shapes_differential.py` holds them to torch's CPU and
meta kernels, `tests/test_training_formulas.py` to the meta kernels during real model backwards.
"""

from __future__ import annotations

from typing import Any, Callable

import torch

from analyzers.shapes.forward import FAST_RESULTS, pool2d_result_shape, pool_format, sizes_ok, softmax_dim_ok
from analyzers.shapes.layout import FLOATS, empty, is_int, is_number, pointwise_result, suggested_format

__all__ = [
    "BACKWARD_RESULTS", "BackwardResult", "adaptive_avg_pool2d_backward", "avg_pool2d_backward", "backward_result",
    "batch_norm_backward", "convolution_backward", "group_norm_backward", "layer_norm_backward",
    "max_pool2d_with_indices_backward", "select_backward", "slice_backward", "softmax_backward", "stand_in_for",
]

aten = torch.ops.aten

BackwardResult = Callable[[tuple, dict], Any]
BACKWARD_RESULTS: dict[Any, BackwardResult] = {}


def _plain(*tensors: Any) -> bool:
    return all(t is None or (isinstance(t, torch.Tensor) and t.is_meta and t.is_contiguous()) for t in tensors)


def _like(t: torch.Tensor) -> torch.Tensor:
    return torch.empty(t.shape, dtype=t.dtype, device="meta")


def _register(*packets: Any) -> Callable[[BackwardResult], BackwardResult]:
    def decorate(fn: BackwardResult) -> BackwardResult:
        for packet in packets:
            BACKWARD_RESULTS[packet] = fn
        return fn

    return decorate


@_register(aten.convolution_backward)
def convolution_backward(args: tuple, kwargs: dict) -> Any:
    if kwargs or len(args) != 11:
        return None
    grad_output, x, weight, bias_sizes = args[0], args[1], args[2], args[3]
    if not _plain(grad_output, x, weight) or grad_output.dtype != x.dtype or x.dtype != weight.dtype:
        return None
    mask = args[10]
    bias = torch.empty(tuple(bias_sizes), dtype=grad_output.dtype, device="meta") if (
        mask[2] and bias_sizes is not None) else None
    if mask[2] and bias is None:
        return None
    return (_like(x) if mask[0] else None, _like(weight) if mask[1] else None, bias)


@_register(aten.native_batch_norm_backward)
def batch_norm_backward(args: tuple, kwargs: dict) -> Any:
    if kwargs or len(args) != 10:
        return None
    grad_out, x, weight = args[0], args[1], args[2]
    if not _plain(grad_out, x, weight) or grad_out.shape != x.shape or grad_out.dtype != x.dtype:
        return None
    mask = args[9]
    if (mask[1] or mask[2]) and weight is None:
        return None
    return (_like(x) if mask[0] else None, _like(weight) if mask[1] else None,
            _like(weight) if mask[2] else None)


def _meta(*tensors: Any) -> bool:
    return all(isinstance(t, torch.Tensor) and t.is_meta for t in tensors)


def _mask(value: Any, size: int = 3) -> bool:
    return isinstance(value, (list, tuple)) and len(value) == size and all(isinstance(v, bool) for v in value)


# ---------------------------------------------------------------- element-wise gradients (TensorIterator layouts)


# How many numbers each activation backward takes after (grad_output, self), and whether its TensorIterator lists
# self before grad_output (which decides the result's layout when the two are laid out differently).
_ACTIVATION_BACKWARDS: dict[Any, tuple[int, bool]] = {
    aten.threshold_backward: (1, True), aten.leaky_relu_backward: (2, True), aten.hardtanh_backward: (2, False),
    aten.silu_backward: (0, False), aten.sigmoid_backward: (0, False), aten.tanh_backward: (0, False),
    aten.hardswish_backward: (0, False), aten.hardsigmoid_backward: (0, False), aten.gelu_backward: (0, False),
}


def _activation_backward(packet: Any) -> BackwardResult:
    numbers, self_first = _ACTIVATION_BACKWARDS[packet]

    def stand_in(args: tuple, kwargs: dict) -> Any:
        if len(args) < 2 or not _meta(args[0], args[1]):
            return None
        grad, x = args[0], args[1]
        if grad.dtype != x.dtype or x.dtype not in FLOATS or grad.shape != x.shape:
            return None
        extra = args[2:]
        if packet is aten.gelu_backward:
            approximate = extra[0] if extra else kwargs.get("approximate", "none")
            if len(extra) > 1 or set(kwargs) - ({"approximate"} if not extra else set()) or approximate not in (
                    "none", "tanh"):
                return None
        elif packet is aten.leaky_relu_backward:  # (negative_slope, self_is_result); in place needs slope ≥ 0
            if kwargs or len(extra) != 2 or not is_number(extra[0]) or not isinstance(extra[1], bool) or (
                    extra[1] and extra[0] < 0):
                return None
        elif kwargs or len(extra) != numbers or not all(is_number(v) for v in extra):
            return None
        return pointwise_result((x, grad) if self_first else (grad, x), tuple(x.shape), x.dtype)

    stand_in.__name__ = f"{packet.__name__}_stand_in"
    return stand_in


for _packet in _ACTIVATION_BACKWARDS:
    BACKWARD_RESULTS[_packet] = _activation_backward(_packet)


# ---------------------------------------------------------------- pooling: grad_input in the input's suggested format


def _pool_gradient(grad: Any, x: Any, forward_args: tuple, dilation_index: int | None, ceil_index: int
                   ) -> torch.Tensor | None:
    """grad_input of a 2-d max/avg pool, once grad_output has exactly the shape the forward gives."""
    if not _meta(grad, x) or grad.dtype != x.dtype:
        return None
    shape = pool2d_result_shape(forward_args, dilation_index, ceil_index)
    if shape is None or tuple(grad.shape) != tuple(shape):
        return None
    return empty(x.shape, x.dtype, pool_format(x))


@_register(aten.max_pool2d_with_indices_backward)
def max_pool2d_with_indices_backward(args: tuple, kwargs: dict) -> Any:
    """(grad_output, self, kernel, stride, padding, dilation, ceil_mode, indices)."""
    if kwargs or len(args) != 8 or not _meta(args[7]) or args[7].dtype != torch.int64:
        return None
    if not isinstance(args[0], torch.Tensor) or args[7].shape != args[0].shape:
        return None
    return _pool_gradient(args[0], args[1], (args[1], *args[2:7]), dilation_index=4, ceil_index=5)


@_register(aten.avg_pool2d_backward)
def avg_pool2d_backward(args: tuple, kwargs: dict) -> Any:
    """(grad_output, self, kernel, stride, padding, ceil_mode, count_include_pad, divisor_override)."""
    if kwargs or len(args) != 8 or not isinstance(args[6], bool):
        return None
    if args[7] is not None and (not is_int(args[7]) or args[7] == 0):
        return None
    return _pool_gradient(args[0], args[1], (args[1], *args[2:6]), dilation_index=None, ceil_index=4)


@_register(aten._adaptive_avg_pool2d_backward)
def adaptive_avg_pool2d_backward(args: tuple, kwargs: dict) -> Any:
    """(grad_output, self): any output size, the leading dims shared."""
    if kwargs or len(args) != 2 or not _meta(*args):
        return None
    grad, x = args
    if x.dim() not in (3, 4) or grad.dim() != x.dim() or grad.shape[:-2] != x.shape[:-2] or grad.dtype != x.dtype:
        return None
    if x.dtype not in FLOATS or 0 in x.shape or 0 in grad.shape:
        return None
    return empty(x.shape, x.dtype, suggested_format(x))


# ---------------------------------------------------------------- normalisation and softmax


def _parameter_gradients(weight: Any, bias: Any, mask: Any) -> tuple[Any, Any] | None:
    """grad_weight and grad_bias (contiguous, like the weight) as the mask asks; None if it asks for a missing one."""
    if (mask[1] and weight is None) or (mask[2] and bias is None):
        return None
    return (empty(weight.shape, weight.dtype) if mask[1] else None,
            empty(bias.shape, bias.dtype) if mask[2] else None)


@_register(aten.native_layer_norm_backward)
def layer_norm_backward(args: tuple, kwargs: dict) -> Any:
    """(grad_out, input, normalized_shape, mean, rstd, weight, bias, output_mask) → grad_input contiguous."""
    if kwargs or len(args) != 8 or not _mask(args[7]):
        return None
    grad, x, normalized, mean, rstd, weight, bias, mask = args
    if not _meta(grad, x, mean, rstd) or grad.shape != x.shape or grad.dtype != x.dtype or x.dtype not in FLOATS:
        return None
    if not isinstance(normalized, (list, tuple)) or not normalized or not all(is_int(n) for n in normalized):
        return None
    axis = x.dim() - len(normalized)
    if axis < 0 or tuple(x.shape[axis:]) != tuple(normalized) or 0 in x.shape:
        return None
    stats = (*x.shape[:axis], *[1] * len(normalized))
    for stat in (mean, rstd):  # the forward's statistics: the input's dtype (CPU) or float32 (meta, half inputs)
        if tuple(stat.shape) != stats or stat.dtype not in (x.dtype, torch.float32):
            return None
    for param in (weight, bias):
        if param is not None and (not _meta(param) or tuple(param.shape) != tuple(normalized)
                                  or param.dtype != x.dtype):
            return None
    params = _parameter_gradients(weight, bias, mask)
    if params is None:
        return None
    return (empty(x.shape, x.dtype) if mask[0] else None, *params)


@_register(aten.native_group_norm_backward)
def group_norm_backward(args: tuple, kwargs: dict) -> Any:
    """(grad_out, input, mean, rstd, weight, N, C, HxW, group, output_mask) → grad_input in the input's suggested
    memory format."""
    if kwargs or len(args) != 10 or not _mask(args[9]) or not all(is_int(v) for v in args[5:9]):
        return None
    grad, x, mean, rstd, weight, n, c, hxw, group, mask = args
    if not _meta(grad, x, mean, rstd) or grad.shape != x.shape or grad.dtype != x.dtype or x.dtype not in FLOATS:
        return None
    if x.dim() < 2 or 0 in x.shape or group <= 0 or c % group or x.shape[0] != n or x.shape[1] != c:
        return None
    if x.numel() != n * c * hxw or tuple(mean.shape) != (n, group) or tuple(rstd.shape) != (n, group):
        return None
    if mean.dtype != x.dtype or rstd.dtype != x.dtype:
        return None
    if weight is not None and (not _meta(weight) or tuple(weight.shape) != (c,) or weight.dtype != x.dtype):
        return None
    params = _parameter_gradients(weight, weight, mask)  # grad_bias is shaped like the weight: (C,)
    if params is None:
        return None
    return (empty(x.shape, x.dtype, suggested_format(x)) if mask[0] else None, *params)


@_register(aten._softmax_backward_data, aten._log_softmax_backward_data)
def softmax_backward(args: tuple, kwargs: dict) -> Any:
    """(grad_output, output, dim, input_dtype) → contiguous, when nothing is cast (input_dtype is theirs)."""
    if kwargs or len(args) != 4 or not _meta(args[0], args[1]):
        return None
    grad, out, dim, input_dtype = args
    if grad.shape != out.shape or grad.dtype != out.dtype or input_dtype != grad.dtype or grad.dtype not in FLOATS:
        return None
    if not softmax_dim_ok(grad, dim):
        return None
    return empty(grad.shape, grad.dtype)


# ---------------------------------------------------------------- indexing: zeros of the input's size


@_register(aten.select_backward)
def select_backward(args: tuple, kwargs: dict) -> Any:
    """(grad, input_sizes, dim, index) → contiguous zeros of input_sizes."""
    if kwargs or len(args) != 4 or not _meta(args[0]) or not sizes_ok(args[1]):
        return None
    grad, sizes, dim, index = args
    rank = len(sizes)
    if grad.dtype not in FLOATS or not is_int(dim) or not -rank <= dim < rank or not is_int(index):
        return None
    dim %= rank
    if not -sizes[dim] <= index < sizes[dim] or tuple(grad.shape) != (*sizes[:dim], *sizes[dim + 1:]):
        return None
    return empty(sizes, grad.dtype)


def _slice_length(size: int, start: int, end: int, step: int) -> int:
    """How many elements `x[start:end:step]` keeps of a dim of `size` (aten.slice's clamping)."""
    start += size if start < 0 else 0
    end += size if end < 0 else 0
    start = min(max(start, 0), size)
    end = min(max(end, start), size)
    return (end - start + step - 1) // step


@_register(aten.slice_backward)
def slice_backward(args: tuple, kwargs: dict) -> Any:
    """(grad, input_sizes, dim, start, end, step) → contiguous zeros of input_sizes."""
    if kwargs or len(args) != 6 or not _meta(args[0]) or not sizes_ok(args[1]):
        return None
    grad, sizes, dim, start, end, step = args
    rank = len(sizes)
    if grad.dtype not in FLOATS or not is_int(dim) or not -rank <= dim < rank:
        return None
    if not (is_int(start) and is_int(end) and is_int(step)) or step <= 0:
        return None
    dim %= rank
    expected = (*sizes[:dim], _slice_length(sizes[dim], start, end, step), *sizes[dim + 1:])
    if tuple(grad.shape) != expected:
        return None
    return empty(sizes, grad.dtype)


def stand_in_for(func: Any) -> BackwardResult | None:
    """The stand-in a backward call of op overload `func` asks first: its backward one, else its forward one."""
    packet = func.overloadpacket
    return BACKWARD_RESULTS.get(packet) or FAST_RESULTS.get(packet)


def backward_result(func: Any, args: tuple, kwargs: dict) -> Any:
    """The op's result, from a stand-in when one answers, else from torch."""
    fast = stand_in_for(func)
    out = fast(args, kwargs) if fast is not None else None
    return func(*args, **kwargs) if out is None else out
