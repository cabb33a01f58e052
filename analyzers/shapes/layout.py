"""Tensor layouts as c10 decides them: which memory format a result takes, how TensorIterator orders dims, and
what counts as an integer or a number argument. The forward and backward stand-ins build their results by
these rules, so a stand-in's strides equal those of torch's CPU kernel."""

from __future__ import annotations

from typing import Any, Sequence

import torch

__all__ = ["CONTIGUOUS", "FLOATS", "META", "empty", "is_int", "is_number", "iterator_dim_order",
           "non_overlapping_and_dense", "pointwise_result", "strides_like_channels_last", "suggested_format"]

FLOATS = frozenset({torch.float32, torch.float64, torch.float16, torch.bfloat16})
CONTIGUOUS = torch.contiguous_format
META = torch.device("meta")


def is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def strides_like_channels_last(shape: Sequence[int], strides: Sequence[int]) -> bool:
    """c10's `is_channels_last_strides_2d/3d`: the heuristic behind `suggest_memory_format`, including its
    tie-breaks for size-1 dimensions (ambiguous layouts count as contiguous)."""
    order = (1, 3, 2, 0) if len(shape) == 4 else (1, 4, 3, 2, 0) if len(shape) == 5 else ()
    if not order or strides[1] == 0:
        return False
    minimum = 0
    for d in order:
        if shape[d] == 0 or strides[d] < minimum:
            return False
        if d == 0 and minimum == strides[1]:
            return False
        minimum = strides[d] * shape[d] if shape[d] > 1 else strides[d]
    return True


def suggested_format(x: torch.Tensor) -> torch.memory_format:
    """`Tensor::suggest_memory_format()`: channels-last for 4-d/5-d tensors whose strides look like it."""
    if x.dim() in (4, 5) and strides_like_channels_last(x.shape, x.stride()):
        return torch.channels_last if x.dim() == 4 else torch.channels_last_3d
    return CONTIGUOUS


def non_overlapping_and_dense(x: torch.Tensor) -> bool:
    """c10's `compute_non_overlapping_and_dense`: the elements tile one block of memory exactly once."""
    if x.is_contiguous():
        return True
    dims = sorted((stride, size) for size, stride in zip(x.shape, x.stride()) if size >= 2)
    expected = 1
    for stride, size in dims:
        if stride != expected:
            return False
        expected *= size
    return True


def empty(shape: Sequence[int], dtype: torch.dtype, memory_format: torch.memory_format = CONTIGUOUS
           ) -> torch.Tensor:
    return torch.empty(tuple(shape), dtype=dtype, device="meta", memory_format=memory_format)


def pointwise_result(operands: Sequence[torch.Tensor], shape: tuple[int, ...], dtype: torch.dtype,
                      with_scalar: bool = False) -> torch.Tensor:
    """The output TensorIterator allocates for same-dtype `operands` broadcast to `shape` (`with_scalar`: a Python
    number is among the operands, so they are not all of one shape).

    Same-shape tensor operands take its fast set-up: all contiguous → contiguous; all channels-last (2-d) →
    channels-last; all dense with one stride pattern → those strides. Otherwise it orders the dims by the
    operands' strides (`iterator_dim_order`) and lays the output out densely in that order.
    """
    if not with_scalar and all(tuple(t.shape) == shape for t in operands):
        if all(t.is_contiguous() for t in operands):
            return empty(shape, dtype)
        if len(shape) == 4 and all(suggested_format(t) is torch.channels_last for t in operands):
            return empty(shape, dtype, torch.channels_last)
        strides = operands[0].stride()
        if all(t.stride() == strides for t in operands) and non_overlapping_and_dense(operands[0]):
            return torch.empty_strided(shape, strides, dtype=dtype, device="meta")
    order = iterator_dim_order(operands, shape)
    if order is None:
        return empty(shape, dtype)
    strides, step = [0] * len(shape), 1
    for d in order:
        strides[d] = step
        step *= shape[d]
    return torch.empty_strided(shape, strides, dtype=dtype, device="meta")


def iterator_dim_order(operands: Sequence[torch.Tensor], shape: tuple[int, ...]) -> list[int] | None:
    """TensorIterator's `reorder_dimensions`: the output's dims from innermost to outermost, ordered by the
    operands' strides (broadcast dims ignored, ties to the smaller dim); None when that is the plain order."""
    ndim = len(shape)
    if ndim <= 1:
        return None
    broadcast_strides = []
    for t in operands:
        offset = ndim - t.dim()
        strides = [0] * offset
        for size, stride, out in zip(t.shape, t.stride(), shape[offset:]):
            strides.append(0 if size == 1 and out != 1 else stride)
        broadcast_strides.append(strides)

    def should_swap(dim0: int, dim1: int) -> int:
        for strides in broadcast_strides:
            stride0, stride1 = strides[dim0], strides[dim1]
            if stride0 == 0 or stride1 == 0:
                continue
            if stride0 != stride1:
                return -1 if stride0 < stride1 else 1
            if shape[dim0] > shape[dim1]:
                return 1
        return 0

    order = list(range(ndim - 1, -1, -1))
    for i in range(1, ndim):  # insertion sort that leaves ambiguous pairs where they are
        dim1 = i
        for dim0 in range(i - 1, -1, -1):
            comparison = should_swap(order[dim0], order[dim1])
            if comparison > 0:
                order[dim0], order[dim1] = order[dim1], order[dim0]
                dim1 = dim0
            elif comparison < 0:
                break
    return None if order == list(range(ndim - 1, -1, -1)) else order
