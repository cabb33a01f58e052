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

aten = torch.ops.aten

from analyzers.shapes.forward import _META, FAST_RESULTS
from analyzers.counting.flow import ATTRIBUTE, WEIGHT, WINDOW_FLOW_OPS, Flow, result_flow
from analyzers.counting.formulas import FORMULAS, Formula, data_movement, uncounted
from analyzers.shapes.shortcuts import Call, Shortcut, shortcut_for
from analyzers.records import OpCategory, OpCost, Shape
from analyzers.counting.size_checks import WINDOWED_OPS, check_window_fits


@dataclass(slots=True)
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


_ABSENT = object()


class ModuleTracker:
    """Keeps the stack of executing modules; `current` is the run that ops are charged to.

    Each module's `forward` is wrapped for the duration (an instance attribute, removed afterwards) rather than
    hooked: any forward hook, even a process-wide one, sends every module call in the process down torch's slow
    hook path. A standard leaf module (`analyzers.shapes.shortcuts`) whose input the shortcut understands skips its
    `forward` and has its aten calls made directly, when the counting mode offers `direct` (no autograd to record).
    """

    def __init__(self, named_modules: list[tuple[str, nn.Module]]) -> None:
        self.runs: dict[int, ModuleRun] = {id(module): ModuleRun(name, module) for name, module in named_modules}
        self.stack: list[ModuleRun] = []  # empty outside the model's forward (e.g. functional_call's set-up)
        self.direct: Call | None = None  # set by a counting mode that can run an aten op without the dispatcher
        self._next_order = 0
        self._wrapped: list[tuple[nn.Module, Any]] = []

    @property
    def current(self) -> ModuleRun | None:
        return self.stack[-1] if self.stack else None

    @property
    def current_name(self) -> str:
        return self.stack[-1].name if self.stack else ""

    def __enter__(self) -> "ModuleTracker":
        for run in self.runs.values():
            module = run.module
            if isinstance(module, torch.jit.ScriptModule):  # its forward is compiled: not ours to wrap
                continue
            own = vars(module)
            self._wrapped.append((module, own.get("forward", _ABSENT)))
            shortcut = None if "forward" in own else shortcut_for(type(module))  # a forward of its own runs
            own["forward"] = self._tracked(run, module.forward, shortcut)
        return self

    def __exit__(self, *exc: object) -> None:
        for module, forward in self._wrapped:
            if forward is _ABSENT:
                vars(module).pop("forward", None)
            else:
                vars(module)["forward"] = forward
        self._wrapped.clear()

    def _tracked(self, run: ModuleRun, forward: Any, shortcut: Shortcut | None) -> Any:
        pre, post, module = self._pre, self._post, run.module

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


# ---------------------------------------------------------------- the per-call memo
#
# On meta, an op's result metadata, the size check's verdict and the formula's OpCost are functions of the op and
# its arguments' metadata alone (shapes, strides, dtypes, scalars): a ResNet runs the same conv+bn+relu on the same
# shapes dozens of times, and every analysis of a model repeats its previous one. So a call whose arguments are
# all meta tensors and plain scalars is answered from its plan's memo: fresh results are rebuilt with `empty_strided`, an
# in-place op returns its operand, and the OpCost (immutable) is shared. Only passed checks are remembered (a
# failing call raises and stores nothing); flows are still derived per call, since they depend on the path.

_UNKNOWN = object()
_MEMO_LIMIT = 1024  # entries per op overload (each a few hundred bytes: ≤ ~0.3 MB an op); a full memo starts afresh
_SCALAR_TYPES = frozenset({int, float, bool, str, type(None), torch.dtype, torch.memory_format, torch.layout,
                           torch.device})
_PLAIN_TENSORS = frozenset({torch.Tensor, nn.Parameter})


@dataclass(frozen=True)
class _Memo:
    """What a call produced: `single` is one fresh result's (shape, stride, dtype), or None when `items` lists a
    tuple/list result item by item: (shape, stride, dtype) for a fresh tensor, an int for the operand it returns,
    None for an absent one (a backward op's gradient its output mask skips)."""

    single: tuple | None
    items: tuple | None
    container: type | None
    cost: Any  # the call's OpCost (a BackwardCost in a training step's backward), or None


_FLOW_MEMO_OPS = frozenset({aten.convolution, aten._convolution, aten.addmm, aten.baddbmm, aten.mm, aten.bmm,
                            aten.matmul, aten.cat, aten.stack, *WINDOW_FLOW_OPS})  # whose flow takes real work


def returns_fresh_tensors(func: Any) -> bool:
    """Whether op overload `func` returns only new tensors (no views, nothing in place): then its results'
    metadata is a function of its arguments', and a memo can rebuild them."""
    schema = func._schema
    returns = schema.returns
    return bool(returns) and all(r.alias_info is None and str(r.type) == "Tensor" for r in returns) and not any(
        a.alias_info is not None and a.alias_info.is_write for a in schema.arguments)


def _leaf_key(value: Any) -> tuple | None:
    """A meta tensor's (shape, stride, dtype) or a plain scalar's (type, value); None for anything else."""
    kind = type(value)
    if kind in _PLAIN_TENSORS:
        if not value.is_meta or value.dtype.is_complex:
            return None
        return (value.shape, value.stride(), value.dtype)
    if kind in _SCALAR_TYPES:
        return (kind, value)
    return None


def _call_key(args: tuple, kwargs: dict) -> tuple | None:
    """The memo key of a call to one op: every argument's metadata (lists one level deep, as `cat` takes them);
    None if an argument is anything else. (The hot path of every op: `_leaf_key`'s rules, inlined.)"""
    parts: list[Any] = [torch.get_default_dtype()]  # factory ops without a dtype take the default
    for a in (*args, *kwargs.items()) if kwargs else args:
        kind = type(a)
        if kind is torch.Tensor or kind is nn.Parameter:
            if not a.is_meta or a.dtype.is_complex:
                return None
            parts.append((a.shape, a.stride(), a.dtype))
        elif kind in _SCALAR_TYPES:
            parts.append((kind, a))
        elif kind is list or kind is tuple:
            types = tuple(map(type, a))
            if _SCALAR_TYPES.issuperset(types):  # sizes, strides, dims: the types keep 1, 1.0 and True apart
                parts.append((kind, types, tuple(a)))
                continue
            items: list[Any] = [kind]
            for v in a:
                key = _leaf_key(v)
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


def _remember(memos: dict, key: tuple, args: tuple, out: Any, cost: OpCost | None) -> None:
    if isinstance(out, torch.Tensor):
        if any(out is a for a in args):
            items = (next(i for i, a in enumerate(args) if a is out),)
            memo = _Memo(None, items, None, cost)
        else:
            spec = _fresh_spec(out)
            if spec is None:
                return
            memo = _Memo(spec, None, None, cost)
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
        memo = _Memo(None, tuple(items), type(out), cost)
    else:
        return
    if len(memos) >= _MEMO_LIMIT:
        memos.clear()
    memos[key] = memo


def _replay(memo: _Memo, args: tuple) -> Any:
    single = memo.single
    if single is not None:
        return torch.empty_strided(single[0], single[1], dtype=single[2], device=_META)
    built = [args[item] if type(item) is int else None if item is None else
             torch.empty_strided(item[0], item[1], dtype=item[2], device=_META) for item in memo.items]
    if memo.container is None:
        return built[0]
    return memo.container(built)


def _first_tensor(out: Any) -> torch.Tensor | None:
    if isinstance(out, (tuple, list)):
        return next((t for t in out if isinstance(t, torch.Tensor)), None)
    return next((t for t in tree_leaves(out) if isinstance(t, torch.Tensor)), None)


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
        flows = []
        for a in args:
            kind = type(a)
            if kind in _SCALAR_TYPES:  # sizes, flags, dtypes: most arguments, told apart by one set lookup
                continue
            if kind is list or kind is tuple:
                if a and isinstance(a[0], torch.Tensor):
                    flows.extend(f for f in (getattr(t, ATTRIBUTE, None) for t in a) if f is not None)
            elif isinstance(a, torch.Tensor):
                f = getattr(a, ATTRIBUTE, None)
                if f is not None:
                    flows.append(f)
                elif id(a) in self.weights:
                    flows.append(WEIGHT)
        return flows

    def _flow_key(self, args: tuple) -> tuple:
        """Each tensor operand's flow and whether it is a parameter, in order (the call key already fixes where the
        tensors are): with the call key, all a result flow reads."""
        weights = self.weights
        parts: list[Any] = []
        for a in args:
            kind = type(a)
            if kind in _SCALAR_TYPES:
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
        key = _call_key(args, kwargs) if plan.memoizable else None
        memo = plan.calls.get(key) if key is not None else None
        if memo is not None:
            out = _replay(memo, args)
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
                flow = result_flow(plan.packet, args, result, flows)
                if len(plan.flows) >= _MEMO_LIMIT:
                    plan.flows.clear()
                plan.flows[flow_key] = flow
        else:
            flow = result_flow(plan.packet, args, result, flows)
        if flow is not None:
            self._attach(out, result, flow)
        stack = self.tracker.stack
        if not stack:  # not inside any module's forward: nothing to charge
            if key is not None and memo is None:
                _remember(plan.calls, key, args, out, None)
            return out
        run = stack[-1]
        if plan.counted:
            cost = memo.cost if memo is not None else None
            if cost is None:
                cost = self._cost(plan.formula, func, args, kwargs, out)
                if key is not None:
                    _remember(plan.calls, key, args, out, cost)
            if cost.category is OpCategory.MATMUL and any(f is WEIGHT for f in flows):
                cost = replace(cost, category=OpCategory.LINEAR)
            run.ops.append(cost)
            if result is not None:
                run.last_result_shape = tuple(result.shape)
                run.last_flow = flow
        elif key is not None and memo is None:
            _remember(plan.calls, key, args, out, None)
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
