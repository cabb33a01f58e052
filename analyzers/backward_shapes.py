"""Result stand-ins for the backward ops a CNN's training step runs most, from shapes alone.

Why: on torch 2.14 the meta kernels of convolution_backward, native_batch_norm_backward and the pointwise
`*_backward` ops run Python references and fake-tensor machinery (~0.3–1 ms a call); a ResNet-50 backward makes
hundreds of them. Each gradient here has exactly the shape of the tensor it is the gradient of, so the stand-in is
an empty meta tensor like it. As in `analyzers.fast_shapes`, a stand-in answers only for meta, contiguous operands;
anything else returns None and torch's own kernel runs. `tests/test_training_formulas.py` holds them to torch's.
"""

from __future__ import annotations

from typing import Any, Callable

import torch

from analyzers.fast_shapes import FAST_RESULTS

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


def _grad_like_input(index: int) -> BackwardResult:
    """grad_input has the shape, dtype and layout of operand `index` (and grad_output has the same dtype)."""

    def stand_in(args: tuple, kwargs: dict) -> Any:
        if kwargs or len(args) <= index:
            return None
        grad, x = args[0], args[index]
        if not _plain(grad, x) or grad.dtype != x.dtype:
            return None
        return _like(x)

    return stand_in


for _packet in (aten.threshold_backward, aten.hardtanh_backward, aten.silu_backward, aten.sigmoid_backward,
                aten.tanh_backward, aten.hardswish_backward, aten.hardsigmoid_backward, aten.gelu_backward,
                aten.leaky_relu_backward):
    BACKWARD_RESULTS[_packet] = (lambda f: lambda args, kwargs: f(args, kwargs) if (
        len(args) > 1 and isinstance(args[1], torch.Tensor) and args[0].shape == args[1].shape) else None)(
        _grad_like_input(1))

for _packet in (aten.max_pool2d_with_indices_backward, aten._adaptive_avg_pool2d_backward, aten.avg_pool2d_backward):
    BACKWARD_RESULTS[_packet] = _grad_like_input(1)


def backward_result(func: Any, args: tuple, kwargs: dict) -> Any:
    """The op's result, from a stand-in when one answers, else from torch."""
    packet = func.overloadpacket
    fast = BACKWARD_RESULTS.get(packet) or FAST_RESULTS.get(packet)
    out = fast(args, kwargs) if fast is not None else None
    return func(*args, **kwargs) if out is None else out
