"""The module shortcuts (`analyzers.shapes.shortcuts`) against torch's own dispatch.

Contract: for `module(x)` a shortcut makes exactly the aten calls (op, arguments with their Python types, kwargs,
order) that torch's dispatch makes, or declines (`NotImplemented`, then the module's real forward runs); where
torch refuses an input, the shortcut declines or raises, never returns a result. Held here three ways:

1. differentially, per shortcut class, over generated configurations and inputs (CPU, and a few on meta, where
   the analyzer takes them), with one ordinary configuration per class that must be *taken*, so no test passes by
   everything declining;
2. end to end: `analyze` of torchvision models and of a model made of every shortcut class gives the same
   records, formulas and totals with shortcuts on and off (off: `counting_mode.shortcut_for` → None), the same
   error for inputs torch refuses, and a training analysis (grad enabled: shortcuts never taken) is unchanged;
3. the model is left as found: no `forward` attribute left on any module, a user's own one put back.

The expected values are torch's recorded calls (`calls_torch_makes`), never numbers written here. The corner cases
these tests found (int eps and momentum, an empty Linear, a float pooling size, a user's own forward) close the file.
"""

from __future__ import annotations

import collections
from dataclasses import dataclass
from enum import Enum
from typing import Any, Callable

import pytest
import torch
import torchvision
from hypothesis import HealthCheck, given, reject, settings
from hypothesis import strategies as st
from torch import nn

from analyzers import AnalysisError, analyze
from analyzers.counting import mode as counting_mode
from analyzers.counting.formula_text import layer_formula, params_formula
from analyzers.shapes.shortcuts import SHORTCUTS, SLOT_NAMES, calls_shortcut_makes, calls_torch_makes, shortcut_for
from analyzers.training.analyze import analyze_training

pytestmark = pytest.mark.filterwarnings("ignore:Using padding='same'")

CPU_EXAMPLES = settings(max_examples=120, derandomize=True, deadline=None, database=None, print_blob=False,
                        suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
META_EXAMPLES = settings(CPU_EXAMPLES, max_examples=8)

DTYPES = (torch.float32, torch.float64, torch.bfloat16)
CACHED_PROPERTIES = frozenset({"category", "conv", "pool"})  # LayerRecord's cached_property values in __dict__


# ---------------------------------------------------------------- the differential check


class Outcome(Enum):
    TAKEN = "taken"
    DECLINED = "declined"
    BOTH_REFUSED = "both refused"  # torch raised and the shortcut raised too


def _fresh(x: torch.Tensor) -> torch.Tensor:
    """A copy with the same strides, so an in-place activation on one side leaves the other side's input alone."""
    return x.clone()


def held_to_torch(module: nn.Module, x: torch.Tensor) -> Outcome:
    """Run both sides; fail if the shortcut does anything but decline or make torch's exact calls."""
    shortcut = SHORTCUTS[type(module)]
    try:
        expected: list | None = calls_torch_makes(module, _fresh(x))
        torch_error = None
    except Exception as exc:  # torch refuses this input
        expected, torch_error = None, exc
    try:
        got = calls_shortcut_makes(shortcut, module, _fresh(x))
    except Exception as exc:
        assert torch_error is not None, f"the shortcut raised {exc!r} where torch ran {module} on {_about(x)}"
        assert (type(exc), str(exc)) == (type(torch_error), str(torch_error))  # the same op refused it
        return Outcome.BOTH_REFUSED
    if got is None:
        return Outcome.DECLINED
    assert torch_error is None, f"torch refuses {module} on {_about(x)} ({torch_error!r}), the shortcut answered"
    assert got == expected, f"{module} on {_about(x)}:\n torch:    {expected}\n shortcut: {got}"
    return Outcome.TAKEN


def _about(x: torch.Tensor) -> str:
    return f"{x.device.type} {x.dtype} tensor {tuple(x.shape)} stride {x.stride()}"


def _placed(module: nn.Module, device: str, dtype: torch.dtype) -> nn.Module:
    return module.to(device=device, dtype=dtype)


def _tensor(shape: tuple[int, ...], dtype: torch.dtype, device: str, transposed: bool = False) -> torch.Tensor:
    """A small random tensor; `transposed` gives the same shape with its last two dims' strides swapped."""
    if transposed and len(shape) >= 2:
        base = torch.randn((*shape[:-2], shape[-1], shape[-2]), dtype=torch.float32)
        x = base.transpose(-1, -2)
    else:
        x = torch.randn(shape, dtype=torch.float32)
    x = x.to(dtype)
    return x if device == "cpu" else torch.empty_strided(x.shape, x.stride(), dtype=dtype, device="meta")


@dataclass(frozen=True)
class Case:
    """A module and its input, built on demand on either device."""

    build: Callable[[str], tuple[nn.Module, torch.Tensor]]
    label: str

    def __repr__(self) -> str:
        return self.label


# ---------------------------------------------------------------- generated configurations, one strategy per class

small = st.integers(1, 3)
pair_or_int = lambda values: st.one_of(values, st.tuples(values, values))  # noqa: E731


@st.composite
def conv_cases(draw: Any) -> Case:
    groups = draw(st.sampled_from([1, 2]))
    cin, cout = groups * draw(small), groups * draw(small)
    kernel = draw(pair_or_int(st.integers(1, 3)))
    stride = draw(pair_or_int(st.integers(1, 2)))
    padding = draw(st.one_of(pair_or_int(st.integers(0, 2)), st.sampled_from(["same", "valid"])))
    dilation = draw(pair_or_int(st.integers(1, 2)))
    bias = draw(st.booleans())
    mode = draw(st.sampled_from(["zeros", "zeros", "zeros", "reflect", "replicate", "circular"]))
    dims = draw(st.sampled_from([4, 4, 4, 3]))
    channels = cin if draw(st.integers(0, 9)) else cin + 1  # now and then the wrong channel count
    size = (draw(st.integers(1, 7)), draw(st.integers(1, 7)))
    shape = ((draw(st.integers(1, 2)),) if dims == 4 else ()) + (channels, *size)
    x_dtype = draw(st.sampled_from(DTYPES))
    w_dtype = x_dtype if draw(st.integers(0, 4)) else draw(st.sampled_from(DTYPES))
    try:
        nn.Conv2d(cin, cout, kernel, stride, padding, dilation, groups, bias, mode, device="meta")
    except (ValueError, RuntimeError):  # e.g. padding="same" with a stride: refused when built
        reject()
    label = (f"Conv2d({cin}, {cout}, {kernel}, stride={stride}, padding={padding!r}, dilation={dilation}, "
             f"groups={groups}, bias={bias}, padding_mode={mode!r}) {w_dtype} on {shape} {x_dtype}")
    return Case(lambda device: (
        _placed(nn.Conv2d(cin, cout, kernel, stride, padding, dilation, groups, bias, mode), device, w_dtype),
        _tensor(shape, x_dtype, device)), label)


@st.composite
def batch_norm_cases(draw: Any) -> Case:
    c = draw(st.integers(1, 4))
    affine, track = draw(st.booleans()), draw(st.booleans())
    momentum = draw(st.sampled_from([None, 0.1, 0.5, 1.0]))
    eps = draw(st.sampled_from([1e-5, 1e-3, 0.1, 0.0, -1.0]))
    training = draw(st.integers(0, 4)) == 0
    dims = draw(st.sampled_from([4, 4, 4, 3]))
    channels = c if draw(st.integers(0, 9)) else c + 1
    shape = (draw(st.integers(0, 2)), channels, *((draw(st.integers(1, 3)),) * (dims - 2)))
    x_dtype = draw(st.sampled_from(DTYPES))
    w_dtype = x_dtype if draw(st.integers(0, 4)) else draw(st.sampled_from(DTYPES))
    label = (f"BatchNorm2d({c}, eps={eps}, momentum={momentum}, affine={affine}, track_running_stats={track}) "
             f"{'train' if training else 'eval'} {w_dtype} on {shape} {x_dtype}")

    def build(device: str) -> tuple[nn.Module, torch.Tensor]:
        m = nn.BatchNorm2d(c, eps=eps, momentum=momentum, affine=affine, track_running_stats=track)
        return _placed(m, device, w_dtype).train(training), _tensor(shape, x_dtype, device)

    return Case(build, label)


ACTIVATIONS = (nn.ReLU, nn.SiLU, nn.Hardswish, nn.Hardsigmoid, nn.Sigmoid, nn.ReLU6, nn.GELU)


@st.composite
def activation_cases(draw: Any) -> Case:
    cls = draw(st.sampled_from(ACTIVATIONS))
    if cls is nn.GELU:
        options = {"approximate": draw(st.sampled_from(["none", "tanh", "bogus"]))}
    elif cls is nn.Sigmoid:
        options = {}
    else:
        options = {"inplace": draw(st.booleans())}
    shape = tuple(draw(st.lists(st.integers(1, 4), min_size=1, max_size=4)))
    dtype = draw(st.sampled_from(DTYPES))
    transposed = draw(st.booleans())
    label = f"{cls.__name__}({options}) on {shape} {dtype} transposed={transposed}"
    return Case(lambda device: (cls(**options), _tensor(shape, dtype, device, transposed)), label)


@st.composite
def max_pool_cases(draw: Any) -> Case:
    kernel = draw(pair_or_int(st.integers(1, 3)))
    stride = draw(st.one_of(st.none(), pair_or_int(st.integers(1, 3))))
    padding = draw(pair_or_int(st.integers(0, 2)))
    dilation = draw(pair_or_int(st.integers(1, 2)))
    ceil_mode, indices = draw(st.booleans()), draw(st.integers(0, 4)) == 0
    dims = draw(st.sampled_from([4, 4, 4, 3]))
    shape = ((draw(st.integers(1, 2)),) if dims == 4 else ()) + (draw(small), draw(st.integers(1, 7)),
                                                                 draw(st.integers(1, 7)))
    dtype = draw(st.sampled_from(DTYPES))
    label = (f"MaxPool2d({kernel}, stride={stride}, padding={padding}, dilation={dilation}, ceil_mode={ceil_mode}, "
             f"return_indices={indices}) on {shape} {dtype}")
    return Case(lambda device: (nn.MaxPool2d(kernel, stride, padding, dilation, indices, ceil_mode),
                                _tensor(shape, dtype, device)), label)


@st.composite
def adaptive_pool_cases(draw: Any) -> Case:
    size = draw(st.sampled_from([1, (1, 1), [1, 1], 2, (2, 2), (1, 2), (None, 1), (1, None), (None, None)]))
    dims = draw(st.sampled_from([4, 4, 4, 3]))
    shape = ((draw(st.integers(1, 2)),) if dims == 4 else ()) + (draw(st.integers(0, 3)), draw(st.integers(1, 4)),
                                                                 draw(st.integers(1, 4)))
    dtype = draw(st.sampled_from(DTYPES))
    channels_last = dims == 4 and draw(st.booleans())
    label = f"AdaptiveAvgPool2d({size!r}) on {shape} {dtype} channels_last={channels_last}"

    def build(device: str) -> tuple[nn.Module, torch.Tensor]:
        x = _tensor(shape, dtype, device)
        return nn.AdaptiveAvgPool2d(size), x.contiguous(memory_format=torch.channels_last) if channels_last else x

    return Case(build, label)


@st.composite
def linear_cases(draw: Any) -> Case:
    fin, fout, bias = draw(st.integers(1, 4)), draw(small), draw(st.booleans())
    dims = draw(st.integers(1, 4))
    last = fin if draw(st.integers(0, 9)) else fin + 1
    shape = (*(draw(st.integers(1, 3)) for _ in range(dims - 1)), last)
    transposed = dims >= 2 and draw(st.booleans())
    x_dtype = draw(st.sampled_from(DTYPES))
    w_dtype = x_dtype if draw(st.integers(0, 4)) else draw(st.sampled_from(DTYPES))
    label = f"Linear({fin}, {fout}, bias={bias}) {w_dtype} on {shape} {x_dtype} transposed={transposed}"
    return Case(lambda device: (_placed(nn.Linear(fin, fout, bias), device, w_dtype),
                                _tensor(shape, x_dtype, device, transposed)), label)


@st.composite
def layer_norm_cases(draw: Any) -> Case:
    normalized = tuple(draw(st.lists(st.integers(1, 3), min_size=1, max_size=2)))
    affine, bias = draw(st.booleans()), draw(st.booleans())
    eps = draw(st.sampled_from([1e-5, 1e-6, 0.1]))
    batch = tuple(draw(st.lists(st.integers(1, 3), max_size=2)))
    tail = normalized if draw(st.integers(0, 9)) else (*normalized[:-1], normalized[-1] + 1)
    shape = (*batch, *tail)
    x_dtype = draw(st.sampled_from(DTYPES))
    w_dtype = x_dtype if draw(st.integers(0, 4)) else draw(st.sampled_from(DTYPES))
    label = f"LayerNorm({normalized}, eps={eps}, elementwise_affine={affine}, bias={bias}) {w_dtype} on {shape}"
    return Case(lambda device: (_placed(nn.LayerNorm(normalized, eps, affine, bias), device, w_dtype),
                                _tensor(shape, x_dtype, device)), label)


@st.composite
def dropout_cases(draw: Any) -> Case:
    p = draw(st.floats(0.0, 1.0))
    training, inplace = draw(st.integers(0, 3)) == 0, draw(st.booleans())
    p_after = draw(st.sampled_from([None, None, None, -0.5, 1.5]))  # set after construction, past its check
    shape = tuple(draw(st.lists(st.integers(1, 3), min_size=1, max_size=4)))
    label = f"Dropout({p}, inplace={inplace}) p set to {p_after} {'train' if training else 'eval'} on {shape}"

    def build(device: str) -> tuple[nn.Module, torch.Tensor]:
        m = nn.Dropout(p, inplace).train(training)
        if p_after is not None:
            m.p = p_after
        return m, _tensor(shape, torch.float32, device)

    return Case(build, label)


STRATEGIES = {
    "conv2d": conv_cases(),
    "batch_norm2d": batch_norm_cases(),
    "activations": activation_cases(),
    "max_pool2d": max_pool_cases(),
    "adaptive_avg_pool2d": adaptive_pool_cases(),
    "linear": linear_cases(),
    "layer_norm": layer_norm_cases(),
    "dropout": dropout_cases(),
}


def _differential(device: str, examples: settings) -> Callable[[str], None]:
    def run(kind: str) -> None:
        outcomes: set[Outcome] = set()

        @examples
        @given(case=STRATEGIES[kind])
        def check(case: Case) -> None:
            module, x = case.build(device)
            outcomes.add(held_to_torch(module, x))

        check()
        if device == "cpu":  # enough examples that the generator reaches configurations the shortcut takes
            assert Outcome.TAKEN in outcomes and Outcome.DECLINED in outcomes, outcomes

    return run


@pytest.mark.parametrize("kind", sorted(STRATEGIES))
def test_generated_configurations_make_torchs_calls_on_the_cpu(kind: str) -> None:
    _differential("cpu", CPU_EXAMPLES)(kind)


@pytest.mark.parametrize("kind", sorted(STRATEGIES))
def test_generated_configurations_make_torchs_calls_on_meta(kind: str) -> None:
    _differential("meta", META_EXAMPLES)(kind)


def test_every_registered_class_has_a_strategy_here() -> None:
    covered = {nn.Conv2d, nn.BatchNorm2d, *ACTIVATIONS, nn.MaxPool2d, nn.AdaptiveAvgPool2d, nn.Linear, nn.LayerNorm,
               nn.Dropout}
    assert set(SHORTCUTS) == covered


# Ordinary configurations, as networks use them: each must be taken (and match), so that the generated tests cannot
# pass with a shortcut that declines everything.
ORDINARY: dict[str, Callable[[], tuple[nn.Module, tuple[int, ...]]]] = {
    "Conv2d 3x3 stride 2": lambda: (nn.Conv2d(4, 8, 3, stride=2, padding=1, bias=False), (2, 4, 8, 8)),
    "Conv2d depthwise with bias": lambda: (nn.Conv2d(4, 4, 3, padding=1, groups=4), (1, 4, 6, 6)),
    "BatchNorm2d eval": lambda: (nn.BatchNorm2d(4).eval(), (2, 4, 5, 5)),
    "BatchNorm2d momentum None": lambda: (nn.BatchNorm2d(4, momentum=None).eval(), (2, 4, 5, 5)),
    "ReLU": lambda: (nn.ReLU(), (2, 4, 5, 5)),
    "ReLU inplace": lambda: (nn.ReLU(inplace=True), (2, 4, 5, 5)),
    "SiLU inplace": lambda: (nn.SiLU(inplace=True), (2, 4, 5, 5)),
    "Hardswish": lambda: (nn.Hardswish(), (2, 4, 5, 5)),
    "Hardsigmoid inplace": lambda: (nn.Hardsigmoid(inplace=True), (2, 4, 5, 5)),
    "Sigmoid": lambda: (nn.Sigmoid(), (2, 4, 5, 5)),
    "ReLU6": lambda: (nn.ReLU6(), (2, 4, 5, 5)),
    "GELU": lambda: (nn.GELU(), (2, 5, 8)),
    "GELU tanh": lambda: (nn.GELU(approximate="tanh"), (2, 5, 8)),
    "MaxPool2d 3/2/1": lambda: (nn.MaxPool2d(3, 2, 1), (2, 4, 8, 8)),
    "MaxPool2d stride None": lambda: (nn.MaxPool2d(2), (2, 4, 8, 8)),
    "MaxPool2d ceil_mode": lambda: (nn.MaxPool2d(2, ceil_mode=True), (2, 4, 7, 7)),
    "AdaptiveAvgPool2d 1": lambda: (nn.AdaptiveAvgPool2d(1), (2, 4, 7, 7)),
    "AdaptiveAvgPool2d (1, 1)": lambda: (nn.AdaptiveAvgPool2d((1, 1)), (2, 4, 7, 7)),
    "Linear 2-D": lambda: (nn.Linear(8, 3), (2, 8)),
    "Linear 3-D tokens": lambda: (nn.Linear(8, 3), (2, 5, 8)),
    "Linear 4-D": lambda: (nn.Linear(8, 3), (2, 3, 5, 8)),
    "LayerNorm": lambda: (nn.LayerNorm(8), (2, 5, 8)),
    "LayerNorm 2 dims, no bias": lambda: (nn.LayerNorm((5, 8), bias=False), (2, 5, 8)),
    "Dropout eval": lambda: (nn.Dropout(0.1).eval(), (2, 4, 5, 5)),
}


@pytest.mark.parametrize("device", ["cpu", "meta"])
@pytest.mark.parametrize("name", sorted(ORDINARY))
def test_an_ordinary_configuration_is_taken_and_matches(name: str, device: str) -> None:
    module, shape = ORDINARY[name]()
    assert held_to_torch(module.to(device), _tensor(shape, torch.float32, device)) == Outcome.TAKEN
    assert shortcut_for(type(module)) is SHORTCUTS[type(module)]  # its probe passed on this torch


# Configurations the shortcut does not model: it must hand them to the real forward (torch may run them or refuse).
MUST_DECLINE: dict[str, Callable[[], tuple[nn.Module, tuple[int, ...]]]] = {
    "Conv2d padding 'same'": lambda: (nn.Conv2d(4, 4, 3, padding="same"), (1, 4, 6, 6)),
    "Conv2d padding 'valid'": lambda: (nn.Conv2d(4, 4, 3, padding="valid"), (1, 4, 6, 6)),
    "Conv2d reflect padding": lambda: (nn.Conv2d(4, 4, 3, padding=1, padding_mode="reflect"), (1, 4, 6, 6)),
    "Conv2d circular padding": lambda: (nn.Conv2d(4, 4, 3, padding=1, padding_mode="circular"), (1, 4, 6, 6)),
    "Conv2d unbatched 3-D input": lambda: (nn.Conv2d(4, 4, 3), (4, 6, 6)),
    "BatchNorm2d in training": lambda: (nn.BatchNorm2d(4), (2, 4, 5, 5)),
    "BatchNorm2d without running stats": lambda: (nn.BatchNorm2d(4, track_running_stats=False).eval(),
                                                  (2, 4, 5, 5)),
    "BatchNorm2d 3-D input": lambda: (nn.BatchNorm2d(4).eval(), (4, 5, 5)),
    "GELU unknown approximation": lambda: (nn.GELU(approximate="bogus"), (2, 5)),
    "MaxPool2d return_indices": lambda: (nn.MaxPool2d(2, return_indices=True), (1, 4, 6, 6)),
    "MaxPool2d unbatched 3-D input": lambda: (nn.MaxPool2d(2), (4, 6, 6)),
    "AdaptiveAvgPool2d to 2x2": lambda: (nn.AdaptiveAvgPool2d(2), (1, 4, 6, 6)),
    "AdaptiveAvgPool2d (None, 1)": lambda: (nn.AdaptiveAvgPool2d((None, 1)), (1, 4, 6, 6)),
    "Linear without bias": lambda: (nn.Linear(8, 3, bias=False), (2, 8)),
    "Linear on a vector": lambda: (nn.Linear(8, 3), (8,)),
    "Linear wrong in_features": lambda: (nn.Linear(8, 3), (2, 7)),
    "LayerNorm wrong shape": lambda: (nn.LayerNorm(8), (2, 7)),
    "Dropout in training": lambda: (nn.Dropout(0.5), (2, 8)),
}


@pytest.mark.parametrize("name", sorted(MUST_DECLINE))
def test_a_configuration_the_shortcut_does_not_model_is_declined(name: str) -> None:
    module, shape = MUST_DECLINE[name]()
    assert held_to_torch(module, _tensor(shape, torch.float32, "cpu")) is Outcome.DECLINED


@pytest.mark.parametrize("layout", ["transposed", "channels_last"])
def test_a_non_contiguous_input_to_linear_or_global_pool_is_declined(layout: str) -> None:
    if layout == "transposed":
        module, x = nn.Linear(6, 3), _tensor((2, 5, 6), torch.float32, "cpu", transposed=True)
    else:
        module, x = nn.AdaptiveAvgPool2d(1), torch.randn(2, 4, 3, 3).contiguous(memory_format=torch.channels_last)
    assert held_to_torch(module, x) is Outcome.DECLINED


# ---------------------------------------------------------------- end to end through analyze


class ShortcutSpy:
    """Stands in for `counting_mode.shortcut_for`: the real shortcuts (or none), counting each one taken."""

    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled
        self.taken: collections.Counter[str] = collections.Counter()

    def __call__(self, cls: type[nn.Module]) -> Any:
        real = shortcut_for(cls) if self.enabled else None
        if real is None:
            return None

        def counted(module: nn.Module, x: torch.Tensor, call: Any) -> Any:
            out = real(module, x, call)
            if out is not NotImplemented:
                self.taken[cls.__name__] += 1
            return out

        return counted


def _with_shortcuts(monkeypatch: pytest.MonkeyPatch, enabled: bool, run: Callable[[], Any]) -> tuple[Any, ShortcutSpy]:
    spy = ShortcutSpy(enabled)
    with monkeypatch.context() as patch:
        patch.setattr(counting_mode, "shortcut_for", spy)
        return run(), spy


def _record_state(record: Any) -> tuple[dict, str, str]:
    state = {k: v for k, v in record.__dict__.items() if k not in CACHED_PROPERTIES}
    return state, layer_formula(record), params_formula(record)


def _assert_same_analysis(on: Any, off: Any) -> None:
    assert [r.name for r in on.records] == [r.name for r in off.records]
    for a, b in zip(on.records, off.records):
        assert _record_state(a) == _record_state(b), a.name
    assert on.totals == off.totals
    assert (on.model_name, on.input_size, on.batch_size, on.dtype, on.inputs, on.measured_on) == (
        off.model_name, off.input_size, off.batch_size, off.dtype, off.inputs, off.measured_on)


def every_shortcut_model() -> nn.Sequential:
    """A small network holding one (or more) of every class that has a shortcut."""
    return nn.Sequential(
        nn.Conv2d(3, 8, 3, padding=1, bias=False), nn.BatchNorm2d(8), nn.ReLU(inplace=True),
        nn.Conv2d(8, 8, 3, stride=2, groups=2), nn.BatchNorm2d(8, momentum=None, affine=False), nn.SiLU(),
        nn.Hardswish(), nn.Hardsigmoid(inplace=True), nn.Sigmoid(), nn.ReLU6(inplace=True),
        nn.MaxPool2d(3, 2, 1), nn.MaxPool2d(2, ceil_mode=True), nn.GELU(), nn.GELU(approximate="tanh"),
        nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(8, 16), nn.LayerNorm(16), nn.Dropout(0.2),
        nn.Linear(16, 10))


MODELS: dict[str, Callable[[], nn.Module]] = {
    "resnet18": torchvision.models.resnet18,
    "mobilenet_v3_small": torchvision.models.mobilenet_v3_small,
    "efficientnet_b0": torchvision.models.efficientnet_b0,
    "convnext_tiny": torchvision.models.convnext_tiny,
    "vit_b_16": torchvision.models.vit_b_16,
    "every_shortcut": every_shortcut_model,
}
EXPECTED_TAKEN = {  # classes each model runs in the standard way: a shortcut must be taken for each
    "resnet18": {"Conv2d", "BatchNorm2d", "ReLU", "MaxPool2d", "AdaptiveAvgPool2d", "Linear"},
    "mobilenet_v3_small": {"Conv2d", "BatchNorm2d", "Hardswish", "ReLU", "Hardsigmoid", "AdaptiveAvgPool2d",
                           "Linear", "Dropout"},
    "efficientnet_b0": {"Conv2d", "BatchNorm2d", "SiLU", "Sigmoid", "AdaptiveAvgPool2d", "Linear", "Dropout"},
    "convnext_tiny": {"Conv2d", "Linear", "GELU", "LayerNorm"},  # its pool's input is permuted: declined
    "vit_b_16": {"Conv2d", "Linear", "GELU", "LayerNorm", "Dropout"},
    "every_shortcut": {cls.__name__ for cls in SHORTCUTS},
}


@pytest.mark.parametrize("name", sorted(MODELS))
def test_analyze_gives_the_same_records_with_shortcuts_on_and_off(name: str,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    with torch.device("meta"):
        model = MODELS[name]()
    run = lambda: analyze(model, (3, 224, 224) if name != "every_shortcut" else (3, 16, 16), 2)  # noqa: E731
    off, spy_off = _with_shortcuts(monkeypatch, False, run)
    on, spy_on = _with_shortcuts(monkeypatch, True, run)
    _assert_same_analysis(on, off)
    assert not spy_off.taken
    assert EXPECTED_TAKEN[name] <= set(spy_on.taken), set(spy_on.taken)
    assert all("forward" not in vars(m) for m in model.modules())


def test_no_class_with_a_shortcut_defines_a_name_it_reads_as_a_slot() -> None:
    """The shortcuts read weights and statistics (`SLOT_NAMES`) the way `nn.Module.__getattr__` finds them, which is
    what `m.weight` reads only while the class itself defines no attribute of that name."""
    assert [(cls.__name__, name) for cls in SHORTCUTS for name in SLOT_NAMES if hasattr(cls, name)] == []


def test_a_weight_held_as_a_plain_attribute_is_the_one_the_shortcut_reads(monkeypatch: pytest.MonkeyPatch) -> None:
    """A weight moved out of `_parameters` into the module's own attributes (as reparametrisations do) is the one
    `conv.weight` reads: 5 output channels of 3×3×3, so 5·6·6 outputs × 27 MACs = 4,860 on an 8×8 input."""
    with torch.device("meta"):
        conv = nn.Conv2d(3, 8, 3, bias=False)
    del conv.weight
    conv.weight = torch.empty(5, 3, 3, 3, device="meta")
    run = lambda: analyze(conv, (3, 8, 8))  # noqa: E731
    off, _ = _with_shortcuts(monkeypatch, False, run)
    on, spy_on = _with_shortcuts(monkeypatch, True, run)
    assert "Conv2d" in spy_on.taken
    assert on.totals.macs == off.totals.macs == 4_860
    assert on.records[0].output_shapes == ((1, 5, 6, 6),)


def test_a_cpu_model_analysed_on_meta_takes_the_shortcuts_and_matches(monkeypatch: pytest.MonkeyPatch) -> None:
    """Weights on the CPU: the analysis swaps in meta stand-ins (functional_call), the shortcuts see those."""
    model = every_shortcut_model()
    run = lambda: analyze(model, (3, 16, 16), dtype=torch.bfloat16)  # noqa: E731
    off, _ = _with_shortcuts(monkeypatch, False, run)
    on, spy = _with_shortcuts(monkeypatch, True, run)
    _assert_same_analysis(on, off)
    assert EXPECTED_TAKEN["every_shortcut"] <= set(spy.taken)
    assert all(p.device.type == "cpu" and p.dtype == torch.float32 for p in model.parameters())


REFUSED_INPUTS: dict[str, tuple[Callable[[], nn.Module], tuple[int, ...]]] = {
    "conv given the wrong channels first": (lambda: nn.Conv2d(3, 8, 3), (4, 8, 8)),
    "conv given the wrong channels inside": (lambda: nn.Sequential(nn.Conv2d(3, 8, 3), nn.Conv2d(4, 8, 3)),
                                             (3, 8, 8)),
    "conv window larger than its input": (lambda: nn.Sequential(nn.Conv2d(3, 8, 3), nn.Conv2d(8, 8, 7)),
                                          (3, 6, 6)),
    "max pool padding over half its window": (lambda: nn.Sequential(nn.Conv2d(3, 8, 1), nn.MaxPool2d(2, 1, 2)),
                                              (3, 6, 6)),
    "batch norm of the wrong width": (lambda: nn.Sequential(nn.Conv2d(3, 8, 1), nn.BatchNorm2d(5)), (3, 6, 6)),
    "linear with the wrong in_features": (lambda: nn.Sequential(nn.Flatten(), nn.Linear(10, 3)), (3, 4, 4)),
    "layer norm of the wrong shape": (lambda: nn.Sequential(nn.Conv2d(3, 8, 1), nn.LayerNorm(7)), (3, 6, 6)),
}


@pytest.mark.parametrize("case", sorted(REFUSED_INPUTS))
def test_an_input_torch_refuses_gives_the_same_error_with_shortcuts_on_and_off(
        case: str, monkeypatch: pytest.MonkeyPatch) -> None:
    build, size = REFUSED_INPUTS[case]
    with torch.device("meta"):
        model = build()

    def failure() -> AnalysisError:
        with pytest.raises(AnalysisError) as caught:
            analyze(model, size)
        return caught.value

    off, _ = _with_shortcuts(monkeypatch, False, failure)
    on, _ = _with_shortcuts(monkeypatch, True, failure)
    assert (type(on), str(on)) == (type(off), str(off))
    assert all("forward" not in vars(m) for m in model.modules())


# ---------------------------------------------------------------- the model is left as found


def test_a_users_own_forward_on_a_module_without_shortcut_is_put_back() -> None:
    flatten = nn.Flatten()

    def own_forward(x: torch.Tensor) -> torch.Tensor:
        return x.flatten(1) * 2

    flatten.forward = own_forward
    with torch.device("meta"):
        model = nn.Sequential(nn.Conv2d(3, 4, 3), flatten)
    analysis = analyze(model, (3, 8, 8))
    assert vars(flatten)["forward"] is own_forward
    assert "aten.mul.Tensor" in [op.op for op in analysis.record("1").ops]  # it was the one that ran
    assert all("forward" not in vars(m) for m in model.modules() if m is not flatten)


# ---------------------------------------------------------------- training: grad enabled, no shortcut


def test_training_analysis_is_the_same_with_shortcuts_on_and_off_and_takes_none(
        monkeypatch: pytest.MonkeyPatch) -> None:
    with torch.device("meta"):
        model = torchvision.models.resnet18()
    run = lambda: analyze_training(model, (3, 224, 224), 2, optimizer="adam")  # noqa: E731
    off, _ = _with_shortcuts(monkeypatch, False, run)
    on, spy = _with_shortcuts(monkeypatch, True, run)
    assert not spy.taken  # grad is on throughout a training step
    assert on.layers == off.layers and on.totals == off.totals and on.memory == off.memory
    _assert_same_analysis(on.forward, off.forward)
    assert all("forward" not in vars(m) for m in model.modules())


# ---------------------------------------------------------------- corner cases found by the differential tests


@pytest.mark.parametrize("options", [{"momentum": 1}, {"eps": 0}])
def test_batch_norm_int_momentum_or_eps_reaches_the_op_as_a_float(options: dict) -> None:
    held_to_torch(nn.BatchNorm2d(4, **options).eval(), torch.randn(2, 4, 3, 3))


def test_layer_norm_int_eps_reaches_the_op_as_a_float() -> None:
    held_to_torch(nn.LayerNorm(8, eps=0), torch.randn(2, 5, 8))


def test_linear_with_no_in_features_on_tokens() -> None:
    with pytest.warns(UserWarning):  # torch: initialising a zero-element tensor is a no-op
        linear = nn.Linear(0, 3)
    held_to_torch(linear, torch.randn(2, 5, 0))


@pytest.mark.parametrize("size", [1.0, True])
def test_adaptive_pool_non_int_size_is_refused(size: Any) -> None:
    held_to_torch(nn.AdaptiveAvgPool2d(size), torch.randn(2, 4, 3, 3))


def test_a_users_own_forward_on_a_shortcut_class_runs_and_is_put_back(monkeypatch: pytest.MonkeyPatch) -> None:
    relu = nn.ReLU()

    def doubled(x: torch.Tensor) -> torch.Tensor:
        return x * 2

    relu.forward = doubled
    with torch.device("meta"):
        model = nn.Sequential(nn.Conv2d(3, 4, 3), relu)
    run = lambda: analyze(model, (3, 8, 8))  # noqa: E731
    off, _ = _with_shortcuts(monkeypatch, False, run)
    assert [op.op for op in off.record("1").ops] == ["aten.mul.Tensor"]  # without shortcuts: the user's forward
    on, _ = _with_shortcuts(monkeypatch, True, run)
    _assert_same_analysis(on, off)
    assert vars(relu)["forward"] is doubled  # and it is put back
    assert "forward" not in vars(model[0]) and "forward" not in vars(model)
