"""What each tensor carries from the input through the executed graph: its receptive field and its weight depth.

Every tensor the model computes gets a `Flow` (as an attribute, so it lives and dies with the tensor): which input
pixels one of its spatial positions sees, where its spatial dims are, and how many conv/linear layers lie on the
longest path from the input to it. Each op derives its result's flow from its operands' — the largest field over
the paths that reach it, the longest path — which is exactly how branches (Inception) and shortcuts (ResNet) must
combine, without knowing anything about the model's structure.

Rules (the receptive field arithmetic of the course notes, per spatial dim):
- a window op (conv, pooling) of kernel k, stride s, padding p, dilation d: k' = d·(k − 1) + 1,
  size += (k' − 1)·jump, start += ((k' − 1)/2 − p)·jump, jump ·= s;
- ops that keep the layout (element-wise, norms, padding, slicing, concat) keep the field; permutes move its dims;
  a reshape that merges the spatial dims with others (flatten, tokens) remembers where they went, and one that
  restores them (channels-last linear layers) finds them again;
- a product that sums over spatial positions (a linear layer after a flatten, attention, global pooling, a mean
  over H and W) covers the whole input, and so does everything it feeds;
- a reshape we cannot follow (window partitions) stops tracking: no field is claimed there, nor where such a tensor
  is combined with a tracked one (an add would otherwise claim the tracked operand's smaller field: a Swin block's
  `x + window_attention(x)` read as the patch's 4 pixels);
- a window that also slides over non-spatial dims (local response norm's pool across channels) moves the field
  by its spatial part only;
- selecting one index of a dim that is not spatial (`qkv[0]`, `qkv.unbind(0)`) keeps the field (attention's
  queries and keys come out of one projection this way: losing them made a ViT block's `x + attention(x)` claim
  the patch's 16 pixels).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import AbstractSet, Any, Sequence

import torch

from analyzers.numbers import per_dim, pool_window
from analyzers.ops import ADAPTIVE_POOLS, ATTENTION, MAX_POOLS, PRODUCTS, VIEWS, WINDOW_POOLS
from analyzers.records import ReceptiveField

__all__ = ["ATTRIBUTE", "Flow", "WEIGHT", "WHOLE_INPUT", "WINDOW_FLOW_OPS", "flow_of", "input_flow", "result_flow"]

aten = torch.ops.aten

ATTRIBUTE = "_cost_flow"
WHOLE_INPUT = ReceptiveField(covers_input=True)


@dataclass(frozen=True)
class Flow:
    field: ReceptiveField | None  # None: not tracked (not a spatial map, or a reshape we cannot follow)
    dims: tuple[int, ...] | None  # positions of the spatial dims in this tensor
    merged: int | None  # the dim that holds the spatial positions merged with others (tokens, flattened maps)
    grid: tuple[int, ...]  # the spatial sizes `dims` / `merged` refer to
    depth: int  # conv/linear layers on the longest path from the input


WEIGHT = Flow(None, None, None, (), -1)  # marks parameters and their views (so a matmul with one is a linear layer)


def input_flow(x: torch.Tensor) -> Flow:
    if x.dim() < 3:
        return Flow(None, None, None, (), 0)
    k = x.dim() - 2
    field = ReceptiveField(size=(1,) * k, jump=(1.0,) * k, start=(0.0,) * k)
    return Flow(field, tuple(range(2, x.dim())), None, tuple(int(d) for d in x.shape[2:]), 0)


def flow_of(value: Any) -> Flow | None:
    return getattr(value, ATTRIBUTE, None) if isinstance(value, torch.Tensor) else None


def _extent(field: ReceptiveField | None) -> tuple[int, int]:
    """Covering the input beats not knowing, which beats any finite field: no field is claimed from one part."""
    if field is None:
        return (2, 0)
    return (3, 0) if field.covers_input else (1, math.prod(field.size))


def _widest(flows: Sequence[Flow]) -> Flow:
    return max(flows, key=lambda f: _extent(f.field))


def _covering(depth: int) -> Flow:
    return Flow(WHOLE_INPUT, None, None, (), depth)


def _untracked(depth: int) -> Flow:
    return Flow(None, None, None, (), depth)


# ---------------------------------------------------------------- window ops


def _through_window(src: Flow, out: torch.Tensor, kernel: Sequence[int], stride: Sequence[int],
                    padding: Sequence[int], dilation: Sequence[int], depth: int) -> Flow:
    field = src.field
    if field is None or field.covers_input:
        return Flow(field, None, None, (), depth) if field is not None else _untracked(depth)
    ndim = out.dim() - 2
    if src.dims is None or not set(src.dims) <= set(range(2, 2 + ndim)) or len(field.size) != len(src.dims):
        return _untracked(depth)
    window = [[values[d - 2] for d in src.dims] for values in (kernel, stride, padding, dilation)]
    size, jump, start = [], [], []
    for r, j, s0, k, s, p, d in zip(field.size, field.jump, field.start, *window):
        span = d * (k - 1) + 1
        size.append(r + (span - 1) * j)
        start.append(s0 + ((span - 1) / 2 - p) * j)
        jump.append(j * s)
    new = ReceptiveField(size=tuple(_whole(v) for v in size), jump=tuple(jump), start=tuple(start))
    return Flow(new, src.dims, None, tuple(int(out.shape[d]) for d in src.dims), depth)


def _whole(value: float) -> int:
    return math.ceil(value)


def _conv(args: tuple, out: torch.Tensor, src: Flow, depth: int) -> Flow:
    w = args[1]
    ndim = w.dim() - 2
    stride = per_dim(args[3], ndim, 1)
    dilation = per_dim(args[5], ndim, 1)
    padding = args[4]
    if isinstance(padding, str):
        padding = [d * (k - 1) // 2 for k, d in zip(w.shape[2:], dilation)] if padding == "same" else [0] * ndim
    else:
        padding = per_dim(padding, ndim, 0)
    kernel = [int(k) for k in w.shape[2:]]
    if len(args) > 6 and args[6]:  # transposed: each output sees ⌈k'/s⌉ inputs spaced jump/s apart
        field = src.field
        if field is None or field.covers_input or src.dims != tuple(range(2, 2 + ndim)):
            return Flow(field, None, None, (), depth) if field is not None and field.covers_input else _untracked(
                depth)
        size, jump, start = [], [], []
        for r, j, s0, k, s, p, d in zip(field.size, field.jump, field.start, kernel, stride, padding, dilation):
            span = d * (k - 1) + 1
            size.append(_whole(r + (math.ceil(span / s) - 1) * j))
            start.append(s0 + (p - (span - 1) / 2) / s * j)
            jump.append(j / s)
        new = ReceptiveField(size=tuple(size), jump=tuple(jump), start=tuple(start))
        return Flow(new, src.dims, None, tuple(int(v) for v in out.shape[2:]), depth)
    return _through_window(src, out, kernel, stride, padding, dilation, depth)


def _pool(packet: Any, args: tuple, out: torch.Tensor, src: Flow) -> Flow:
    ndim = out.dim() - 2
    is_max = packet in MAX_POOLS
    window = pool_window(args, ndim, dilation_index=4 if is_max else None)
    return _through_window(src, out, *window, depth=src.depth)


def _adaptive_pool(args: tuple, out: torch.Tensor, src: Flow) -> Flow:
    x = args[0]
    ndim = out.dim() - 2
    ins = [int(v) for v in x.shape[-ndim:]]
    outs = [int(v) for v in out.shape[-ndim:]]
    if all(o == 1 for o in outs):
        return _covering(src.depth) if src.field is not None else _untracked(src.depth)
    # torch's windows run from ⌊i·in/out⌋ to ⌈(i+1)·in/out⌉: the largest one, stepping in/out (exact when in % out == 0)
    kernel = [-(-i // o) + (1 if i % o else 0) for i, o in zip(ins, outs)]
    stride = [i / o for i, o in zip(ins, outs)]
    return _through_window(src, out, kernel, stride, [0] * ndim, [1] * ndim, src.depth)


# ---------------------------------------------------------------- layout: views, permutes, reductions


def _prefix_products(shape: Sequence[int]) -> list[int]:
    products = [1]
    for d in shape:
        products.append(products[-1] * int(d))
    return products


def _reshaped(src: Flow, before: Sequence[int], after: Sequence[int]) -> Flow:
    """Follow the spatial dims through a reshape from `before` to `after` (same number of elements)."""
    if src.field is None or src.field.covers_input:
        return src
    pb, pa = _prefix_products(before), _prefix_products(after)
    if src.dims is not None:
        mapped = []
        for p in src.dims:
            q = next((q for q in range(len(after)) if pa[q] == pb[p] and after[q] == before[p]), None)
            if q is None:
                break
            mapped.append(q)
        else:
            return Flow(src.field, tuple(mapped), None, src.grid, src.depth)
        lo, hi = pb[src.dims[0]], pb[src.dims[-1] + 1]  # the span of the spatial dims in flat order
    elif src.merged is not None:
        lo, hi = pb[src.merged], pb[src.merged + 1]
        k = len(src.grid)
        for q0 in range(len(after) - k + 1):  # the spatial dims come back (a channels-last linear layer)
            if tuple(after[q0:q0 + k]) == src.grid and pa[q0 + k] == hi:
                return Flow(src.field, tuple(range(q0, q0 + k)), None, src.grid, src.depth)
    else:
        return _untracked(src.depth)
    inside = [q for q in range(len(after)) if pa[q] < hi and pa[q + 1] > lo]
    if inside and pa[inside[0]] <= lo and pa[inside[-1] + 1] >= hi:
        if len(inside) == 1:
            return Flow(src.field, None, inside[0], src.grid, src.depth)
        if pa[inside[-1]] <= lo:  # batch split off in front: the positions are in the last dim of the span
            return Flow(src.field, None, inside[-1], src.grid, src.depth)
    return _untracked(src.depth)


def _permuted(src: Flow, order: Sequence[int], ndim: int) -> Flow:
    where = {int(old) % ndim: new for new, old in enumerate(order)}
    if src.dims is not None:
        return Flow(src.field, tuple(where[d] for d in src.dims), None, src.grid, src.depth)
    if src.merged is not None:
        return Flow(src.field, None, where[src.merged], src.grid, src.depth)
    return src


def _transposed(src: Flow, a: int, b: int, ndim: int) -> Flow:
    order = list(range(ndim))
    a, b = a % ndim, b % ndim
    order[a], order[b] = order[b], order[a]
    return _permuted(src, order, ndim)


def _spatial_positions(src: Flow) -> set[int]:
    if src.dims is not None:
        return set(src.dims)
    return {src.merged} if src.merged is not None else set()


def _reduced(src: Flow, dims: Any, ndim: int, keepdim: bool) -> Flow:
    """A reduction over `dims`: over a spatial dim it covers the whole input; otherwise the spatial dims stay
    (shifted left past the removed dims unless `keepdim`)."""
    reduced = set(range(ndim)) if dims is None or dims == [] else {int(d) % ndim for d in (
        dims if isinstance(dims, (list, tuple)) else [dims])}
    if reduced & _spatial_positions(src):
        return _covering(src.depth)
    if keepdim:
        return src

    def shifted(d: int) -> int:
        return d - sum(1 for r in reduced if r < d)

    if src.dims is not None:
        return Flow(src.field, tuple(shifted(d) for d in src.dims), None, src.grid, src.depth)
    if src.merged is not None:
        return Flow(src.field, None, shifted(src.merged), src.grid, src.depth)
    return src


def _matrix_product(a: Flow | None, b: Flow | None, a_ndim: int, b_ndim: int, out: torch.Tensor,
                    depth: int) -> Flow:
    """rows of `a` × cols of `b`, summing over a's last and b's second-to-last dim."""
    covers = False
    for f, summed, kept_cols in ((a, a_ndim - 1, None), (b, b_ndim - 2, b_ndim - 1)):
        if f is None or f.field is None:
            continue
        positions = _spatial_positions(f)
        if f.field.covers_input or summed in positions or (kept_cols is not None and kept_cols in positions):
            covers = True
    if covers:
        return _covering(depth)
    if a is not None and a.field is not None and out.dim() == a_ndim:
        return Flow(a.field, a.dims, a.merged, a.grid, depth)
    return _untracked(depth)


# ---------------------------------------------------------------- the dispatch


_REDUCTIONS = frozenset({aten.mean, aten.sum, aten.amax, aten.amin, aten.var, aten.std, aten.var_mean,
                         aten.max, aten.min, aten.logsumexp, aten.linalg_vector_norm, aten.norm})
WINDOW_FLOW_OPS = WINDOW_POOLS | ADAPTIVE_POOLS | _REDUCTIONS | ATTENTION


_SPECIAL = (frozenset({aten.convolution, aten._convolution, aten.addmm, aten.baddbmm, *PRODUCTS,
                       aten.permute, aten.transpose, aten.transpose_, aten.t, aten._softmax, aten._log_softmax,
                       aten._safe_softmax, aten.cat, aten.stack, aten.select, aten.unbind})
            | VIEWS | WINDOW_POOLS | ADAPTIVE_POOLS | ATTENTION | _REDUCTIONS)


def _ids(packets: frozenset) -> frozenset[int]:
    """Membership by id: an op packet hashes in Python (~0.4 µs), and result_flow asks several times per op."""
    return frozenset(map(id, packets))


_SPECIAL_IDS, _WINDOW_POOL_IDS, _ADAPTIVE_POOL_IDS = _ids(_SPECIAL), _ids(WINDOW_POOLS), _ids(ADAPTIVE_POOLS)
_ATTENTION_IDS, _VIEW_IDS, _REDUCTION_IDS = _ids(ATTENTION), _ids(VIEWS), _ids(_REDUCTIONS)


def result_flow(packet: Any, args: tuple, out: torch.Tensor, flows: list[Flow],
                parameters: AbstractSet[int] = frozenset()) -> Flow | None:
    """The flow of `out` (an op's first tensor result) from its operands' flows; None if no operand has one.
    `parameters` holds the ids of the parameters: a product with one of them as an operand is a weight layer, whether
    the parameter arrives through a view (`nn.Linear`'s `t`) or as itself (GPT-2's `Conv1D`: `addmm(b, x, W)`)."""
    op = id(packet)
    if len(flows) == 1 and op not in _SPECIAL_IDS:  # the common case: an activation, a norm, an add of a scalar
        only = flows[0]
        x = args[0]
        if only is not WEIGHT and isinstance(x, torch.Tensor) and x.shape == out.shape:
            return only  # same layout, same field, same depth: flows are immutable, share it
    weights = [f for f in flows if f is WEIGHT]
    activations = [f for f in flows if f is not WEIGHT]
    if not activations:
        return WEIGHT if weights else None
    depth = max(f.depth for f in activations)
    x = args[0] if args and isinstance(args[0], torch.Tensor) else None
    if packet is aten.convolution or packet is aten._convolution:
        src = flow_of(args[0])
        return _conv(args, out, src, depth + 1) if src is not None else None
    if op in _WINDOW_POOL_IDS:
        return _pool(packet, args, out, activations[0])
    if op in _ADAPTIVE_POOL_IDS:
        return _adaptive_pool(args, out, activations[0])
    if op in _ATTENTION_IDS:
        return _covering(depth)
    if packet is aten.addmm or packet is aten.baddbmm:
        a, b = _operand(args[1], parameters), _operand(args[2], parameters)
        linear = b is WEIGHT or a is WEIGHT
        return _matrix_product(_active(a), _active(b), args[1].dim(), args[2].dim(), out, depth + linear)
    if packet in PRODUCTS:
        a, b = _operand(args[0], parameters), _operand(args[1], parameters)
        linear = b is WEIGHT or a is WEIGHT
        return _matrix_product(_active(a), _active(b), args[0].dim(), args[1].dim(), out, depth + linear)
    src = _widest(activations)
    src = Flow(src.field, src.dims, src.merged, src.grid, depth) if src.depth != depth else src
    if src.field is None or src.field.covers_input:
        return src
    if op in _VIEW_IDS and x is not None:
        return _reshaped(src, tuple(x.shape), tuple(out.shape))
    if packet is aten.permute:
        return _permuted(src, args[1], out.dim())
    if packet is aten.transpose or packet is aten.transpose_:
        return _transposed(src, int(args[1]), int(args[2]), out.dim())
    if packet is aten.t:
        return _transposed(src, 0, 1, out.dim()) if out.dim() == 2 else src
    if op in _REDUCTION_IDS and x is not None:
        dims = args[1] if len(args) > 1 else None
        if not isinstance(dims, torch.Tensor):  # max.other / min.other are element-wise
            if isinstance(dims, bool):
                dims = None
            return _reduced(src, dims, x.dim(), keepdim=out.dim() == x.dim())
    if (packet is aten.select or packet is aten.unbind) and x is not None:  # one index of a dim: the dim drops
        dim = int(args[1]) % x.dim() if len(args) > 1 else 0
        return _untracked(depth) if dim in _spatial_positions(src) else _reduced(src, [dim], x.dim(), False)
    if packet in (aten._softmax, aten._log_softmax, aten._safe_softmax) and x is not None:
        return _reduced(src, args[1], x.dim(), keepdim=True)
    if x is not None and out.dim() == x.dim() and (src.dims is not None or src.merged is not None):
        if src.dims is not None:
            return Flow(src.field, src.dims, None, tuple(int(out.shape[d]) for d in src.dims), depth)
        return src
    if packet is aten.cat or packet is aten.stack:
        return src if packet is aten.cat else _untracked(depth)
    return _untracked(depth)


def _operand(value: Any, parameters: AbstractSet[int]) -> Flow | None:
    """An operand's flow; a parameter itself carries none (the model's tensors are never marked): WEIGHT."""
    flow = flow_of(value)
    return WEIGHT if flow is None and id(value) in parameters else flow


def _active(flow: Flow | None) -> Flow | None:
    return None if flow is WEIGHT else flow
