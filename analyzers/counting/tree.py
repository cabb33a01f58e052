"""The record tree an analysis returns, built from what the counting mode saw: one frozen `LayerRecord` per module
(leaves, containers and each container's own functional ops), parameters counted once per unique tensor, and the
whole-model totals as sums over leaves."""

from __future__ import annotations

import math

import torch
from torch import nn

from analyzers.counting.mode import ModuleRun, ModuleTracker
from analyzers.records import GroupedMatmulGeometry, LayerRecord, OpCategory, ParamTensor, RecordKind, Totals

__all__ = ["FUNCTIONAL", "build_records", "model_totals"]

FUNCTIONAL = "functional"


def _own_parameters(named_modules: list[tuple[str, nn.Module]]) -> dict[int, list[tuple[str, nn.Parameter]]]:
    """Each unique parameter belongs to the first module that holds it, so shared weights count once."""
    seen: set[int] = set()
    owned: dict[int, list[tuple[str, nn.Parameter]]] = {}
    for _, module in named_modules:
        mine = []
        for name, p in module._parameters.items():
            if p is not None and id(p) not in seen:
                seen.add(id(p))
                mine.append((name, p))
        owned[id(module)] = mine
    return owned


def build_records(model: nn.Module, named_modules: list[tuple[str, nn.Module]], tracker: ModuleTracker,
                   dtype: torch.dtype) -> tuple[LayerRecord, ...]:
    owned = _own_parameters(named_modules)
    itemsize = torch.empty((), dtype=dtype, device="meta").element_size()
    runs = tracker.runs
    records: list[LayerRecord] = []
    emitted: set[int] = set()

    def leaf(run: ModuleRun, name: str, type_name: str, kind: RecordKind, depth: int, parent: str | None,
             params: list[tuple[str, nn.Parameter]]) -> LayerRecord:
        total = trainable = size = 0
        for _, p in params:
            count = p.numel()
            total += count
            if p.requires_grad:
                trainable += count
            size += count * (itemsize if p.is_floating_point() else p.element_size())
        functional = kind is RecordKind.FUNCTIONAL
        flow = run.last_flow if functional else run.output_flow
        macs = elementwise = 0
        uncounted: dict[str, None] = {}
        for op in run.ops:  # one pass over the ops, not one per field
            macs += op.macs
            elementwise += op.elementwise_ops
            if op.category is UNCOUNTED:
                uncounted[op.op] = None
        return LayerRecord.built({
            "name": name,
            "type": type_name,
            "kind": kind,
            "depth": depth,
            "parent": parent,
            "children": (),
            "calls": run.calls,
            "input_shapes": () if functional else run.input_shapes,
            "output_shapes": ((run.last_result_shape,) if run.last_result_shape else ()) if functional
            else run.output_shapes,
            "params": total,
            "trainable_params": trainable,
            "param_bytes": size,
            "macs": macs,
            "elementwise_ops": elementwise,
            "activation_elements": run.activation_elements,
            "activation_bytes": run.activation_bytes,
            "receptive_field": flow.field if flow is not None else None,
            "weight_depth": flow.depth if flow is not None else 0,
            "uncounted_ops": tuple(uncounted),
            "ops": tuple(run.ops),
            "param_tensors": tuple([_param_tensor(pn, p) for pn, p in params]) if params else (),
            "leaf_macs": (),
        })

    def visit(run: ModuleRun, depth: int, parent: str | None) -> LayerRecord:
        """Emit `run`'s subtree in execution order (its own record first) and return its record."""
        module = run.module
        key = id(module)
        emitted.add(key)
        own = owned[key]
        unique: dict[int, ModuleRun] = {}  # a child registered twice is one
        for child in module._modules.values():
            key = id(child)
            if key not in emitted:
                kid = runs.get(key)  # None for a None child slot
                if kid is not None:
                    unique[key] = kid
        if not unique:
            record = leaf(run, run.name, type(module).__name__, MODULE, depth, parent, own)
            records.append(record)
            return record
        kids = sorted(unique.values(), key=_execution_order)
        position = len(records)
        records.append(None)  # type: ignore[arg-type]  # the container's own place, filled in below
        below: list[LayerRecord] = []
        for kid in kids:
            if id(kid.module) not in emitted:  # else reached through an earlier sibling's subtree
                below.append(visit(kid, depth + 1, run.name))
        if own or run.activation_elements or any(op.category is not DATA_MOVEMENT for op in run.ops):
            prefix = f"{run.name}." if run.name else ""
            fn = leaf(run, f"{prefix}({FUNCTIONAL})", FUNCTIONAL, RecordKind.FUNCTIONAL, depth + 1, run.name, own)
            records.append(fn)
            below.append(fn)
        records[position] = record = _container(run, depth, parent, below)
        return record

    visit(runs[id(model)], 0, None)
    return tuple(records)


UNCOUNTED, DATA_MOVEMENT, MODULE = OpCategory.UNCOUNTED, OpCategory.DATA_MOVEMENT, RecordKind.MODULE
_PARAM_TENSORS: dict[tuple, ParamTensor] = {}  # immutable, so shared across analyses (bounded below)


def _param_tensor(name: str, p: nn.Parameter) -> ParamTensor:
    key = (name, p.shape, p.requires_grad)
    found = _PARAM_TENSORS.get(key)
    if found is None:
        if len(_PARAM_TENSORS) >= 4096:
            _PARAM_TENSORS.clear()
        found = _PARAM_TENSORS[key] = ParamTensor(name, tuple(p.shape), p.requires_grad)
    return found


def _execution_order(run: ModuleRun) -> tuple[bool, int]:
    return run.order < 0, run.order  # modules that never ran last


def _container(run: ModuleRun, depth: int, parent: str | None, children: list[LayerRecord]) -> LayerRecord:
    """A container's numbers are sums over its leaves, added up here from its children's (already summed)."""
    flow = run.output_flow
    params = trainable = param_bytes = macs = elementwise = elements = activation = 0
    uncounted: dict[str, None] = {}
    leaf_macs: list[int] = []
    for r in children:  # one pass over the children, not one per field
        params += r.params
        trainable += r.trainable_params
        param_bytes += r.param_bytes
        macs += r.macs
        elementwise += r.elementwise_ops
        elements += r.activation_elements
        activation += r.activation_bytes
        if r.uncounted_ops:
            uncounted.update(dict.fromkeys(r.uncounted_ops))
        if r.kind is RecordKind.CONTAINER:
            leaf_macs.extend(r.leaf_macs)
        else:
            leaf_macs.append(r.macs)
    return LayerRecord.built({
        "name": run.name,
        "type": type(run.module).__name__,
        "kind": RecordKind.CONTAINER,
        "depth": depth,
        "parent": parent,
        "children": tuple(r.name for r in children),
        "calls": run.calls,
        "input_shapes": run.input_shapes,
        "output_shapes": run.output_shapes,
        "params": params,
        "trainable_params": trainable,
        "param_bytes": param_bytes,
        "macs": macs,
        "elementwise_ops": elementwise,
        "activation_elements": elements,
        "activation_bytes": activation,
        "receptive_field": flow.field if flow is not None else None,
        "weight_depth": flow.depth if flow is not None else 0,
        "uncounted_ops": tuple(uncounted),
        "ops": (),
        "param_tensors": (),
        "leaf_macs": tuple(leaf_macs),
    })


def model_totals(records: tuple[LayerRecord, ...], weight_depth: int) -> Totals:
    """The root record already sums every leaf (a container adds up its children); what it does not carry is
    counted here: leaves, and op calls without a formula."""
    root = records[0]
    layers = uncounted = 0
    for r in records:
        if r.kind is not RecordKind.CONTAINER:
            layers += 1
            if r.uncounted_ops:
                uncounted += sum(1 for op in r.ops if op.category is UNCOUNTED)
    return Totals(
        params=root.params,
        trainable_params=root.trainable_params,
        param_bytes=root.param_bytes,
        macs=root.macs,
        elementwise_ops=root.elementwise_ops,
        activation_elements=root.activation_elements,
        activation_bytes=root.activation_bytes,
        uncounted_ops=uncounted,
        layers=layers,
        weight_depth=weight_depth,
        active_params=root.params - _unrouted_expert_params(records),
    )


def _unrouted_expert_params(records: tuple[LayerRecord, ...]) -> int:
    """Expert weights one token does not use: a grouped product with a parameter operand (a mixture of experts'
    G experts) runs tokens × k rows, so each token uses k = rows ÷ tokens of the G expert slices, where tokens are
    the rows the experts module was given (its first input, all but the last dim). Each weight counts once, however
    many times its module ran."""
    grouped = [(r, op) for r in records for op in r.ops if isinstance(op.geometry, GroupedMatmulGeometry)]
    if not grouped:  # nearly every model: one pass over the ops, no more
        return 0
    by_name = {r.name: r for r in records}
    unused = 0.0
    seen: set[tuple] = set()
    for r, op in grouped:
        g = op.geometry
        if op.category is not OpCategory.LINEAR or g.jagged != "rows":
            continue
        owner = by_name.get(r.parent) if r.kind is RecordKind.FUNCTIONAL and r.parent is not None else r
        shapes = owner.input_shapes if owner is not None else ()
        tokens = math.prod(shapes[0][:-1]) if shapes and len(shapes[0]) >= 2 else 0
        key = (r.name, g.groups, g.inner, g.cols)
        if tokens <= 0 or key in seen:
            continue
        seen.add(key)
        used = min(g.rows / tokens, g.groups)
        unused += (g.groups - used) * g.inner * g.cols
    return round(unused)
