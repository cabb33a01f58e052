"""The user's model is left exactly as found, whatever its forward does, whether the analysis succeeds or fails, by
every entry point: `analyze` on meta and on the CPU, `analyze_training`, the CLI's user-factory path, and the two
reports that run a real forward (the gradient profile, the fvcore cross-check).

One fingerprint (`fingerprint` below) covers everything a forward can reach: the state dict's bytes and layout, every
module's class and attributes (`vars`: train flags, hook dicts, caches), every tensor's `requires_grad`, grad,
`grad_fn` and Python attributes, whether the model still pickles, the global module hooks, and torch's random
stream. The hostile models below each do one kind of damage in their forward.

Sizes: every model's convolution is 3→4 channels, 3×3 on a 3×8×8 input: 6·6 positions · 4 filters · 27 MACs each
= 3,888 MACs.
"""

from __future__ import annotations

import io
import pickle
import subprocess
import sys
import threading
import types
import warnings
from pathlib import Path
from typing import Any, Callable

import pytest
import torch
from torch import nn
from torch.nn.utils import parametrize

from analyzers import AnalysisError, UserError, analyze
from analyzers.reports.crosscheck import fvcore_by_operator
from analyzers.reports.gradients import gradient_profile
from analyzers.training.analyze import analyze_training
from explorer.cli import main

CONV_MACS = 6 * 6 * 4 * 27  # 3,888
SIZE = (3, 8, 8)


# ---------------------------------------------------------------- hostile models


def _noop_hook(module: nn.Module, args: Any, output: Any = None) -> None:
    return None


def _same_grad(grad: torch.Tensor) -> torch.Tensor:
    return grad


class Small(nn.Module):
    """Conv 3→4 (3,888 MACs) and a linear layer 144→2 (288 MACs): 4,176 MACs eager."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3)
        self.fc = nn.Linear(4 * 6 * 6, 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(torch.flatten(self.conv(x), 1))


class MutatesItself(nn.Module):
    """Changes every kind of state it can reach, draws random numbers, then (with `fail`) raises halfway."""

    def __init__(self, fail: bool = False) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3)
        self.register_buffer("calls", torch.zeros((), dtype=torch.long))
        self.scale = torch.ones(())  # a plain tensor attribute, not a buffer
        self.history: list[Any] = []
        self.options = {"seen": 0}
        self.count = 0
        self.fail = fail

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self.calls += 1
        self.count += 1
        self.history.append(tuple(x.shape))
        self.options["seen"] += 1
        with torch.no_grad():
            self.conv.weight.mul_(2)
            self.conv.bias.zero_()
        self.conv.weight.tag = "touched"
        self.register_buffer("late", torch.ones(1))
        self.add_module("extra", nn.ReLU())
        self.train()
        torch.rand(3)  # the global stream
        y = self.conv(x)
        self.scale.mul_(y.mean())  # in place, from an activation: flows, grads and graphs must stay ours
        if self.fail:
            raise RuntimeError("failed halfway")
        return y * self.scale


class ConvertsItself(nn.Module):
    """Calls `self.to(torch.float64)` and `self.eval()` in its forward."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self.to(torch.float64)
        self.eval()
        return self.conv(x.to(torch.float64))


class HooksInForward(nn.Module):
    """Registers module hooks (plain, bound-method, full-backward, global) and a tensor hook, and removes one
    registered at construction."""

    def __init__(self, fail: bool = False) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3)
        self.handle = self.conv.register_forward_pre_hook(_noop_hook)
        self.fail = fail

    def _bound_hook(self, module: nn.Module, args: Any, output: Any) -> None:
        self.seen = True

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self.conv.register_forward_hook(_noop_hook)
        self.conv.register_forward_hook(self._bound_hook)
        self.register_full_backward_hook(_noop_hook)
        nn.modules.module.register_module_forward_hook(_noop_hook)
        if self.conv.weight.requires_grad:
            self.conv.weight.register_hook(_same_grad)
        self.handle.remove()
        y = self.conv(x)
        if self.fail:
            raise ValueError("failed after registering hooks")
        return y


class Scale(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.register_buffer("factor", torch.full((), 0.5))

    def forward(self, weight: torch.Tensor) -> torch.Tensor:
        return weight * self.factor


class Parametrized(nn.Module):
    """A parametrized conv weight, and a second parametrization registered by the forward itself (which changes the
    module's class)."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3)
        parametrize.register_parametrization(self.conv, "weight", Scale())
        self.head = nn.Conv2d(4, 4, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not parametrize.is_parametrized(self.head):
            parametrize.register_parametrization(self.head, "weight", Scale())
        return self.head(self.conv(x))


class SharedBlocks(nn.Module):
    """One block under two names and called twice, and a weight tied between two convolutions."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3, padding=1)
        self.block = nn.Sequential(nn.Conv2d(4, 4, 3, padding=1), nn.ReLU())
        self.again = self.block
        self.twin = nn.Conv2d(4, 4, 3, padding=1)
        self.twin.weight = self.block[0].weight

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.twin(self.again(self.block(self.conv(x))))


class BuffersInForward(nn.Module):
    """Batch norm with batch statistics (it updates its running stats), a buffer replaced and one updated in place."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3)
        self.norm = nn.BatchNorm2d(4)
        self.register_buffer("ema", torch.zeros(4))
        self.register_buffer("steps", torch.zeros((), dtype=torch.long))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.norm(self.conv(x))
        self.ema = self.ema * 0.9 + y.mean((0, 2, 3)).detach()
        self.steps.add_(1)
        return y


def _weight_norms() -> nn.Module:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)  # torch.nn.utils.weight_norm is deprecated, still used
        return nn.Sequential(
            nn.utils.weight_norm(nn.Conv2d(3, 4, 3)),
            nn.utils.spectral_norm(nn.Conv2d(4, 4, 1)),
            nn.utils.parametrizations.weight_norm(nn.Conv2d(4, 4, 1)),
            nn.utils.parametrizations.spectral_norm(nn.Conv2d(4, 4, 1)),
        ).train()


def _scripted() -> nn.Module:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)  # torch.jit.script is deprecated, still used
        return torch.jit.script(Small())


def _on_meta(build: Callable[[], nn.Module]) -> Callable[[], nn.Module]:
    def built() -> nn.Module:
        with torch.device("meta"):
            return build()
    return built


HOSTILE: dict[str, Callable[[], nn.Module]] = {
    "scripted": _scripted,
    "mutates": MutatesItself,
    "mutates_then_fails": lambda: MutatesItself(fail=True),
    "mutates_on_meta": _on_meta(MutatesItself),
    "converts_itself": ConvertsItself,
    "hooks": HooksInForward,
    "hooks_then_fail": lambda: HooksInForward(fail=True),
    "hooks_on_meta": _on_meta(HooksInForward),
    "parametrized": Parametrized,
    "weight_norms": _weight_norms,
    "shared": SharedBlocks,
    "buffers": lambda: BuffersInForward().train(),
    "lazy": lambda: nn.Sequential(nn.LazyConv2d(4, 3)),
}

# ---------------------------------------------------------------- the fingerprint


def _value(v: Any, depth: int = 0) -> Any:
    """A comparable print of one attribute: scalars by value, tensors in full, containers by their items, anything
    else by identity."""
    if v is None or isinstance(v, (bool, int, float, str, torch.dtype, torch.device)):
        return v
    if isinstance(v, torch.Tensor):
        return _tensor(v)
    if depth < 3 and isinstance(v, (list, tuple)):
        return type(v).__name__, [_value(x, depth + 1) for x in v]
    if depth < 3 and isinstance(v, dict):
        return type(v).__name__, [(k, _value(x, depth + 1)) for k, x in v.items()]
    if depth < 3 and isinstance(v, (set, frozenset)):
        return type(v).__name__, sorted(map(repr, v))
    return type(v).__name__, id(v)


def _tensor(t: torch.Tensor) -> tuple:
    if isinstance(t, nn.parameter.UninitializedTensorMixin):
        return "uninitialized", id(t), type(t).__name__, t.requires_grad
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # .grad of a non-leaf
        grad = t.grad
    data = None if t.is_meta else t.detach().cpu().contiguous().reshape(-1).view(torch.uint8).numpy().tobytes()
    return (id(t), type(t).__name__, str(t.device), t.dtype, tuple(t.shape), t.stride(), t.requires_grad,
            t.grad_fn is None, None if grad is None else _tensor(grad), sorted(vars(t)), data)


def _pickles(model: nn.Module) -> bool:
    try:
        if isinstance(model, torch.jit.ScriptModule):
            torch.jit.save(model, io.BytesIO())
        else:
            pickle.dumps(model)
        return True
    except Exception:
        return False


def _global_hooks() -> list:
    from torch.nn.modules import module as module_module

    return [(name, list(getattr(module_module, name).items())) for name in sorted(vars(module_module))
            if name.startswith("_global_") and isinstance(getattr(module_module, name), dict)]


def fingerprint(model: nn.Module) -> dict[str, Any]:
    state = model.state_dict(keep_vars=True)
    return {
        "state": [(name, _tensor(t)) for name, t in state.items()],
        "modules": [(name, type(m), _value(vars(m))) for name, m in model.named_modules(remove_duplicate=False)],
        "parameters": [(name, _tensor(p)) for name, p in model.named_parameters(remove_duplicate=False)],
        "pickles": _pickles(model),
        "global_hooks": _global_hooks(),
        "torch_rng": torch.get_rng_state().numpy().tobytes(),
    }


def _differences(before: dict, after: dict) -> list[str]:
    return [key for key in before if before[key] != after[key]]


# ---------------------------------------------------------------- the entry points


def _cli(*extra: str) -> Callable[[nn.Module], int]:
    def run(model: nn.Module) -> int:
        zoo = types.ModuleType("hostile_zoo")
        zoo.factory = lambda: model  # type: ignore[attr-defined]
        sys.modules["hostile_zoo"] = zoo
        try:
            return main(["summary", "hostile_zoo:factory", "--input", "3x8x8", *extra])
        finally:
            del sys.modules["hostile_zoo"]
    return run


ENTRY_POINTS: dict[str, Callable[[nn.Module], Any]] = {
    "analyze_meta": lambda m: analyze(m, SIZE),
    "analyze_cpu": lambda m: analyze(m, SIZE, device="cpu"),
    "analyze_training": lambda m: analyze_training(m, SIZE, 2),
    "cli_summary": _cli(),
    "cli_summary_cpu": _cli("--device", "cpu"),
    "cli_summary_train": _cli("--train"),
    "gradient_profile": lambda m: gradient_profile(m, SIZE, batch_size=2),
    "fvcore": lambda m: fvcore_by_operator(m, SIZE, 1),
}
REPORTS = ("gradient_profile", "fvcore")  # not the engine: their own failures may be any exception


@pytest.mark.parametrize("entry", ENTRY_POINTS)
@pytest.mark.parametrize("hostile", HOSTILE)
def test_the_model_is_left_exactly_as_found(hostile, entry, capsys):
    model = HOSTILE[hostile]()
    before = fingerprint(model)
    try:
        outcome = ENTRY_POINTS[entry](model)
    except UserError as exc:  # a refusal is fine when it is one line
        assert "\n" not in str(exc)
        outcome = exc
    except Exception as exc:
        if entry not in REPORTS:
            raise
        outcome = exc
    after = fingerprint(model)
    assert _differences(before, after) == []
    if entry.startswith("cli"):
        err = capsys.readouterr().err
        assert outcome in (0, 2) and "Traceback" not in err, err


# ---------------------------------------------------------------- each reproduction, with its numbers

# MACs of one 3×8×8 image, by hand: the 3→4 3×3 conv is 3,888; a 1×1 conv 4→4 on the 6×6 map 6·6·4·4 = 576; a 3×3
# conv 4→4 with padding 1 on 8×8 is 8·8·4·36 = 9,216 (and 3→4 with padding 1: 8·8·4·27 = 6,912).
HOSTILE_MACS = {
    "mutates": CONV_MACS,
    "converts_itself": CONV_MACS,
    "hooks": CONV_MACS,  # its hooks are registered in the forward: run again on private hook tables
    "hooks_on_meta": CONV_MACS,
    "parametrized": CONV_MACS + 576,
    "weight_norms": CONV_MACS + 3 * 576,
    "shared": 6_912 + 2 * 9_216 + 9_216,  # the shared block runs twice
    "buffers": CONV_MACS,
}


@pytest.mark.parametrize("hostile", HOSTILE_MACS)
def test_hostile_models_count_what_they_run(hostile):
    for device in ("meta", "cpu"):
        assert analyze(HOSTILE[hostile](), SIZE, device=device).totals.macs == HOSTILE_MACS[hostile]
    if hostile != "mutates":  # (its plain CPU tensor cannot meet meta activations with gradients on)
        assert analyze_training(HOSTILE[hostile](), SIZE, 2).totals.forward_macs == 2 * HOSTILE_MACS[hostile]



def test_a_torchscript_module_is_refused_in_one_line_and_never_changed():
    scripted = _scripted()
    x = torch.randn(1, *SIZE)
    expected = scripted(x)
    for run in (lambda: analyze(scripted, SIZE), lambda: analyze(scripted, SIZE, device="cpu"),
                lambda: analyze_training(scripted, SIZE, 2)):
        with pytest.raises(AnalysisError, match="TorchScript") as refused:
            run()
        assert "\n" not in str(refused.value)
    assert all(p.device.type == "cpu" for p in scripted.parameters())
    assert torch.equal(scripted(x), expected)


def test_a_scripted_submodule_is_refused_too():
    model = nn.Sequential(nn.Conv2d(3, 4, 3), _scripted())
    with pytest.raises(AnalysisError, match=r"'1' is a TorchScript module"):
        analyze(model, SIZE)


def test_the_cpu_analysis_runs_on_copies_and_counts_as_meta_does():
    """A forward that counts its calls in a buffer, scales its weight in place and calls `self.train()`: the CPU
    run counts the same 3,888 conv MACs as the meta one and leaves the weights, buffer and flags as they were."""
    model = MutatesItself().eval()
    weight = model.conv.weight.detach().clone()
    on_cpu = analyze(model, SIZE, device="cpu")
    on_meta = analyze(model, SIZE)
    assert on_cpu.record("conv").macs == on_meta.record("conv").macs == CONV_MACS
    assert model.calls.item() == 0 and model.count == 0 and model.history == [] and model.options == {"seen": 0}
    assert torch.equal(model.conv.weight, weight) and not model.training and not hasattr(model.conv.weight, "tag")


def test_a_forward_failing_halfway_leaves_nothing_behind():
    model = MutatesItself(fail=True)
    with pytest.raises(AnalysisError, match="failed halfway"):
        analyze(model, SIZE, device="cpu")
    assert model.calls.item() == 0 and "late" not in model._buffers and "extra" not in model._modules


def test_a_plain_tensor_attribute_gains_no_flow_no_grad_and_no_graph():
    """`self.scale.mul_(y.mean())`: on the CPU its value must stay 1; built on meta (the CLI's default), the training
    step must not leave it with a flow attribute, `requires_grad` or a `grad_fn` into the step's meta graph."""
    model = MutatesItself()
    analyze(model, SIZE)
    analyze(model, SIZE, device="cpu")
    assert vars(model.scale) == {} and model.scale.item() == 1.0
    with torch.device("meta"):
        model = MutatesItself()
    analyze(model, SIZE)
    analyze_training(model, SIZE, 2)
    assert vars(model.scale) == {} and not model.scale.requires_grad and model.scale.grad_fn is None


def test_hooks_a_forward_registers_do_not_stay():
    model = HooksInForward()
    analyze(model, SIZE)
    analyze_training(model, SIZE, 2)
    assert len(model.conv._forward_hooks) == 0 and len(model.conv._forward_pre_hooks) == 1
    assert len(model._backward_hooks) == 0 and model.conv.weight._backward_hooks is None
    assert not hasattr(model, "seen")


def test_a_lazy_module_is_refused_in_one_line_and_stays_lazy():
    model = nn.Sequential(nn.LazyConv2d(4, 3))
    for device in ("meta", "cpu"):
        with pytest.raises(AnalysisError, match="lazy"):
            analyze(model, SIZE, device=device)
    assert type(model[0]) is nn.LazyConv2d


def test_the_first_analysis_in_a_process_leaves_the_random_streams_alone():
    """The first analysis builds probe modules with random weights (once per process): run in a fresh process."""
    code = (
        "import torch\n"
        "from torch import nn\n"
        "from analyzers import analyze\n"
        "from analyzers.training.analyze import analyze_training\n"
        "model = nn.Sequential(nn.Conv2d(3, 4, 3), nn.BatchNorm2d(4), nn.ReLU(), nn.Flatten(), nn.Linear(144, 2))\n"
        "torch.manual_seed(0); expected = torch.rand(3)\n"
        "torch.manual_seed(0); analyze(model, (3, 8, 8)); a = torch.rand(3)\n"
        "torch.manual_seed(0); analyze(model, (3, 8, 8), device='cpu'); b = torch.rand(3)\n"
        "torch.manual_seed(0); analyze_training(model, (3, 8, 8), 2); c = torch.rand(3)\n"
        "print(all(torch.equal(expected, t) for t in (a, b, c)))\n"
    )
    root = Path(__file__).resolve().parents[1]
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=root, timeout=120,
                         env={"PYTHONPATH": str(root), "PATH": "/usr/bin:/bin"})
    assert out.stdout.strip() == "True", out.stderr


def test_one_model_analysed_from_several_threads_at_once():
    """Every thread gets the serial numbers, and no `forward` wrapper is left on any module (it would stop
    `torch.save(model)`)."""
    import torchvision

    model = torchvision.models.resnet18()
    serial = analyze(model, (3, 32, 32)).totals
    serial_training = analyze_training(model, (3, 32, 32), 2).totals
    results: list[Any] = []
    errors: list[BaseException] = []

    def work() -> None:
        try:
            for _ in range(3):
                results.append(analyze(model, (3, 32, 32)).totals)
                results.append(analyze_training(model, (3, 32, 32), 2).totals)
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert results.count(serial) == 12 and results.count(serial_training) == 12
    assert not any("forward" in vars(m) for m in model.modules())
    torch.save(model, io.BytesIO())
