"""The seeds' conv-layer arithmetic with the numbers written out: output size, parameters and MACs.

Pure Python (no torch, no Streamlit) so that the calculator's numbers can be unit-tested on their own and then
checked against the analyzer running the real PyTorch layer. Square inputs and kernels, as the seeds write them
(an n×n×n_c volume convolved with n_c' filters of f×f).
"""

from __future__ import annotations

from analyzers.errors import UserError
from analyzers.numbers import conv_output_size

import enum
from dataclasses import dataclass

__all__ = [
    "COMPARISONS", "Comparison", "ConvLayer", "Design", "LayerArithmeticError", "LayerKind", "PRESETS", "PaddingMode",
    "Preset", "output_size", "resolve_padding", "separable_cost_ratio",
]


class PaddingMode(str, enum.Enum):
    """How the padding p is chosen: none, enough to keep n (stride 1), or an explicit number."""

    VALID = "valid"
    SAME = "same"
    NUMBER = "number"


class LayerKind(str, enum.Enum):
    CONV = "conv"
    MAX_POOL = "max pool"
    AVG_POOL = "avg pool"


class LayerArithmeticError(UserError):
    """A layer that cannot exist (kernel larger than the padded input, groups not dividing channels...)."""


def resolve_padding(mode: PaddingMode, f: int, number: int = 0) -> int:
    """p for a padding mode: valid → 0, same → (f − 1)/2 (the seeds' rule, needs an odd f), number → itself."""
    if mode is PaddingMode.VALID:
        return 0
    if mode is PaddingMode.SAME:
        if f % 2 == 0:
            raise LayerArithmeticError(f"'same' padding needs an odd f; (f − 1)/2 = {(f - 1) / 2} for f = {f}")
        return (f - 1) // 2
    if number < 0:
        raise LayerArithmeticError(f"padding must be ≥ 0, got {number}")
    return number


def output_size(n: int, f: int, stride: int = 1, padding: int = 0) -> int:
    """⌊(n + 2p − f)/s⌋ + 1, the side of the output volume."""
    if n < 1 or f < 1 or stride < 1 or padding < 0:
        raise LayerArithmeticError("n, f and s must be ≥ 1 and p ≥ 0")
    if f > n + 2 * padding:
        raise LayerArithmeticError(f"{f}×{f} kernel larger than the {n + 2 * padding}×{n + 2 * padding} padded input")
    return conv_output_size(n, f, stride, padding)


@dataclass(frozen=True)
class ConvLayer:
    """One conv or pooling layer on an n×n×n_c input, everything the seeds' arithmetic needs.

    For pooling, `filters` and `groups` are ignored: the output keeps n_c channels and there are no parameters.
    """

    n: int
    n_c: int
    f: int
    filters: int = 1  # n_c'
    stride: int = 1
    padding: int = 0
    groups: int = 1
    bias: bool = False
    kind: LayerKind = LayerKind.CONV

    def __post_init__(self) -> None:
        if self.n_c < 1 or self.filters < 1 or self.groups < 1:
            raise LayerArithmeticError("channels, filters and groups must be ≥ 1")
        if self.is_conv and (self.n_c % self.groups or self.filters % self.groups):
            raise LayerArithmeticError(
                f"groups = {self.groups} must divide both n_c = {self.n_c} and n_c' = {self.filters}"
            )
        output_size(self.n, self.f, self.stride, self.padding)  # raises for an impossible layer

    @property
    def is_conv(self) -> bool:
        return self.kind is LayerKind.CONV

    @property
    def is_depthwise(self) -> bool:
        return self.is_conv and self.groups == self.n_c and self.groups > 1

    @property
    def out_n(self) -> int:
        return output_size(self.n, self.f, self.stride, self.padding)

    @property
    def out_channels(self) -> int:
        return self.filters if self.is_conv else self.n_c

    @property
    def channels_per_filter(self) -> int:
        """Each filter is f×f×(n_c / groups): a depthwise filter sees one channel."""
        return self.n_c // self.groups if self.is_conv else 1

    @property
    def params(self) -> int:
        if not self.is_conv:
            return 0
        return (self.f * self.f * self.channels_per_filter + int(self.bias)) * self.filters

    @property
    def macs(self) -> int:
        """Multiplications: one f·f·(n_c/groups) dot product per output value. Pooling multiplies nothing."""
        if not self.is_conv:
            return 0
        return self.out_n * self.out_n * self.filters * self.f * self.f * self.channels_per_filter

    @property
    def output_size_formula(self) -> str:
        n, p, f, s = self.n, self.padding, self.f, self.stride
        return f"⌊({n} + 2·{p} − {f})/{s}⌋ + 1 = {self.out_n}"

    @property
    def params_formula(self) -> str:
        if not self.is_conv:
            return "pooling has no parameters: 0"
        weight = f"{self.f}·{self.f}·{self.channels_per_filter}"
        inner = f"{weight} + 1" if self.bias else weight
        return f"({inner})·{self.filters} = {self.params:,}"

    @property
    def macs_formula(self) -> str:
        if not self.is_conv:
            return "pooling compares or averages, it multiplies no weights: 0 MACs"
        o = self.out_n
        return f"{o}·{o}·{self.filters} outputs × {self.f}·{self.f}·{self.channels_per_filter} = {self.macs:,}"

    @property
    def shape_text(self) -> str:
        """'28×28×192 → 28×28×32', the seeds' H×W×C notation."""
        return f"{self.n}×{self.n}×{self.n_c} → {self.out_n}×{self.out_n}×{self.out_channels}"


def separable_cost_ratio(filters: int, f: int) -> float:
    """MobileNet's cost of a depthwise-separable conv relative to a normal one: 1/n_c' + 1/f²."""
    return 1 / filters + 1 / (f * f)


@dataclass(frozen=True)
class Design:
    """A named sequence of layers, e.g. a 1×1 bottleneck followed by a 5×5 conv."""

    label: str
    layers: tuple[ConvLayer, ...]

    @property
    def macs(self) -> int:
        return sum(layer.macs for layer in self.layers)

    @property
    def params(self) -> int:
        return sum(layer.params for layer in self.layers)

    @property
    def macs_formula(self) -> str:
        if len(self.layers) == 1:
            return f"{self.macs:,}"
        return " + ".join(f"{layer.macs:,}" for layer in self.layers) + f" = {self.macs:,}"


@dataclass(frozen=True)
class Comparison:
    """Two designs of the same map, as the seeds compare them (naive vs bottleneck, normal vs separable)."""

    title: str
    explanation: str
    baseline: Design
    alternative: Design

    @property
    def ratio(self) -> float:
        """Cost of the alternative relative to the baseline."""
        return self.alternative.macs / self.baseline.macs


@dataclass(frozen=True)
class Preset:
    """A seed example that fills the single-layer calculator."""

    title: str
    explanation: str
    layer: ConvLayer
    padding_mode: PaddingMode


# The seeds' worked examples (course notes 001 and 004).
PRESETS: tuple[Preset, ...] = (
    Preset(
        "Inception 5×5, naive",
        "28×28×192 → 32 filters of 5×5, same padding: 28·28·32 outputs × 5·5·192 multiplications ≈ 120 million.",
        ConvLayer(n=28, n_c=192, f=5, filters=32, padding=2),
        PaddingMode.SAME,
    ),
    Preset(
        "1×1 conv, 28×28×192 → 32",
        "A 1×1 convolution shrinks the channels and keeps H×W: the bottleneck of the Inception module (to 16) "
        "or a plain channel projection (to 32).",
        ConvLayer(n=28, n_c=192, f=1, filters=32),
        PaddingMode.VALID,
    ),
    Preset(
        "Normal conv, 6×6×3 → 5 filters of 3×3",
        "The seeds' MobileNet example: a 4×4×5 output, 27 multiplications each: 2,160.",
        ConvLayer(n=6, n_c=3, f=3, filters=5),
        PaddingMode.VALID,
    ),
    Preset(
        "Depthwise 3×3 on 6×6×3",
        "One 3×3 filter per channel (groups = n_c): 4·4·3 outputs × 9 = 432 multiplications.",
        ConvLayer(n=6, n_c=3, f=3, filters=3, groups=3),
        PaddingMode.VALID,
    ),
    Preset(
        "AlexNet conv1",
        "227×227×3 → 96 filters of 11×11 with stride 4: (227 − 11)/4 + 1 = 55.",
        ConvLayer(n=227, n_c=3, f=11, filters=96, stride=4, bias=True),
        PaddingMode.VALID,
    ),
    Preset(
        "AlexNet max pool 3×3, stride 2",
        "55×55×96 → 27×27×96: pooling has no parameters and multiplies no weights.",
        ConvLayer(n=55, n_c=96, f=3, stride=2, kind=LayerKind.MAX_POOL),
        PaddingMode.VALID,
    ),
)

COMPARISONS: tuple[Comparison, ...] = (
    Comparison(
        "Inception 5×5: naive vs 1×1 bottleneck",
        "Shrinking 192 channels to 16 with a 1×1 convolution before the 5×5 cuts the cost to about a tenth.",
        Design("naive 5×5", (ConvLayer(n=28, n_c=192, f=5, filters=32, padding=2),)),
        Design(
            "1×1 to 16, then 5×5",
            (
                ConvLayer(n=28, n_c=192, f=1, filters=16),
                ConvLayer(n=28, n_c=16, f=5, filters=32, padding=2),
            ),
        ),
    ),
    Comparison(
        "Normal vs depthwise-separable",
        "A depthwise 3×3 (one filter per channel) then a pointwise 1×1: cost ratio 1/n_c' + 1/f².",
        Design("normal 3×3", (ConvLayer(n=6, n_c=3, f=3, filters=5),)),
        Design(
            "depthwise 3×3 + pointwise 1×1",
            (
                ConvLayer(n=6, n_c=3, f=3, filters=3, groups=3),
                ConvLayer(n=4, n_c=3, f=1, filters=5),
            ),
        ),
    ),
)
