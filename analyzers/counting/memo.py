"""The per-call memo: an op's result metadata and cost, remembered per (op, argument metadata).

On meta, an op's result metadata, the size check's verdict and the formula's OpCost are functions of the op and its
arguments' metadata alone (shapes, strides, dtypes, scalars): a ResNet runs the same conv+bn+relu on the same shapes
dozens of times, and every analysis of a model repeats its previous one. So a call whose arguments are all meta
tensors and plain scalars is answered from its plan's memo: fresh results are rebuilt with `empty_strided`, an in-
place op returns its operand, and the OpCost (immutable) is shared. Only passed checks are remembered (a failing
call raises and stores nothing); flows are still derived per call, since they depend on the path.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from analyzers.records import OpCost
from analyzers.shapes.layout import META

__all__ = ["MEMO_LIMIT", "SCALAR_TYPES", "Memo", "call_key", "leaf_key", "remember", "replay", "returns_fresh_tensors"]

MEMO_LIMIT = 1024  # entries per op overload (each a few hundred bytes: ≤ ~0.3 MB an op); a full memo starts afresh
SCALAR_TYPES = frozenset({int, float, bool, str, type(None), torch.dtype, torch.memory_format, torch.layout,
                           torch.device})
_PLAIN_TENSORS = frozenset({torch.Tensor, nn.Parameter})


@dataclass(frozen=True)
class Memo:
    """What a call produced: `single` is one fresh result's (shape, stride, dtype), or None when `items` lists a
    tuple/list result item by item: (shape, stride, dtype) for a fresh tensor, an int for the operand it returns,
    None for an absent one (a backward op's gradient its output mask skips)."""

    single: tuple | None
    items: tuple | None
    container: type | None
    cost: Any  # the call's OpCost (a BackwardCost in a training step's backward), or None




def returns_fresh_tensors(func: Any) -> bool:
    """Whether op overload `func` returns only new tensors (no views, nothing in place): then its results'
    metadata is a function of its arguments', and a memo can rebuild them."""
    schema = func._schema
    returns = schema.returns
    return bool(returns) and all(r.alias_info is None and str(r.type) == "Tensor" for r in returns) and not any(
        a.alias_info is not None and a.alias_info.is_write for a in schema.arguments)


def leaf_key(value: Any) -> tuple | None:
    """A meta tensor's (shape, stride, dtype) or a plain scalar's (type, value); None for anything else."""
    kind = type(value)
    if kind in _PLAIN_TENSORS:
        if not value.is_meta or value.dtype.is_complex:
            return None
        return (value.shape, value.stride(), value.dtype)
    if kind in SCALAR_TYPES:
        return (kind, value)
    return None


def call_key(args: tuple, kwargs: dict) -> tuple | None:
    """The memo key of a call to one op: every argument's metadata (lists one level deep, as `cat` takes them);
    None if an argument is anything else. (The hot path of every op: `leaf_key`'s rules, inlined.)"""
    parts: list[Any] = [torch.get_default_dtype()]  # factory ops without a dtype take the default
    for a in (*args, *kwargs.items()) if kwargs else args:
        kind = type(a)
        if kind is torch.Tensor or kind is nn.Parameter:
            if not a.is_meta or a.dtype.is_complex:
                return None
            parts.append((a.shape, a.stride(), a.dtype))
        elif kind in SCALAR_TYPES:
            parts.append((kind, a))
        elif kind is list or kind is tuple:
            types = tuple(map(type, a))
            if SCALAR_TYPES.issuperset(types):  # sizes, strides, dims: the types keep 1, 1.0 and True apart
                parts.append((kind, types, tuple(a)))
                continue
            items: list[Any] = [kind]
            for v in a:
                key = leaf_key(v)
                if key is None:
                    return None
                items.append(key)
            parts.append(tuple(items))
        else:
            return None
    return tuple(parts)


def _fresh_spec(t: Any) -> tuple | None:
    if type(t) is not torch.Tensor or not t.is_meta or t._base is not None:
        return None
    return (tuple(t.shape), t.stride(), t.dtype)


def remember(memos: dict, key: tuple, args: tuple, out: Any, cost: OpCost | None) -> None:
    if isinstance(out, torch.Tensor):
        if any(out is a for a in args):
            items = (next(i for i, a in enumerate(args) if a is out),)
            memo = Memo(None, items, None, cost)
        else:
            spec = _fresh_spec(out)
            if spec is None:
                return
            memo = Memo(spec, None, None, cost)
    elif type(out) is tuple or type(out) is list:
        items = []
        for t in out:
            if t is None:
                items.append(None)
                continue
            where = next((i for i, a in enumerate(args) if a is t), None)
            if where is not None:
                items.append(where)
                continue
            spec = _fresh_spec(t)
            if spec is None:
                return
            items.append(spec)
        present = [t for t in out if t is not None]
        if len({id(t) for t in present}) != len(present):  # one tensor returned twice: not rebuilt as two
            return
        memo = Memo(None, tuple(items), type(out), cost)
    else:
        return
    if len(memos) >= MEMO_LIMIT:
        memos.clear()
    memos[key] = memo


def replay(memo: Memo, args: tuple) -> Any:
    single = memo.single
    if single is not None:
        return torch.empty_strided(single[0], single[1], dtype=single[2], device=META)
    built = [args[item] if type(item) is int else None if item is None else
             torch.empty_strided(item[0], item[1], dtype=item[2], device=META) for item in memo.items]
    if memo.container is None:
        return built[0]
    return memo.container(built)
