"""The dispatch-level counter: every aten op the model runs is costed by its shape-only formula and charged to the
innermost module that is executing, which forward pre/post hooks keep on a stack.

Counting at the aten level (rather than per module type) is what makes functional calls — `x + identity`,
`torch.cat`, `F.relu` — land on a layer, and what lets any op without a formula be named instead of silently
costing zero.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

import torch
from torch import nn
from torch.utils._python_dispatch import TorchDispatchMode
from torch.utils._pytree import tree_leaves

__all__ = ["CountingMode", "ModuleRun", "ModuleTracker"]

aten = torch.ops.aten

from analyzers.shapes.forward import FAST_RESULTS
from analyzers.counting.flow import ATTRIBUTE, WEIGHT, WINDOW_FLOW_OPS, Flow, result_flow
from analyzers.counting.formulas import FORMULAS, Formula, data_movement, uncounted
from analyzers.counting import memo as call_memo
from analyzers.counting.memo import SCALAR_TYPES, call_key, remember, replay, returns_fresh_tensors
from analyzers.shapes.shortcuts import Call, Shortcut, shortcut_for
from analyzers.ops import PRODUCTS
from analyzers.records import OpCategory, OpCost, Shape
from analyzers.counting.size_checks import WINDOWED_OPS, check_window_fits


@dataclass(slots=True)
class ModuleRun:
    """What one module did during the forward pass (mutable while counting, frozen into a record afterwards)."""

    name: str
    module: nn.Module  # the user's module (the forward ran on its private copy)
    order: int = -1  # index of its first call; -1 if it never ran
    calls: int = 0
    input_shapes: tuple[Shape, ...] = ()
    output_shapes: tuple[Shape, ...] = ()
    ops: list[OpCost] = field(default_factory=list)  # ops it ran itself (not its children's)
    activation_elements: int = 0
    activation_bytes: int = 0
    last_result_shape: Shape = ()  # of its own last arithmetic op: what a functional row outputs
    last_flow: Flow | None = None  # the flow of that result
    output_flow: Flow | None = None  # the flow of its (first) output, at its first call
    output_depth: int = 0  # the longest weight-layer path over all its output tensors


def _shapes(value: Any) -> tuple[Shape, ...]:
    """Shapes of the tensors in a forward's arguments or output; the common one-tensor cases skip pytree."""
    if isinstance(value, torch.Tensor):
        return (tuple(value.shape),)
    if isinstance(value, tuple) and len(value) == 1 and isinstance(value[0], torch.Tensor):
        return (tuple(value[0].shape),)
    return tuple(tuple(t.shape) for t in tree_leaves(value) if isinstance(t, torch.Tensor))


class ModuleTracker:
    """Keeps the stack of executing modules; `current` is the run that ops are charged to.

    Runs are kept per module of the user's tree (`runs`, by id); the forward that runs is that of each module's
    private copy (`analyzers.counting.isolation`), whose `forward` is wrapped by `track` (an instance attribute of
    the copy, gone with it) rather than hooked: any forward hook, even a process-wide one, sends every module call
    in the process down torch's slow hook path. A standard leaf module (`analyzers.shapes.shortcuts`) whose input
    the shortcut understands skips its `forward` and has its aten calls made directly, when the counting mode
    offers `direct` (no autograd to record).
    """

    def __init__(self, named_modules: list[tuple[str, nn.Module]]) -> None:
        self.runs: dict[int, ModuleRun] = {id(module): ModuleRun(name, module) for name, module in named_modules}
        self.stack: list[ModuleRun] = []  # empty outside the model's forward
        self.direct: Call | None = None  # set by a counting mode that can run an aten op without the dispatcher
        self._next_order = 0

    @property
    def current(self) -> ModuleRun | None:
        return self.stack[-1] if self.stack else None

    @property
    def current_name(self) -> str:
        return self.stack[-1].name if self.stack else ""

    def track(self, copies: dict[int, nn.Module]) -> None:
        """Wrap the forward of each module's copy (`copies`: id(the user's module) → its copy)."""
        for key, run in self.runs.items():
            copy = copies[key]
            own = vars(copy)
            shortcut = None if "forward" in own else shortcut_for(type(copy))  # a forward of its own runs
            own["forward"] = self._tracked(run, copy, copy.forward, shortcut)

    def _tracked(self, run: ModuleRun, module: nn.Module, forward: Any, shortcut: Shortcut | None) -> Any:
        pre, post = self._pre, self._post

        def tracked(*args: Any, **kwargs: Any) -> Any:
            pre(run, args)
            out = NotImplemented
            direct = self.direct
            if shortcut is not None and direct is not None and len(args) == 1 and not kwargs:
                x = args[0]
                if type(x) is torch.Tensor and x.is_meta and not torch.is_grad_enabled():
                    out = shortcut(module, x, direct)
            if out is NotImplemented:
                out = forward(*args, **kwargs)
            post(run, args, out)
            return out

        return tracked

    def _pre(self, run: ModuleRun, args: Any) -> None:
        if run.calls == 0:
            run.order = self._next_order
            self._next_order += 1
            run.input_shapes = _shapes(args)
        run.calls += 1
        self.stack.append(run)

    def _post(self, run: ModuleRun, args: Any, output: Any) -> None:
        if run.calls == 1 and not run.output_shapes:
            run.output_shapes = _shapes(output)
            tensors = (output,) if isinstance(output, torch.Tensor) else [
                t for t in tree_leaves(output) if isinstance(t, torch.Tensor)]
            flows = [f for f in (getattr(t, ATTRIBUTE, None) for t in tensors) if f is not None and f is not WEIGHT]
            if flows:
                run.output_flow = flows[0]
                run.output_depth = max(f.depth for f in flows)
        if self.stack and self.stack[-1] is run:
            self.stack.pop()


@dataclass(frozen=True)
class _Plan:
    packet: Any
    windowed: bool  # a conv / pool whose window must fit (checked before the op, with the layer's name)
    fast: Any  # the shape stand-in, or None
    formula: Formula | None
    counted: bool  # False for pure data movement (views, copies): nothing to record
    allocates: bool  # the first result is new memory (not a view, not in-place)
    memoizable: bool  # its results are fresh tensors (or its in-place operand) whose metadata its inputs' decide
    flow_memo: bool  # its result flow takes real work: remember it per (call, operand flows)
    # Per-call memos (below), kept with the plan so that forgetting the plans (as the stand-in tests do, to run
    # without stand-ins) forgets them too.
    calls: dict = field(default_factory=dict, compare=False, repr=False)  # call key → _Memo
    flows: dict = field(default_factory=dict, compare=False, repr=False)  # (call key, operand flows) → Flow


_SHARED_PLANS: dict[int, _Plan] = {}  # id(op overload) → plan, for analyses with the standard formulas
_NO_PYTHON_DISPATCH = torch._C._DisableTorchDispatch


def _first_tensor(out: Any) -> torch.Tensor | None:
    if isinstance(out, (tuple, list)):
        return next((t for t in out if isinstance(t, torch.Tensor)), None)
    return next((t for t in tree_leaves(out) if isinstance(t, torch.Tensor)), None)


_UNKNOWN = object()
_FLOW_MEMO_OPS = frozenset({aten.convolution, aten._convolution, aten.addmm, aten.baddbmm, *PRODUCTS, aten.cat,
                            aten.stack, *WINDOW_FLOW_OPS})  # whose flow takes real work


class CountingMode(TorchDispatchMode):
    """Costs each aten op and charges it, with the memory its result allocates, to the tracker's current module;
    derives each result's `Flow` (receptive field, weight depth) from its operands'."""

    @classmethod
    def _should_skip_dynamo(cls) -> bool:
        # torch wraps every mode's __torch_dispatch__ in a dynamo-disable shim whose first call imports
        # torch._dynamo (~1 s, ~50 MB). Nothing is ever compiled inside an analysis, so the shim buys nothing.
        return False

    def __init__(self, tracker: ModuleTracker, formulas: dict[Any, Formula] | None = None,
                 weights: set[int] = frozenset(), state: set[int] = frozenset()) -> None:
        super().__init__()
        self.tracker = tracker
        self.formulas = {**FORMULAS, **formulas} if formulas else FORMULAS
        self.custom = set(formulas or ())
        self.weights = weights  # ids of the parameter tensors the forward uses
        self.state = state  # ids of every parameter and buffer: never given a flow attribute
        self._plans: dict[int, _Plan] = _SHARED_PLANS if not formulas else {}

    def __enter__(self) -> "CountingMode":
        entered = super().__enter__()
        if torch._C._len_torch_dispatch_stack() == 1:  # ours alone: nothing below it to dispatch to
            self.tracker.direct = self._direct
        return entered

    def __exit__(self, *exc: Any) -> None:
        self.tracker.direct = None
        super().__exit__(*exc)

    def _direct(self, func: Any, args: tuple, kwargs: dict) -> Any:
        """Count one aten op exactly as if the dispatcher had handed it over (it pops the mode for the call; here
        Python dispatch is off while we run it)."""
        with _NO_PYTHON_DISPATCH():
            return self.__torch_dispatch__(func, (), args, kwargs)

    def _operand_flows(self, args: tuple) -> list[Flow]:
        """The operands' flows. Integer and boolean operands (indices, masks: a mixture of experts' routing picks
        rows with them) are not a path of the values and count only where no float activation flows in (token ids
        into an embedding)."""
        flows = []
        indices = None
        for a in args:
            kind = type(a)
            if kind in SCALAR_TYPES:  # sizes, flags, dtypes: most arguments, told apart by one set lookup
                continue
            if kind is list or kind is tuple:
                if a and isinstance(a[0], torch.Tensor):
                    if a[0].is_floating_point():  # cat's tensors
                        flows.extend(f for f in (getattr(t, ATTRIBUTE, None) for t in a) if f is not None)
                    else:  # index's indices
                        indices = [*(indices or ()), *(f for f in (getattr(t, ATTRIBUTE, None) for t in a)
                                                       if f is not None)]
            elif isinstance(a, torch.Tensor):
                f = getattr(a, ATTRIBUTE, None)
                if f is not None:
                    if a.is_floating_point():
                        flows.append(f)
                    else:
                        indices = [f] if indices is None else [*indices, f]
                elif id(a) in self.weights:
                    flows.append(WEIGHT)
        if indices is not None and all(f is WEIGHT for f in flows):
            flows.extend(indices)
        return flows

    def _flow_key(self, args: tuple) -> tuple:
        """Each tensor operand's flow and whether it is a parameter, in order (the call key already fixes where the
        tensors are): with the call key, all a result flow reads."""
        weights = self.weights
        parts: list[Any] = []
        for a in args:
            kind = type(a)
            if kind in SCALAR_TYPES:
                continue
            if kind is list or kind is tuple:
                if a and isinstance(a[0], torch.Tensor):
                    parts.extend(getattr(t, ATTRIBUTE, None) for t in a)
            elif isinstance(a, torch.Tensor):
                parts.append(getattr(a, ATTRIBUTE, None))
                parts.append(id(a) in weights)
        return tuple(parts)

    def _plan(self, func: Any) -> _Plan:
        """What to do for `func`, worked out once per op overload (per analysis only with custom formulas)."""
        packet = func.overloadpacket
        formula = self.formulas.get(packet)
        returns = func._schema.returns
        fresh = returns_fresh_tensors(func)
        plan = _Plan(
            packet=packet,
            windowed=packet in WINDOWED_OPS,
            fast=FAST_RESULTS.get(packet),
            formula=formula,
            counted=formula is not data_movement,
            allocates=bool(returns) and returns[0].alias_info is None and str(returns[0].type) == "Tensor",
            memoizable=self._plans is _SHARED_PLANS and (fresh or FAST_RESULTS.get(packet) is not None),
            flow_memo=packet in _FLOW_MEMO_OPS,
        )
        self._plans[id(func)] = plan  # op overloads live as long as torch: their ids stay theirs
        return plan

    def __torch_dispatch__(self, func: Any, types: Any, args: tuple = (), kwargs: dict | None = None) -> Any:
        kwargs = kwargs or {}
        plan = self._plans.get(id(func)) or self._plan(func)  # OpOverload hashes in Python
        key = call_key(args, kwargs) if plan.memoizable else None
        memo = plan.calls.get(key) if key is not None else None
        if memo is not None:
            out = replay(memo, args)
        else:
            if plan.windowed:
                check_window_fits(func, args, self.tracker.current_name)
            out = plan.fast(args, kwargs) if plan.fast is not None else None
            if out is None:
                out = func(*args, **kwargs)
        result = out if isinstance(out, torch.Tensor) else _first_tensor(out)
        flows = self._operand_flows(args) if result is not None else []
        if not flows:
            flow = None
        elif key is not None and plan.flow_memo:
            flow_key = (key, self._flow_key(args))
            flow = plan.flows.get(flow_key, _UNKNOWN)
            if flow is _UNKNOWN:
                flow = result_flow(plan.packet, args, result, flows, self.weights)
                if len(plan.flows) >= call_memo.MEMO_LIMIT:
                    plan.flows.clear()
                plan.flows[flow_key] = flow
        else:
            flow = result_flow(plan.packet, args, result, flows, self.weights)
        if flow is not None:
            self._attach(out, result, flow)
        stack = self.tracker.stack
        if not stack:  # not inside any module's forward: nothing to charge
            if key is not None and memo is None:
                remember(plan.calls, key, args, out, None)
            return out
        run = stack[-1]
        if plan.counted:
            cost = memo.cost if memo is not None else None
            if cost is None:
                cost = self._cost(plan.formula, func, args, kwargs, out)
                if key is not None:
                    remember(plan.calls, key, args, out, cost)
            if cost.category is OpCategory.MATMUL and any(f is WEIGHT for f in flows):
                cost = replace(cost, category=OpCategory.LINEAR)
            run.ops.append(cost)
            if result is not None:
                run.last_result_shape = tuple(result.shape)
                run.last_flow = flow
        elif key is not None and memo is None:
            remember(plan.calls, key, args, out, None)
        if result is not None and plan.allocates:
            elements = result.numel()
            run.activation_elements += elements
            run.activation_bytes += elements * result.element_size()
        return out

    def _cost(self, formula: Formula | None, func: Any, args: tuple, kwargs: dict, out: Any) -> OpCost:
        if formula is None:
            return uncounted(func)
        cost = formula(func, args, kwargs, out)
        if isinstance(cost, OpCost):
            return cost
        if func.overloadpacket in self.custom and isinstance(cost, int) and not isinstance(cost, bool):
            return OpCost(str(func), OpCategory.CUSTOM, macs=cost, label=func.overloadpacket.__name__)
        raise TypeError(f"the formula for {func.overloadpacket} returned {type(cost).__name__}, not an OpCost or int")

    def _attach(self, out: Any, result: torch.Tensor, flow: Flow) -> None:
        """Give the result (every piece of a split) its flow; the model's own parameters and buffers never get one."""
        if isinstance(out, (list, tuple)) and len(out) > 1 and all(isinstance(t, torch.Tensor) for t in out) and (
                all(t.dim() == result.dim() for t in out)):
            targets = out
        else:
            targets = (result,)
        for t in targets:
            if id(t) not in self.state:
                setattr(t, ATTRIBUTE, flow)
