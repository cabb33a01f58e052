"""The dispatch-level counter: every aten op the model runs is costed by its shape-only formula and charged to the
innermost module that is executing, which forward pre/post hooks keep on a stack.

Counting at the aten level (rather than per module type) is what makes functional calls — `x + identity`,
`torch.cat`, `F.relu` — land on a layer, and what lets any op without a formula be named instead of silently
costing zero.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import torch
from torch import nn
from torch.utils._python_dispatch import TorchDispatchMode
from torch.utils._pytree import tree_leaves

from analyzers.fast_shapes import FAST_RESULTS
from analyzers.formulas import FORMULAS, data_movement, uncounted
from analyzers.records import OpCost, Shape
from analyzers.size_checks import WINDOWED_OPS, check_window_fits


@dataclass
class ModuleRun:
    """What one module did during the forward pass (mutable while counting, frozen into a record afterwards)."""

    name: str
    module: nn.Module
    order: int = -1  # index of its first call; -1 if it never ran
    calls: int = 0
    input_shapes: tuple[Shape, ...] = ()
    output_shapes: tuple[Shape, ...] = ()
    ops: list[OpCost] = field(default_factory=list)  # ops it ran itself (not its children's)
    activation_elements: int = 0
    activation_bytes: int = 0
    last_result_shape: Shape = ()  # of its own last arithmetic op: what a functional row outputs


def _shapes(value: Any) -> tuple[Shape, ...]:
    """Shapes of the tensors in a forward's arguments or output; the common one-tensor cases skip pytree."""
    if isinstance(value, torch.Tensor):
        return (tuple(value.shape),)
    if isinstance(value, tuple) and len(value) == 1 and isinstance(value[0], torch.Tensor):
        return (tuple(value[0].shape),)
    return tuple(tuple(t.shape) for t in tree_leaves(value) if isinstance(t, torch.Tensor))


class ModuleTracker:
    """Keeps the stack of executing modules through hooks; `current` is the run that ops are charged to."""

    def __init__(self, named_modules: list[tuple[str, nn.Module]]) -> None:
        self.runs: dict[int, ModuleRun] = {id(module): ModuleRun(name, module) for name, module in named_modules}
        self.stack: list[ModuleRun] = []  # empty outside the model's forward (e.g. functional_call's set-up)
        self._next_order = 0
        self._handles: list[Any] = []

    @property
    def current(self) -> ModuleRun | None:
        return self.stack[-1] if self.stack else None

    @property
    def current_name(self) -> str:
        return self.stack[-1].name if self.stack else ""

    def __enter__(self) -> "ModuleTracker":
        for run in self.runs.values():
            module = run.module
            self._handles.append(module.register_forward_pre_hook(self._pre))
            self._handles.append(module.register_forward_hook(self._post))
        return self

    def __exit__(self, *exc: object) -> None:
        for handle in self._handles:
            handle.remove()
        self._handles.clear()

    def _pre(self, module: nn.Module, args: Any) -> None:
        run = self.runs[id(module)]
        if run.calls == 0:
            run.order = self._next_order
            self._next_order += 1
            run.input_shapes = _shapes(args)
        run.calls += 1
        self.stack.append(run)

    def _post(self, module: nn.Module, args: Any, output: Any) -> None:
        run = self.runs[id(module)]
        if run.calls == 1 and not run.output_shapes:
            run.output_shapes = _shapes(output)
        if self.stack and self.stack[-1] is run:
            self.stack.pop()


class CountingMode(TorchDispatchMode):
    """Costs each aten op and charges it, with the memory its result allocates, to the tracker's current module."""

    @classmethod
    def _should_skip_dynamo(cls) -> bool:
        # torch wraps every mode's __torch_dispatch__ in a dynamo-disable shim whose first call imports
        # torch._dynamo (~1 s, ~50 MB). Nothing is ever compiled inside an analysis, so the shim buys nothing.
        return False

    def __init__(self, tracker: ModuleTracker) -> None:
        super().__init__()
        self.tracker = tracker
        self._allocates: dict[Any, bool] = {}

    def __torch_dispatch__(self, func: Any, types: Any, args: tuple = (), kwargs: dict | None = None) -> Any:
        kwargs = kwargs or {}
        packet = func.overloadpacket
        if packet in WINDOWED_OPS:
            check_window_fits(func, args, self.tracker.current_name)
        fast = FAST_RESULTS.get(packet)
        out = fast(args, kwargs) if fast is not None else None
        if out is None:
            out = func(*args, **kwargs)
        run = self.tracker.current
        if run is None:  # not inside any module's forward: nothing to charge
            return out
        formula = FORMULAS.get(packet)
        result = out if isinstance(out, torch.Tensor) else next(
            (t for t in tree_leaves(out) if isinstance(t, torch.Tensor)), None
        )
        if formula is not data_movement:
            run.ops.append(formula(func, args, kwargs, out) if formula is not None else uncounted(func))
            if result is not None:
                run.last_result_shape = tuple(result.shape)
        if result is not None and self._allocates_result(func):
            run.activation_elements += result.numel()
            run.activation_bytes += result.numel() * result.element_size()
        return out

    def _allocates_result(self, func: Any) -> bool:
        """True for ops whose (first) result is new memory: not a view, not in-place."""
        known = self._allocates.get(func)
        if known is None:
            returns = func._schema.returns
            known = bool(returns) and returns[0].alias_info is None and str(returns[0].type) == "Tensor"
            self._allocates[func] = known
        return known
