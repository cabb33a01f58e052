"""`bench --train`: time a real training step (forward + backward + optimizer step) and measure its peak memory
beside the meta-device estimate of `analyze_training`.

The step is the steady state the estimate describes: after warm-up (so the optimizer's state exists), gradients
set to None before each step (`zero_grad()`'s default), the output's gradient a tensor of ones (no loss function).
On CUDA the measured peak is `torch.cuda.max_memory_allocated` over one step (what PyTorch's allocator handed out,
so the CUDA context and cached-but-free blocks are not in it). On a CPU the allocator keeps no statistic, but it
reports every allocation and free to torch.profiler (`profile_memory=True`): the measured peak is the highest
running sum of those events in time order, plus the bytes live before the step (parameters, buffers, optimizer
state, the input), `cpu_step_peak`. The estimate is made for the device the step runs on (its default optimizer
implementation: CUDA foreach, CPU for-loop).
"""

from __future__ import annotations

import statistics
import time
from dataclasses import dataclass
from typing import Callable, Iterable, Sequence

import torch
from torch import nn

from torch.utils._pytree import tree_leaves

from analyzers.training.analyze import analyze_training
from analyzers.training.memory import Optimizer, OptimizerImpl

__all__ = ["TrainBenchResult", "bench_training_step", "make_optimizer"]


@dataclass(frozen=True)
class TrainBenchResult:
    model: str
    batch: int
    input_size: tuple[int, ...]
    device: str
    optimizer: str
    step_ms_p50: float
    images_per_s: float
    measured_peak_bytes: int | None  # CUDA: max_memory_allocated; CPU: the profiler's allocation events
    estimated_peak_bytes: int
    estimated_saved_bytes: int

    @property
    def estimate_error(self) -> float | None:
        """(estimate − measured) ÷ measured, or None without a measurement."""
        if not self.measured_peak_bytes:
            return None
        return (self.estimated_peak_bytes - self.measured_peak_bytes) / self.measured_peak_bytes

    def row(self, device_name: str) -> dict[str, object]:
        """Its row of a training bench CSV (`TRAIN_BENCH_ROWS`), on the device of that name."""
        return {"model": self.model, "batch": self.batch, "input": "x".join(map(str, self.input_size)),
                "device": self.device, "device_name": device_name, "optimizer": self.optimizer,
                "step_ms_p50": self.step_ms_p50, "images_per_s": self.images_per_s,
                "measured_peak_bytes": self.measured_peak_bytes, "estimated_peak_bytes": self.estimated_peak_bytes,
                "estimate_error": self.estimate_error, "estimated_saved_bytes": self.estimated_saved_bytes}


def make_optimizer(kind: Optimizer, params: Sequence[nn.Parameter],
                   impl: OptimizerImpl | None = None) -> torch.optim.Optimizer:
    """torch.optim's optimizer for `kind`, in implementation `impl` (None: PyTorch's default for the device)."""
    form = {} if impl is None else {"foreach": impl is OptimizerImpl.FOREACH, "fused": impl is OptimizerImpl.FUSED}
    if kind is Optimizer.SGD:
        return torch.optim.SGD(params, lr=1e-3, **form)
    if kind is Optimizer.MOMENTUM:
        return torch.optim.SGD(params, lr=1e-3, momentum=0.9, **form)
    if kind is Optimizer.ADAM:
        return torch.optim.Adam(params, lr=1e-4, **form)
    return torch.optim.AdamW(params, lr=1e-4, **form)


def _storage_bytes(tensors: Iterable[torch.Tensor]) -> int:
    storages = {t.untyped_storage().data_ptr(): t.untyped_storage().nbytes() for t in tensors}
    return sum(storages.values())


def cpu_step_peak(model: nn.Module, args: tuple, kwargs: dict, optimizer: torch.optim.Optimizer) -> int:
    """The allocator's peak over one steady-state training step on the CPU, in bytes: two warm-up steps (the
    optimizer's state exists), gradients set to None, then the profiled step (forward, the output's gradient a tensor
    of its shape, backward, optimizer step) with the output held until the step ends, as a training loop holds it.
    The peak is the highest running sum of the profiler's allocation events in time order, plus the bytes live
    before the step."""
    from torch.profiler import ProfilerActivity, profile

    def step() -> None:
        out = model(*args, **kwargs)
        roots = [t for t in tree_leaves(out) if isinstance(t, torch.Tensor) and t.requires_grad]
        torch.autograd.backward(roots, [torch.empty_like(t) for t in roots])
        del roots
        optimizer.step()

    for _ in range(2):
        optimizer.zero_grad(set_to_none=True)
        step()
    optimizer.zero_grad(set_to_none=True)
    state = [v for values in optimizer.state.values() for v in values.values() if isinstance(v, torch.Tensor)]
    inputs = [t for t in tree_leaves((args, kwargs)) if isinstance(t, torch.Tensor)]
    before = _storage_bytes([*model.parameters(), *model.buffers(), *state, *inputs])
    with profile(activities=[ProfilerActivity.CPU], profile_memory=True) as prof:
        step()
    events = sorted((e for e in prof.profiler.kineto_results.events() if e.name() == "[memory]"),
                    key=lambda e: e.start_ns())
    live = peak = 0
    for event in events:
        live += event.nbytes()
        peak = max(peak, live)
    return before + peak


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def bench_training_step(name: str, build: Callable[[str, torch.device], nn.Module], input_size: tuple[int, ...],
                        batch: int, device: str, optimizer: Optimizer | str = Optimizer.SGD, iters: int = 10,
                        warmup: int = 3) -> TrainBenchResult:
    kind = Optimizer.parse(optimizer)
    target = torch.device(device)
    estimate = analyze_training(build(name, torch.device("meta")), input_size, batch, optimizer=kind,
                                device="cuda" if target.type == "cuda" else "cpu", model_name=name)
    model = build(name, target).train()
    params = [p for p in model.parameters() if p.requires_grad]
    opt = make_optimizer(kind, params)
    x = torch.randn(batch, *input_size, device=target)

    def step() -> None:
        opt.zero_grad(set_to_none=True)
        out = model(x)
        out = out if isinstance(out, torch.Tensor) else out[0]
        out.backward(torch.ones_like(out))
        opt.step()

    for _ in range(max(warmup, 1)):  # at least one: the optimizer's state must exist, as in the estimate
        step()
    _sync(target)
    if target.type == "cuda":
        torch.cuda.reset_peak_memory_stats(target)
        step()
        _sync(target)
        measured = torch.cuda.max_memory_allocated(target)
    else:
        measured = cpu_step_peak(model, (x,), {}, opt)
    times = []
    for _ in range(iters):
        start = time.perf_counter()
        step()
        _sync(target)
        times.append(time.perf_counter() - start)
    p50 = statistics.median(times)
    return TrainBenchResult(
        model=name, batch=batch, input_size=tuple(input_size), device=str(target), optimizer=kind.value,
        step_ms_p50=p50 * 1000, images_per_s=batch / p50, measured_peak_bytes=measured,
        estimated_peak_bytes=estimate.memory.peak_bytes, estimated_saved_bytes=estimate.memory.saved_activation_bytes,
    )
