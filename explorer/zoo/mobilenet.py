"""MobileNet v1 (depthwise-separable convolutions) and v2 (inverted residual bottlenecks), with their blocks.

MobileNet v1 follows the paper's Table 1 (torchvision has no v1); `width_mult` is the paper's α and the input
resolution (the registry's `resolution`) its ρ. MobileNet v2 is torchvision's exact model.
"""

from __future__ import annotations

from dataclasses import dataclass

from torch import Tensor, nn

from explorer.zoo.layers import ConvNormActivation, make_divisible
from explorer.zoo.registry import Family, register_model

__all__ = [
    "DepthwiseSeparable", "InvertedResidual", "InvertedResidualStage", "MOBILENET_V1_BODY",
    "MOBILENET_V1_STEM_CHANNELS", "MOBILENET_V2_LAST_CHANNELS", "MOBILENET_V2_STAGES", "MOBILENET_V2_STEM_CHANNELS",
    "MobileNetV1", "MobileNetV2", "SeparableLayer", "depthwise_separable_block", "mobilenet_v1", "mobilenet_v2",
    "mobilenet_v2_block",
]

_HOWARD_2017 = "Howard et al., 2017"
_SANDLER_2018 = "Sandler et al., 2018"


def _check_width(width_mult: float) -> float:
    if not width_mult > 0:
        raise ValueError(f"width_mult must be positive, got {width_mult}")
    return float(width_mult)


def _check_classes(num_classes: int) -> int:
    if num_classes < 1:
        raise ValueError(f"num_classes must be at least 1, got {num_classes}")
    return num_classes


# --- MobileNet v1 ----------------------------------------------------------------------------------------------


class DepthwiseSeparable(nn.Module):
    """A depthwise f×f convolution (one filter per channel) then a pointwise 1×1 one, each with BN and ReLU.

    Costs f²·c·n² + c·c'·n² MACs instead of f²·c·c'·n²: a ratio of 1/c' + 1/f², as the notes derive.
    """

    def __init__(self, in_channels: int, out_channels: int, stride: int = 1, *, padding: int = 1) -> None:
        super().__init__()
        self.depthwise = ConvNormActivation(
            in_channels, in_channels, 3, stride, groups=in_channels, padding=padding, activation=nn.ReLU
        )
        self.pointwise = ConvNormActivation(in_channels, out_channels, 1, activation=nn.ReLU)

    def forward(self, x: Tensor) -> Tensor:
        return self.pointwise(self.depthwise(x))


@dataclass(frozen=True)
class SeparableLayer:
    """One depthwise-separable row of MobileNet v1's Table 1: output channels, and the depthwise stride."""

    out_channels: int
    stride: int


# Howard et al. 2017, Table 1, after the 3×3/2 stem with 32 filters. The table lists the last depthwise as s2 on a
# 7×7 input that stays 7×7; it is stride 1 (as in every reference implementation), else the final map would be 4×4.
MOBILENET_V1_STEM_CHANNELS = 32
MOBILENET_V1_BODY: tuple[SeparableLayer, ...] = (
    SeparableLayer(64, 1),
    SeparableLayer(128, 2),
    SeparableLayer(128, 1),
    SeparableLayer(256, 2),
    SeparableLayer(256, 1),
    SeparableLayer(512, 2),
    *(SeparableLayer(512, 1) for _ in range(5)),
    SeparableLayer(1024, 2),
    SeparableLayer(1024, 1),
)


class MobileNetV1(nn.Module):
    """A full 3×3/2 convolution, 13 depthwise-separable blocks, global average pool, one linear layer.

    The width multiplier α scales every layer's channels to int(α·c) (the paper's αM, αN); the resolution multiplier
    is simply the input size, which the global pool makes free to choose.
    """

    def __init__(self, *, width_mult: float = 1.0, num_classes: int = 1000) -> None:
        super().__init__()

        def scaled(channels: int) -> int:
            return max(1, int(channels * width_mult))

        channels = scaled(MOBILENET_V1_STEM_CHANNELS)
        layers: list[nn.Module] = [ConvNormActivation(3, channels, 3, 2, activation=nn.ReLU)]
        for layer in MOBILENET_V1_BODY:
            layers.append(DepthwiseSeparable(channels, scaled(layer.out_channels), layer.stride))
            channels = scaled(layer.out_channels)
        self.features = nn.Sequential(*layers)
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.flatten = nn.Flatten(1)
        self.fc = nn.Linear(channels, num_classes)

    def forward(self, x: Tensor) -> Tensor:
        return self.fc(self.flatten(self.avgpool(self.features(x))))


@register_model(
    "mobilenet_v1",
    family=Family.MOBILENET,
    input_size=(3, 224, 224),
    paper=_HOWARD_2017,
    description="Replaces every expensive convolution after the first with a depthwise-separable one (a per-channel "
    "3×3 filter, then a 1×1 that mixes channels), 13 times, then pooling and one fully connected layer. "
    "width_mult (α) thins every layer; the input resolution (ρ) shrinks every feature map.",
)
def mobilenet_v1(*, width_mult: float = 1.0, num_classes: int = 1000) -> nn.Module:
    return MobileNetV1(width_mult=_check_width(width_mult), num_classes=_check_classes(num_classes))


@register_model(
    "depthwise_separable_block",
    family=Family.MOBILENET,
    input_size=(3, 6, 6),
    paper=_HOWARD_2017,
    description="The notes' worked example as a MobileNet v1 block: 6×6×3 through a 3×3 depthwise convolution "
    "(no padding, 432 multiplications) to 4×4×3, then a 1×1 pointwise one to 4×4×5 (240): 672 instead of a normal "
    "convolution's 2,160. Each convolution is followed by batch norm and ReLU as in the paper.",
)
def depthwise_separable_block() -> nn.Module:
    return DepthwiseSeparable(3, 5, padding=0)


# --- MobileNet v2 ----------------------------------------------------------------------------------------------


class InvertedResidual(nn.Module):
    """Expand (1×1, ×t) → depthwise 3×3 → project (1×1, linear), with a residual add when shapes allow.

    Thin tensors pass between blocks while the depthwise convolution works in the expanded space. Rows follow
    torchvision: `conv.0` expand, `conv.1` depthwise, `conv.2`/`conv.3` projection conv and BN.
    """

    def __init__(self, in_channels: int, out_channels: int, stride: int, expand_ratio: int) -> None:
        super().__init__()
        if stride not in (1, 2):
            raise ValueError(f"stride must be 1 or 2, got {stride}")
        hidden = int(round(in_channels * expand_ratio))
        self.use_residual = stride == 1 and in_channels == out_channels
        layers: list[nn.Module] = []
        if expand_ratio != 1:
            layers.append(ConvNormActivation(in_channels, hidden, 1, activation=nn.ReLU6))
        layers += [
            ConvNormActivation(hidden, hidden, 3, stride, groups=hidden, activation=nn.ReLU6),
            nn.Conv2d(hidden, out_channels, 1, bias=False),
            nn.BatchNorm2d(out_channels),
        ]
        self.conv = nn.Sequential(*layers)
        self.out_channels = out_channels

    def forward(self, x: Tensor) -> Tensor:
        if self.use_residual:
            return x + self.conv(x)
        return self.conv(x)


@dataclass(frozen=True)
class InvertedResidualStage:
    """One row (t, c, n, s) of MobileNet v2's Table 2: expansion, output channels, repeats, first stride."""

    expand_ratio: int
    out_channels: int
    blocks: int
    stride: int


# Sandler et al. 2018, Table 2 (and torchvision's `inverted_residual_setting`): 1+2+3+4+3+3+1 = 17 blocks.
MOBILENET_V2_STAGES: tuple[InvertedResidualStage, ...] = (
    InvertedResidualStage(1, 16, 1, 1),
    InvertedResidualStage(6, 24, 2, 2),
    InvertedResidualStage(6, 32, 3, 2),
    InvertedResidualStage(6, 64, 4, 2),
    InvertedResidualStage(6, 96, 3, 1),
    InvertedResidualStage(6, 160, 3, 2),
    InvertedResidualStage(6, 320, 1, 1),
)
MOBILENET_V2_STEM_CHANNELS = 32
MOBILENET_V2_LAST_CHANNELS = 1280


class MobileNetV2(nn.Module):
    """3×3/2 stem, 17 inverted residual blocks, 1×1 conv to 1280, global pool, dropout and a linear layer.

    Channels are scaled by `width_mult` and rounded with `make_divisible(·, 8)`; the last 1×1 layer is never
    narrowed below 1280 (torchvision's rule).
    """

    def __init__(self, *, width_mult: float = 1.0, num_classes: int = 1000, dropout: float = 0.2) -> None:
        super().__init__()
        channels = make_divisible(MOBILENET_V2_STEM_CHANNELS * width_mult)
        last_channels = make_divisible(MOBILENET_V2_LAST_CHANNELS * max(1.0, width_mult))
        layers: list[nn.Module] = [ConvNormActivation(3, channels, 3, 2, activation=nn.ReLU6)]
        for stage in MOBILENET_V2_STAGES:
            out_channels = make_divisible(stage.out_channels * width_mult)
            for index in range(stage.blocks):
                stride = stage.stride if index == 0 else 1
                layers.append(InvertedResidual(channels, out_channels, stride, stage.expand_ratio))
                channels = out_channels
        layers.append(ConvNormActivation(channels, last_channels, 1, activation=nn.ReLU6))
        self.features = nn.Sequential(*layers)
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.flatten = nn.Flatten(1)
        self.classifier = nn.Sequential(nn.Dropout(dropout), nn.Linear(last_channels, num_classes))

    def forward(self, x: Tensor) -> Tensor:
        return self.classifier(self.flatten(self.avgpool(self.features(x))))


@register_model(
    "mobilenet_v2",
    family=Family.MOBILENET,
    input_size=(3, 224, 224),
    paper=_SANDLER_2018,
    description="Seventeen bottleneck blocks, each expanding a thin input six-fold with a 1×1 convolution, filtering "
    "it depthwise and projecting it back down, with a residual connection around the block: rich computation "
    "inside, small activations passed between blocks.",
    top1=71.878,  # MobileNet_V2_Weights.IMAGENET1K_V1 acc@1, torchvision/models/mobilenetv2.py
    top1_source="torchvision MobileNet_V2_Weights.IMAGENET1K_V1 acc@1 (torchvision/models/mobilenetv2.py)",
)
def mobilenet_v2(*, width_mult: float = 1.0, num_classes: int = 1000) -> nn.Module:
    return MobileNetV2(width_mult=_check_width(width_mult), num_classes=_check_classes(num_classes))


@register_model(
    "mobilenet_v2_block",
    family=Family.MOBILENET,
    input_size=(3, 6, 6),
    paper=_SANDLER_2018,
    description="The notes' MobileNet v2 bottleneck on an n×n×3 input (n = 6 here, any n via resolution): a 1×1 "
    "expansion to n×n×18, a padded 3×3 depthwise convolution that keeps n×n×18, a 1×1 projection back to n×n×3, "
    "and the residual connection around it all.",
)
def mobilenet_v2_block() -> nn.Module:
    return InvertedResidual(3, 3, stride=1, expand_ratio=6)
