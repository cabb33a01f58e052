"""`analyze_training(model, input_size, …)`: the cost of one training step — forward, backward, optimizer — on meta.

The forward runs in train mode (batch norm with batch statistics, dropout masks, in-place activations as the model
wrote them) with gradients on, under the same counting mode as `analyze`; then autograd runs the backward on the
meta device and every backward aten op is costed by its own formula (`analyzers.training.formulas`).

Charging a backward op to the module whose forward created it: autograd numbers the nodes it creates in order
(`Node._sequence_nr`), the module tracker marks that numbering at every module boundary, and during the backward
`torch._C._current_autograd_node()` names the node each op belongs to; a parameter's gradient accumulation belongs
to the module whose op used the parameter first.

Freezing is what PyTorch does with `requires_grad=False`: a frozen layer computes no weight gradient, and before
the first trainable layer autograd records nothing, so no input gradients and no saved activations there.
"""

from __future__ import annotations

import contextlib
import threading
from bisect import bisect_right
from dataclasses import dataclass, field, fields
from typing import Any, Iterator, Sequence

import torch
from torch import nn
from torch.overrides import TorchFunctionMode
from torch.utils._pytree import tree_leaves

from analyzers.counting.analyze import call_inputs
from analyzers.counting.isolation import ModelCopy, run_isolated
from analyzers.counting.inputs import Inputs
from analyzers.counting.tree import build_records, model_totals
from analyzers.training.formulas import BackwardCost, backward_cost
from analyzers.shapes.backward import BackwardResult, stand_in_for
from analyzers.counting.memo import call_key, remember, replay, returns_fresh_tensors
from analyzers.counting.mode import CountingMode, ModuleRun, ModuleTracker
from analyzers.devices import Precision
from analyzers.errors import AnalysisError, ModelRunError, UserError, first_line
from analyzers.records import Analysis, LayerRecord, OpKind, RecordKind, with_state
from analyzers.training.freezing import freeze_point, frozen_parameter_names
from analyzers.training.memory import (STEP_DEVICES, LiveMemory, Optimizer, OptimizerImpl, Phase, SavedTensors,
                                      StepMemory, step_memory)

__all__ = ["TrainingAnalysis", "TrainingLayer", "TrainingTotals", "analyze_training"]

# ---------------------------------------------------------------- results


@dataclass(frozen=True)
class TrainingLayer:
    """One record of the forward analysis with what the training step adds to it: the record keeps the module tree
    and the forward numbers; a container's backward costs add up its children's, as its forward numbers do."""

    record: LayerRecord
    trainable_params: int
    backward_input_macs: int
    backward_weight_macs: int
    backward_elementwise_ops: int
    saved_activation_bytes: int
    backward_uncounted_ops: tuple[str, ...] = ()

    @property
    def name(self) -> str:
        return self.record.name

    @property
    def type(self) -> str:
        return self.record.type

    @property
    def kind(self) -> RecordKind:
        return self.record.kind

    @property
    def depth(self) -> int:
        return self.record.depth

    @property
    def params(self) -> int:
        return self.record.params

    @property
    def forward_macs(self) -> int:
        return self.record.macs

    @property
    def forward_elementwise_ops(self) -> int:
        return self.record.elementwise_ops

    @property
    def is_leaf(self) -> bool:
        return self.kind is not RecordKind.CONTAINER

    @property
    def backward_macs(self) -> int:
        return self.backward_input_macs + self.backward_weight_macs

    @property
    def backward_to_forward(self) -> float | None:
        """Backward MACs ÷ forward MACs; None for a layer without forward MACs."""
        return self.backward_macs / self.forward_macs if self.forward_macs else None


_TRAINING_LAYER_FIELDS = frozenset(f.name for f in fields(TrainingLayer))


@dataclass(frozen=True)
class TrainingTotals:
    """The whole step: the root record's sums, plus backward ops that ran outside every module (a loss on the
    output), and how many backward op calls had no formula."""

    params: int
    trainable_params: int
    forward_macs: int
    forward_elementwise_ops: int
    backward_input_macs: int
    backward_weight_macs: int
    backward_elementwise_ops: int
    backward_uncounted_ops: int

    @property
    def backward_macs(self) -> int:
        return self.backward_input_macs + self.backward_weight_macs

    @property
    def step_macs(self) -> int:
        return self.forward_macs + self.backward_macs

    @property
    def backward_to_forward(self) -> float | None:
        return self.backward_macs / self.forward_macs if self.forward_macs else None


@dataclass(frozen=True)
class TrainingAnalysis:
    """One training step of `batch_size` inputs: the forward analysis (train mode), per-layer backward costs in the
    same order as `forward.records`, totals and the step's memory."""

    forward: Analysis
    layers: tuple[TrainingLayer, ...]
    totals: TrainingTotals
    memory: StepMemory
    optimizer: Optimizer
    precision: Precision
    frozen_through: str | None  # the module up to which parameters are frozen; None: nothing frozen
    frozen_params: int
    device: str = "cuda"  # the device the step is told for ("cuda", "cpu"): its optimizer default, its caveats

    @property
    def batch_size(self) -> int:
        return self.forward.batch_size

    def leaves(self) -> list[TrainingLayer]:
        return [layer for layer in self.layers if layer.is_leaf]

    def layer(self, name: str) -> TrainingLayer:
        return next(layer for layer in self.layers if layer.name == name)


# ---------------------------------------------------------------- counting


@dataclass
class _BackwardTally:
    input_macs: int = 0
    weight_macs: int = 0
    elementwise_ops: int = 0
    uncounted: list[str] = field(default_factory=list)

    def add(self, cost: BackwardCost) -> None:
        self.input_macs += cost.input_macs
        self.weight_macs += cost.weight_macs
        self.elementwise_ops += cost.elementwise_ops
        if cost.kind is OpKind.UNCOUNTED:
            self.uncounted.append(cost.op)


_NEXT_SEQUENCE_NR = torch._C._autograd._get_sequence_nr  # the number autograd gives the next node it creates
_LEAF_SEQUENCE_NR = 2**64 - 1  # an AccumulateGrad node's (it belongs to a parameter, not to an op)


class _NodeRuns(ModuleTracker):
    """The module tracker, plus: which module run created each autograd node. Autograd numbers the nodes it
    creates in order (`Node._sequence_nr`), so the module boundaries are kept as marks on that numbering: a node
    belongs to the innermost module running when it was made. A parameter's AccumulateGrad node has no number of its
    own: it belongs to the module whose op used the parameter first (the counting mode records those)."""

    def __init__(self, named_modules: list[tuple[str, nn.Module]]) -> None:
        super().__init__(named_modules)
        self.marks: list[int] = []  # sequence numbers from which…
        self.mark_runs: list[ModuleRun | None] = []  # …nodes belong to this run (None: outside the model)
        self.parameter_users: dict[int, ModuleRun | None] = {}  # id(parameter) → the run whose op used it first

    def _mark(self, run: ModuleRun | None) -> None:
        number = _NEXT_SEQUENCE_NR()
        if self.marks and self.marks[-1] == number:  # no node made since the last mark
            self.mark_runs[-1] = run
        else:
            self.marks.append(number)
            self.mark_runs.append(run)

    def _pre(self, run: ModuleRun, args: Any) -> None:
        super()._pre(run, args)
        self._mark(run)

    def _post(self, run: ModuleRun, args: Any, output: Any) -> None:
        super()._post(run, args, output)
        self._mark(self.current)

    def run_of(self, node: Any) -> ModuleRun | None:
        """The run that made autograd node `node`."""
        number = node._sequence_nr()
        if number == _LEAF_SEQUENCE_NR:
            return self.parameter_users.get(id(getattr(node, "variable", None)))
        i = bisect_right(self.marks, number) - 1
        return self.mark_runs[i] if i >= 0 else None


_VIEW_NODES = ("TBackward0", "ViewBackward0", "PermuteBackward0", "TransposeBackward0", "ExpandBackward0",
               "UnsafeViewBackward0", "ReshapeAliasBackward0", "ToCopyBackward0")


def _reaches_parameter(node: Any, depth: int = 3) -> bool:
    """True when one of the node's inputs is a trainable parameter (directly or through views): its matrix products
    that do not involve a parameter compute that parameter's gradient."""
    for child, _ in node.next_functions:
        if child is None:
            continue
        name = child.name()
        if name == "torch::autograd::AccumulateGrad":
            return True
        if depth > 1 and name in _VIEW_NODES and _reaches_parameter(child, depth - 1):
            return True
    return False


@dataclass(slots=True)
class _BackwardPlan:
    """What to do for one backward op overload, worked out at its first call: whether its results are fresh memory
    (then each call's result metadata and cost are remembered by the call's key, as the forward's are) and, once its
    first cost is known, whether it is data movement (nothing to cost: views, copies)."""

    memoizable: bool
    fast: BackwardResult | None  # its shape stand-in (`analyzers.shapes.backward`), or None
    data: bool = False
    calls: dict = field(default_factory=dict)  # call key → _Memo (its cost a BackwardCost)


_BACKWARD_PLANS: dict[int, _BackwardPlan] = {}  # id(op overload) → plan, shared by analyses like the forward's


def _backward_plan(func: Any) -> _BackwardPlan:
    plan = _BACKWARD_PLANS[id(func)] = _BackwardPlan(memoizable=returns_fresh_tensors(func), fast=stand_in_for(func))
    return plan


class _TrainingMode(CountingMode):
    """The forward counting mode, which in the backward phase costs ops with the backward formulas and charges
    them to the run that claimed the executing autograd node; every allocation goes to the live-memory tracker."""

    def __init__(self, tracker: _NodeRuns, weights: set[int], state: set[int], parameter_storages: set[int],
                 memory: LiveMemory) -> None:
        super().__init__(tracker, None, weights=weights, state=state)
        self.nodes = tracker
        self.phase = Phase.FORWARD
        self.parameter_storages = parameter_storages
        self.memory = memory
        self.tallies: dict[int, _BackwardTally] = {}  # id(module) → its backward costs
        self.unclaimed = _BackwardTally()
        self._weight_nodes: dict[Any, bool] = {}

    def __torch_dispatch__(self, func: Any, types: Any, args: tuple = (), kwargs: dict | None = None) -> Any:
        if self.phase is Phase.FORWARD:
            out = super().__torch_dispatch__(func, types, args, kwargs)
            stack = self.tracker.stack
            run = stack[-1] if stack else None
            self.memory.observe(func, out, Phase.FORWARD, run.name if run is not None else "")
            weights, users = self.weights, self.nodes.parameter_users
            for a in args:
                if type(a) is torch.Tensor and id(a) in weights and id(a) not in users:
                    users[id(a)] = run
            return out
        kwargs = kwargs or {}
        plan = _BACKWARD_PLANS.get(id(func)) or _backward_plan(func)
        key = call_key(args, kwargs) if plan.memoizable else None
        memo = plan.calls.get(key) if key is not None else None
        if memo is not None:
            out = replay(memo, args)
        else:
            out = plan.fast(args, kwargs) if plan.fast is not None else None
            if out is None:
                out = func(*args, **kwargs)
        node = torch._C._current_autograd_node()
        run = self.nodes.run_of(node) if node is not None else None
        self.memory.observe(func, out, Phase.BACKWARD, run.name if run is not None else "")
        if plan.data:  # views and copies (most of a backward's calls): nothing to cost
            return out
        if memo is not None:
            cost = memo.cost
        else:
            cost = backward_cost(func, args, kwargs, out)
            if key is not None:
                remember(plan.calls, key, args, out, cost)
        if cost.kind is OpKind.DATA:
            plan.data = True
            return out
        if cost.splittable and node is not None and self._makes_weight_gradient(node, args):
            cost = cost.as_weight_gradient()
        if run is None:
            self.unclaimed.add(cost)
        else:
            tally = self.tallies.get(id(run.module))
            if tally is None:
                tally = self.tallies[id(run.module)] = _BackwardTally()
            tally.add(cost)
        return out

    def _makes_weight_gradient(self, node: Any, args: tuple) -> bool:
        """A product in the backward of a layer with a trainable weight, not itself using that weight."""
        if any(isinstance(a, torch.Tensor) and a.untyped_storage()._cdata in self.parameter_storages for a in args):
            return False  # grad_output · W: the input's gradient
        known = self._weight_nodes.get(node)
        if known is None:
            known = self._weight_nodes[node] = _reaches_parameter(node)
        return known


_SDPA = torch.nn.functional.scaled_dot_product_attention
_MHA = torch.nn.functional.multi_head_attention_forward


def _fused_attention(args: tuple, kwargs: dict) -> torch.Tensor:
    q, k, v = args[:3]
    dropout = kwargs.get("dropout_p", args[4] if len(args) > 4 else 0.0)
    causal = kwargs.get("is_causal", args[5] if len(args) > 5 else False)
    mask = kwargs.get("attn_mask", args[3] if len(args) > 3 else None)
    return torch.ops.aten._scaled_dot_product_flash_attention_for_cpu(
        q, k, v, dropout, causal, attn_mask=mask, scale=kwargs.get("scale"))[0]


def _routed_attention(*args: Any, **kwargs: Any) -> torch.Tensor:
    """`scaled_dot_product_attention` as `F.multi_head_attention_forward` calls it during a step: fused on meta."""
    device = getattr(_ROUTING, "device", None)
    if device is not None and _fusable(args, kwargs, device):
        return _fused_attention(args, kwargs)
    return _SDPA(*args, **kwargs)


_ROUTING_LOCK = threading.Lock()
_routing_depth = 0
_ROUTING = threading.local()  # the step device of the analysis running in this thread, while it routes


@contextlib.contextmanager
def _attention_routed_inside_mha(device: str) -> Iterator[None]:
    """`F.multi_head_attention_forward` calls the module's global `scaled_dot_product_attention`, and a function
    mode is off inside its own handler, so the mode cannot see that call: for the handler's duration the global
    names the router (counted across threads; it passes every call that is not on meta through unchanged)."""
    global _routing_depth
    functional = vars(torch.nn.functional)
    with _ROUTING_LOCK:
        if _routing_depth == 0:
            functional["scaled_dot_product_attention"] = _routed_attention
        _routing_depth += 1
    outer, _ROUTING.device = getattr(_ROUTING, "device", None), device
    try:
        yield
    finally:
        _ROUTING.device = outer
        with _ROUTING_LOCK:
            _routing_depth -= 1
            if _routing_depth == 0:
                functional["scaled_dot_product_attention"] = _SDPA


class _FusedAttention(TorchFunctionMode):
    """On the meta device `scaled_dot_product_attention` falls back to the unfused math (softmax matrices saved for
    backward); on a CPU or GPU with gradients on, PyTorch runs a fused kernel that saves only the output and the
    log-sum-exp. Route it to that kernel (`_scaled_dot_product_flash_attention_for_cpu`) so the step is the real one,
    whether a model calls it or nn.MultiheadAttention does (through `F.multi_head_attention_forward`), where the
    step's device would run it fused (the CPU does not with dropout)."""

    def __init__(self, device: str) -> None:
        super().__init__()
        self.device = device

    def __torch_function__(self, func: Any, types: Any, args: tuple = (), kwargs: dict | None = None) -> Any:
        kwargs = kwargs or {}
        if (func is _SDPA or func is _routed_attention) and _fusable(args, kwargs, self.device):
            return _fused_attention(args, kwargs)
        if func is _MHA:
            with _attention_routed_inside_mha(self.device):
                return func(*args, **kwargs)
        return func(*args, **kwargs)


def _may_call_attention(named_modules: list[tuple[str, nn.Module]]) -> bool:
    """Whether the model has attention modules (nn.MultiheadAttention, or a class named …Attention/…Attn, as
    timm's, torchvision's and transformers' are): only then is the function mode worth its per-call cost."""
    return any(isinstance(m, nn.MultiheadAttention) or "attention" in type(m).__name__.lower()
               or "attn" in type(m).__name__.lower() for _, m in named_modules)


def _fusable(args: tuple, kwargs: dict, device: str) -> bool:
    """Whether the step's device runs this attention fused: 4-d q, k, v with as many heads, a float dtype; on the
    CPU only without dropout (its flash kernel refuses dropout, and torch falls back to the math path)."""
    q, k, v = args[:3]
    dropout = kwargs.get("dropout_p", args[4] if len(args) > 4 else 0.0)
    return (q.is_meta and q.dim() == 4 and k.dim() == 4 and v.dim() == 4 and q.shape[1] == k.shape[1]
            and not kwargs.get("enable_gqa", False) and q.dtype in (torch.float32, torch.bfloat16, torch.float16)
            and (device != "cpu" or not dropout))


def analyze_training(
    model: nn.Module,
    input_size: Sequence[int] | None = None,
    batch_size: int = 1,
    *,
    inputs: Inputs | None = None,
    optimizer: Optimizer | str = Optimizer.SGD,
    optimizer_impl: OptimizerImpl | str | None = None,
    device: str = "cuda",
    freeze: str | None = None,
    freeze_stages: int | None = None,
    precision: Precision | str = Precision.FP32,
    model_name: str | None = None,
) -> TrainingAnalysis:
    """Count one training step of `model` — forward in train mode, backward, optimizer — and its memory.

    Both passes run on the meta device; the model is left exactly as it was found.

    Args:
        model: any `nn.Module`.
        input_size: one input's size without the batch dimension, e.g. `(3, 224, 224)`, as `analyze` takes it.
            Give this or `inputs`, not both.
        batch_size: the batch of one step, a positive integer.
        inputs: instead of `input_size`, every input with its batch and dtype, as `analyze` takes them
            (`{"input_ids": InputSpec((8, 128), torch.int64)}`: token models).
        optimizer: `Optimizer.SGD` (no state), `MOMENTUM` (one buffer per weight), `ADAM` or `ADAMW` (two), or
            their names (`"adamw"`).
        optimizer_impl: how the optimizer's update runs, which sets its temporaries: `"for-loop"`, `"foreach"` or
            `"fused"`; None picks PyTorch's default on `device` (CUDA foreach, CPU for-loop).
        device: where the step would run, `"cuda"` or `"cpu"`.
        freeze: a module's name: it and every module defined before it are frozen (`requires_grad=False`).
        freeze_stages: instead of `freeze`, how many of `stage_names(model)` to freeze, from the first.
        precision: `fp32`, or `fp16`/`bf16` for mixed precision: the model computes and stores in that dtype and
            the optimizer keeps fp32 master weights.
        model_name: the name the analysis reports (default: the model's class name).

    Returns:
        A `TrainingAnalysis`: the forward `Analysis`, one `TrainingLayer` per record with its backward costs,
        totals, and the step's memory (`StepMemory`: weights, gradients, optimizer state, activations, peak).

    Raises:
        UserError: one line for a bad size, optimizer, precision or freeze point; `ModelRunError` where the step
            fails on the meta device.
    """
    return run_isolated(lambda private_tables: _analyze_training(
        model, input_size, batch_size, inputs, optimizer, optimizer_impl, device, freeze, freeze_stages, precision,
        model_name, private_tables))


def _analyze_training(model: nn.Module, input_size: Sequence[int] | None, batch_size: int, inputs: Inputs | None,
                      optimizer: Optimizer | str, optimizer_impl: OptimizerImpl | str | None, device: str,
                      freeze: str | None, freeze_stages: int | None, precision: Precision | str,
                      model_name: str | None, private_tables: bool) -> TrainingAnalysis:
    optimizer = Optimizer.parse(optimizer)
    if device not in STEP_DEVICES:
        raise UserError(f"a training step's device must be one of {', '.join(STEP_DEVICES)}, got {device!r}")
    impl = OptimizerImpl.default_for(device) if optimizer_impl is None else OptimizerImpl.parse(optimizer_impl)
    try:
        precision = Precision(str(precision).lower())
    except ValueError:
        raise UserError(f"unknown precision {precision!r}; choose one of {', '.join(p.value for p in Precision)}")
    dtype = precision.torch_dtype
    call = call_inputs(model, input_size, batch_size, dtype, inputs, "meta", None)
    point = freeze_point(model, freeze=freeze, freeze_stages=freeze_stages)
    frozen = frozen_parameter_names(model, point)

    named_modules = list(model.named_modules())
    parameters = dict(model.named_parameters())

    def stand_in(module: str, leaf: str, t: torch.Tensor, is_parameter: bool) -> torch.Tensor:
        """An empty meta tensor in the step's dtype; a trainable parameter's requires its gradient."""
        floating = t.is_floating_point()
        copy = torch.empty(t.shape, dtype=dtype if floating else t.dtype, device="meta")
        if is_parameter and floating and not (frozen and (f"{module}.{leaf}" if module else leaf) in frozen):
            copy.requires_grad_(True)
        return copy

    copy = ModelCopy(named_modules, stand_in, training=True, private_tables=private_tables)
    tracker = _NodeRuns(named_modules)
    stand_in_params = copy.parameters
    parameter_storages = {p.untyped_storage()._cdata for p in stand_in_params}
    buffer_storages = {b.untyped_storage()._cdata for b in copy.buffers}
    memory = LiveMemory()
    mode = _TrainingMode(tracker, weights={id(p) for p in stand_in_params},
                         state={id(t) for t in (*stand_in_params, *copy.buffers)},
                         parameter_storages=parameter_storages, memory=memory)
    stack = tracker.stack
    saved = SavedTensors(parameter_storages | buffer_storages, where=lambda: id(stack[-1].module) if stack else None)
    try:
        tracker.track(copy.modules)
        fused = _FusedAttention(device) if _may_call_attention(named_modules) else contextlib.nullcontext()
        with torch.enable_grad(), mode, fused:
            with saved.hooks():
                output = copy.root(*call.args, **call.kwargs)
            mode.phase = Phase.BACKWARD
            roots = [t for t in tree_leaves(output) if isinstance(t, torch.Tensor) and t.requires_grad]
            if roots:
                _run_backward(roots, [torch.empty_like(t) for t in roots])
            del roots  # the output stays alive through the optimizer step, as a training loop's `out` does
    except AnalysisError:
        raise
    except Exception as exc:
        where = tracker.current_name or "model"
        raise ModelRunError(f"{where}: training step failed on the meta device: {first_line(exc)}") from exc
    finally:
        copy.release()
    segments = memory.finish()
    del output

    records = build_records(model, named_modules, tracker, dtype)
    forward = Analysis(
        model_name=model_name or type(model).__name__,
        input_size=call.input_size,
        batch_size=call.batch_size,
        dtype=dtype,
        records=records,
        totals=model_totals(records, tracker.runs[id(model)].output_depth),
        inputs=call.described,
    )
    layers = _training_layers(forward, tracker, mode.tallies, saved.by_owner, named_modules, frozen)
    trainable_sizes = [p.numel() for name, p in parameters.items() if name not in frozen and p.is_floating_point()]
    itemsize = torch.empty((), dtype=dtype).element_size()
    memory_result = step_memory(
        parameter_bytes=sum(t.numel() * t.element_size() for t in stand_in_params),
        buffer_bytes=sum(t.numel() * t.element_size() for t in copy.buffers), trainable_sizes=trainable_sizes,
        gradient_itemsize=itemsize, optimizer=optimizer, optimizer_impl=impl, device=device,
        mixed_precision=precision in (Precision.FP16, Precision.BF16),
        input_bytes=sum(t.numel() * t.element_size() for t in call.tensors), saved=saved, segments=segments)
    root, unclaimed = layers[0], mode.unclaimed  # the root sums the model; unclaimed: backward ops outside it
    totals = TrainingTotals(
        params=forward.totals.params,
        trainable_params=root.trainable_params,
        forward_macs=forward.totals.macs,
        forward_elementwise_ops=forward.totals.elementwise_ops,
        backward_input_macs=root.backward_input_macs + unclaimed.input_macs,
        backward_weight_macs=root.backward_weight_macs + unclaimed.weight_macs,
        backward_elementwise_ops=root.backward_elementwise_ops + unclaimed.elementwise_ops,
        backward_uncounted_ops=sum(len(t.uncounted) for t in mode.tallies.values()) + len(unclaimed.uncounted),
    )
    return TrainingAnalysis(forward=forward, layers=layers, totals=totals, memory=memory_result,
                            optimizer=optimizer, precision=precision, frozen_through=point,
                            frozen_params=sum(parameters[n].numel() for n in frozen), device=device)


@dataclass(slots=True)
class _Subtree:
    """The backward costs, saved bytes and trainable parameters of a set of module runs, added up."""

    input_macs: int = 0
    weight_macs: int = 0
    elementwise_ops: int = 0
    saved_bytes: int = 0
    trainable: int = 0
    uncounted: list[str] = field(default_factory=list)

    def add(self, tally: _BackwardTally, saved_bytes: int, trainable: int) -> None:
        self.input_macs += tally.input_macs
        self.weight_macs += tally.weight_macs
        self.elementwise_ops += tally.elementwise_ops
        self.saved_bytes += saved_bytes
        self.trainable += trainable
        self.uncounted.extend(tally.uncounted)

    def copy(self) -> "_Subtree":
        return _Subtree(self.input_macs, self.weight_macs, self.elementwise_ops, self.saved_bytes, self.trainable,
                        list(self.uncounted))

    def merge(self, other: "_Subtree") -> None:
        """Add another subtree's numbers and uncounted op names."""
        self.input_macs += other.input_macs
        self.weight_macs += other.weight_macs
        self.elementwise_ops += other.elementwise_ops
        self.saved_bytes += other.saved_bytes
        self.trainable += other.trainable
        self.uncounted.extend(other.uncounted)


def _run_backward(roots: list[torch.Tensor], seeds: list[torch.Tensor]) -> None:
    """`torch.autograd.backward(roots, seeds)` without its Python checks of the seeds, which import sympy on first
    use (~1 s and ~60 MB in a fresh process): our seeds are `empty_like` their roots, so there is nothing to check."""
    run = getattr(torch.autograd.graph, "_engine_run_backward", None)
    if run is None:  # a torch without it: the public call
        torch.autograd.backward(roots, seeds)
        return
    run(tuple(roots), tuple(seeds), False, False, (), allow_unreachable=True, accumulate_grad=True)


def _training_layers(forward: Analysis, tracker: ModuleTracker, tallies: dict[int, _BackwardTally],
                     saved_by_owner: dict[Any, int], named_modules: list[tuple[str, nn.Module]],
                     frozen: set[str]) -> tuple[TrainingLayer, ...]:
    """One `TrainingLayer` per forward record, on the analysis tree: a leaf gets its module run's own costs, a
    container's functional row the container's own, and a container the sum of its children (its own costs
    included, also where it has no functional row), as `counting.tree` sums the forward numbers."""
    trainable_by_module: dict[str, int] = {}
    seen: set[int] = set()
    for name, module in named_modules:
        count = 0
        for pname, p in module._parameters.items():
            if p is not None and id(p) not in seen:
                seen.add(id(p))
                if not frozen or (f"{name}.{pname}" if name else pname) not in frozen:
                    count += p.numel()
        trainable_by_module[name] = count
    empty = _BackwardTally()
    own: dict[str, _Subtree] = {}
    for run in tracker.runs.values():
        key = id(run.module)
        own[run.name] = subtree = _Subtree()
        subtree.add(tallies.get(key, empty), saved_by_owner.get(key, 0), trainable_by_module.get(run.name, 0))

    nothing = _Subtree()
    costs: dict[str, _Subtree] = {}
    functional: set[str] = set()
    for record in reversed(forward.records):  # a container comes before its children: reversed, they come first
        if record.kind is RecordKind.FUNCTIONAL:
            costs[record.name] = own.get(record.parent or "", nothing)
            functional.add(record.name)
        elif record.kind is RecordKind.CONTAINER:
            total = own.get(record.name, nothing).copy()
            for child in record.children:
                if child not in functional:  # that row is the container's own costs, counted above
                    total.merge(costs[child])
            costs[record.name] = total
        else:
            costs[record.name] = own.get(record.name, nothing)
    return tuple(with_state(TrainingLayer, dict(
        record=record,
        trainable_params=costs[record.name].trainable,
        backward_input_macs=costs[record.name].input_macs,
        backward_weight_macs=costs[record.name].weight_macs,
        backward_elementwise_ops=costs[record.name].elementwise_ops,
        saved_activation_bytes=costs[record.name].saved_bytes,
        backward_uncounted_ops=tuple(dict.fromkeys(costs[record.name].uncounted)),
    ), _TRAINING_LAYER_FIELDS) for record in forward.records)
