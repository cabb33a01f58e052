"""Parsed specs → `nn.Module`, inferring every shape on the way so that errors name the line that causes them.

Modules are created on whatever `torch.device` context is active (callers build under `torch.device("meta")`,
which allocates nothing). Children are named after the spec's lines, e.g. `l3_conv`, `l3_relu`, `l7_fc_2`
(the second repeat of line 7), so a table row points back to the text.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass
from typing import Callable, Union

import torch
from torch import nn

from analyzers.numbers import conv_output_size
from explorer.spec.errors import SpecError
from explorer.spec.limits import DEFAULT_LIMITS, Budget, SpecLimits
from explorer.spec.module_count import check_module_count
from explorer.spec.parser import (
    Activation,
    ActivationLayer,
    BatchNorm,
    Branch as BranchSpec,
    Conv,
    Dropout,
    Flatten,
    GlobalPool,
    Join,
    Layer,
    Linear,
    LocalResponseNorm,
    Padding,
    PadMode,
    Pair,
    Pool,
    PoolKind,
    Residual as ResidualSpec,
    Spec,
)

__all__ = [
    "Branches", "BuiltSpec", "MeanOfPaths", "Named", "Residual", "Shape", "Vector", "Volume", "build_spec",
    "layer_repeat",
]

# --- shapes (batch dimension left out) ----------------------------------------------------------------------


@dataclass(frozen=True)
class Volume:
    channels: int
    height: int
    width: int

    def __str__(self) -> str:
        return f"{self.height}×{self.width}×{self.channels}"  # H×W×C, as the notes write volumes

    @property
    def elements(self) -> int:
        return self.channels * self.height * self.width

    @property
    def torch_shape(self) -> tuple[int, ...]:
        return (self.channels, self.height, self.width)


@dataclass(frozen=True)
class Vector:
    features: int

    def __str__(self) -> str:
        return f"{self.features} features"

    @property
    def elements(self) -> int:
        return self.features

    @property
    def torch_shape(self) -> tuple[int, ...]:
        return (self.features,)


Shape = Union[Volume, Vector]

# --- modules for blocks ----------------------------------------------------------------------------------


class _Paths(nn.Module):
    """Paths that all see the block's input (`path1`, `path2`, …), joined by the subclass, then an optional
    activation."""

    def __init__(self, paths: list[nn.Module], activation: nn.Module | None = None) -> None:
        super().__init__()
        self.path_names = [f"path{i}" for i in range(1, len(paths) + 1)]
        for name, path in zip(self.path_names, paths):
            self.add_module(name, path)
        self.activation = activation

    def _outputs(self, x: torch.Tensor) -> list[torch.Tensor]:
        return [getattr(self, name)(x) for name in self.path_names]

    def _activated(self, out: torch.Tensor) -> torch.Tensor:
        return out if self.activation is None else self.activation(out)


class Branches(_Paths):
    """Inception-style block: every path sees the input; outputs are concatenated on channels."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self._activated(torch.cat(self._outputs(x), dim=1))


class MeanOfPaths(_Paths):
    """FractalNet's join: every path sees the input; their outputs (all one shape) are averaged element-wise.

    k − 1 additions and one division per element, as the zoo's FractalNet join computes it (no stacked copy).
    """

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        outputs = self._outputs(x)
        total = outputs[0]
        for out in outputs[1:]:
            total = total + out
        return self._activated(total / len(outputs))


class Residual(nn.Module):
    """ResNet-style block: `body(x) + shortcut(x)`, then an optional activation.

    `add_in_place` adds into the body's output, as torchvision's blocks do, when that tensor is the body's own
    and nothing else needs it; the builder decides.
    """

    def __init__(
        self, body: nn.Module, shortcut: nn.Module, activation: nn.Module | None = None, add_in_place: bool = False
    ) -> None:
        super().__init__()
        self.body = body
        self.shortcut = shortcut
        self.activation = activation
        self.add_in_place = add_in_place

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.body(x)
        if self.add_in_place:
            out += self.shortcut(x)
        else:
            out = out + self.shortcut(x)
        return out if self.activation is None else self.activation(out)


_ACTIVATIONS: dict[Activation, Callable[[], nn.Module]] = {
    Activation.RELU: nn.ReLU,
    Activation.RELU6: nn.ReLU6,
    Activation.TANH: nn.Tanh,
    Activation.SIGMOID: nn.Sigmoid,
    Activation.SILU: nn.SiLU,
    Activation.GELU: nn.GELU,
    Activation.SOFTMAX: lambda: nn.Softmax(dim=1),  # over channels / features
}

Named = list[tuple[str, nn.Module]]

_IN_PLACE_CAPABLE = (nn.ReLU, nn.ReLU6)
_ACTIVATION_TYPES = (nn.ReLU, nn.ReLU6, nn.Tanh, nn.Sigmoid, nn.SiLU, nn.GELU, nn.Softmax)
_PASS_THROUGH = (nn.Dropout, nn.Flatten, nn.Identity)  # their output is their input, or a view of it (eval mode)


def _reuse_buffers(children: Named) -> bool:
    """Make ReLUs in-place where they may overwrite their input, as torchvision does; the memory figures follow.

    A ReLU may overwrite a tensor that an earlier layer of the same sequence allocated and whose backward does not
    need it (conv, linear, batch norm, pooling, a block's add or concat), never the sequence's input, which the
    caller or a block's other paths still read. Returns whether the sequence's output is such a tensor.
    """
    owned = False
    for _, module in children:
        if isinstance(module, _IN_PLACE_CAPABLE):
            module.inplace = owned
            owned = False  # an activation's backward reads its output
        elif isinstance(module, _PASS_THROUGH):
            continue
        elif isinstance(module, _ACTIVATION_TYPES):
            owned = False
        else:
            owned = getattr(module, "activation", None) is None  # a block ending in an activation: as above
    return owned


# --- the builder -----------------------------------------------------------------------------------------------


def _pair(value: Pair) -> str:
    return f"{value[0]}×{value[1]}"


def _output_side(size: int, kernel: int, stride: int, padding: int, dilation: int) -> int:
    # PyTorch's Conv2d / MaxPool2d / AvgPool2d formula (floor mode)
    return conv_output_size(size, kernel, stride, padding, dilation)


class _Builder:
    def __init__(self, limits: SpecLimits) -> None:
        self.budget = Budget(limits)

    def sequence(self, layers: tuple[Layer, ...], shape: Shape) -> tuple[nn.Sequential, Shape, bool]:
        """The layers as one Sequential, its output shape, and whether its output is a tensor it allocated."""
        children: Named = []
        for layer in layers:
            for index in range(1, layer_repeat(layer) + 1):
                suffix = f"_{index}" if layer_repeat(layer) > 1 else ""
                named, shape = self.layer(layer, shape, suffix)
                children.extend(named)
        owns_output = _reuse_buffers(children)
        return nn.Sequential(OrderedDict(children)), shape, owns_output

    def layer(self, layer: Layer, shape: Shape, suffix: str) -> tuple[Named, Shape]:
        match layer:
            case Conv():
                return self.conv(layer, shape, suffix)
            case Pool():
                return self.pool(layer, shape, suffix)
            case GlobalPool():
                volume = self.volume(layer.line, shape, "global pooling")
                out = Volume(volume.channels, 1, 1)
                self.budget.charge(layer.line, output_elements=out.elements)
                module = nn.AdaptiveAvgPool2d(1) if layer.kind is PoolKind.AVG else nn.AdaptiveMaxPool2d(1)
                return [(f"l{layer.line}_global{layer.kind.value}pool", module)], out
            case Linear():
                return self.linear(layer, shape, suffix)
            case BatchNorm():
                return [self.batchnorm(layer.line, shape, suffix)], shape
            case LocalResponseNorm():
                volume = self.volume(layer.line, shape, "lrn")
                self.budget.charge(layer.line, output_elements=volume.elements)
                # the paper's α multiplies the sum of squares; PyTorch's alpha is divided by the size first
                module = nn.LocalResponseNorm(layer.size, alpha=layer.alpha * layer.size, beta=layer.beta, k=layer.k)
                return [(f"l{layer.line}_lrn{suffix}", module)], shape
            case ActivationLayer():
                return [self.activation(layer.line, layer.activation, shape, suffix)], shape
            case Dropout():
                self.budget.charge(layer.line, output_elements=shape.elements)
                return [(f"l{layer.line}_dropout{suffix}", nn.Dropout(layer.probability))], shape
            case Flatten():
                out = Vector(shape.elements)
                self.budget.charge(layer.line)  # a view: no new elements
                return [(f"l{layer.line}_flatten{suffix}", nn.Flatten())], out
            case BranchSpec():
                return self.branch(layer, shape, suffix)
            case ResidualSpec():
                return self.residual(layer, shape, suffix)
        raise TypeError(f"not a layer spec: {layer!r}")  # unreachable for parser output

    # simple layers --------------------------------------------------------------------------------------

    def volume(self, line: int, shape: Shape, what: str) -> Volume:
        if isinstance(shape, Vector):
            raise SpecError(
                f"{what} needs an H×W×C volume, but the input here is flat ({shape}); "
                "put it before 'flatten' and 'fc'",
                line,
            )
        return shape

    def padding(self, line: int, padding: Padding, kernel: Pair, dilation: int) -> Pair:
        if padding.mode is PadMode.VALID:
            return (0, 0)
        if padding.mode is PadMode.EXPLICIT:
            return (padding.amount, padding.amount)
        spans = tuple(dilation * (k - 1) for k in kernel)
        if any(span % 2 for span in spans):
            raise SpecError(
                f"'same' padding needs an odd kernel to centre it, got {_pair(kernel)}; use valid or pN", line
            )
        return (spans[0] // 2, spans[1] // 2)

    def window_output(
        self, line: int, shape: Volume, what: str, kernel: Pair, stride: Pair, padding: Pair, dilation: int
    ) -> Pair:
        """Output height and width, or an error when the (dilated) window does not fit the (padded) input."""
        spans = (dilation * (kernel[0] - 1) + 1, dilation * (kernel[1] - 1) + 1)
        padded = (shape.height + 2 * padding[0], shape.width + 2 * padding[1])
        if spans[0] > padded[0] or spans[1] > padded[1]:
            window = f"{_pair(kernel)} {what}"
            if dilation > 1:
                window += f" with dilation {dilation} (spanning {_pair(spans)})"
            source = f"the {shape.height}×{shape.width} input"
            if padding != (0, 0):
                source += f" padded to {_pair(padded)}"
            raise SpecError(f"{window} larger than {source}", line)
        return (
            _output_side(shape.height, kernel[0], stride[0], padding[0], dilation),
            _output_side(shape.width, kernel[1], stride[1], padding[1], dilation),
        )

    def conv(self, spec: Conv, shape: Shape, suffix: str) -> tuple[Named, Shape]:
        line = spec.line
        volume = self.volume(line, shape, "conv")
        in_channels = volume.channels
        if spec.depthwise:
            if spec.filters % in_channels:
                raise SpecError(
                    f"a depthwise conv needs a filter count that is a multiple of its {in_channels} input channels, "
                    f"got {spec.filters}",
                    line,
                )
            groups = in_channels
        else:
            groups = spec.groups
            if in_channels % groups:
                raise SpecError(f"groups={groups} does not divide the {in_channels} input channels", line)
            if spec.filters % groups:
                raise SpecError(f"groups={groups} does not divide the {spec.filters} filters", line)
        padding = self.padding(line, spec.padding, spec.kernel, spec.dilation)
        stride = (spec.stride, spec.stride)
        height, width = self.window_output(line, volume, "kernel", spec.kernel, stride, padding, spec.dilation)
        out = Volume(spec.filters, height, width)
        weights_per_output = (in_channels // groups) * spec.kernel[0] * spec.kernel[1]
        self.budget.charge(
            line,
            params=spec.filters * weights_per_output + (spec.filters if spec.bias else 0),
            macs=out.elements * weights_per_output,
            output_elements=out.elements,
        )
        conv = nn.Conv2d(
            in_channels,
            spec.filters,
            spec.kernel,
            stride=spec.stride,
            padding=padding,
            dilation=spec.dilation,
            groups=groups,
            bias=spec.bias,
        )
        named: Named = [(f"l{line}_conv{suffix}", conv)]
        named += self.after(line, spec.batchnorm, spec.activation, out, suffix)
        return named, out

    def pool(self, spec: Pool, shape: Shape, suffix: str) -> tuple[Named, Shape]:
        line = spec.line
        volume = self.volume(line, shape, "pooling")
        padding = self.padding(line, spec.padding, spec.kernel, 1)
        if any(2 * p > k for p, k in zip(padding, spec.kernel)):  # PyTorch's own rule for pooling
            raise SpecError(
                f"padding {max(padding)} is more than half the {_pair(spec.kernel)} pooling window", line
            )
        height, width = self.window_output(line, volume, "pooling window", spec.kernel, spec.stride, padding, 1)
        out = Volume(volume.channels, height, width)
        self.budget.charge(line, output_elements=out.elements)
        if spec.kind is PoolKind.MAX:
            module: nn.Module = nn.MaxPool2d(spec.kernel, stride=spec.stride, padding=padding)
        else:
            module = nn.AvgPool2d(spec.kernel, stride=spec.stride, padding=padding)
        named: Named = [(f"l{line}_{spec.kind.value}pool{suffix}", module)]
        named += self.after(line, False, spec.activation, out, suffix)
        return named, out

    def linear(self, spec: Linear, shape: Shape, suffix: str) -> tuple[Named, Shape]:
        line = spec.line
        if isinstance(shape, Volume):
            raise SpecError(
                f"fc needs a flat input, but the input here is {shape}; add 'flatten' before it", line
            )
        out = Vector(spec.features)
        self.budget.charge(
            line,
            params=shape.features * spec.features + (spec.features if spec.bias else 0),
            macs=shape.features * spec.features,
            output_elements=out.elements,
        )
        named: Named = [(f"l{line}_fc{suffix}", nn.Linear(shape.features, spec.features, bias=spec.bias))]
        named += self.after(line, spec.batchnorm, spec.activation, out, suffix)
        return named, out

    def batchnorm(self, line: int, shape: Shape, suffix: str) -> tuple[str, nn.Module]:
        channels = shape.channels if isinstance(shape, Volume) else shape.features
        self.budget.charge(line, params=2 * channels, output_elements=shape.elements)
        module = nn.BatchNorm2d(channels) if isinstance(shape, Volume) else nn.BatchNorm1d(channels)
        return (f"l{line}_bn{suffix}", module)

    def activation(self, line: int, activation: Activation, shape: Shape, suffix: str) -> tuple[str, nn.Module]:
        self.budget.charge(line, output_elements=shape.elements)
        return (f"l{line}_{activation.value}{suffix}", _ACTIVATIONS[activation]())

    def after(self, line: int, batchnorm: bool, activation: Activation | None, shape: Shape, suffix: str) -> Named:
        """The optional `bn` and activation written at the end of a line, in that order."""
        named: Named = []
        if batchnorm:
            named.append(self.batchnorm(line, shape, suffix))
        if activation is not None:
            named.append(self.activation(line, activation, shape, suffix))
        return named

    # blocks -----------------------------------------------------------------------------------------------

    def branch(self, spec: BranchSpec, shape: Shape, suffix: str) -> tuple[Named, Shape]:
        paths: list[nn.Module] = []
        outputs: list[Shape] = []
        for layers in spec.paths:
            path, out, _ = self.sequence(layers, shape) if layers else (nn.Identity(), shape, False)
            paths.append(path)
            outputs.append(out)
        if spec.join is Join.MEAN:
            out = self.averaged(spec.end_line, outputs)
        else:
            out = self.concatenated(spec.end_line, outputs)
        self.budget.charge(spec.end_line, output_elements=out.elements)
        activation = self.block_activation(spec.end_line, spec.activation, out)
        block = MeanOfPaths if spec.join is Join.MEAN else Branches
        return [(f"l{spec.line}_branch{suffix}", block(paths, activation))], out

    @staticmethod
    def averaged(line: int, outputs: list[Shape]) -> Shape:
        """The shape a mean join gives: every path's, which must be one and the same (at least two paths)."""
        if len(outputs) < 2:
            raise SpecError("a mean join averages two or more paths; this branch has one", line)
        if len(set(outputs)) > 1:
            listing = ", ".join(f"path {i} gives {out}" for i, out in enumerate(outputs, start=1))
            raise SpecError(f"cannot average paths of different shapes: {listing}", line)
        return outputs[0]

    def concatenated(self, line: int, outputs: list[Shape]) -> Shape:
        listing = ", ".join(f"path {i} gives {out}" for i, out in enumerate(outputs, start=1))
        if all(isinstance(out, Vector) for out in outputs):
            return Vector(sum(out.elements for out in outputs))
        volumes = [out for out in outputs if isinstance(out, Volume)]
        if len(volumes) != len(outputs):
            raise SpecError(f"cannot concatenate flat and H×W×C paths: {listing}", line)
        if len({(v.height, v.width) for v in volumes}) > 1:
            raise SpecError(f"cannot concatenate paths of different heights and widths: {listing}", line)
        return Volume(sum(v.channels for v in volumes), volumes[0].height, volumes[0].width)

    def residual(self, spec: ResidualSpec, shape: Shape, suffix: str) -> tuple[Named, Shape]:
        body, body_out, add_in_place = self.sequence(spec.body, shape)
        if spec.shortcut:
            shortcut, shortcut_out, _ = self.sequence(spec.shortcut, shape)
        else:
            shortcut, shortcut_out = nn.Identity(), shape
        if body_out != shortcut_out:
            raise SpecError(self.mismatch(body_out, shortcut_out, identity=not spec.shortcut), spec.end_line)
        self.budget.charge(spec.end_line, output_elements=body_out.elements)
        activation = self.block_activation(spec.end_line, spec.activation, body_out)
        return [(f"l{spec.line}_residual{suffix}", Residual(body, shortcut, activation, add_in_place))], body_out

    @staticmethod
    def mismatch(body: Shape, shortcut: Shape, identity: bool) -> str:
        both_volumes = isinstance(body, Volume) and isinstance(shortcut, Volume)
        kind = "channel mismatch" if both_volumes and body.channels != shortcut.channels else "shape mismatch"
        other = "the input (identity shortcut) is" if identity else "the shortcut gives"
        message = f"{kind} at the residual add: the body gives {body} but {other} {shortcut}"
        if identity and both_volumes:
            stride = shortcut.height // body.height if body.height else 1
            projection = f"conv {body.channels} 1x1" + (f" s{stride}" if stride > 1 else "")
            message += f"; project it in a 'shortcut' section, e.g. '{projection}'"
        return message

    def block_activation(self, line: int, activation: Activation | None, shape: Shape) -> nn.Module | None:
        """The activation after a block's add or concat, in place where it can be: that output is the block's own."""
        if activation is None:
            return None
        self.budget.charge(line, output_elements=shape.elements)
        module = _ACTIVATIONS[activation]()
        if isinstance(module, _IN_PLACE_CAPABLE):
            module.inplace = True
        return module


def layer_repeat(layer: Layer) -> int:
    return getattr(layer, "repeat", 1)


@dataclass(frozen=True)
class BuiltSpec:
    """The module with the shape inference's results (batch dimension left out)."""

    module: nn.Sequential
    output_shape: tuple[int, ...]
    params: int  # as counted while building, for the limits
    macs: int


def build_spec(spec: Spec, limits: SpecLimits = DEFAULT_LIMITS) -> BuiltSpec:
    """Build `spec` into an `nn.Sequential` (in eval mode), or raise a `SpecError` naming the offending line."""
    check_module_count(spec, limits.max_modules)  # before any work: repeats multiply what is inside them
    builder = _Builder(limits)
    source = Volume(spec.input.channels, spec.input.height, spec.input.width)
    if source.elements > limits.max_tensor_elements:
        message = f"the input has {source.elements:,} elements, over the limit of {limits.max_tensor_elements:,}"
        raise SpecError(message, spec.input.line)
    module, out, _ = builder.sequence(spec.layers, source)
    budget = builder.budget
    return BuiltSpec(module.eval(), out.torch_shape, budget.params, budget.macs)

