"""Shape-only cost formulas for aten ops, in a registry keyed by op.

Each formula reads only shapes (the analysis runs on the meta device) and returns an `OpCost` whose `formula` string
writes the arithmetic out with the actual numbers, e.g. `out 28×28×32 · kernel 5×5×192 = 120,422,400 MACs`.

Conventions (see README): MACs are the multiply–accumulates of conv / linear / matmul / attention; a bias add, a
norm, an activation, pooling and residual adds are element-wise ops, counted separately. Per output element:
activations and arithmetic 1, inference batch norm 2 (scale and shift), training batch norm 4, layer/group norm 5
(mean, variance, normalise, scale, shift), softmax 3 (exp, sum, divide); pooling costs one op per window element.
An op with no formula here is reported as uncounted by the counting mode, never as zero.
"""

from __future__ import annotations

from typing import Any, Callable, Sequence

import torch

from analyzers.numbers import dims, n, product, volume
from analyzers.records import OpCost, OpKind

aten = torch.ops.aten

Formula = Callable[[Any, tuple, dict, Any], OpCost]

FORMULAS: dict[Any, Formula] = {}  # OpOverloadPacket → formula


def register(*packets: Any) -> Callable[[Formula], Formula]:
    """Register a formula for every overload of the given aten op packets; a second registration fails loudly."""

    def decorate(fn: Formula) -> Formula:
        for packet in packets:
            if packet in FORMULAS:
                raise ValueError(f"formula for {packet} registered twice")
            FORMULAS[packet] = fn
        return fn

    return decorate


def _shape(t: Any) -> tuple[int, ...]:
    return tuple(int(d) for d in t.shape)


def _first_tensor(value: Any) -> torch.Tensor:
    if isinstance(value, torch.Tensor):
        return value
    if isinstance(value, (tuple, list)):
        for item in value:
            if isinstance(item, torch.Tensor):
                return item
    raise TypeError("op returned no tensor")


def _batch_prefix(batch: int) -> str:
    return f"batch {batch} · " if batch != 1 else ""


# ---------------------------------------------------------------- MACs: convolution, linear, matmul, attention


@register(aten.convolution, aten._convolution)
def convolution(func: Any, args: tuple, kwargs: dict, out: Any) -> OpCost:
    x, w = args[0], args[1]
    bias = args[2] if len(args) > 2 else None
    transposed = bool(args[6]) if len(args) > 6 else False
    batch = int(x.shape[0])
    kernel = _shape(w)[2:]
    y = _first_tensor(out)
    if transposed:
        # Every input element is scattered through the kernel into C_out/g outputs.
        c_in, per_group_out = int(w.shape[0]), int(w.shape[1])
        macs = batch * product(_shape(x)[2:]) * c_in * product(kernel) * per_group_out
        text = f"{_batch_prefix(batch)}in {volume(_shape(x))} · kernel {dims([*kernel, per_group_out])}"
        label = "MACs (transposed conv)"
    else:
        per_group_in = int(w.shape[1])
        macs = batch * product(_shape(y)[2:]) * int(w.shape[0]) * product(kernel) * per_group_in
        text = f"{_batch_prefix(batch)}out {volume(_shape(y))} · kernel {dims([*kernel, per_group_in])}"
        label = "MACs"
    formula = f"{text} = {n(macs)} {label}"
    bias_adds = y.numel() if bias is not None else 0
    if bias_adds:
        formula += f"; bias {n(bias_adds)} adds"
    return OpCost(str(func), OpKind.MAC, macs=macs, elementwise_ops=bias_adds, formula=formula)


def _matmul_cost(func: Any, a_shape: Sequence[int], b_shape: Sequence[int], bias_adds: int, batch: int = 1) -> OpCost:
    rows, inner = int(a_shape[-2]), int(a_shape[-1])
    cols = int(b_shape[-1])
    macs = batch * rows * inner * cols
    if batch != 1:
        text = f"batch {n(batch)} · {n(rows)}×{n(inner)} @ {n(inner)}×{n(cols)}"
    else:
        text = f"rows {n(rows)} · in {n(inner)} · out {n(cols)}"
    formula = f"{text} = {n(macs)} MACs"
    if bias_adds:
        formula += f"; bias {n(bias_adds)} adds"
    return OpCost(str(func), OpKind.MAC, macs=macs, elementwise_ops=bias_adds, formula=formula)


@register(aten.addmm)
def addmm(func: Any, args: tuple, kwargs: dict, out: Any) -> OpCost:
    return _matmul_cost(func, _shape(args[1]), _shape(args[2]), bias_adds=_first_tensor(out).numel())


@register(aten.mm)
def mm(func: Any, args: tuple, kwargs: dict, out: Any) -> OpCost:
    return _matmul_cost(func, _shape(args[0]), _shape(args[1]), bias_adds=0)


@register(aten.bmm)
def bmm(func: Any, args: tuple, kwargs: dict, out: Any) -> OpCost:
    return _matmul_cost(func, _shape(args[0]), _shape(args[1]), bias_adds=0, batch=int(args[0].shape[0]))


@register(aten.baddbmm)
def baddbmm(func: Any, args: tuple, kwargs: dict, out: Any) -> OpCost:
    y = _first_tensor(out)
    return _matmul_cost(func, _shape(args[1]), _shape(args[2]), bias_adds=y.numel(), batch=int(args[1].shape[0]))


@register(
    aten._scaled_dot_product_flash_attention,
    aten._scaled_dot_product_efficient_attention,
    aten._scaled_dot_product_cudnn_attention,
    aten._scaled_dot_product_flash_attention_for_cpu,
)
def fused_attention(func: Any, args: tuple, kwargs: dict, out: Any) -> OpCost:
    q, k, v = args[0], args[1], args[2]
    *lead, q_len, head_dim = _shape(q)
    kv_len, v_dim = int(k.shape[-2]), int(v.shape[-1])
    heads = product(lead)
    macs = heads * q_len * kv_len * (head_dim + v_dim)
    formula = (
        f"batch·heads {n(heads)} · (QKᵀ {n(q_len)}×{n(head_dim)}×{n(kv_len)} + AV {n(q_len)}×{n(kv_len)}×{n(v_dim)})"
        f" = {n(macs)} MACs"
    )
    return OpCost(str(func), OpKind.MAC, macs=macs, elementwise_ops=3 * heads * q_len * kv_len, formula=formula)


# ---------------------------------------------------------------- element-wise: norms, activations, arithmetic


def _elementwise(func: Any, label: str, per_element: int, shape: Sequence[int]) -> OpCost:
    ops = per_element * product(shape)
    per = f"{per_element} ops · " if per_element != 1 else ""
    batch = int(shape[0]) if len(shape) >= 2 else 1
    formula = f"{label}: {_batch_prefix(batch)}{per}{volume(shape)} = {n(ops)} ops"
    return OpCost(str(func), OpKind.ELEMENTWISE, elementwise_ops=ops, formula=formula)


@register(aten.native_batch_norm, aten._native_batch_norm_legit, aten._native_batch_norm_legit_no_training)
def batch_norm(func: Any, args: tuple, kwargs: dict, out: Any) -> OpCost:
    training = func.overloadpacket is aten._native_batch_norm_legit or (
        func.overloadpacket is aten.native_batch_norm and bool(args[5])
    )
    return _elementwise(func, "batch norm", 4 if training else 2, _shape(args[0]))


@register(aten.native_layer_norm)
def layer_norm(func: Any, args: tuple, kwargs: dict, out: Any) -> OpCost:
    return _elementwise(func, "layer norm", 5, _shape(args[0]))


@register(aten.native_group_norm)
def group_norm(func: Any, args: tuple, kwargs: dict, out: Any) -> OpCost:
    return _elementwise(func, "group norm", 5, _shape(args[0]))


@register(aten._softmax, aten._log_softmax, aten._safe_softmax)
def softmax(func: Any, args: tuple, kwargs: dict, out: Any) -> OpCost:
    return _elementwise(func, "softmax", 3, _shape(args[0]))


_ONE_OP_PER_OUTPUT = (
    # activations
    aten.relu, aten.relu_, aten.hardtanh, aten.hardtanh_, aten.gelu, aten.gelu_, aten.silu, aten.silu_,
    aten.sigmoid, aten.sigmoid_, aten.tanh, aten.tanh_, aten.hardswish, aten.hardswish_, aten.hardsigmoid,
    aten.hardsigmoid_, aten.leaky_relu, aten.leaky_relu_, aten.elu, aten.elu_, aten.softplus, aten.mish, aten.mish_,
    aten.prelu, aten._prelu_kernel, aten.threshold, aten.threshold_,
    # arithmetic and math
    aten.add, aten.add_, aten.sub, aten.sub_, aten.rsub, aten.mul, aten.mul_, aten.div, aten.div_,
    aten.maximum, aten.minimum, aten.clamp, aten.clamp_, aten.clamp_min, aten.clamp_min_, aten.clamp_max,
    aten.clamp_max_, aten.where, aten.exp, aten.exp_, aten.log, aten.sqrt, aten.rsqrt, aten.neg, aten.abs,
    aten.pow, aten.pow_, aten.reciprocal, aten.erf, aten.sin, aten.cos, aten.lerp, aten.addcmul, aten.addcdiv,
    aten.masked_fill, aten.masked_fill_, aten.eq, aten.ne, aten.lt, aten.le, aten.gt, aten.ge,
    aten.native_dropout, aten.bernoulli_, aten.bernoulli,
)


_LABELS = {"hardtanh": "ReLU6/hardtanh clamp", "_prelu_kernel": "prelu"}  # what users know these ops as


@register(*_ONE_OP_PER_OUTPUT)
def one_op_per_output(func: Any, args: tuple, kwargs: dict, out: Any) -> OpCost:
    name = func.overloadpacket.__name__.rstrip("_")
    return _elementwise(func, _LABELS.get(name, name), 1, _shape(_first_tensor(out)))


# ---------------------------------------------------------------- pooling and reductions


@register(aten.max_pool2d_with_indices, aten.max_pool2d, aten.avg_pool2d, aten.max_pool3d_with_indices, aten.avg_pool3d,
          aten.max_pool1d, aten.avg_pool1d)
def pooling(func: Any, args: tuple, kwargs: dict, out: Any) -> OpCost:
    window = [int(k) for k in args[1]]
    y = _first_tensor(out)
    ndim = len(y.shape) - 2
    if len(window) == 1 and ndim > 1:
        window = window * ndim
    ops = y.numel() * product(window)
    kind = "max pool" if "max" in func.overloadpacket.__name__ else "avg pool"
    formula = f"{kind} {dims(window)} window · {_batch_prefix(int(y.shape[0]))}out {volume(_shape(y))} = {n(ops)} ops"
    return OpCost(str(func), OpKind.ELEMENTWISE, elementwise_ops=ops, formula=formula)


@register(aten._adaptive_avg_pool2d, aten.adaptive_max_pool2d, aten._adaptive_avg_pool3d, aten.mean, aten.sum,
          aten.amax, aten.var_mean, aten.var, aten.std)
def reduction(func: Any, args: tuple, kwargs: dict, out: Any) -> OpCost:
    x = args[0]
    ops = x.numel()
    name = func.overloadpacket.__name__.strip("_")
    batch = int(x.shape[0]) if x.dim() >= 2 else 1
    formula = f"{name} over {_batch_prefix(batch)}in {volume(_shape(x))} = {n(ops)} ops"
    return OpCost(str(func), OpKind.ELEMENTWISE, elementwise_ops=ops, formula=formula)


@register(aten.upsample_linear1d, aten.upsample_bilinear2d, aten.upsample_trilinear3d, aten.upsample_bicubic2d)
def interpolation(func: Any, args: tuple, kwargs: dict, out: Any) -> OpCost:
    """A weighted sum of the 2, 4, 8 (linear, bilinear, trilinear) or 16 (bicubic) nearest inputs per output."""
    name = func.overloadpacket.__name__
    taps = {"upsample_linear1d": 2, "upsample_bilinear2d": 4, "upsample_trilinear3d": 8}.get(name, 16)
    return _elementwise(func, name.removeprefix("upsample_"), taps, _shape(_first_tensor(out)))


# ---------------------------------------------------------------- data movement: zero arithmetic

_DATA_MOVEMENT = (
    aten.view, aten._unsafe_view, aten.reshape, aten._reshape_alias, aten.t, aten.transpose, aten.permute,
    aten.expand, aten.clone, aten.contiguous, aten.detach, aten.slice, aten.select,
    aten.split, aten.split_with_sizes, aten.chunk, aten.unsqueeze, aten.squeeze, aten.flatten, aten.unbind,
    aten.empty, aten.empty_like, aten.empty_strided, aten.zeros, aten.zeros_like, aten.ones, aten.ones_like,
    aten.full, aten.full_like, aten.new_empty, aten.new_zeros, aten.new_ones, aten.new_full, aten.new_empty_strided,
    aten._to_copy, aten.copy_, aten.alias, aten.lift_fresh, aten.as_strided, aten.constant_pad_nd, aten.fill_,
    aten.zero_, aten.narrow, aten.repeat, aten.roll, aten.flip, aten.index_select, aten.gather, aten.index,
    aten.arange, aten.channel_shuffle, aten.pixel_shuffle, aten.pixel_unshuffle, aten.unfold, aten.col2im, aten.im2col,
    aten.squeeze_, aten.unsqueeze_, aten.t_, aten.transpose_, aten.scalar_tensor, aten._local_scalar_dense,
    aten.resize_, aten.set_, aten.sym_size, aten.sym_stride, aten.sym_numel, aten.is_same_size, aten.dropout,
    aten.upsample_nearest1d, aten.upsample_nearest2d, aten.upsample_nearest3d, aten.unsafe_split,
    aten.unsafe_split_with_sizes, aten.unsafe_chunk, aten.view_as_real, aten.view_as_complex, aten.real, aten.imag,
)


@register(*_DATA_MOVEMENT)
def data_movement(func: Any, args: tuple, kwargs: dict, out: Any) -> OpCost:
    return OpCost(str(func), OpKind.DATA)


@register(aten.cat, aten.stack)
def concatenation(func: Any, args: tuple, kwargs: dict, out: Any) -> OpCost:
    """Zero arithmetic, but worth a line: an Inception module's depth is made here."""
    parts = [volume(_shape(t)) for t in args[0]]
    y = _first_tensor(out)
    name = func.overloadpacket.__name__
    formula = f"{name} {' + '.join(parts)} → {volume(_shape(y))}: no arithmetic"
    return OpCost(str(func), OpKind.DATA, formula=formula)


def uncounted(func: Any) -> OpCost:
    """An op without a formula: named and marked, never silently zero."""
    return OpCost(str(func), OpKind.UNCOUNTED, formula=f"{func.overloadpacket.__name__}: no formula, not counted")
