"""Memory of one training step: what lives for the whole step, what autograd saves, and the live bytes over time.

Why measured rather than guessed from layer outputs: what autograd keeps for backward depends on the op (a ReLU
saves its output, a conv its input, batch norm its input and two per-channel statistics, dropout a boolean mask,
an in-place op shares its input's storage). `SavedTensors` records exactly what autograd hands to
`torch.autograd.graph.saved_tensors_hooks`, de-duplicated by storage, parameters and buffers excluded (they are
static memory, counted once in their own columns); `LiveMemory` follows every tensor the step allocates on the meta
device until the last reference to its storage dies, which gives the timeline and its peak.

Included (steady state: the step after the first, `zero_grad(set_to_none=True)`, PyTorch's default):
- parameters, module buffers (batch norm's running statistics), the input batch, optimizer state (SGD none; SGD
  with momentum one buffer; Adam/AdamW two moments and a 4-byte `step` tensor per parameter) in fp32, and fp32
  master weights when the model computes in fp16/bf16 (mixed precision): live all step;
- activations, saved tensors and gradients as the forward and backward allocate and free them (parameter gradients
  stay until the optimizer step);
- the optimizer step's temporaries, as the implementation PyTorch picks for the device runs it (`OptimizerImpl`):
  Adam's for-loop (the CPU's default) builds √v and √v/c for one parameter at a time while the previous one's
  denominator is still bound; its multi-tensor (foreach) form (CUDA's default) one buffer of every parameter's
  size; the fused kernel none; SGD none in any form.
Not included: the CUDA context, allocator rounding and cache, cuDNN/cuBLAS workspaces and oneDNN's convolution
scratch on the CPU (allocated inside the aten op, invisible at the dispatch level), the loss function.
"""

from __future__ import annotations

import enum
import weakref
from dataclasses import dataclass
from typing import Any, Callable

import torch

from analyzers.errors import UserError

__all__ = [
    "LiveMemory", "Optimizer", "Phase", "SavedTensors", "StepMemory", "TimelinePoint", "largest_batch",
    "optimizer_state_bytes", "step_memory",
]


class Optimizer(enum.StrEnum):
    SGD = "sgd"
    MOMENTUM = "momentum"  # SGD with momentum
    ADAM = "adam"
    ADAMW = "adamw"

    @property
    def state_copies(self) -> int:
        """fp32 tensors of parameter size the optimizer keeps per trainable parameter."""
        return {"sgd": 0, "momentum": 1, "adam": 2, "adamw": 2}[self.value]

    @property
    def step_tensor_bytes(self) -> int:
        """Bytes of the per-parameter `step` count it keeps (Adam's is a float32 scalar tensor)."""
        return 4 if self in (Optimizer.ADAM, Optimizer.ADAMW) else 0

    @classmethod
    def parse(cls, text: str | "Optimizer") -> "Optimizer":
        try:
            return cls(str(text).lower())
        except ValueError:
            raise UserError(f"unknown optimizer {text!r}; choose one of {', '.join(o.value for o in cls)}") from None


class OptimizerImpl(enum.StrEnum):
    """How PyTorch runs the update (`foreach=`, `fused=` of torch.optim): with neither given it takes the
    multi-tensor form when every parameter is on a CUDA (or XPU) device and the for-loop otherwise, the CPU included;
    the fused kernel only when asked."""

    FOR_LOOP = "for-loop"
    FOREACH = "foreach"
    FUSED = "fused"

    @classmethod
    def default_for(cls, device: str) -> "OptimizerImpl":
        return cls.FOREACH if device in _FOREACH_DEVICES else cls.FOR_LOOP

    @classmethod
    def parse(cls, text: str | "OptimizerImpl") -> "OptimizerImpl":
        try:
            return cls(str(text).lower())
        except ValueError:
            raise UserError(f"unknown optimizer implementation {text!r}; choose one of "
                            f"{', '.join(o.value for o in cls)}") from None


_FOREACH_DEVICES = ("cuda", "xpu")  # torch.optim's foreach-by-default devices
STEP_DEVICES = ("cuda", "cpu")  # the devices a step's memory can be told for


_CPU_SCALAR_OPERAND_BYTES = 8 + 4  # a Python float operand: a 0-dim float64 tensor and its float32 copy


def optimizer_step_bytes(optimizer: Optimizer, impl: OptimizerImpl, trainable_sizes: list[int], device: str,
                         itemsize: int = 4) -> int:
    """The most bytes the update allocates at once beyond its state, for trainable parameters of `trainable_sizes`
    elements in the optimizer's order. SGD (with or without momentum) and every fused kernel update in place.
    Adam's foreach: `_foreach_sqrt` of every second moment at once. Adam's for-loop, per parameter i:
    `denom = (v_i.sqrt() / c).add_(eps)` holds √v_i and the quotient together while `denom` still names
    parameter i − 1's (it is rebound only once the new one exists): p_(i−1) + 2·p_i at its highest. On the CPU the
    division by a Python float (the bias correction) also holds that scalar as a tensor, twice (12 B), in both
    forms."""
    if optimizer in (Optimizer.SGD, Optimizer.MOMENTUM) or impl is OptimizerImpl.FUSED:
        return 0
    scalar = _CPU_SCALAR_OPERAND_BYTES if device == "cpu" else 0
    if impl is OptimizerImpl.FOREACH:
        return sum(trainable_sizes) * itemsize + scalar
    most = previous = 0
    for size in trainable_sizes:
        most = max(most, previous + 2 * size)
        previous = size
    return most * itemsize + scalar


class Phase(enum.StrEnum):
    FORWARD = "forward"
    BACKWARD = "backward"
    OPTIMIZER = "optimizer step"


@dataclass(frozen=True)
class TimelinePoint:
    """Live dynamic bytes (activations, saved tensors, gradients) while one layer's forward or backward runs."""

    index: int  # position in the step
    phase: Phase
    layer: str  # the module the ops were charged to ("" outside any module)
    live_bytes: int  # at the end of this segment, static bytes included
    peak_bytes: int  # the highest point within the segment, static bytes included


@dataclass(frozen=True)
class StepMemory:
    """Bytes of one training step; every field is bytes."""

    parameter_bytes: int
    buffer_bytes: int  # module buffers: batch norm's running statistics and counters
    gradient_bytes: int  # trainable parameters' gradients
    optimizer_state_bytes: int
    master_weight_bytes: int  # fp32 copies under mixed precision, else 0
    input_bytes: int
    saved_activation_bytes: int  # what autograd saves for backward (unique storages, parameters and buffers excluded)
    saved_tensors: int  # their number
    optimizer_step_bytes: int  # the step's temporaries
    peak_bytes: int  # the highest live total over forward, backward and the optimizer step
    peak_phase: Phase
    peak_layer: str
    timeline: tuple[TimelinePoint, ...]
    optimizer_impl: OptimizerImpl = OptimizerImpl.FOREACH

    @property
    def static_bytes(self) -> int:
        """Live for the whole step: parameters, buffers, optimizer state, master weights, the input batch."""
        return (self.parameter_bytes + self.buffer_bytes + self.optimizer_state_bytes + self.master_weight_bytes
                + self.input_bytes)


def optimizer_state_bytes(optimizer: Optimizer, trainable_elements: int, trainable_tensors: int = 0) -> int:
    """fp32 state copies of every trainable element, plus Adam's 4-byte `step` per trainable tensor."""
    return optimizer.state_copies * trainable_elements * 4 + optimizer.step_tensor_bytes * trainable_tensors


class SavedTensors:
    """A `saved_tensors_hooks` pack hook that records each saved storage once, charged to the module running."""

    def __init__(self, excluded_storages: set[int], where: Any) -> None:
        self.excluded = excluded_storages  # parameters' storages: they are memory anyway, not activations
        self.where = where  # () → the key saved bytes are charged to
        self.storages: dict[int, int] = {}
        self.by_owner: dict[Any, int] = {}

    def pack(self, t: torch.Tensor) -> torch.Tensor:
        storage = t.untyped_storage()
        key = storage._cdata
        if key not in self.storages and key not in self.excluded:
            size = self.storages[key] = storage.nbytes()
            owner = self.where()
            self.by_owner[owner] = self.by_owner.get(owner, 0) + size
        return t

    @staticmethod
    def unpack(t: torch.Tensor) -> torch.Tensor:
        return t

    def hooks(self) -> torch.autograd.graph.saved_tensors_hooks:
        return torch.autograd.graph.saved_tensors_hooks(self.pack, self.unpack)

    @property
    def total_bytes(self) -> int:
        return sum(self.storages.values())


class _StorageRef(weakref.ref):
    """A weak reference to a storage that remembers its key and its bytes."""

    __slots__ = ("key", "nbytes")


_ALLOCATES: dict[int, tuple[bool, ...]] = {}  # id(op overload) → which of its results are new memory


class LiveMemory:
    """Follows each storage a step allocates until it is freed: a weak reference to the storage's Python object,
    which PyTorch keeps alive exactly as long as the storage (while any tensor on it — a view, a saved output's
    shallow copy in the autograd graph, a `.grad` — still holds it, the object is preserved).

    `observe` runs for every op of the step, so it is kept to dict lookups, and views and in-place results (which
    allocate nothing: their storage is tracked already, or is a parameter's or the input's) are skipped by their
    schema. The segments (one per run of ops charged to the same layer and phase) are kept as plain tuples and
    become `TimelinePoint`s once, in `step_memory`."""

    def __init__(self) -> None:
        self.live = 0
        self._watched: dict[int, _StorageRef] = {}  # storage key → its weak reference (alive while it is)
        self._on_death = self._died  # one bound method for every reference
        self.segments: list[tuple[Phase, str, int, int]] = []  # (phase, layer, live at its end, its peak)
        self._phase: Phase | None = None
        self._layer = ""
        self._segment_peak = 0

    def _died(self, ref: _StorageRef) -> None:
        if self._watched.get(ref.key) is ref:
            del self._watched[ref.key]
            self.live -= ref.nbytes

    @staticmethod
    def _returns_new_memory(func: Any) -> tuple[bool, ...]:
        known = tuple(r.alias_info is None for r in func._schema.returns)
        _ALLOCATES[id(func)] = known  # op overloads live as long as torch: their ids stay theirs
        return known

    def observe(self, func: Any, out: Any, phase: Phase, layer: str) -> None:
        """Account for an op's results: each new storage adds its bytes until it is freed."""
        if layer != self._layer or phase is not self._phase:  # a new segment closes the previous one first
            self._close_segment()
            self._phase, self._layer = phase, layer
            self._segment_peak = self.live
        fresh = _ALLOCATES.get(id(func))
        if fresh is None:
            fresh = self._returns_new_memory(func)
        if isinstance(out, torch.Tensor):
            if fresh and fresh[0]:
                self._track(out)
        elif isinstance(out, (tuple, list)):
            for allocates, t in zip(fresh, out):
                if allocates and isinstance(t, torch.Tensor):
                    self._track(t)

    def _track(self, t: torch.Tensor) -> None:
        storage = t.untyped_storage()
        key = storage._cdata
        if key in self._watched:  # an op that returns an operand's memory although its schema says new
            return
        ref = _StorageRef(storage, self._on_death)
        ref.key, ref.nbytes = key, storage.nbytes()
        self._watched[key] = ref
        self.live += ref.nbytes
        if self.live > self._segment_peak:
            self._segment_peak = self.live

    def _close_segment(self) -> None:
        if self._phase is not None:
            self.segments.append((self._phase, self._layer, self.live, self._segment_peak))

    def finish(self) -> list[tuple[Phase, str, int, int]]:
        self._close_segment()
        self._phase = None
        return self.segments


def step_memory(*, parameter_bytes: int, buffer_bytes: int, trainable_sizes: list[int], gradient_itemsize: int,
                optimizer: Optimizer, optimizer_impl: OptimizerImpl, device: str, mixed_precision: bool,
                input_bytes: int, saved: SavedTensors, segments: list[tuple[Phase, str, int, int]]) -> StepMemory:
    """Put static and measured bytes together; the optimizer step runs after the backward with every gradient live.
    `trainable_sizes` are the trainable parameters' element counts in the optimizer's order; `segments` are
    `LiveMemory.finish()`'s (phase, layer, live bytes at its end, peak bytes), dynamic bytes only."""
    trainable_elements = sum(trainable_sizes)
    state = optimizer_state_bytes(optimizer, trainable_elements, len(trainable_sizes))
    master = trainable_elements * 4 if mixed_precision else 0
    static = parameter_bytes + buffer_bytes + state + master + input_bytes
    step_temporaries = optimizer_step_bytes(optimizer, optimizer_impl, trainable_sizes, device)
    timeline = [TimelinePoint(index, phase, layer, live + static, peak + static)
                for index, (phase, layer, live, peak) in enumerate(segments)]
    after_backward = timeline[-1].live_bytes if timeline else static
    timeline.append(TimelinePoint(len(timeline), Phase.OPTIMIZER, "", after_backward,
                                  after_backward + step_temporaries))
    top = max(timeline, key=lambda p: p.peak_bytes)
    return StepMemory(
        parameter_bytes=parameter_bytes,
        buffer_bytes=buffer_bytes,
        gradient_bytes=trainable_elements * gradient_itemsize,
        optimizer_state_bytes=state,
        master_weight_bytes=master,
        input_bytes=input_bytes,
        saved_activation_bytes=saved.total_bytes,
        saved_tensors=len(saved.storages),
        optimizer_step_bytes=step_temporaries,
        peak_bytes=top.peak_bytes,
        peak_phase=top.phase,
        peak_layer=top.layer,
        timeline=tuple(timeline),
        optimizer_impl=optimizer_impl,
    )


def largest_batch(peak_at: Callable[[int], int], memory_bytes: int, *, max_batch: int = 1 << 16) -> int:
    """The largest batch b with peak_at(b) ≤ memory_bytes (0 if not even one fits).

    A step's peak is the largest of several moments' live bytes, each growing linearly with the batch, so it is
    convex in b: the line through b = 1 and 2 gives an upper estimate, and each check at the estimate refits the
    line through b = 1 and that point (now from above) until the answer fits and b + 1 does not."""
    known: dict[int, int] = {}

    def measured(b: int) -> int:
        if b not in known:
            known[b] = raw_peak_at(b)
        return known[b]

    raw_peak_at, peak_at = peak_at, measured
    p1 = peak_at(1)
    if p1 > memory_bytes:
        return 0
    slope = peak_at(2) - p1
    if slope <= 0:
        return max_batch
    b = min(max_batch, 1 + (memory_bytes - p1) // slope)
    for _ in range(8):
        peak = peak_at(b)
        if peak <= memory_bytes:
            if b >= max_batch or peak_at(b + 1) > memory_bytes:
                return b
            b = min(max_batch, b + max(1, (memory_bytes - peak) // slope))
            continue
        slope = max(1, (peak - p1) // (b - 1))
        b = max(1, min(b - 1, 1 + (memory_bytes - p1) // slope))
    while b > 1 and peak_at(b) > memory_bytes:  # never answer a batch that does not fit
        b -= 1
    return b
