"""EfficientNet B0–B7 (torchvision's exact layers) and `efficientnet(phi=…)`, the compound-scaling rule itself.

Every variant is B0's stage table with channels scaled by a width multiplier (rounded to multiples of 8), block
counts by a depth multiplier (rounded up), and a larger input. B1–B7 use the multipliers the authors published;
`efficientnet(phi)` derives them from the paper's coefficients for any φ ≥ 0, so the app can scale continuously;
its `depth_mult`, `width_mult` and `resolution` options move one dimension alone, to set each against the paper's
FLOPs ∝ d·w²·r².
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from functools import partial
from typing import Callable

import torch
from torch import Tensor, nn

from explorer.zoo.build_options import Bounds
from explorer.zoo.layers import ConvNormActivation, NormFactory, make_divisible
from explorer.zoo.registry import Family, InputSize, register_model

__all__ = [
    "BASE_RESOLUTION", "DEPTH_COEFFICIENT", "DEPTH_MULT_BOUNDS", "EFFICIENTNET_B0_STAGES", "EfficientNet",
    "HEAD_EXPANSION", "KnobSetting", "MBConv", "MBConvStage", "NOTES_PRESETS", "RESOLUTION_COEFFICIENT",
    "STOCHASTIC_DEPTH_PROB", "Scaling", "SqueezeExcitation", "StochasticDepth", "VARIANTS", "Variant",
    "WIDTH_COEFFICIENT", "compound_input_size", "efficientnet", "predicted_cost_factor",
]

_TAN_LE_2019 = "Tan, Le, 2019"
_TORCHVISION_EFFICIENTNET = "torchvision/models/efficientnet.py"

# Tan & Le 2019, Eq. 3 and Section 3.3: depth d = α^φ, width w = β^φ, resolution r = γ^φ, with α·β²·γ² ≈ 2, so the
# FLOPs roughly double per unit of φ.
DEPTH_COEFFICIENT = 1.2  # α
WIDTH_COEFFICIENT = 1.1  # β
RESOLUTION_COEFFICIENT = 1.15  # γ
BASE_RESOLUTION = 224


@dataclass(frozen=True)
class MBConvStage:
    """One row of EfficientNet-B0's Table 1: MBConv(expansion, k×k) repeated `blocks` times, the first strided."""

    expand_ratio: int
    kernel: int
    stride: int
    in_channels: int
    out_channels: int
    blocks: int

    def scaled(self, width_mult: float, depth_mult: float) -> MBConvStage:
        """Channels × width (to multiples of 8), blocks × depth (rounded up): torchvision's MBConvConfig rule."""
        return replace(
            self,
            in_channels=make_divisible(self.in_channels * width_mult),
            out_channels=make_divisible(self.out_channels * width_mult),
            blocks=int(math.ceil(self.blocks * depth_mult)),
        )


# Tan & Le 2019, Table 1 (torchvision's `_efficientnet_conf` for "efficientnet_b*"): 16 MBConv blocks after a
# 3×3/2 stem with 32 channels, and a 1×1 head with 4× the last stage's channels (1280 for B0).
EFFICIENTNET_B0_STAGES: tuple[MBConvStage, ...] = (
    MBConvStage(1, 3, 1, 32, 16, 1),
    MBConvStage(6, 3, 2, 16, 24, 2),
    MBConvStage(6, 5, 2, 24, 40, 2),
    MBConvStage(6, 3, 2, 40, 80, 3),
    MBConvStage(6, 5, 1, 80, 112, 3),
    MBConvStage(6, 5, 2, 112, 192, 4),
    MBConvStage(6, 3, 1, 192, 320, 1),
)
HEAD_EXPANSION = 4
STOCHASTIC_DEPTH_PROB = 0.2  # torchvision's EfficientNet default, scaled linearly with the block index


@dataclass(frozen=True)
class Scaling:
    """How far one variant is scaled from B0, plus the regularisation and BN settings that go with it."""

    width_mult: float
    depth_mult: float
    resolution: int
    dropout: float
    bn_eps: float = 1e-5
    bn_momentum: float = 0.1

    @staticmethod
    def compound(phi: float, *, depth_mult: float = 1.0, width_mult: float = 1.0) -> Scaling:
        """The paper's rule for any φ: width β^φ, depth α^φ, resolution round(224·γ^φ).

        `depth_mult` and `width_mult` scale further, one knob at a time (φ = 0: B0 scaled by those alone).
        """
        return Scaling(
            width_mult=WIDTH_COEFFICIENT**phi * width_mult,
            depth_mult=DEPTH_COEFFICIENT**phi * depth_mult,
            resolution=round(BASE_RESOLUTION * RESOLUTION_COEFFICIENT**phi),
            dropout=0.2,  # B0's; dropout is inactive at inference and never changes the cost
        )


@dataclass(frozen=True)
class KnobSetting:
    """One dimension-by-dimension scaling of B0: depth and width multipliers and an input resolution in pixels."""

    label: str
    depth_mult: float
    width_mult: float
    resolution: int

    @property
    def resolution_factor(self) -> float:
        return self.resolution / BASE_RESOLUTION

    def predicted_macs_factor(self) -> float:
        return predicted_cost_factor(self.depth_mult, self.width_mult, self.resolution_factor)


# The choices the notes (seed 001, EfficientNet) ask about, and φ = 1 of the compound rule for comparison.
NOTES_PRESETS: tuple[KnobSetting, ...] = (
    KnobSetting("B0 (no scaling)", 1.0, 1.0, BASE_RESOLUTION),
    KnobSetting("double the depth", 2.0, 1.0, BASE_RESOLUTION),
    KnobSetting("double the resolution", 1.0, 1.0, 2 * BASE_RESOLUTION),
    KnobSetting("resolution +10%, depth +50%, width +20%", 1.5, 1.2, round(1.1 * BASE_RESOLUTION)),
    KnobSetting("compound φ = 1 (α = 1.2, β = 1.1, γ = 1.15)", DEPTH_COEFFICIENT, WIDTH_COEFFICIENT,
                round(BASE_RESOLUTION * RESOLUTION_COEFFICIENT)),
)


def predicted_cost_factor(depth: float, width: float, resolution: float) -> float:
    """Tan & Le 2019, §3.3: a ConvNet's FLOPs are proportional to d·w²·r² (depth, width and resolution factors).

    With the compound rule d = α^φ, w = β^φ, r = γ^φ this is (α·β²·γ²)^φ ≈ 2^φ.
    """
    return depth * width**2 * resolution**2


class SqueezeExcitation(nn.Module):
    """Squeeze (global average pool) → 1×1 reduce → SiLU → 1×1 expand → sigmoid, then rescale every channel."""

    def __init__(self, channels: int, squeeze_channels: int) -> None:
        super().__init__()
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.fc1 = nn.Conv2d(channels, squeeze_channels, 1)
        self.fc2 = nn.Conv2d(squeeze_channels, channels, 1)
        self.activation = nn.SiLU(inplace=True)
        self.scale_activation = nn.Sigmoid()

    def forward(self, x: Tensor) -> Tensor:
        scale = self.scale_activation(self.fc2(self.activation(self.fc1(self.avgpool(x)))))
        return scale * x


class StochasticDepth(nn.Module):
    """In training, drop the residual branch for a random subset of the batch (scaled to keep the expectation).

    At inference, where all cost analysis happens, it passes its input through untouched.
    """

    def __init__(self, p: float) -> None:
        super().__init__()
        if not 0.0 <= p < 1.0:
            raise ValueError(f"drop probability must be in [0, 1), got {p}")
        self.p = p

    def forward(self, x: Tensor) -> Tensor:
        if not self.training or self.p == 0.0:
            return x
        survival = 1.0 - self.p
        keep = torch.empty((x.shape[0],) + (1,) * (x.dim() - 1), dtype=x.dtype, device=x.device).bernoulli_(survival)
        return x * keep.div_(survival)

    def extra_repr(self) -> str:
        return f"p={self.p}"


class MBConv(nn.Module):
    """Mobile inverted bottleneck: 1×1 expand (SiLU) → k×k depthwise (SiLU) → squeeze-excitation → 1×1 project,
    with a residual add (through stochastic depth) when the block keeps its shape."""

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        *,
        expand_ratio: int,
        kernel: int,
        stride: int,
        stochastic_depth_prob: float,
        norm: NormFactory,
    ) -> None:
        super().__init__()
        self.use_residual = stride == 1 and in_channels == out_channels
        expanded = make_divisible(in_channels * expand_ratio)
        layers: list[nn.Module] = []
        if expanded != in_channels:
            layers.append(ConvNormActivation(in_channels, expanded, 1, norm=norm, activation=nn.SiLU))
        layers += [
            ConvNormActivation(expanded, expanded, kernel, stride, groups=expanded, norm=norm, activation=nn.SiLU),
            SqueezeExcitation(expanded, max(1, in_channels // 4)),
            ConvNormActivation(expanded, out_channels, 1, norm=norm, activation=None),
        ]
        self.block = nn.Sequential(*layers)
        self.stochastic_depth = StochasticDepth(stochastic_depth_prob)
        self.out_channels = out_channels

    def forward(self, x: Tensor) -> Tensor:
        out = self.block(x)
        if self.use_residual:
            out = self.stochastic_depth(out)
            out += x
        return out


class EfficientNet(nn.Module):
    """Stem, seven MBConv stages, 1×1 head, global pool, dropout + linear: torchvision's layout and names."""

    def __init__(self, scaling: Scaling, *, num_classes: int = 1000) -> None:
        super().__init__()
        if num_classes < 1:
            raise ValueError(f"num_classes must be at least 1, got {num_classes}")
        norm: NormFactory = partial(nn.BatchNorm2d, eps=scaling.bn_eps, momentum=scaling.bn_momentum)
        stages = [stage.scaled(scaling.width_mult, scaling.depth_mult) for stage in EFFICIENTNET_B0_STAGES]
        layers: list[nn.Module] = [
            ConvNormActivation(3, stages[0].in_channels, 3, 2, norm=norm, activation=nn.SiLU),
        ]
        total_blocks = sum(stage.blocks for stage in stages)
        block_index = 0
        for stage in stages:
            blocks: list[nn.Module] = []
            for index in range(stage.blocks):
                blocks.append(
                    MBConv(
                        stage.in_channels if index == 0 else stage.out_channels,
                        stage.out_channels,
                        expand_ratio=stage.expand_ratio,
                        kernel=stage.kernel,
                        stride=stage.stride if index == 0 else 1,
                        stochastic_depth_prob=STOCHASTIC_DEPTH_PROB * block_index / total_blocks,
                        norm=norm,
                    )
                )
                block_index += 1
            layers.append(nn.Sequential(*blocks))
        head_channels = HEAD_EXPANSION * stages[-1].out_channels
        layers.append(ConvNormActivation(stages[-1].out_channels, head_channels, 1, norm=norm, activation=nn.SiLU))
        self.features = nn.Sequential(*layers)
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.flatten = nn.Flatten(1)
        self.classifier = nn.Sequential(
            nn.Dropout(p=scaling.dropout, inplace=True),
            nn.Linear(head_channels, num_classes),
        )

    def forward(self, x: Tensor) -> Tensor:
        return self.classifier(self.flatten(self.avgpool(self.features(x))))


@dataclass(frozen=True)
class Variant:
    """A published EfficientNet: its scaling and torchvision's reference accuracy."""

    name: str
    scaling: Scaling
    top1: float
    weights: str


_BN_B5_B7 = {"bn_eps": 1e-3, "bn_momentum": 0.01}  # torchvision's norm_layer for B5–B7 (weights ported from TF)

# torchvision/models/efficientnet.py: efficientnet_bN(width_mult, depth_mult), dropout, BN; crop_size of the weights'
# transforms is the eval resolution; acc@1 of EfficientNet_BN_Weights.IMAGENET1K_V1.
VARIANTS: tuple[Variant, ...] = (
    Variant("efficientnet_b0", Scaling(1.0, 1.0, 224, 0.2), 77.692, "EfficientNet_B0_Weights"),
    Variant("efficientnet_b1", Scaling(1.0, 1.1, 240, 0.2), 78.642, "EfficientNet_B1_Weights"),
    Variant("efficientnet_b2", Scaling(1.1, 1.2, 288, 0.3), 80.608, "EfficientNet_B2_Weights"),
    Variant("efficientnet_b3", Scaling(1.2, 1.4, 300, 0.3), 82.008, "EfficientNet_B3_Weights"),
    Variant("efficientnet_b4", Scaling(1.4, 1.8, 380, 0.4), 83.384, "EfficientNet_B4_Weights"),
    Variant("efficientnet_b5", Scaling(1.6, 2.2, 456, 0.4, **_BN_B5_B7), 83.444, "EfficientNet_B5_Weights"),
    Variant("efficientnet_b6", Scaling(1.8, 2.6, 528, 0.5, **_BN_B5_B7), 84.008, "EfficientNet_B6_Weights"),
    Variant("efficientnet_b7", Scaling(2.0, 3.1, 600, 0.5, **_BN_B5_B7), 84.122, "EfficientNet_B7_Weights"),
)


def _register_variant(variant: Variant) -> Callable[..., nn.Module]:
    scaling = variant.scaling

    def build(*, num_classes: int = 1000) -> nn.Module:
        return EfficientNet(scaling, num_classes=num_classes)

    build.__name__ = build.__qualname__ = variant.name
    register_model(
        variant.name,
        family=Family.EFFICIENTNET,
        input_size=(3, scaling.resolution, scaling.resolution),
        paper=_TAN_LE_2019,
        description=f"EfficientNet-B0 scaled to width ×{scaling.width_mult}, depth ×{scaling.depth_mult} and "
        f"{scaling.resolution}×{scaling.resolution} inputs. The notes' point: grow resolution, depth and width "
        "together, at set rates, rather than any one of them alone.",
        top1=variant.top1,
        top1_source=f"torchvision {variant.weights}.IMAGENET1K_V1 acc@1 ({_TORCHVISION_EFFICIENTNET})",
    )(build)
    return build


(
    efficientnet_b0,
    efficientnet_b1,
    efficientnet_b2,
    efficientnet_b3,
    efficientnet_b4,
    efficientnet_b5,
    efficientnet_b6,
    efficientnet_b7,
) = (_register_variant(variant) for variant in VARIANTS)


def compound_input_size(*, phi: float = 0.0, **_: object) -> InputSize:
    """Default input for `efficientnet(phi)`: round(224·γ^φ) square."""
    resolution = Scaling.compound(_check_phi(phi)).resolution
    return (3, resolution, resolution)


def _check_phi(phi: float) -> float:
    phi = float(phi)
    if not (phi >= 0 and math.isfinite(phi)):
        raise ValueError(f"phi must be a finite number ≥ 0, got {phi}")
    return phi


def _check_multiplier(name: str, value: float) -> float:
    value = float(value)
    if not (value > 0 and math.isfinite(value)):
        raise ValueError(f"{name} must be a positive number, got {value}")
    return value


# depth_mult multiplies every stage's block count (rounded up): 6 is about twice B7's 3.1, still quick on meta.
DEPTH_MULT_BOUNDS = {"depth_mult": Bounds("depth multiplier d: blocks per stage × d, rounded up (B7 uses 3.1)", 0.1, 6.0)}


@register_model(
    "efficientnet",
    family=Family.EFFICIENTNET,
    input_size=(3, BASE_RESOLUTION, BASE_RESOLUTION),
    paper=_TAN_LE_2019,
    description="Compound scaling as a dial: φ scales B0's depth by 1.2^φ, width by 1.1^φ and input resolution "
    "by 1.15^φ, so the MACs grow about 2^φ. φ = 0 is B0; the published B1–B7 use hand-rounded multipliers instead. "
    "depth_mult, width_mult and resolution move one dimension at a time (on top of φ when both are given).",
    input_size_fn=compound_input_size,
    bounds=DEPTH_MULT_BOUNDS,
)
def efficientnet(
    *, phi: float = 0.0, depth_mult: float = 1.0, width_mult: float = 1.0, num_classes: int = 1000
) -> nn.Module:
    scaling = Scaling.compound(
        _check_phi(phi),
        depth_mult=_check_multiplier("depth_mult", depth_mult),
        width_mult=_check_multiplier("width_mult", width_mult),
    )
    return EfficientNet(scaling, num_classes=num_classes)
