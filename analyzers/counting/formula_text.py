"""The one place that turns cost records into the words users read.

Formulas write the arithmetic out with the numbers substituted, in the seeds' notation (volumes H×W×C):
`out 28×28×32 · kernel 5×5×192 = 120,422,400 MACs`, `(5·5·192+1)·32 = 153,632`. Everything here reads the typed
records (`OpCost`, `LayerRecord`); nothing else in the project writes formula text, and nothing parses it back.
"""

from __future__ import annotations

from collections import Counter

from analyzers.numbers import dims, n, product, volume
from analyzers.records import (
    AttentionGeometry,
    ConcatGeometry,
    ConvGeometry,
    FusedGeometry,
    GroupedMatmulGeometry,
    LayerRecord,
    MatmulGeometry,
    OpCategory,
    OpCost,
    PoolGeometry,
    ReceptiveField,
    RecordKind,
)

__all__ = ["jump_text", "layer_formula", "op_formula", "params_formula", "receptive_field_text", "start_text"]


def _batch_prefix(batch: int) -> str:
    return f"batch {batch} · " if batch != 1 else ""


def _bias(op: OpCost) -> str:
    return f"; bias {n(op.bias_adds)} adds" if op.bias_adds else ""


def _conv(op: OpCost, g: ConvGeometry) -> str:
    if g.transposed:
        text = f"{_batch_prefix(g.batch)}in {volume(g.in_shape)} · kernel {dims([*g.kernel, g.out_per_group])}"
        label = "MACs (transposed conv)"
    else:
        text = f"{_batch_prefix(g.batch)}out {volume(g.out_shape)} · kernel {dims([*g.kernel, g.in_per_group])}"
        label = "MACs"
    return f"{text} = {n(op.macs)} {label}{_bias(op)}"


def _product(g: MatmulGeometry) -> str:
    if g.batch != 1:
        return f"batch {n(g.batch)} · {n(g.rows)}×{n(g.inner)} @ {n(g.inner)}×{n(g.cols)}"
    return f"rows {n(g.rows)} · in {n(g.inner)} · out {n(g.cols)}"


def _matmul(op: OpCost, g: MatmulGeometry) -> str:
    return f"{_product(g)} = {n(op.macs)} MACs{_bias(op)}"


def _fused(op: OpCost, g: FusedGeometry) -> str:
    parts = " + ".join(f"{label} ({_product(p)})" for label, p in g.products)
    return f"{g.kernel}: {parts} = {n(op.macs)} MACs; {n(op.elementwise_ops)} element-wise ops"


def _grouped(op: OpCost, g: GroupedMatmulGeometry) -> str:
    if not g.jagged:
        return f"{n(g.groups)} groups · {n(g.rows)}×{n(g.inner)} @ {n(g.inner)}×{n(g.cols)} = {n(op.macs)} MACs"
    split = "split by the offsets" if g.split_known else "split by the routing, unknown on meta; any split gives " \
        "this total"
    sizes = {"rows": f"rows {n(g.rows)} over {n(g.groups)} groups ({split}) · in {n(g.inner)} · out {n(g.cols)}",
             "inner": f"rows {n(g.rows)} · in {n(g.inner)} over {n(g.groups)} groups ({split}) · out {n(g.cols)}",
             "cols": f"rows {n(g.rows)} · in {n(g.inner)} · out {n(g.cols)} over {n(g.groups)} groups ({split})"}
    return f"grouped {sizes[g.jagged]} = {n(op.macs)} MACs"


def _attention(op: OpCost, g: AttentionGeometry) -> str:
    text = (
        f"batch·heads {n(g.heads)} · (QKᵀ {n(g.q_len)}×{n(g.head_dim)}×{n(g.kv_len)} + "
        f"AV {n(g.q_len)}×{n(g.kv_len)}×{n(g.v_dim)}) = {n(op.macs)} MACs"
    )
    if g.causal:
        text += (f" (causal: a causal kernel computes {n(g.scores_computed)} of the {n(g.q_len * g.kv_len)} scores, "
                 f"{n(g.causal_macs)} MACs)")
    return text


def _pool(op: OpCost, g: PoolGeometry) -> str:
    return (f"{op.label} {dims(g.window)} window · {_batch_prefix(g.out_shape[0])}out {volume(g.out_shape)} = "
            f"{n(op.elementwise_ops)} ops")


def _concat(op: OpCost, g: ConcatGeometry) -> str:
    return f"{op.label} {' + '.join(volume(p) for p in g.parts)} → {volume(g.out_shape)}: no arithmetic"


def _elementwise(op: OpCost) -> str:
    batch = op.shape[0] if len(op.shape) >= 2 else 1
    if op.reduction:
        return f"{op.label} over {_batch_prefix(batch)}in {volume(op.shape)} = {n(op.elementwise_ops)} ops"
    per = f"{op.per_element} ops · " if op.per_element != 1 else ""
    return f"{op.label}: {_batch_prefix(batch)}{per}{volume(op.shape)} = {n(op.elementwise_ops)} ops"


def op_formula(op: OpCost) -> str:
    """One op's arithmetic with its numbers; "" for pure data movement (views, copies)."""
    g = op.geometry
    if isinstance(g, ConvGeometry):
        return _conv(op, g)
    if isinstance(g, MatmulGeometry):
        return _matmul(op, g)
    if isinstance(g, AttentionGeometry):
        return _attention(op, g)
    if isinstance(g, GroupedMatmulGeometry):
        return _grouped(op, g)
    if isinstance(g, FusedGeometry):
        return _fused(op, g)
    if isinstance(g, PoolGeometry):
        return _pool(op, g)
    if isinstance(g, ConcatGeometry):
        return _concat(op, g)
    if op.category is OpCategory.UNCOUNTED:
        return f"{op.label}: no formula, not counted"
    if op.category is OpCategory.CUSTOM:
        return op.text or f"{op.label}: custom formula = {n(op.macs)} MACs, {n(op.elementwise_ops)} ops"
    if op.category is OpCategory.DATA_MOVEMENT:
        return ""
    return _elementwise(op)


def layer_formula(record: LayerRecord) -> str:
    """A leaf: its ops' formulas, MACs first, a formula repeated k times (a reused layer) written k × (…).
    A container: the sum of its counted leaves."""
    if record.kind is RecordKind.CONTAINER:
        counted = [m for m in record.leaf_macs if m]
        if 1 < len(counted) <= 4:
            return f"{' + '.join(n(m) for m in counted)} = {n(record.macs)} MACs"
        return f"Σ {len(record.leaf_macs)} layers = {n(record.macs)} MACs"
    counts = Counter(f for f in (op_formula(op) for op in record.ops) if f)
    ordered = sorted(counts, key=lambda f: 0 if "MACs" in f else 1)
    return "; ".join(f if counts[f] == 1 else f"{counts[f]} × ({f})" for f in ordered)


def params_formula(record: LayerRecord) -> str:
    """The parameter arithmetic of a record, read from its own parameter tensors and the geometry of its ops."""
    if record.kind is RecordKind.CONTAINER:
        return f"Σ {len(record.leaf_macs)} layers = {n(record.params)}"
    tensors = record.param_tensors
    total = record.params
    if record.kind is RecordKind.FUNCTIONAL:
        if not tensors:
            return "no parameters"
        return " + ".join(f"{t.name} {'×'.join(map(str, t.shape))}" for t in tensors) + f" = {n(total)}"
    if not tensors or total == 0:
        return "pooling has no parameters" if record.pool is not None else "no parameters"
    names = {t.name: t for t in tensors}
    has_bias = "bias" in names
    weight = names.get("weight")
    conv = record.conv
    if conv is not None and weight is not None and set(names) <= {"weight", "bias"} and len(weight.shape) >= 3:
        kernel = "·".join(str(k) for k in conv.kernel)
        if conv.transposed:
            per_filter, filters = conv.out_per_group, conv.in_channels
        else:
            per_filter, filters = conv.in_per_group, conv.out_channels
        weights = f"{kernel}·{per_filter}"
        if has_bias and not conv.transposed:
            return f"({weights}+1)·{filters} = {n(total)}"
        return f"{weights}·{filters}" + (f" + {conv.out_channels}" if has_bias else "") + f" = {n(total)}"
    only_weights = set(names) <= {"weight", "bias"} and weight is not None
    if record.category is OpCategory.LINEAR and only_weights and len(weight.shape) == 2:
        out_features, in_features = weight.shape
        if has_bias:
            return f"({n(in_features)}+1)·{n(out_features)} = {n(total)}"
        return f"{n(in_features)}·{n(out_features)} = {n(total)}"
    if record.category is OpCategory.NORM and only_weights:
        per = total // 2 if has_bias else total
        return f"{'γ, β' if has_bias else 'γ'}: {'2·' if has_bias else ''}{n(per)} = {n(total)}"
    parts = [f"{t.name} {'×'.join(str(d) for d in t.shape) or '1'}" for t in tensors]
    if len(parts) == 1 and product(tensors[0].shape) == total:
        return f"{parts[0]} = {n(total)}"
    return f"{' + '.join(parts)} = {n(total)}"


# ---------------------------------------------------------------- receptive fields


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else f"{value:g}"


def _per_dim(values: tuple) -> str:
    texts = [_number(v) for v in values]
    return texts[0] if len(set(texts)) == 1 else "×".join(texts)


def receptive_field_text(field: ReceptiveField | None) -> str:
    """`7` (a square 7×7 field), `7×5` per dim, `whole input`, or "" where the output is not a spatial map."""
    if field is None:
        return ""
    if field.covers_input:
        return "whole input"
    return _per_dim(field.size)


def jump_text(field: ReceptiveField | None) -> str:
    if field is None or field.covers_input:
        return ""
    return _per_dim(field.jump)


def start_text(field: ReceptiveField | None) -> str:
    if field is None or field.covers_input:
        return ""
    return _per_dim(field.start)
