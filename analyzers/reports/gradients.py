"""Gradient norms at initialisation: one forward/backward pass, and the size of every weight layer's gradient.

Why ResNets train: in a deep plain stack the gradient reaching the early layers is multiplied by every layer on the
way back, so its size drifts by orders of magnitude across depth (vanishing or exploding, as the notes put it); a
shortcut adds an identity path, and the gradient reaches every layer at a similar size. This measures that drift for
any `nn.Module`, on the CPU: a fixed seed, He initialisation (the ResNet paper's), a small random batch, training
mode (batch norm normalises with the batch's statistics, as in the first step of training), cross-entropy against
random labels, then ‖∂loss/∂W‖ for every convolution and linear layer in the order the forward pass ran them.

It is one step at initialisation, not training: it says how well the gradient signal reaches each layer before any
learning, nothing about the accuracy a network reaches or how its gradients evolve.
"""

from __future__ import annotations

import copy
import enum
import math
from dataclasses import dataclass
from typing import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from analyzers.budget import CPU_WORK_BUDGET_BYTES, largest_that_fits, refuse_over_budget
from analyzers.counting.isolation import process_state_kept
from analyzers.errors import AnalysisError
from analyzers.numbers import whole_number

__all__ = [
    "CPU_PASS_OVERHEAD", "DEFAULT_BATCH", "GradientProfile", "Init", "LayerGradient", "MAX_BATCH", "MAX_INPUT_ELEMENTS",
    "WEIGHT_LAYERS", "check_memory", "estimated_bytes", "gradient_profile",
]

WEIGHT_LAYERS = (nn.Conv1d, nn.Conv2d, nn.Conv3d, nn.Linear)
DEFAULT_BATCH = 4  # batch norm in training mode needs ≥ 2; 4 keeps a 56-layer CIFAR net well under a second
MAX_BATCH = 64  # a probe, not a benchmark: keeps one CPU pass within seconds
MAX_INPUT_ELEMENTS = 3 * 512 * 512


class Init(str, enum.Enum):
    """How the weights are drawn before the pass."""

    HE = "he"  # Kaiming normal, fan_out, ReLU gain on convolutions (He et al. 2015; torchvision's ResNets)
    PYTORCH = "pytorch"  # each layer's own reset_parameters() (PyTorch's default, Kaiming uniform with a = √5)


@dataclass(frozen=True)
class LayerGradient:
    """One weight layer's gradient after the pass; `order` counts weight layers in execution order from 0."""

    order: int
    name: str
    type: str
    params: int  # elements of the weight tensor (bias excluded)
    grad_norm: float  # ‖∂loss/∂W‖₂ (Frobenius norm of the weight's gradient)
    weight_norm: float  # ‖W‖₂ at initialisation, to read the gradient relative to the weight


@dataclass(frozen=True)
class GradientProfile:
    """Every weight layer's gradient norm for one model after one forward/backward pass at initialisation."""

    model_name: str
    input_size: tuple[int, ...]
    batch_size: int
    seed: int
    init: Init
    loss: float  # cross-entropy of the random labels (≈ ln(classes) for an untrained net)
    layers: tuple[LayerGradient, ...]

    @property
    def first(self) -> LayerGradient:
        return self.layers[0]

    @property
    def last(self) -> LayerGradient:
        return self.layers[-1]

    def first_to_last(self) -> float:
        """‖∇W_first‖ / ‖∇W_last‖: 1 means the first layer gets as strong a signal as the classifier."""
        return self.first.grad_norm / self.last.grad_norm

    def spread_decades(self) -> float:
        """log10(largest / smallest) gradient norm over the layers: how many orders of magnitude they span."""
        norms = [layer.grad_norm for layer in self.layers]
        if min(norms) == 0.0:
            return math.inf
        return math.log10(max(norms) / min(norms))


def gradient_profile(
    model: nn.Module,
    input_size: Sequence[int],
    *,
    batch_size: int = DEFAULT_BATCH,
    seed: int = 0,
    init: Init = Init.HE,
    model_name: str = "",
) -> GradientProfile:
    """Run one forward/backward pass of a copy of `model` (on the CPU, re-initialised) and collect gradient norms.

    The model may live on the meta device: the copy is materialised on the CPU. The caller's model is untouched.
    Output must be (batch, classes) logits; labels are drawn uniformly from the classes. A pass whose estimated
    memory is over the CPU work budget is refused before anything is allocated (`OverBudgetError`, with the largest
    batch that fits).
    """
    batch, seed_value = whole_number(batch_size), whole_number(seed)  # 2.5 is no batch: None, refused below
    if batch is None or not 2 <= batch <= MAX_BATCH:
        raise AnalysisError(
            f"batch size must be 2 to {MAX_BATCH} (batch norm in training mode needs at least 2), got {batch_size}"
        )
    if seed_value is None or not 0 <= seed_value < 2**63:
        raise AnalysisError(f"seed must be a whole number from 0 to 2^63 − 1, got {seed}")
    size = tuple(whole_number(d) or 0 for d in input_size)  # 8.7 is no size: 0, refused below
    if not size or any(d < 1 for d in size) or math.prod(size) > MAX_INPUT_ELEMENTS:
        raise AnalysisError(f"input must be positive sizes with at most {MAX_INPUT_ELEMENTS:,} elements, got "
                            f"{tuple(input_size)}")
    check_memory(model, size, batch, model_name)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # small convolutions: one thread is faster than contended cores, and bit-reproducible
    try:
        return _profile(model, size, batch, seed_value, Init(init), model_name)
    finally:
        torch.set_num_threads(threads)


# The real pass takes more than the tensors the estimate counts: the CPU backward's workspaces, the allocator's
# slack, the process itself. Measured here (whole-process peak RSS ÷ estimate, at the largest batch an unscaled
# estimate let through): 1.37 for vgg16 at batch 14 (2.83 GB), 1.47 for resnet1202_cifar at batch 22 (3.03 GB).
CPU_PASS_OVERHEAD = 1.5


def estimated_bytes(model: nn.Module, size: tuple[int, ...], batch_size: int) -> int:
    """The probe's memory at its peak, estimated on the meta device: a training step's peak (weights, their
    gradients, the activations saved for the backward pass, the largest backward temporaries) with plain SGD, whose
    update the probe leaves out, times `CPU_PASS_OVERHEAD`."""
    from analyzers.training.analyze import analyze_training

    return int(CPU_PASS_OVERHEAD * analyze_training(model, size, batch_size).memory.peak_bytes)


def check_memory(model: nn.Module, size: tuple[int, ...], batch_size: int, model_name: str = "") -> None:
    """Refuse a pass over `CPU_WORK_BUDGET_BYTES` (OverBudgetError), saying the largest batch that fits.

    Memory grows linearly with the batch (weights are fixed, activations per sample), so two estimates place the
    largest batch and a third confirms it; three meta-device analyses, seconds even for 1,202 layers.
    """
    need = estimated_bytes(model, size, batch_size)
    if need <= CPU_WORK_BUDGET_BYTES:
        return
    smallest = estimated_bytes(model, size, 2)
    if smallest > CPU_WORK_BUDGET_BYTES:
        fits = "not even batch 2 fits: use a smaller input or model"
    else:
        per_sample = (need - smallest) / (batch_size - 2)  # batch_size > 2: batch 2 fits and this batch does not
        guess = min(batch_size - 1, 2 + int((CPU_WORK_BUDGET_BYTES - smallest) // per_sample))
        if estimated_bytes(model, size, guess) > CPU_WORK_BUDGET_BYTES:  # not linear after all: search below it
            guess = max(2, largest_that_fits(lambda n: estimated_bytes(model, size, n), most=guess))
        fits = f"at most batch {guess} fits"
    refuse_over_budget(need, f"{model_name or type(model).__name__}: one forward/backward at batch {batch_size}",
                       fits)


def _profile(model: nn.Module, size: tuple[int, ...], batch_size: int, seed: int, init: Init, model_name: str
             ) -> GradientProfile:
    generator = torch.Generator().manual_seed(seed)
    with process_state_kept():  # the seeded stream (init, dropout masks) is ours; the caller's is put back
        torch.random.default_generator.manual_seed(seed)  # the CPU's alone: no seed queued for a later CUDA start
        probe = _materialised_copy(model)
        _initialise(probe, init)
        probe.train()
        probe.zero_grad(set_to_none=True)
        x = torch.randn(batch_size, *size, generator=generator)
        with _ExecutionOrder(probe) as order:
            logits = probe(x)
        if not order:
            raise AnalysisError(f"{model_name or type(model).__name__} has no convolution or linear layer to measure")
        if logits.dim() != 2:
            raise AnalysisError(f"the model's output must be (batch, classes) logits, got shape {tuple(logits.shape)}")
        labels = torch.randint(0, logits.shape[1], (batch_size,), generator=generator)
        loss = F.cross_entropy(logits, labels)
        loss.backward()
    modules = dict(probe.named_modules())
    layers = tuple(
        LayerGradient(
            order=index,
            name=name,
            type=type(modules[name]).__name__,
            params=modules[name].weight.numel(),
            grad_norm=_norm(modules[name].weight.grad),
            weight_norm=_norm(modules[name].weight.detach()),
        )
        for index, name in enumerate(order)
    )
    return GradientProfile(model_name, size, batch_size, seed, init, float(loss.detach()), layers)


def _norm(tensor: torch.Tensor | None) -> float:
    return 0.0 if tensor is None else float(tensor.detach().double().norm())


def _materialised_copy(model: nn.Module) -> nn.Module:
    on_meta = any(p.is_meta for p in model.parameters()) or any(b.is_meta for b in model.buffers())
    if on_meta:
        probe = copy.deepcopy(model).to_empty(device="cpu")
        for module in probe.modules():
            reset = getattr(module, "reset_parameters", None)
            if callable(reset):
                reset()
        return probe
    return copy.deepcopy(model).to("cpu")


def _initialise(model: nn.Module, init: Init) -> None:
    if init is Init.PYTORCH:
        for module in model.modules():
            reset = getattr(module, "reset_parameters", None)
            if callable(reset):
                reset()
        return
    for module in model.modules():
        if isinstance(module, (nn.Conv1d, nn.Conv2d, nn.Conv3d)):
            nn.init.kaiming_normal_(module.weight, mode="fan_out", nonlinearity="relu")
            if module.bias is not None:
                nn.init.zeros_(module.bias)
        elif isinstance(module, nn.modules.batchnorm._BatchNorm):
            module.reset_parameters()  # γ = 1, β = 0, running statistics reset


class _ExecutionOrder(list):
    """Within the `with`, records the names of conv/linear layers in the order the forward pass first calls them."""

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self._names = {module: name for name, module in model.named_modules() if isinstance(module, WEIGHT_LAYERS)}
        self._handles: list[torch.utils.hooks.RemovableHandle] = []

    def _record(self, module: nn.Module, _inputs: object) -> None:
        name = self._names[module]
        if name not in self:
            self.append(name)

    def __enter__(self) -> _ExecutionOrder:
        self._handles = [module.register_forward_pre_hook(self._record) for module in self._names]
        return self

    def __exit__(self, *_exc: object) -> None:
        for handle in self._handles:
            handle.remove()
