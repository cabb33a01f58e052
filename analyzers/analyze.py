"""`analyze(model, input_size)`: run a model once on the meta device and return one cost record per module.

The meta device carries shapes and dtypes but no data, so nothing is allocated and nothing is computed: a
VGG-16 (138M parameters) is analysed in milliseconds. A model built on the CPU is not copied; its parameters and
buffers are swapped for meta stand-ins for the one call (`torch.func.functional_call`), and its train/eval flags
are restored afterwards.
"""

from __future__ import annotations

from collections import Counter
from typing import Iterable, Sequence

import torch
from torch import nn

from analyzers.counting_mode import CountingMode, ModuleRun, ModuleTracker
from analyzers.errors import AnalysisError, InputSizeError, ModelRunError
from analyzers.numbers import n
from analyzers.params_formula import params_formula
from analyzers.records import Analysis, LayerRecord, OpCost, OpKind, Totals

FUNCTIONAL = "functional"
MAX_INPUT_ELEMENTS = 2**40  # beyond this even the index arithmetic of the meta kernels overflows


def analyze(
    model: nn.Module,
    input_size: Sequence[int],
    batch_size: int = 1,
    *,
    dtype: torch.dtype = torch.float32,
    model_name: str | None = None,
) -> Analysis:
    """Count parameters, MACs, element-wise ops and activation memory of `model` for one input of `input_size`.

    `input_size` excludes the batch dimension, e.g. (3, 224, 224). Raises an `AnalysisError` subclass with a
    one-line message for bad sizes, inputs too small for the network, or a forward that fails on the meta device.
    """
    size = _validated_size(input_size, batch_size)
    x = torch.empty((batch_size, *size), dtype=dtype, device="meta")
    named_modules = list(model.named_modules())  # one traversal, shared by everything below
    training_flags = {m: m.training for _, m in named_modules}
    for module in training_flags:  # eval mode without `train()`'s recursion over every subtree
        module.training = False
    tracker = ModuleTracker(named_modules)
    try:
        with tracker, CountingMode(tracker):
            _run_on_meta(model, named_modules, x, dtype)
    except AnalysisError:
        raise
    except Exception as exc:  # the model's own failure: report where it happened, in one line
        raise ModelRunError(_failure_message(tracker.current_name, exc)) from exc
    finally:
        for module, training in training_flags.items():
            module.training = training
    records = _build_records(model, named_modules, tracker, dtype)
    return Analysis(
        model_name=model_name or type(model).__name__,
        input_size=size,
        batch_size=batch_size,
        dtype=str(dtype).removeprefix("torch."),
        records=records,
        totals=_totals(records),
    )


def _validated_size(input_size: Sequence[int], batch_size: int) -> tuple[int, ...]:
    try:
        size = tuple(int(d) for d in input_size)
    except (TypeError, ValueError):
        raise InputSizeError(f"input size must be integers like 3x224x224, got {input_size!r}") from None
    if not 1 <= len(size) <= 4:
        raise InputSizeError(f"input size must have 1 to 4 dimensions (e.g. CxHxW), got {len(size)}")
    if any(d <= 0 for d in size):
        raise InputSizeError(f"input sizes must be positive, got {'x'.join(map(str, size))}")
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size <= 0:
        raise InputSizeError(f"batch size must be a positive integer, got {batch_size!r}")
    elements = batch_size
    for d in size:
        elements *= d
    if elements > MAX_INPUT_ELEMENTS:
        raise InputSizeError(f"input of {n(elements)} elements is too large; at most {n(MAX_INPUT_ELEMENTS)}")
    return size


def _run_on_meta(model: nn.Module, named_modules: list[tuple[str, nn.Module]], x: torch.Tensor,
                 dtype: torch.dtype) -> None:
    tensors = (t for _, m in named_modules for t in (*m._parameters.values(), *m._buffers.values()) if t is not None)
    if all(t.is_meta and (t.dtype == dtype or not t.is_floating_point()) for t in tensors):
        model(x)
        return
    state = {
        name: torch.empty(t.shape, dtype=dtype if t.is_floating_point() else t.dtype, device="meta")
        for name, t in [*model.named_parameters(remove_duplicate=False), *model.named_buffers(remove_duplicate=False)]
    }
    torch.func.functional_call(model, state, (x,), strict=False, tie_weights=True)


def _failure_message(layer: str, exc: Exception) -> str:
    first_line = next((line.strip() for line in str(exc).splitlines() if line.strip()), type(exc).__name__)
    where = layer or "model"
    return f"{where}: forward failed on the meta device: {first_line}"


# ---------------------------------------------------------------- records


def _own_parameters(named_modules: list[tuple[str, nn.Module]]) -> dict[int, list[nn.Parameter]]:
    """Each unique parameter belongs to the first module that holds it, so shared weights count once."""
    seen: set[int] = set()
    owned: dict[int, list[nn.Parameter]] = {}
    for _, module in named_modules:
        mine = []
        for p in module._parameters.values():
            if p is not None and id(p) not in seen:
                seen.add(id(p))
                mine.append(p)
        owned[id(module)] = mine
    return owned


def _build_records(model: nn.Module, named_modules: list[tuple[str, nn.Module]], tracker: ModuleTracker,
                   dtype: torch.dtype) -> tuple[LayerRecord, ...]:
    owned = _own_parameters(named_modules)
    itemsize = torch.empty((), dtype=dtype, device="meta").element_size()
    children = {
        id(module): [tracker.runs[id(c)] for c in module._modules.values() if c is not None and id(c) in tracker.runs]
        for _, module in named_modules
    }
    records: list[LayerRecord] = []
    emitted: set[int] = set()

    def param_stats(params: list[nn.Parameter]) -> tuple[int, int, int]:
        total = sum(p.numel() for p in params)
        trainable = sum(p.numel() for p in params if p.requires_grad)
        size = sum(p.numel() * (itemsize if p.is_floating_point() else p.element_size()) for p in params)
        return total, trainable, size

    def leaf(run: ModuleRun, name: str, type_name: str, depth: int, params: list[nn.Parameter],
             param_text: str, functional: bool = False) -> LayerRecord:
        total, trainable, size = param_stats(params)
        return LayerRecord(
            name=name,
            type=type_name,
            depth=depth,
            is_leaf=True,
            calls=run.calls,
            input_shapes=() if functional else run.input_shapes,
            output_shapes=((run.last_result_shape,) if run.last_result_shape else ()) if functional
            else run.output_shapes,
            params=total,
            trainable_params=trainable,
            param_bytes=size,
            macs=sum(op.macs for op in run.ops),
            elementwise_ops=sum(op.elementwise_ops for op in run.ops),
            activation_elements=run.activation_elements,
            activation_bytes=run.activation_bytes,
            formula=_combined_formula(run.ops),
            params_formula=param_text,
            uncounted_ops=tuple(dict.fromkeys(op.op for op in run.ops if op.kind is OpKind.UNCOUNTED)),
            ops=tuple(run.ops),
        )

    def visit(run: ModuleRun, depth: int) -> list[LayerRecord]:
        """Emit `run`'s subtree in execution order and return the leaf records below it."""
        emitted.add(id(run.module))
        kids = sorted(
            (c for c in children[id(run.module)] if id(c.module) not in emitted),
            key=lambda c: (c.order < 0, c.order),
        )
        own = owned[id(run.module)]
        if not kids:
            own_total = sum(p.numel() for p in own)
            record = leaf(run, run.name, type(run.module).__name__, depth,
                          own, params_formula(run.module, own_total))
            records.append(record)
            return [record]
        position = len(records)
        leaves: list[LayerRecord] = []
        for kid in kids:
            leaves.extend(visit(kid, depth + 1))
        if any(op.kind is not OpKind.DATA for op in run.ops) or own or run.activation_elements:
            prefix = f"{run.name}." if run.name else ""
            total = sum(p.numel() for p in own)
            own_text = " + ".join(f"{pn} {'×'.join(map(str, p.shape))}" for pn, p in
                                  run.module.named_parameters(recurse=False)) if own else "no parameters"
            fn = leaf(run, f"{prefix}({FUNCTIONAL})", FUNCTIONAL, depth + 1, own,
                      f"{own_text} = {n(total)}" if own else own_text, functional=True)
            records.append(fn)
            leaves.append(fn)
        records.insert(position, _container(run, depth, leaves))
        return leaves

    visit(tracker.runs[id(model)], 0)
    return tuple(records)


def _container(run: ModuleRun, depth: int, leaves: list[LayerRecord]) -> LayerRecord:
    macs = sum(r.macs for r in leaves)
    counted = [r for r in leaves if r.macs]
    if 1 < len(counted) <= 4:
        formula = f"{' + '.join(n(r.macs) for r in counted)} = {n(macs)} MACs"
    else:
        formula = f"Σ {len(leaves)} layers = {n(macs)} MACs"
    return LayerRecord(
        name=run.name,
        type=type(run.module).__name__,
        depth=depth,
        is_leaf=False,
        calls=run.calls,
        input_shapes=run.input_shapes,
        output_shapes=run.output_shapes,
        params=sum(r.params for r in leaves),
        trainable_params=sum(r.trainable_params for r in leaves),
        param_bytes=sum(r.param_bytes for r in leaves),
        macs=macs,
        elementwise_ops=sum(r.elementwise_ops for r in leaves),
        activation_elements=sum(r.activation_elements for r in leaves),
        activation_bytes=sum(r.activation_bytes for r in leaves),
        formula=formula,
        params_formula=f"Σ {len(leaves)} layers = {n(sum(r.params for r in leaves))}",
        uncounted_ops=tuple(dict.fromkeys(op for r in leaves for op in r.uncounted_ops)),
    )


def _combined_formula(ops: Iterable[OpCost]) -> str:
    """The formulas of a leaf's ops, MACs first; a formula repeated k times (a reused layer) is written k × (…)."""
    counts = Counter(op.formula for op in ops if op.formula)
    ordered = sorted(counts, key=lambda f: 0 if "MACs" in f else 1)
    return "; ".join(f if counts[f] == 1 else f"{counts[f]} × ({f})" for f in ordered)


def _totals(records: tuple[LayerRecord, ...]) -> Totals:
    leaves = [r for r in records if r.is_leaf]
    return Totals(
        params=sum(r.params for r in leaves),
        trainable_params=sum(r.trainable_params for r in leaves),
        param_bytes=sum(r.param_bytes for r in leaves),
        macs=sum(r.macs for r in leaves),
        elementwise_ops=sum(r.elementwise_ops for r in leaves),
        activation_elements=sum(r.activation_elements for r in leaves),
        activation_bytes=sum(r.activation_bytes for r in leaves),
        uncounted_ops=sum(1 for r in leaves for op in r.ops if op.kind is OpKind.UNCOUNTED),
        layers=len(leaves),
    )


