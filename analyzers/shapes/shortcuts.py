"""The aten calls that torch's standard leaf modules make, written out, so the counting mode can take them directly.

Why: on meta a `Conv2d` costs more in the trip than in the counting — `Module.__call__` → `forward` →
`F.conv2d` → the C++ dispatcher and its composite `conv2d` → back into Python through the dispatch mode — about
10 µs a layer, most of an analysis of a small network. For the modules every CNN is made of, and the input every
CNN gives them, the call at the end of that trip is simple: `Conv2d(x)` on a 4-D tensor is
`aten.convolution(x, weight, bias, stride, padding, dilation, False, [0, 0], groups)`.

A shortcut must make exactly the aten calls torch would make, with the same arguments, in the same order, so the
counting mode sees the same ops (and runs the same size checks and stand-ins). It answers only for the exact
class (a subclass may override `forward`), a plain meta tensor input and the configurations it fully understands;
for anything else it returns `NotImplemented` and the module's own `forward` runs. `verified_shortcuts()` replays
one probe per shortcut against torch's real dispatch on the installed torch and drops any that differ, and
`tests/test_module_shortcuts.py` holds every shortcut to torch over generated configurations.
"""

from __future__ import annotations

import functools
import math
from typing import Any, Callable

import torch
from torch import nn

__all__ = [
    "Call", "SHORTCUTS", "Shortcut", "adaptive_avg_pool2d", "batch_norm2d", "calls_shortcut_makes", "calls_torch_makes",
    "conv2d", "dropout", "gelu", "layer_norm", "linear", "max_pool2d", "relu6", "shortcut_for",
]

aten = torch.ops.aten

Call = Callable[[Any, tuple, dict], Any]  # runs one aten op through the counting path: (func, args, kwargs) → out
Shortcut = Callable[[nn.Module, torch.Tensor, Call], Any]  # (module, input, call) → output, or NotImplemented
SHORTCUTS: dict[type[nn.Module], Shortcut] = {}

_EMPTY_KWARGS: dict = {}


def _shortcut(*classes: type[nn.Module]) -> Callable[[Shortcut], Shortcut]:
    def register(fn: Shortcut) -> Shortcut:
        for cls in classes:
            SHORTCUTS[cls] = fn
        return fn

    return register


def _is_real(value: Any) -> bool:
    """An int or float (not a bool): what torch turns into a double argument."""
    return type(value) is int or type(value) is float


def _plain(t: Any) -> bool:
    return type(t) is torch.Tensor or type(t) is nn.Parameter


@_shortcut(nn.Conv2d)
def conv2d(m: nn.Conv2d, x: torch.Tensor, call: Call) -> Any:
    """`Conv2d._conv_forward` → `F.conv2d` → composite `conv2d` (batched input) → `convolution`."""
    bias = m.bias
    if (m.padding_mode != "zeros" or type(m.padding) is str or x.dim() != 4 or x.is_complex()
            or (bias is not None and bias.dtype != x.dtype)):
        return NotImplemented
    return call(aten.convolution.default, (x, m.weight, bias, list(m.stride), list(m.padding), list(m.dilation),
                                           False, [0, 0], m.groups), _EMPTY_KWARGS)


@_shortcut(nn.BatchNorm2d)
def batch_norm2d(m: nn.BatchNorm2d, x: torch.Tensor, call: Call) -> Any:
    """Eval with running statistics: `F.batch_norm` → composite `batch_norm` → a 0-byte reserve and
    `native_batch_norm` (training=False, momentum as passed)."""
    mean, var, weight, bias = m.running_mean, m.running_var, m.weight, m.bias
    if (m.training or mean is None or var is None or x.dim() != 4 or not _is_real(m.eps) or m.eps < 0
            or not (m.momentum is None or _is_real(m.momentum))):
        return NotImplemented
    channels = x.shape[1]
    if x.numel() == 0 or any(t is not None and (not _plain(t) or t.numel() != channels)
                             for t in (mean, var, weight, bias)):
        return NotImplemented  # torch's own checks word these errors
    call(aten.empty.memory_format, ([0],), {"dtype": torch.uint8, "layout": torch.strided, "device": x.device})
    momentum = 0.0 if m.momentum is None else float(m.momentum)  # the dispatcher passes doubles as floats
    return call(aten.native_batch_norm.default, (x, weight, bias, mean, var, False, momentum, float(m.eps)),
                _EMPTY_KWARGS)[0]


def _unary(plain: Any, in_place: Any) -> Shortcut:
    def activation(m: nn.Module, x: torch.Tensor, call: Call) -> Any:
        return call(in_place if getattr(m, "inplace", False) else plain, (x,), _EMPTY_KWARGS)

    return activation


SHORTCUTS[nn.ReLU] = _unary(aten.relu.default, aten.relu_.default)
SHORTCUTS[nn.SiLU] = _unary(aten.silu.default, aten.silu_.default)
SHORTCUTS[nn.Hardswish] = _unary(aten.hardswish.default, aten.hardswish_.default)
SHORTCUTS[nn.Hardsigmoid] = _unary(aten.hardsigmoid.default, aten.hardsigmoid_.default)
SHORTCUTS[nn.Sigmoid] = _unary(aten.sigmoid.default, aten.sigmoid.default)


@_shortcut(nn.ReLU6)
def relu6(m: nn.ReLU6, x: torch.Tensor, call: Call) -> Any:
    """`F.hardtanh(x, 0.0, 6.0)`."""
    if type(m.min_val) is not float or type(m.max_val) is not float or m.min_val != 0.0 or m.max_val != 6.0:
        return NotImplemented
    return call(aten.hardtanh_.default if m.inplace else aten.hardtanh.default, (x, 0.0, 6.0), _EMPTY_KWARGS)


@_shortcut(nn.GELU)
def gelu(m: nn.GELU, x: torch.Tensor, call: Call) -> Any:
    if m.approximate == "none":
        return call(aten.gelu.default, (x,), _EMPTY_KWARGS)
    if m.approximate == "tanh":
        return call(aten.gelu.default, (x,), {"approximate": "tanh"})
    return NotImplemented


def _int_pair(value: Any) -> list[int] | None:
    if type(value) is int:
        return [value, value]
    if type(value) in (tuple, list) and len(value) == 2 and all(type(v) is int for v in value):
        return list(value)
    return None


@_shortcut(nn.MaxPool2d)
def max_pool2d(m: nn.MaxPool2d, x: torch.Tensor, call: Call) -> Any:
    """`F.max_pool2d` → `max_pool2d_with_indices`, trailing default arguments left out as the dispatcher does."""
    kernel, padding, dilation = _int_pair(m.kernel_size), _int_pair(m.padding), _int_pair(m.dilation)
    stride = kernel if m.stride is None else _int_pair(m.stride)
    if m.return_indices or x.dim() != 4 or None in (kernel, stride, padding, dilation):
        return NotImplemented
    args: list[Any] = [x, kernel, stride, padding, dilation, m.ceil_mode]
    for default in (False, [1, 1], [0, 0]):  # ceil_mode, dilation, padding
        if args[-1] != default:
            break
        args.pop()
    return call(aten.max_pool2d_with_indices.default, tuple(args), _EMPTY_KWARGS)[0]


@_shortcut(nn.AdaptiveAvgPool2d)
def adaptive_avg_pool2d(m: nn.AdaptiveAvgPool2d, x: torch.Tensor, call: Call) -> Any:
    """Global average pooling: composite `adaptive_avg_pool2d` to 1×1 is a mean over H, W (contiguous input)."""
    size = m.output_size
    ones = (size if type(size) in (tuple, list) and len(size) == 2 else (size,))
    if not all(type(v) is int and v == 1 for v in ones) or x.dim() != 4 or not x.is_contiguous() or 0 in x.shape[1:]:
        return NotImplemented
    return call(aten.mean.dim, (x, [-1, -2], True), _EMPTY_KWARGS)


@_shortcut(nn.Linear)
def linear(m: nn.Linear, x: torch.Tensor, call: Call) -> Any:
    """Composite `linear` with a bias: `addmm(bias, x, weight.t())`, through a 2-D view for a contiguous N-D input."""
    weight, bias = m.weight, m.bias
    dims = x.dim()
    if (bias is None or bias.dim() != 1 or dims < 2 or not x.is_contiguous() or weight.dim() != 2
            or x.shape[-1] != weight.shape[1] or x.dtype != weight.dtype or bias.dtype != x.dtype
            or x.is_complex()):
        return NotImplemented
    if dims == 2:
        return call(aten.addmm.default, (bias, x, call(aten.t.default, (weight,), _EMPTY_KWARGS)), _EMPTY_KWARGS)
    sizes = list(x.shape)
    rows = math.prod(sizes[:-1])
    flat = call(aten.view.default, (x, [rows, sizes[-1]]), _EMPTY_KWARGS)
    out = call(aten.addmm.default, (bias, flat, call(aten.t.default, (weight,), _EMPTY_KWARGS)), _EMPTY_KWARGS)
    return call(aten.view.default, (out, [*sizes[:-1], weight.shape[0]]), _EMPTY_KWARGS)


@_shortcut(nn.LayerNorm)
def layer_norm(m: nn.LayerNorm, x: torch.Tensor, call: Call) -> Any:
    """`F.layer_norm` → composite `layer_norm` → `native_layer_norm`."""
    shape = list(m.normalized_shape)
    weight, bias = m.weight, m.bias
    if (not shape or not _is_real(m.eps) or x.dim() < len(shape) or list(x.shape[-len(shape):]) != shape
            or any(t is not None and list(t.shape) != shape for t in (weight, bias))):
        return NotImplemented
    return call(aten.native_layer_norm.default, (x, shape, weight, bias, float(m.eps)), _EMPTY_KWARGS)[0]


@_shortcut(nn.Dropout)
def dropout(m: nn.Dropout, x: torch.Tensor, call: Call) -> Any:
    """In eval, `F.dropout` returns its input without a dispatched op."""
    if m.training or not 0.0 <= m.p <= 1.0:
        return NotImplemented
    return x


# ---------------------------------------------------------------- trusting a shortcut on this torch


def _image() -> torch.Tensor:
    return torch.randn(2, 8, 6, 6)


def _tokens() -> torch.Tensor:
    return torch.randn(2, 5, 8)


# One representative module and input per shortcut (default arguments, as networks use them), on the CPU: the
# composite decompositions do not depend on the device, and torch's meta kernels would cost a second of imports.
_PROBES: dict[type[nn.Module], Callable[[], tuple[nn.Module, torch.Tensor]]] = {
    nn.Conv2d: lambda: (nn.Conv2d(8, 4, 3, stride=2, padding=1), _image()),
    nn.BatchNorm2d: lambda: (nn.BatchNorm2d(8).eval(), _image()),
    nn.ReLU: lambda: (nn.ReLU(inplace=True), _image()),
    nn.SiLU: lambda: (nn.SiLU(), _image()),
    nn.Hardswish: lambda: (nn.Hardswish(), _image()),
    nn.Hardsigmoid: lambda: (nn.Hardsigmoid(), _image()),
    nn.Sigmoid: lambda: (nn.Sigmoid(), _image()),
    nn.ReLU6: lambda: (nn.ReLU6(inplace=True), _image()),
    nn.GELU: lambda: (nn.GELU(), _tokens()),
    nn.MaxPool2d: lambda: (nn.MaxPool2d(3, 2, 1), _image()),
    nn.AdaptiveAvgPool2d: lambda: (nn.AdaptiveAvgPool2d(1), _image()),
    nn.Linear: lambda: (nn.Linear(8, 3), _tokens()),
    nn.LayerNorm: lambda: (nn.LayerNorm(8), _tokens()),
    nn.Dropout: lambda: (nn.Dropout(0.1).eval(), _image()),
}


def _described(value: Any) -> Any:
    if isinstance(value, torch.Tensor):
        return ("tensor", tuple(value.shape), value.stride(), value.dtype)
    if isinstance(value, (list, tuple)):
        return type(value).__name__, tuple(_described(v) for v in value)
    return type(value).__name__, value


def calls_torch_makes(module: nn.Module, x: torch.Tensor) -> list[tuple]:
    """The aten calls (op, described arguments) that `module(x)` dispatches, with no analysis around it."""
    from torch.utils._python_dispatch import TorchDispatchMode

    seen: list[tuple] = []

    class Recording(TorchDispatchMode):
        @classmethod
        def _should_skip_dynamo(cls) -> bool:  # as the counting mode: no torch._dynamo import (~1 s)
            return False

        def __torch_dispatch__(self, func: Any, types: Any, args: tuple = (), kwargs: dict | None = None) -> Any:
            seen.append((func, _described(args), _described(kwargs or {})))
            return func(*args, **(kwargs or {}))

    with torch.no_grad(), Recording():
        module(x)
    return seen


def calls_shortcut_makes(shortcut: Shortcut, module: nn.Module, x: torch.Tensor) -> list[tuple] | None:
    """The aten calls the shortcut makes for `module(x)`; None if it declines."""
    seen: list[tuple] = []

    def call(func: Any, args: tuple, kwargs: dict) -> Any:
        seen.append((func, _described(args), _described(kwargs)))
        return func(*args, **kwargs)

    with torch.no_grad():
        out = shortcut(module, x, call)
    return None if out is NotImplemented else seen


@functools.cache
def shortcut_for(cls: type[nn.Module]) -> Shortcut | None:
    """The shortcut for modules of exactly `cls`, if its probe makes the same calls as torch's own dispatch on the
    torch installed here (checked once per class and process, well under a millisecond): a torch version that
    decomposes a module differently loses that shortcut, not correctness."""
    shortcut, probe = SHORTCUTS.get(cls), _PROBES.get(cls)
    if shortcut is None or probe is None:
        return None
    module, x = probe()
    return shortcut if calls_shortcut_makes(shortcut, module, x) == calls_torch_makes(module, x) else None
