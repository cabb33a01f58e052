"""Kernel work: what each leaf layer asks of a device, read from its typed ops.

A time model needs, per GPU kernel (or CPU op call), the arithmetic it does on tensor cores or matrix units, the
element-wise arithmetic it does on vector units, the bytes it reads and writes, and how well its shape fills the
hardware's tiles. Everything comes from the records' `OpCost` geometry, never from text:

- convolution (dense, grouped, depthwise: `groups` against channels), linear / matmul / batched matmul (`rows`,
  `inner`, `cols`) and fused attention (`heads`, `q_len`, `kv_len`, `head_dim`): FLOPs = 2 x MACs; bytes = input +
  output + weights, each read or written once. A convolution's bias is one more element-wise kernel (eager PyTorch
  adds it after cuDNN's convolution).
- norms, activations, arithmetic, pooling, reductions: their element-wise ops; bytes = one read per input operand
  (two for a binary op on tensors) and one write of the output; a reduction reads its input. Group norm and
  train-mode batch norm are two kernels (statistics, then normalise), reading their input twice.
- under mixed-precision autocast (`autocast=True`, what timm's AMP benchmarks run), layer norm, group norm and
  softmax write fp32 and the next op casts back: wider writes and one more kernel each.
- copies: the layer's newly allocated bytes that its counted ops do not explain (`contiguous`, padding, `cat`
  copies) are read and written once.
- `scaled_dot_product_attention` runs unfused on the meta device (two scalings, QKᵀ, a safe softmax, AV); on a GPU
  and a CPU PyTorch runs one fused kernel, so that sequence becomes one ATTENTION kernel; `fused_attention=False`
  (PyTorch before 2.0) turns a fused attention back into its math.

Work is split into the part that grows with the batch (FLOPs, element-wise ops, activation bytes) and the part that
does not (weight bytes), so one batch-1 analysis serves every batch exactly (`scaled`).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, replace
from functools import cached_property, lru_cache

import numpy as np

from analyzers.numbers import product
from analyzers.records import (
    Analysis,
    AttentionGeometry,
    ConcatGeometry,
    ConvGeometry,
    LayerRecord,
    MatmulGeometry,
    OpCategory,
    OpCost,
    PoolGeometry,
)

__all__ = ["KernelKind", "KernelWork", "LayerWork", "LayerKernels", "layer_work", "layer_kernels", "model_work",
           "TENSOR_KINDS", "CHANNEL_GRANULE"]


class KernelKind(enum.IntEnum):
    """What hardware a kernel's arithmetic runs on and how well: one efficiency per kind is fitted."""

    DENSE_CONV = 0
    GROUPED_CONV = 1  # groups > 1, several channels per group (ResNeXt)
    DEPTHWISE_CONV = 2  # one input channel per group: vector units, not tensor cores
    GEMM = 3  # linear layers and 2-D matrix products
    BATCHED_MATMUL = 4  # bmm of two activations (unfused attention, token mixing)
    ATTENTION = 5  # fused scaled-dot-product attention
    ELEMENTWISE = 6  # norms, activations, arithmetic, pooling, reductions
    COPY = 7  # data movement that writes memory

    @property
    def label(self) -> str:
        return self.name.lower().replace("_", " ")


TENSOR_KINDS = frozenset({KernelKind.DENSE_CONV, KernelKind.GROUPED_CONV, KernelKind.GEMM,
                          KernelKind.BATCHED_MATMUL, KernelKind.ATTENTION})
KERNEL_MEMO_LIMIT = 4096  # distinct layers remembered (a few hundred bytes each)
CHANNEL_GRANULE = 8  # tensor cores (and AVX2/AVX-512 blocked layouts) work on channels in groups of 8


@dataclass(frozen=True)
class KernelWork:
    """One kernel's work at batch 1: MAC FLOPs, element-wise ops, bytes that grow with the batch and weight bytes
    that do not, and `alignment`, the share of the hardware's channel tiles the shape fills (1 = full)."""

    kind: KernelKind
    flops: int
    vector_ops: int
    activation_bytes: int
    weight_bytes: int
    alignment: float = 1.0

    def scaled(self, batch: int, bytes_scale: float = 1.0) -> "KernelWork":
        """The same kernel at `batch` (work per sample times the batch; weights read once) and in a storage dtype
        `bytes_scale` times as wide."""
        return replace(self, flops=self.flops * batch, vector_ops=self.vector_ops * batch,
                       activation_bytes=round(self.activation_bytes * batch * bytes_scale),
                       weight_bytes=round(self.weight_bytes * bytes_scale))


@dataclass(frozen=True)
class LayerWork:
    """The kernels one leaf layer launches, in order."""

    name: str
    type: str
    category: OpCategory | None
    macs: int
    kernels: tuple[KernelWork, ...]


def model_work(analysis: Analysis, *, fused_attention: bool = True, autocast: bool = False
               ) -> tuple[LayerWork, ...]:
    """Every leaf layer's kernels, in execution order, at the analysis's batch and dtype."""
    element = analysis.dtype.itemsize
    return tuple(layer_work(record, element, fused_attention=fused_attention, autocast=autocast)
                 for record in analysis.leaves())


@dataclass(frozen=True, eq=False)
class LayerKernels:
    """The kernels one leaf layer launches, in order; `table` holds the same numbers one column per kernel, so that
    a model's layers become arrays by one concatenation (`KernelArrays.from_tables`). Compared by identity: the memo
    (`layer_kernels`) hands out one per distinct layer, so a model's layers make a cheap key (`model_arrays`)."""

    kernels: tuple[KernelWork, ...]

    @cached_property
    def table(self) -> np.ndarray:
        """Rows: kind, FLOPs, element-wise ops, activation bytes, weight bytes, alignment (float64, read-only)."""
        table = np.array([(k.kind, k.flops, k.vector_ops, k.activation_bytes, k.weight_bytes, k.alignment)
                          for k in self.kernels], np.float64).reshape(-1, TABLE_ROWS).T
        table.flags.writeable = False
        return table


TABLE_ROWS = 6


def layer_work(record: LayerRecord, element_bytes: int, *, fused_attention: bool = True, autocast: bool = False
               ) -> LayerWork:
    """The kernels of one leaf record (`element_bytes`: the analysis dtype's width)."""
    kernels = layer_kernels(record.ops, record.activation_bytes, bool(record.param_tensors), element_bytes,
                            fused_attention, autocast)
    return LayerWork(record.name, record.type, record.category, record.macs, kernels.kernels)


@lru_cache(maxsize=KERNEL_MEMO_LIMIT)
def layer_kernels(ops: tuple[OpCost, ...], activation_bytes: int, own_parameters: bool, element_bytes: int,
                  fused_attention: bool, autocast: bool) -> LayerKernels:
    """The kernels a leaf layer with these ops launches: a function of the (frozen) ops, the bytes the layer
    allocates and whether it owns parameters, so it is remembered. A network repeats the same layer on the same
    shapes many times, and every prediction of a model repeats its previous one (the analysis shares its ops)."""
    ops_run = _fuse_attention_math(ops) if fused_attention else ops
    kernels: list[KernelWork] = []
    for op in ops_run:
        made = _op_kernels(op, element_bytes, fused_attention, own_parameters)  # own weights: multiplies by them
        kernels.extend(_autocast(op, made, element_bytes) if autocast else made)
    explained = sum(_written_bytes(op, element_bytes) for op in ops)  # as the analysis ran them, unfused
    copied = activation_bytes - explained
    fused = [] if ops_run is ops else [op.geometry for op in ops_run if op.op == _FUSED and op not in ops]
    if fused:  # the math path's operand copies vanish with it; the output's reshape copy stays
        copied = min(copied, sum(g.heads * g.q_len * g.v_dim for g in fused) * element_bytes)
    if copied > 0:  # allocations no counted op explains: contiguous copies, padding, reshapes of strided views
        kernels.append(KernelWork(KernelKind.COPY, 0, 0, 2 * copied, 0))
    return LayerKernels(tuple(kernels))


# ---------------------------------------------------------------- one op


def _aligned(*channels: int) -> float:
    """The share of CHANNEL_GRANULE-wide tiles that `channels` fill, multiplied over the dims given."""
    share = 1.0
    for c in channels:
        if c > 0:
            share *= c / (-(-c // CHANNEL_GRANULE) * CHANNEL_GRANULE)
    return share


def _in_place(op: OpCost) -> bool:
    """`aten.relu_.default`, `aten.add_.Tensor`: the result overwrites an operand, no new memory."""
    return op.op.split(".")[1].endswith("_") if op.op.count(".") >= 2 else False


_BINARY = ("Tensor", "self", "ScalarOther", "Scalar_Tensor")  # overloads whose two operands are both tensors
_TWO_OPERAND_OPS = frozenset({"where", "lerp", "addcmul", "addcdiv", "maximum", "minimum", "masked_fill"})


def _reads(op: OpCost, scaled: bool) -> int:
    """How many full-size operands an element-wise op reads: two for tensor-tensor arithmetic, else one. In a layer
    that owns parameters, a multiply or divide is by them (timm's LayerScale `x * gamma`, NFNet's gains), whose
    broadcast operand is tiny."""
    parts = op.op.split(".")
    if len(parts) < 3:
        return 1
    name, overload = parts[1].rstrip("_"), parts[2]
    if name in _TWO_OPERAND_OPS:
        return 2
    if scaled and name in {"mul", "div"}:
        return 1
    return 2 if overload in _BINARY and name in {"add", "sub", "mul", "div", "rsub", "eq", "ne", "lt", "le", "gt",
                                                "ge", "pow", "atan2", "bitwise_and", "bitwise_or"} else 1


def _written_bytes(op: OpCost, element: int) -> int:
    """The new memory an op's result takes, as the analysis ran it (in-place results and reductions: none or
    little); what the layer's allocations hold beyond these is copying."""
    g = op.geometry
    if isinstance(g, ConvGeometry):
        return product(g.out_shape) * element
    if isinstance(g, MatmulGeometry):
        return g.batch * g.rows * g.cols * element
    if isinstance(g, AttentionGeometry):
        return g.heads * g.q_len * g.v_dim * element
    if isinstance(g, (ConcatGeometry, PoolGeometry)):
        return product(g.out_shape) * element
    if op.category in (OpCategory.DATA_MOVEMENT, OpCategory.UNCOUNTED) or not op.shape or op.reduction:
        return 0
    return 0 if _in_place(op) else product(op.shape) * element


def _op_kernels(op: OpCost, element: int, fused_attention: bool, scaled: bool = False) -> list[KernelWork]:
    """The kernels one op launches."""
    g = op.geometry
    if isinstance(g, ConvGeometry):
        return _conv(op, g, element)
    if isinstance(g, MatmulGeometry):
        return [_matmul(op, g, element)]
    if isinstance(g, AttentionGeometry):
        return [_attention(op, g, element)] if fused_attention else _attention_math(g, element)
    if isinstance(g, ConcatGeometry):
        return [KernelWork(KernelKind.COPY, 0, 0, 2 * product(g.out_shape) * element, 0)]
    if isinstance(g, PoolGeometry):
        out = product(g.out_shape)
        read = out * product(g.stride)  # each input element is read about once when windows tile the input
        return [KernelWork(KernelKind.ELEMENTWISE, 0, op.elementwise_ops, (read + out) * element, 0)]
    if op.category in (OpCategory.DATA_MOVEMENT, OpCategory.UNCOUNTED) or not op.shape:
        return []  # data movement without a shape: its bytes reach the layer's COPY kernel
    elements = product(op.shape)
    if _two_pass_norm(op):  # statistics first (one read), then normalise (a read and a write)
        stats = KernelWork(KernelKind.ELEMENTWISE, 0, 2 * elements, elements * element, 0)
        apply = KernelWork(KernelKind.ELEMENTWISE, 0, max(op.elementwise_ops - 2 * elements, 0),
                           2 * elements * element, 0)
        return [stats, apply]
    moved = elements * element if op.reduction else (_reads(op, scaled) + 1) * elements * element
    return [KernelWork(KernelKind.ELEMENTWISE, 0, op.elementwise_ops, moved, 0)]


_FP32_UNDER_AUTOCAST = frozenset({"layer norm", "group norm", "softmax"})


def _autocast(op: OpCost, kernels: list[KernelWork], element: int) -> list[KernelWork]:
    """Under mixed-precision autocast, layer norm, group norm and softmax compute and write in fp32: their output
    is twice as wide (1 read + 2 writes, in half-precision units, instead of 1 + 1), and the next half-precision op
    casts it back in a kernel of its own (2 reads + 1 write)."""
    if op.label not in _FP32_UNDER_AUTOCAST or not kernels or not op.shape:
        return kernels
    written = product(op.shape) * element
    last = kernels[-1]
    widened = KernelWork(last.kind, last.flops, last.vector_ops, last.activation_bytes + written, last.weight_bytes,
                         last.alignment)
    cast = KernelWork(KernelKind.COPY, 0, 0, 3 * written, 0)
    return [*kernels[:-1], widened, cast]


def _two_pass_norm(op: OpCost) -> bool:
    """Group norm, and batch norm in train mode, compute their statistics over the whole group or batch before
    they can normalise: two kernels, the input read twice (layer norm's rows fit on chip: one pass)."""
    return op.category is OpCategory.NORM and (op.label == "group norm" or (op.label == "batch norm"
                                                                           and op.per_element == 4))


def _conv(op: OpCost, g: ConvGeometry, element: int) -> list[KernelWork]:
    in_elements, out_elements = product(g.in_shape), product(g.out_shape)
    weights = g.out_channels * g.in_per_group * product(g.kernel) * element
    if g.groups == 1:
        kind, alignment = KernelKind.DENSE_CONV, _aligned(g.in_channels, g.out_channels)
    elif g.in_per_group == 1:
        kind, alignment = KernelKind.DEPTHWISE_CONV, 1.0
    else:
        kind, alignment = KernelKind.GROUPED_CONV, _aligned(g.in_per_group, g.out_per_group)
    kernels = [KernelWork(kind, 2 * op.macs, 0, (in_elements + out_elements) * element, weights, alignment)]
    if op.bias_adds:
        kernels.append(KernelWork(KernelKind.ELEMENTWISE, 0, op.bias_adds, 2 * out_elements * element, 0))
    return kernels


def _matmul(op: OpCost, g: MatmulGeometry, element: int) -> KernelWork:
    left = g.batch * g.rows * g.inner
    right = g.inner * g.cols * (g.batch if g.batched else 1)
    out = g.batch * g.rows * g.cols
    if op.category is OpCategory.LINEAR:
        return KernelWork(KernelKind.GEMM, 2 * op.macs, 0, (left + out) * element, right * element,
                          _aligned(g.inner, g.cols))
    kind = KernelKind.BATCHED_MATMUL if g.batched else KernelKind.GEMM
    return KernelWork(kind, 2 * op.macs, 0, (left + right + out) * element, 0, _aligned(g.inner, g.cols))


def _attention(op: OpCost, g: AttentionGeometry, element: int) -> KernelWork:
    moved = g.heads * (g.q_len * g.head_dim + g.kv_len * (g.head_dim + g.v_dim) + g.q_len * g.v_dim) * element
    return KernelWork(KernelKind.ATTENTION, 2 * op.macs, op.elementwise_ops, moved, 0, _aligned(g.head_dim))


def _attention_math(g: AttentionGeometry, element: int) -> list[KernelWork]:
    """Unfused attention: QKᵀ, a softmax over the score matrix (3 ops per score), AV; the scores are written and
    read back through memory."""
    scores = g.heads * g.q_len * g.kv_len
    qk = KernelWork(KernelKind.BATCHED_MATMUL, 2 * scores * g.head_dim, 0,
                    (g.heads * (g.q_len + g.kv_len) * g.head_dim + scores) * element, 0, _aligned(g.head_dim))
    softmax = KernelWork(KernelKind.ELEMENTWISE, 0, 3 * scores, 2 * scores * element, 0)
    av = KernelWork(KernelKind.BATCHED_MATMUL, 2 * scores * g.v_dim, 0,
                    (scores + g.heads * (g.kv_len + g.q_len) * g.v_dim) * element, 0, _aligned(g.kv_len, g.v_dim))
    return [qk, softmax, av]


_SAFE_SOFTMAX = "aten._safe_softmax.default"
_BMM = "aten.bmm.default"
_MASK = ("aten.add.Tensor", "aten.add_.Tensor", "aten.masked_fill.Scalar", "aten.masked_fill_.Scalar")
_SCALE = "aten.mul.Scalar"
_FUSED = "aten._scaled_dot_product_attention (fused)"


def _fuse_attention_math(ops: tuple[OpCost, ...]) -> tuple[OpCost, ...]:
    """Replace each scaled-dot-product-attention math path (up to two scalar scalings, bmm, an optional mask or
    bias added to the scores, `_safe_softmax`, bmm: what SDPA runs on the meta device, and only SDPA calls
    `_safe_softmax`) by the one fused op a GPU or CPU runs (flash attention, or memory-efficient attention with a
    mask)."""
    if not any(op.op == _SAFE_SOFTMAX for op in ops):
        return ops
    fused: list[OpCost] = []
    i = 0
    while i < len(ops):
        op = ops[i]
        if op.op == _SAFE_SOFTMAX and fused and fused[-1].op in _MASK and len(fused) >= 2 and fused[-2].op == _BMM:
            fused.pop()  # the mask is read by the fused kernel; its traffic is small beside Q, K and V
        if (op.op == _SAFE_SOFTMAX and fused and fused[-1].op == _BMM and i + 1 < len(ops) and ops[i + 1].op == _BMM
                and isinstance(fused[-1].geometry, MatmulGeometry) and isinstance(ops[i + 1].geometry, MatmulGeometry)):
            qk, av = fused.pop().geometry, ops[i + 1].geometry
            for _ in range(2):
                if fused and fused[-1].op == _SCALE:
                    fused.pop()
            geometry = AttentionGeometry(heads=qk.batch, q_len=qk.rows, kv_len=qk.cols, head_dim=qk.inner,
                                         v_dim=av.cols)
            macs = qk.batch * qk.rows * qk.cols * (qk.inner + av.cols)
            fused.append(OpCost(_FUSED, OpCategory.ATTENTION, macs=macs, elementwise_ops=op.elementwise_ops,
                                label="fused attention", geometry=geometry))
            i += 2
            continue
        fused.append(op)
        i += 1
    return tuple(fused)
