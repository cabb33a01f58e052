"""Shape-only cost formulas for aten ops, in a registry keyed by op.

Each formula reads only shapes and arguments (the analysis runs on the meta device) and returns an `OpCost`: the
counts, the op's category and its geometry as data. The words users read (`out 28×28×32 · kernel 5×5×192 =
120,422,400 MACs`) are written from that data by `analyzers.counting.formula_text`.

Conventions (see README): MACs are the multiply–accumulates of conv / linear / matmul / attention; a bias add, a
norm, an activation, pooling and residual adds are element-wise ops, counted separately. Per output element:
activations and arithmetic 1, inference batch norm 2 (scale and shift), training batch norm 4, layer/group norm 5
(mean, variance, normalise, scale, shift), softmax 3 (exp, sum, divide); pooling costs one op per window element.
An op with no formula here is reported as uncounted by the counting mode, never as zero.

A caller adds or overrides formulas without editing this table: `analyze(model, size, formulas={aten.op: fn})`,
where `fn(func, args, kwargs, out)` returns an `OpCost` or an int (MACs).
"""

from __future__ import annotations

import math
from typing import Any, Callable, Sequence

import torch

from analyzers.numbers import per_dim, pool_window, product
from analyzers.ops import ADAPTIVE_POOLS, FUSED_ATTENTION, MAX_POOLS, WINDOW_POOLS
from analyzers.records import (
    AttentionGeometry,
    ConcatGeometry,
    ConvGeometry,
    FusedGeometry,
    GroupedMatmulGeometry,
    MatmulGeometry,
    OpCategory,
    OpCost,
    PoolGeometry,
)

__all__ = [
    "FORMULAS", "Formula", "activation", "adaptive_pooling", "addmm", "antialiased_interpolation", "argument",
    "arithmetic", "assertion", "baddbmm", "batch_norm", "bmm", "concatenation", "convolution", "data_movement",
    "embedding", "fused_attention", "grid_sample", "group_norm", "grouped_mm", "histogram", "interpolation",
    "layer_norm", "max_or_min", "mkldnn_rnn_layer", "mm", "more_arithmetic", "more_reductions", "moves_data",
    "native_multi_head_attention", "nms", "pooling", "reduction", "register", "register_torchvision_ops", "roi_align",
    "scan", "scatter_add", "softmax", "transformer_encoder_layer", "uncounted", "vector_norm",
]

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


def _existing(*names: str) -> tuple[Any, ...]:
    """The aten ops of these names that this torch build has (older builds, e.g. the GPU machine's torch 2.11,
    lack a few): a missing op cannot run, so it needs no formula."""
    return tuple(getattr(aten, name) for name in names if hasattr(aten, name))


# ---------------------------------------------------------------- MACs: convolution, linear, matmul, attention


@register(aten.convolution, aten._convolution)
def convolution(func: Any, args: tuple, kwargs: dict, out: Any) -> OpCost:
    x, w = args[0], args[1]
    bias = args[2] if len(args) > 2 else None
    transposed = bool(args[6]) if len(args) > 6 else False
    groups = int(args[8]) if len(args) > 8 else 1
    y = _first_tensor(out)
    x_shape, w_shape, y_shape = _shape(x), _shape(w), _shape(y)
    kernel = w_shape[2:]
    ndim = len(kernel)
    if transposed:  # weight is C_in × C_out/g × k…: every input element is scattered through the kernel
        in_channels, out_channels = w_shape[0], w_shape[1] * groups
        macs = product(x_shape) * product(kernel) * w_shape[1]
    else:
        in_channels, out_channels = w_shape[1] * groups, w_shape[0]
        macs = y_shape[0] * product(y_shape[2:]) * out_channels * product(kernel) * w_shape[1]
    padding = args[4]
    geometry = ConvGeometry(
        kernel=kernel,
        stride=tuple(per_dim(args[3], ndim, 1)),
        padding=tuple(per_dim(padding, ndim, 0)) if not isinstance(padding, str) else tuple(
            _same_padding(kernel, per_dim(args[5], ndim, 1)) if padding == "same" else [0] * ndim),
        dilation=tuple(per_dim(args[5], ndim, 1)),
        groups=groups,
        in_channels=in_channels,
        out_channels=out_channels,
        transposed=transposed,
        in_shape=x_shape,
        out_shape=y_shape,
        has_bias=bias is not None,
    )
    bias_adds = y.numel() if bias is not None else 0
    return OpCost(str(func), OpCategory.CONV, macs=macs, elementwise_ops=bias_adds, bias_adds=bias_adds,
                  geometry=geometry)


def _same_padding(kernel: Sequence[int], dilation: Sequence[int]) -> list[int]:
    """The left padding of padding='same' (torch pads the extra pixel of an even window on the right)."""
    return [d * (k - 1) // 2 for k, d in zip(kernel, dilation)]


def argument(func: Any, args: tuple, kwargs: dict, name: str, default: Any) -> Any:
    """An op's argument by its schema name, given by position or keyword (the fused kernels differ in position)."""
    if name in kwargs:
        return kwargs[name]
    for i, spec in enumerate(func._schema.arguments):
        if spec.name == name:
            return args[i] if i < len(args) else default
    return default


def _matmul_cost(func: Any, a_shape: Sequence[int], b_shape: Sequence[int], bias_adds: int, batch: int = 1,
                 batched: bool = False) -> OpCost:
    rows, inner, cols = int(a_shape[-2]), int(a_shape[-1]), int(b_shape[-1])
    macs = batch * rows * inner * cols
    geometry = MatmulGeometry(rows=rows, inner=inner, cols=cols, batch=batch, batched=batched)
    return OpCost(str(func), OpCategory.MATMUL, macs=macs, elementwise_ops=bias_adds, bias_adds=bias_adds,
                  geometry=geometry)


@register(aten.addmm)
def addmm(func: Any, args: tuple, kwargs: dict, out: Any) -> OpCost:
    return _matmul_cost(func, _shape(args[1]), _shape(args[2]), bias_adds=_first_tensor(out).numel())


@register(aten.mm)
def mm(func: Any, args: tuple, kwargs: dict, out: Any) -> OpCost:
    return _matmul_cost(func, _shape(args[0]), _shape(args[1]), bias_adds=0)


@register(aten.bmm)
def bmm(func: Any, args: tuple, kwargs: dict, out: Any) -> OpCost:
    return _matmul_cost(func, _shape(args[0]), _shape(args[1]), bias_adds=0, batch=int(args[0].shape[0]),
                        batched=True)


@register(aten.baddbmm)
def baddbmm(func: Any, args: tuple, kwargs: dict, out: Any) -> OpCost:
    y = _first_tensor(out)
    return _matmul_cost(func, _shape(args[1]), _shape(args[2]), bias_adds=y.numel(), batch=int(args[1].shape[0]),
                        batched=True)


@register(*_existing("_grouped_mm"))
def grouped_mm(func: Any, args: tuple, kwargs: dict, out: Any) -> OpCost:
    """A mixture of experts' expert layers: `groups` products sharing one weight shape, one dimension cut into
    groups by `offs` (offs[g] ends group g). Σ over groups of rows_g · K · N is (the rows the offsets cover) · K · N.
    On a real device the offsets are read (rows past offs[-1] are skipped by the kernel); on meta they hold no data,
    and every row of the operand is counted: the routing's top-k puts tokens × k rows there, spread over the
    experts in a way only the data decides, and for equal-shaped experts the total is the same for any spread."""
    a, b = args[0], args[1]
    offs = argument(func, args, kwargs, "offs", None)
    a_shape, b_shape = _shape(a), _shape(b)
    known = isinstance(offs, torch.Tensor) and not offs.is_meta and offs.numel() > 0
    covered = int(offs[-1]) if known else None
    if len(a_shape) == 2 and len(b_shape) == 3:  # tokens × K @ per-expert K × N: the rows are jagged
        groups, inner, cols = b_shape
        rows = min(covered, a_shape[0]) if known else a_shape[0]
        geometry = GroupedMatmulGeometry(groups, rows, inner, cols, "rows", known)
    elif len(a_shape) == 2 and len(b_shape) == 2:  # a weight gradient: the summed dim is jagged
        groups = int(offs.shape[0]) if isinstance(offs, torch.Tensor) else 1
        inner = min(covered, a_shape[1]) if known else a_shape[1]
        geometry = GroupedMatmulGeometry(groups, a_shape[0], inner, b_shape[1], "inner", known)
    elif len(a_shape) == 3 and len(b_shape) == 2:
        cols = min(covered, b_shape[1]) if known else b_shape[1]
        geometry = GroupedMatmulGeometry(a_shape[0], a_shape[1], a_shape[2], cols, "cols", known)
    else:  # 3-d @ 3-d: one full product per group, a bmm
        geometry = GroupedMatmulGeometry(a_shape[0], a_shape[1], a_shape[2], b_shape[-1], "", True)
    macs = geometry.rows * geometry.inner * geometry.cols * (1 if geometry.jagged else geometry.groups)
    return OpCost(str(func), OpCategory.MATMUL, macs=macs, geometry=geometry)


@register(*FUSED_ATTENTION)
def fused_attention(func: Any, args: tuple, kwargs: dict, out: Any) -> OpCost:
    """QKᵀ and AV over every score, causal or not (the dense count, as the kernels' FLOP counters report it); the
    geometry keeps `is_causal`, so that the share a causal kernel computes is shown beside it."""
    q, k, v = args[0], args[1], args[2]
    *lead, q_len, head_dim = _shape(q)
    kv_len, v_dim = int(k.shape[-2]), int(v.shape[-1])
    heads = product(lead)
    macs = heads * q_len * kv_len * (head_dim + v_dim)
    geometry = AttentionGeometry(heads=heads, q_len=q_len, kv_len=kv_len, head_dim=head_dim, v_dim=v_dim,
                                 causal=bool(argument(func, args, kwargs, "is_causal", False)))
    mask = argument(func, args, kwargs, "attn_mask", argument(func, args, kwargs, "attn_bias", None))
    ops = _sdpa_elementwise(heads, q_len, kv_len, head_dim, geometry.causal, mask)
    return OpCost(str(func), OpCategory.ATTENTION, macs=macs, elementwise_ops=ops, label="softmax", per_element=3,
                  geometry=geometry)


# ---------------------------------------------------------------- element-wise: norms, activations, arithmetic


def _elementwise(func: Any, category: OpCategory, label: str, per_element: int, shape: Sequence[int]) -> OpCost:
    shape = tuple(int(d) for d in shape)
    return OpCost(str(func), category, elementwise_ops=per_element * product(shape), label=label,
                  per_element=per_element, shape=shape)


@register(aten.native_batch_norm, aten._native_batch_norm_legit, aten._native_batch_norm_legit_no_training)
def batch_norm(func: Any, args: tuple, kwargs: dict, out: Any) -> OpCost:
    training = func.overloadpacket is aten._native_batch_norm_legit or (
        func.overloadpacket is aten.native_batch_norm and bool(args[5])
    )
    return _elementwise(func, OpCategory.NORM, "batch norm", 4 if training else 2, _shape(args[0]))


@register(aten.native_layer_norm)
def layer_norm(func: Any, args: tuple, kwargs: dict, out: Any) -> OpCost:
    return _elementwise(func, OpCategory.NORM, "layer norm", 5, _shape(args[0]))


@register(aten.native_group_norm)
def group_norm(func: Any, args: tuple, kwargs: dict, out: Any) -> OpCost:
    return _elementwise(func, OpCategory.NORM, "group norm", 5, _shape(args[0]))


@register(aten._softmax, aten._log_softmax, aten._safe_softmax)
def softmax(func: Any, args: tuple, kwargs: dict, out: Any) -> OpCost:
    return _elementwise(func, OpCategory.ACTIVATION, "softmax", 3, _shape(args[0]))


_ACTIVATIONS = (
    aten.relu, aten.relu_, aten.hardtanh, aten.hardtanh_, aten.gelu, aten.gelu_, aten.silu, aten.silu_,
    aten.sigmoid, aten.sigmoid_, aten.tanh, aten.tanh_, aten.hardswish, aten.hardswish_, aten.hardsigmoid,
    aten.hardsigmoid_, aten.leaky_relu, aten.leaky_relu_, aten.elu, aten.elu_, aten.softplus, aten.mish, aten.mish_,
    aten.prelu, aten._prelu_kernel, aten.threshold, aten.threshold_,
)
_ARITHMETIC = (
    aten.add, aten.add_, aten.sub, aten.sub_, aten.rsub, aten.mul, aten.mul_, aten.div, aten.div_,
    aten.maximum, aten.minimum, aten.clamp, aten.clamp_, aten.clamp_min, aten.clamp_min_, aten.clamp_max,
    aten.clamp_max_, aten.where, aten.exp, aten.exp_, aten.log, aten.sqrt, aten.rsqrt, aten.neg, aten.abs,
    aten.pow, aten.pow_, aten.reciprocal, aten.erf, aten.sin, aten.cos, aten.lerp, aten.addcmul, aten.addcdiv,
    aten.masked_fill, aten.masked_fill_, aten.eq, aten.ne, aten.lt, aten.le, aten.gt, aten.ge,
    aten.native_dropout, aten.bernoulli_, aten.bernoulli,
)


_LABELS = {"hardtanh": "ReLU6/hardtanh clamp", "_prelu_kernel": "prelu"}  # what users know these ops as


@register(*_ACTIVATIONS)
def activation(func: Any, args: tuple, kwargs: dict, out: Any) -> OpCost:
    name = func.overloadpacket.__name__.rstrip("_")
    return _elementwise(func, OpCategory.ACTIVATION, _LABELS.get(name, name), 1, _shape(_first_tensor(out)))


@register(*_ARITHMETIC)
def arithmetic(func: Any, args: tuple, kwargs: dict, out: Any) -> OpCost:
    name = func.overloadpacket.__name__.rstrip("_")
    return _elementwise(func, OpCategory.ELEMENTWISE, name, 1, _shape(_first_tensor(out)))


# ---------------------------------------------------------------- pooling and reductions

@register(*WINDOW_POOLS)
def pooling(func: Any, args: tuple, kwargs: dict, out: Any) -> OpCost:
    y = _first_tensor(out)
    ndim = len(y.shape) - 2
    is_max = func.overloadpacket in MAX_POOLS
    kernel, stride, padding, dilation = pool_window(args, max(ndim, 1), dilation_index=4 if is_max else None)
    y_shape = _shape(y)
    geometry = PoolGeometry(reduce="max" if is_max else "avg", window=tuple(kernel), stride=tuple(stride),
                            padding=tuple(padding), dilation=tuple(dilation), out_shape=y_shape)
    return OpCost(str(func), OpCategory.POOLING, elementwise_ops=y.numel() * product(kernel),
                  label="max pool" if is_max else "avg pool", per_element=product(kernel), shape=y_shape,
                  geometry=geometry)


def _reduction(func: Any, category: OpCategory, args: tuple) -> OpCost:
    x = args[0]
    return OpCost(str(func), category, elementwise_ops=x.numel(), label=func.overloadpacket.__name__.strip("_"),
                  per_element=1, shape=_shape(x), reduction=True)


@register(*ADAPTIVE_POOLS)
def adaptive_pooling(func: Any, args: tuple, kwargs: dict, out: Any) -> OpCost:
    return _reduction(func, OpCategory.POOLING, args)


@register(aten.mean, aten.sum, aten.amax, aten.var_mean, aten.var, aten.std)
def reduction(func: Any, args: tuple, kwargs: dict, out: Any) -> OpCost:
    """A reduction over the spatial dims only (H and W of N×C×H×W) is global pooling; others are element-wise."""
    x = args[0]
    dims = args[1] if len(args) > 1 else None
    spatial = isinstance(dims, (list, tuple)) and dims and x.dim() >= 3 and all(int(d) % x.dim() >= 2 for d in dims)
    return _reduction(func, OpCategory.POOLING if spatial else OpCategory.ELEMENTWISE, args)


@register(aten.upsample_linear1d, aten.upsample_bilinear2d, aten.upsample_trilinear3d, aten.upsample_bicubic2d)
def interpolation(func: Any, args: tuple, kwargs: dict, out: Any) -> OpCost:
    """A weighted sum of the 2, 4, 8 (linear, bilinear, trilinear) or 16 (bicubic) nearest inputs per output."""
    name = func.overloadpacket.__name__
    taps = {"upsample_linear1d": 2, "upsample_bilinear2d": 4, "upsample_trilinear3d": 8}.get(name, 16)
    return _elementwise(func, OpCategory.ELEMENTWISE, name.removeprefix("upsample_"), taps,
                        _shape(_first_tensor(out)))


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
    return OpCost(str(func), OpCategory.DATA_MOVEMENT)


@register(aten.cat, aten.stack)
def concatenation(func: Any, args: tuple, kwargs: dict, out: Any) -> OpCost:
    """Zero arithmetic, but worth a line: an Inception module's depth is made here."""
    geometry = ConcatGeometry(parts=tuple(_shape(t) for t in args[0]), out_shape=_shape(_first_tensor(out)))
    return OpCost(str(func), OpCategory.DATA_MOVEMENT, label=func.overloadpacket.__name__, geometry=geometry)


def uncounted(func: Any) -> OpCost:
    """An op without a formula: named and marked, never silently zero."""
    return OpCost(str(func), OpCategory.UNCOUNTED, label=func.overloadpacket.__name__)


# ---------------------------------------------------------------- catalogue ops (timm, torchvision, transformers)
# The ops real catalogues run beyond the classic CNN set. Gathers, masks, padding copies and in-place views move
# data; norms, scans, reductions and antialiased resampling do arithmetic, counted per element as above.


@register(*_existing("embedding", "_embedding_bag"))
def embedding(func: Any, args: tuple, kwargs: dict, out: Any) -> OpCost:
    """A table lookup: one row gathered per index. No MACs, no arithmetic: data movement."""
    return OpCost(str(func), OpCategory.DATA_MOVEMENT, label="embedding gather", shape=_shape(_first_tensor(out)))


_MOVES = _existing(
    "tril", "triu", "tril_", "triu_", "as_strided_", "reflection_pad1d", "reflection_pad2d", "reflection_pad3d",
    "replication_pad1d", "replication_pad2d", "replication_pad3d", "_upsample_nearest_exact1d",
    "_upsample_nearest_exact2d", "_upsample_nearest_exact3d", "eye", "linspace", "logspace", "nonzero",
    "index_put", "index_put_", "_unique2", "unique_dim", "masked_select", "masked_scatter", "masked_scatter_",
    "scatter", "scatter_", "index_copy", "index_copy_", "select_scatter", "slice_scatter", "diagonal",
    "diag_embed", "tile", "repeat_interleave", "movedim", "swapaxes", "unflatten", "view_as", "expand_as",
    "randperm", "rand", "randn", "randint", "rand_like", "randn_like", "normal", "uniform_", "normal_",
    "bucketize", "searchsorted", "lift_fresh_copy", "empty_permuted", "take_along_dim",
)


@register(*_MOVES)
def moves_data(func: Any, args: tuple, kwargs: dict, out: Any) -> OpCost:
    """Padding by reflection or replication, triangle masks, in-place restrides, index building: copies, no
    arithmetic."""
    return OpCost(str(func), OpCategory.DATA_MOVEMENT, label=func.overloadpacket.__name__.strip("_"))


_MORE_ARITHMETIC = _existing(
    "bitwise_not", "bitwise_and", "bitwise_or", "bitwise_xor", "logical_not", "logical_and", "logical_or",
    "logical_xor", "log2", "log10", "log1p", "expm1", "exp2", "round", "floor", "ceil", "trunc", "frac", "sign",
    "sgn", "tan", "atan", "atan2", "asin", "acos", "sinh", "cosh", "fmod", "remainder", "floor_divide", "square",
    "isnan", "isinf", "erfinv", "nan_to_num", "copysign", "hypot", "log_sigmoid_forward", "glu", "logit", "xlogy",
    "heaviside", "sigmoid_backward", "relu6", "celu", "selu", "rrelu", "softshrink", "hardshrink", "silu_backward",
    "sqrt_", "rsqrt_", "neg_", "abs_", "log_", "reciprocal_", "sign_", "floor_", "round_", "erf_", "sin_", "cos_",
    "lerp_", "addcmul_", "addcdiv_", "logical_not_", "tanh_backward",
)


@register(*_MORE_ARITHMETIC)
def more_arithmetic(func: Any, args: tuple, kwargs: dict, out: Any) -> OpCost:
    """One operation per output element, like add or mul."""
    name = func.overloadpacket.__name__.rstrip("_")
    return _elementwise(func, OpCategory.ELEMENTWISE, name, 1, _shape(_first_tensor(out)))


@register(*_existing("cumsum", "cumprod", "cumsum_", "logcumsumexp", "cummax", "cummin"))
def scan(func: Any, args: tuple, kwargs: dict, out: Any) -> OpCost:
    """A running sum (product, max): one op per element."""
    return _elementwise(func, OpCategory.ELEMENTWISE, func.overloadpacket.__name__.strip("_"), 1, _shape(args[0]))


@register(*_existing("linalg_vector_norm", "norm", "frobenius_norm"))
def vector_norm(func: Any, args: tuple, kwargs: dict, out: Any) -> OpCost:
    """‖x‖: a power (square) and an add per input element; the root per output is left out like a mean's divide."""
    x = args[0]
    return OpCost(str(func), OpCategory.NORM, elementwise_ops=2 * x.numel(), label="vector norm (2 ops per input)",
                  per_element=2, shape=_shape(x), reduction=True)


@register(*_existing("max", "min"))
def max_or_min(func: Any, args: tuple, kwargs: dict, out: Any) -> OpCost:
    """`max(x, y)` compares element by element; `max(x)` and `max(x, dim)` compare every input element once."""
    if len(args) > 1 and isinstance(args[1], torch.Tensor):
        return _elementwise(func, OpCategory.ELEMENTWISE, func.overloadpacket.__name__, 1, _shape(_first_tensor(out)))
    return _reduction(func, OpCategory.ELEMENTWISE, args)


@register(*_existing("amin", "argmax", "argmin", "aminmax", "prod", "any", "all", "logsumexp", "topk", "kthvalue",
                     "median", "nansum", "std_mean", "count_nonzero", "sort", "argsort", "mode"))
def more_reductions(func: Any, args: tuple, kwargs: dict, out: Any) -> OpCost:
    """Reductions and selections (top-k, sort counted as one comparison per input element, a lower bound)."""
    return _reduction(func, OpCategory.ELEMENTWISE, args)


@register(*_existing("histc", "bincount"))
def histogram(func: Any, args: tuple, kwargs: dict, out: Any) -> OpCost:
    """Counting values into bins (a mixture of experts' tokens per expert): one bin index and one add per input
    element, counted as one op per element like a reduction."""
    return _reduction(func, OpCategory.ELEMENTWISE, args)


@register(*_existing("scatter_add", "scatter_add_", "index_add", "index_add_", "scatter_reduce", "scatter_reduce_",
                     "index_reduce"))
def scatter_add(func: Any, args: tuple, kwargs: dict, out: Any) -> OpCost:
    """One add per source element scattered into the result."""
    source = args[-1] if isinstance(args[-1], torch.Tensor) else next(
        (a for a in reversed(args) if isinstance(a, torch.Tensor)), args[0])
    return _elementwise(func, OpCategory.ELEMENTWISE, func.overloadpacket.__name__.strip("_"), 1, _shape(source))


_ANTIALIAS_SUPPORT = {"_upsample_bilinear2d_aa": 1.0, "_upsample_bicubic2d_aa": 2.0}


@register(*_existing("_upsample_bilinear2d_aa", "_upsample_bicubic2d_aa"))
def antialiased_interpolation(func: Any, args: tuple, kwargs: dict, out: Any) -> OpCost:
    """Resampling with an antialias filter: when shrinking by a factor s, the filter widens by s, so each output
    is a weighted sum of ⌈2·support·max(s, 1)⌉ inputs per spatial dim (bilinear support 1, bicubic 2), the
    product over H and W: 4 and 16 taps when not shrinking, as without antialias."""
    x, y = args[0], _first_tensor(out)
    support = _ANTIALIAS_SUPPORT[func.overloadpacket.__name__]
    taps = 1
    for size_in, size_out in zip(x.shape[2:], y.shape[2:]):
        scale = max(int(size_in) / int(size_out), 1.0)
        taps *= math.ceil(2 * support * scale)
    name = func.overloadpacket.__name__.strip("_").removeprefix("upsample_").removesuffix("_aa")
    return _elementwise(func, OpCategory.ELEMENTWISE, f"{name} antialiased ({taps} taps)", taps, _shape(y))


@register(*_existing("grid_sampler_2d", "grid_sampler_3d"))
def grid_sample(func: Any, args: tuple, kwargs: dict, out: Any) -> OpCost:
    """Bilinear sampling at arbitrary points: a weighted sum of 4 (2-D) or 8 (3-D) inputs per output element."""
    taps = 4 if func.overloadpacket is aten.grid_sampler_2d else 8
    return _elementwise(func, OpCategory.ELEMENTWISE, "grid sample", taps, _shape(_first_tensor(out)))


# ---------------------------------------------------------------- fused kernels of a real device
# On meta a module runs its ops one by one; on the CPU (or a GPU) the same module may run one fused kernel instead.
# Each gets the products and the element-wise work of the ops it replaces, so that meta and the device agree.


def _sdpa_elementwise(heads: int, q_len: int, kv_len: int, head_dim: int, causal: bool, mask: Any) -> int:
    """Besides its products, torch's math attention (what meta runs, what a fused kernel replaces) scales q and k by
    √scale each, takes a softmax (3 per score), and adds a mask to every score: the causal one built as a
    q_len × kv_len 0/−inf triangle, a boolean one turned into 0/−inf first."""
    scores = heads * q_len * kv_len
    ops = heads * (q_len + kv_len) * head_dim + 3 * scores
    if causal:
        ops += q_len * kv_len + scores
    elif isinstance(mask, torch.Tensor):
        ops += scores + (mask.numel() if mask.dtype is torch.bool else 0)
    return ops


def _product(rows: int, inner: int, cols: int, batch: int = 1) -> MatmulGeometry:
    return MatmulGeometry(rows=rows, inner=inner, cols=cols, batch=batch, batched=batch != 1)


def _fused(func: Any, kernel: str, parts: tuple[tuple[str, MatmulGeometry], ...], elementwise: int,
           category: OpCategory = OpCategory.ATTENTION) -> OpCost:
    macs = sum(g.batch * g.rows * g.inner * g.cols for _, g in parts)
    return OpCost(str(func), category, macs=macs, elementwise_ops=elementwise, label=kernel,
                  geometry=FusedGeometry(kernel, parts))


def _self_attention_parts(batch: int, heads: int, q_len: int, kv_len: int, embed: int
                          ) -> tuple[tuple[str, MatmulGeometry], ...]:
    head_dim = embed // heads
    return (("in projection", _product(batch * (q_len + 2 * kv_len), embed, embed)),
            ("QKᵀ", _product(q_len, head_dim, kv_len, batch * heads)),
            ("AV", _product(q_len, kv_len, head_dim, batch * heads)),
            ("out projection", _product(batch * q_len, embed, embed)))


def _batch_and_length(t: torch.Tensor) -> tuple[int, int]:
    return (int(t.shape[0]), int(t.shape[1])) if t.dim() == 3 else (1, int(t.shape[0]))


@register(*_existing("_native_multi_head_attention"))
def native_multi_head_attention(func: Any, args: tuple, kwargs: dict, out: Any) -> OpCost:
    """The CPU's fused nn.MultiheadAttention (no_grad on a real device), as `F.multi_head_attention_forward` runs
    it on meta: the q/k/v projections ((L + 2S)·E·E per batch element) with their bias, QKᵀ and AV (L·S·E each),
    the output projection (L·E·E) and its bias. Without weights returned, q and k are scaled as scaled-dot-product
    attention scales them; with weights, q alone is scaled and the weights are averaged over the heads."""
    query, key = args[0], args[1]
    embed, heads = int(args[3]), int(args[4])
    qkv_bias, proj_bias = args[6], args[8]
    mask = argument(func, args, kwargs, "mask", None)
    need_weights = bool(argument(func, args, kwargs, "need_weights", True))
    average = bool(argument(func, args, kwargs, "average_attn_weights", True))
    batch, q_len = _batch_and_length(query)
    kv_len = int(key.shape[-2])
    scores = batch * heads * q_len * kv_len
    ops = 3 * scores + (scores if isinstance(mask, torch.Tensor) else 0)
    ops += batch * (q_len + 2 * kv_len) * embed if isinstance(qkv_bias, torch.Tensor) else 0
    ops += batch * q_len * embed if isinstance(proj_bias, torch.Tensor) else 0
    ops += batch * q_len * embed if need_weights else batch * (q_len + kv_len) * embed  # the scaling
    ops += scores if need_weights and average else 0
    return _fused(func, "fused multi-head attention", _self_attention_parts(batch, heads, q_len, kv_len, embed), ops)


@register(*_existing("_transformer_encoder_layer_fwd"))
def transformer_encoder_layer(func: Any, args: tuple, kwargs: dict, out: Any) -> OpCost:
    """The CPU's fused nn.TransformerEncoderLayer (eval, no_grad): self-attention as above (no weights returned),
    two residual adds, two layer norms (5 per element), the feed-forward's two products, biases and activation."""
    src = args[0]
    embed, heads = int(args[1]), int(args[2])
    ffn = int(args[14].shape[0])
    mask = argument(func, args, kwargs, "mask", None)
    batch, length = _batch_and_length(src)
    tokens = batch * length
    scores = batch * heads * length * length
    attention = (3 * scores + (scores if isinstance(mask, torch.Tensor) else 0) + tokens * 3 * embed
                 + tokens * embed + 2 * tokens * embed)  # softmax, mask, q/k/v bias, out bias, q and k scaled
    feed_forward = 2 * tokens * ffn + tokens * embed  # first bias and activation, second bias
    ops = attention + feed_forward + 2 * tokens * embed + 2 * 5 * tokens * embed  # residuals, norms
    parts = (*_self_attention_parts(batch, heads, length, length, embed),
             ("feed-forward in", _product(tokens, embed, ffn)), ("feed-forward out", _product(tokens, ffn, embed)))
    return _fused(func, "fused transformer encoder layer", parts, ops)


_LSTM = 2  # the `mode` of oneDNN's RNN layer (0 RNN-ReLU, 1 RNN-tanh, 2 LSTM, 3 GRU)


@register(*_existing("mkldnn_rnn_layer"))
def mkldnn_rnn_layer(func: Any, args: tuple, kwargs: dict, out: Any) -> OpCost:
    """oneDNN's LSTM layer (nn.LSTM on the CPU), one call per layer and direction, as the LSTM cell runs on meta per
    step: x·W_ihᵀ + h·W_hhᵀ (4H·(I + H) MACs per step and sequence), their biases (2·4H), the gates' sum (4H), three
    sigmoids, two tanh, three products and the cell's add (9H)."""
    x, w_ih, w_hh = args[0], args[1], args[2]
    mode, hidden, has_biases = int(args[9]), int(args[10]), bool(args[12])
    if mode != _LSTM:
        return uncounted(func)
    rows = x.numel() // int(x.shape[-1])  # sequence × batch
    gates = int(w_ih.shape[0])
    parts = (("input", _product(rows, int(w_ih.shape[1]), gates)), ("hidden", _product(rows, int(w_hh.shape[1]),
                                                                                         gates)))
    ops = rows * ((2 * gates if has_biases else 0) + gates + 9 * hidden)
    return _fused(func, "LSTM layer (oneDNN)", parts, ops, category=OpCategory.LINEAR)


def roi_align(func: Any, args: tuple, kwargs: dict, out: Any) -> OpCost:
    """Each output bin averages sampling_ratio² bilinear samples of 4 inputs each (sampling_ratio ≤ 0: adaptive,
    counted as 2, torchvision's detection default)."""
    ratio = int(args[5]) if len(args) > 5 and int(args[5]) > 0 else 2
    per = 4 * ratio * ratio
    return _elementwise(func, OpCategory.POOLING, f"RoI align ({ratio}×{ratio} samples · 4 taps)", per,
                        _shape(_first_tensor(out)))


def nms(func: Any, args: tuple, kwargs: dict, out: Any) -> OpCost:
    """Non-maximum suppression of N boxes: at most one IoU test per pair, N·N (an upper bound)."""
    boxes = int(args[0].shape[0])
    return OpCost(str(func), OpCategory.ELEMENTWISE, elementwise_ops=boxes * boxes, label="NMS IoU tests (N·N)",
                  per_element=boxes, shape=(boxes,))


def register_torchvision_ops() -> None:
    """torchvision's ops (`torch.ops.torchvision.*`) exist once torchvision is imported: register their formulas
    then (idempotent; the catalogue calls it when it builds a torchvision model)."""
    try:
        vision = torch.ops.torchvision
        packets = {vision.roi_align: roi_align, vision.nms: nms}
    except (AttributeError, RuntimeError):
        return
    for packet, formula in packets.items():
        FORMULAS.setdefault(packet, formula)


register_torchvision_ops()


@register(*_existing("_assert_async", "_assert_scalar", "_functional_assert_async"))
def assertion(func: Any, args: tuple, kwargs: dict, out: Any) -> OpCost:
    """A model's own runtime check (`torch._assert_async`): no arithmetic on the data."""
    return OpCost(str(func), OpCategory.DATA_MOVEMENT, label="assert")
