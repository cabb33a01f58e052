"""Plain and residual networks: the ResNet paper's plain nets, torchvision's ResNets, Wide ResNet and ResNeXt.

Every network here is the same skeleton (7×7 stem, max pool, four stages, global pool, one linear layer); what
differs is a stage table and the block the stages are made of. Names torchvision also uses have torchvision's exact
layers, module names and parameter counts, so their state dicts line up with torchvision's weights.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from torch import Tensor, nn

from explorer.zoo.layers import conv1x1, conv3x3
from explorer.zoo.registry import Family, register_model

__all__ = [
    "BasicBlock", "BlockKind", "Bottleneck", "PLAIN18", "PLAIN34", "PlainBlock", "RESNET101", "RESNET152", "RESNET18",
    "RESNET34", "RESNET50", "RESNET50_V1", "RESNEXT50_32X4D", "ResNet", "ResNetConfig", "Stage", "WIDE_RESNET50_2",
    "bottleneck_block", "four_stages", "plain18", "plain34", "projection", "residual_block",
    "residual_block_projection", "resnet101", "resnet152", "resnet18", "resnet34", "resnet50", "resnet50_v1",
    "resnext50_32x4d", "wide_resnet50_2",
]

_HE_2015 = "He, Zhang, Ren, Sun, 2015"
_TORCHVISION_RESNET = "torchvision/models/resnet.py"


class BlockKind(enum.Enum):
    PLAIN = "plain"  # two 3×3 convolutions, no shortcut
    BASIC = "basic"  # two 3×3 convolutions around an identity (or projected) shortcut
    BOTTLENECK = "bottleneck"  # 1×1 reduce, 3×3, 1×1 expand ×4, around a shortcut


@dataclass(frozen=True)
class Stage:
    """One row of a ResNet stage table: `blocks` blocks of base width `planes`, the first one strided."""

    planes: int
    blocks: int
    stride: int


@dataclass(frozen=True)
class ResNetConfig:
    """What distinguishes one ResNet-style network from another."""

    block: BlockKind
    stages: tuple[Stage, ...]
    groups: int = 1  # ResNeXt's cardinality
    width_per_group: int = 64  # bottleneck width per group at planes=64 (Wide ResNet doubles it)
    stride_on_1x1: bool = False  # the paper's v1 strides the first 1×1; torchvision's v1.5 strides the 3×3


def four_stages(*blocks: int) -> tuple[Stage, ...]:
    """The ResNet paper's stage table (Table 1): widths 64→512, a stride-2 entry into stages 2–4."""
    return tuple(Stage(planes, n, stride) for planes, n, stride in zip((64, 128, 256, 512), blocks, (1, 2, 2, 2)))


PLAIN18 = ResNetConfig(BlockKind.PLAIN, four_stages(2, 2, 2, 2))
PLAIN34 = ResNetConfig(BlockKind.PLAIN, four_stages(3, 4, 6, 3))
RESNET18 = ResNetConfig(BlockKind.BASIC, four_stages(2, 2, 2, 2))
RESNET34 = ResNetConfig(BlockKind.BASIC, four_stages(3, 4, 6, 3))
RESNET50 = ResNetConfig(BlockKind.BOTTLENECK, four_stages(3, 4, 6, 3))
RESNET101 = ResNetConfig(BlockKind.BOTTLENECK, four_stages(3, 4, 23, 3))
RESNET152 = ResNetConfig(BlockKind.BOTTLENECK, four_stages(3, 8, 36, 3))
RESNET50_V1 = ResNetConfig(BlockKind.BOTTLENECK, four_stages(3, 4, 6, 3), stride_on_1x1=True)
WIDE_RESNET50_2 = ResNetConfig(BlockKind.BOTTLENECK, four_stages(3, 4, 6, 3), width_per_group=128)
RESNEXT50_32X4D = ResNetConfig(BlockKind.BOTTLENECK, four_stages(3, 4, 6, 3), groups=32, width_per_group=4)


def projection(in_channels: int, out_channels: int, stride: int) -> nn.Sequential | None:
    """The shortcut's W_s: a strided 1×1 convolution (+BN) where the block changes shape, else none (identity)."""
    if stride == 1 and in_channels == out_channels:
        return None
    return nn.Sequential(conv1x1(in_channels, out_channels, stride), nn.BatchNorm2d(out_channels))


class PlainBlock(nn.Module):
    """Two 3×3 conv–BN layers with ReLUs: the unit the plain nets stack, and a basic block minus its shortcut."""

    expansion = 1

    def __init__(self, in_channels: int, planes: int, stride: int = 1) -> None:
        super().__init__()
        self.conv1 = conv3x3(in_channels, planes, stride)
        self.bn1 = nn.BatchNorm2d(planes)
        self.relu = nn.ReLU(inplace=True)
        self.conv2 = conv3x3(planes, planes)
        self.bn2 = nn.BatchNorm2d(planes)

    def residual(self, x: Tensor) -> Tensor:
        """F(x): the two layers the block learns."""
        return self.bn2(self.conv2(self.relu(self.bn1(self.conv1(x)))))

    def forward(self, x: Tensor) -> Tensor:
        return self.relu(self.residual(x))


class BasicBlock(PlainBlock):
    """relu(F(x) + x), or relu(F(x) + W_s·x) where the block changes shape: ResNet-18/34's block."""

    def __init__(self, in_channels: int, planes: int, stride: int = 1) -> None:
        super().__init__(in_channels, planes, stride)
        self.downsample = projection(in_channels, planes, stride)

    def forward(self, x: Tensor) -> Tensor:
        identity = x if self.downsample is None else self.downsample(x)
        out = self.residual(x)
        out += identity
        return self.relu(out)


class Bottleneck(nn.Module):
    """1×1 reduce → 3×3 → 1×1 expand (×4), plus the shortcut: ResNet-50 and deeper, Wide ResNet, ResNeXt.

    The bottleneck width is planes·width_per_group/64·groups; the 3×3 is grouped for ResNeXt. `stride_on_1x1`
    selects the paper's v1 (downsample in the first 1×1) over torchvision's v1.5 (in the 3×3).
    """

    expansion = 4

    def __init__(
        self,
        in_channels: int,
        planes: int,
        stride: int = 1,
        *,
        groups: int = 1,
        width_per_group: int = 64,
        stride_on_1x1: bool = False,
    ) -> None:
        super().__init__()
        width = int(planes * (width_per_group / 64.0)) * groups
        out_channels = planes * self.expansion
        self.conv1 = conv1x1(in_channels, width, stride if stride_on_1x1 else 1)
        self.bn1 = nn.BatchNorm2d(width)
        self.conv2 = conv3x3(width, width, 1 if stride_on_1x1 else stride, groups)
        self.bn2 = nn.BatchNorm2d(width)
        self.conv3 = conv1x1(width, out_channels)
        self.bn3 = nn.BatchNorm2d(out_channels)
        self.relu = nn.ReLU(inplace=True)
        self.downsample = projection(in_channels, out_channels, stride)

    def forward(self, x: Tensor) -> Tensor:
        identity = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.relu(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(out))
        out += identity
        return self.relu(out)


def _make_block(config: ResNetConfig, in_channels: int, planes: int, stride: int) -> nn.Module:
    if config.block is BlockKind.PLAIN:
        return PlainBlock(in_channels, planes, stride)
    if config.block is BlockKind.BASIC:
        return BasicBlock(in_channels, planes, stride)
    return Bottleneck(
        in_channels,
        planes,
        stride,
        groups=config.groups,
        width_per_group=config.width_per_group,
        stride_on_1x1=config.stride_on_1x1,
    )


def _expansion(kind: BlockKind) -> int:
    return Bottleneck.expansion if kind is BlockKind.BOTTLENECK else PlainBlock.expansion


class ResNet(nn.Module):
    """Stem (7×7/2 conv, BN, ReLU, 3×3/2 max pool), four stages of blocks, global average pool, linear classifier."""

    def __init__(self, config: ResNetConfig, *, num_classes: int = 1000) -> None:
        super().__init__()
        if num_classes < 1:
            raise ValueError(f"num_classes must be at least 1, got {num_classes}")
        stem_channels = 64
        self.conv1 = nn.Conv2d(3, stem_channels, kernel_size=7, stride=2, padding=3, bias=False)
        self.bn1 = nn.BatchNorm2d(stem_channels)
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(kernel_size=3, stride=2, padding=1)
        stages: list[nn.Sequential] = []
        channels = stem_channels
        for stage in config.stages:
            blocks = []
            for index in range(stage.blocks):
                blocks.append(_make_block(config, channels, stage.planes, stage.stride if index == 0 else 1))
                channels = stage.planes * _expansion(config.block)
            stages.append(nn.Sequential(*blocks))
        self.layer1, self.layer2, self.layer3, self.layer4 = stages
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.flatten = nn.Flatten(1)
        self.fc = nn.Linear(channels, num_classes)

    def forward(self, x: Tensor) -> Tensor:
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
        return self.fc(self.flatten(self.avgpool(x)))


def _top1_source(weights: str) -> str:
    return f"torchvision {weights}.IMAGENET1K_V1 acc@1 ({_TORCHVISION_RESNET})"


# --- the plain nets of the ResNet paper -------------------------------------------------------------------------


@register_model(
    "plain18",
    family=Family.RESNET,
    input_size=(3, 224, 224),
    paper=_HE_2015,
    description="ResNet-18's layers with every shortcut removed: the 'plain' baseline the paper compares against. "
    "The notes explain that such plain stacks get worse on the training set as they get deeper.",
)
def plain18(*, num_classes: int = 1000) -> nn.Module:
    return ResNet(PLAIN18, num_classes=num_classes)


@register_model(
    "plain34",
    family=Family.RESNET,
    input_size=(3, 224, 224),
    paper=_HE_2015,
    description="ResNet-34's layers without shortcuts. The paper's 34-layer plain net trains to a higher error than "
    "the 18-layer one; adding skip connections reverses that, which is the point the notes make.",
)
def plain34(*, num_classes: int = 1000) -> nn.Module:
    return ResNet(PLAIN34, num_classes=num_classes)


# --- torchvision's ResNets (v1.5) -------------------------------------------------------------------------------


@register_model(
    "resnet18",
    family=Family.RESNET,
    input_size=(3, 224, 224),
    paper=_HE_2015,
    description="Eight basic residual blocks: each adds its input back to the output of two 3×3 same convolutions, "
    "so the block can fall back to the identity. A strided 1×1 projection (W_s) matches shapes between stages.",
    top1=69.758,  # ResNet18_Weights.IMAGENET1K_V1 acc@1, torchvision/models/resnet.py
    top1_source=_top1_source("ResNet18_Weights"),
)
def resnet18(*, num_classes: int = 1000) -> nn.Module:
    return ResNet(RESNET18, num_classes=num_classes)


@register_model(
    "resnet34",
    family=Family.RESNET,
    input_size=(3, 224, 224),
    paper=_HE_2015,
    description="Sixteen basic residual blocks (3, 4, 6, 3 per stage): plain34 with skip connections added, the "
    "network the notes use to show that shortcuts let a deeper net keep improving.",
    top1=73.314,  # ResNet34_Weights.IMAGENET1K_V1 acc@1, torchvision/models/resnet.py
    top1_source=_top1_source("ResNet34_Weights"),
)
def resnet34(*, num_classes: int = 1000) -> nn.Module:
    return ResNet(RESNET34, num_classes=num_classes)


@register_model(
    "resnet50",
    family=Family.RESNET,
    input_size=(3, 224, 224),
    paper=_HE_2015,
    description="Sixteen bottleneck blocks: a 1×1 convolution shrinks the channels, a 3×3 works on the thin "
    "volume and a 1×1 expands it four times, which keeps deep ResNets affordable. torchvision's 'v1.5' puts the "
    "stride on the 3×3.",
    top1=76.13,  # ResNet50_Weights.IMAGENET1K_V1 acc@1 76.130, torchvision/models/resnet.py
    top1_source=_top1_source("ResNet50_Weights"),
)
def resnet50(*, num_classes: int = 1000) -> nn.Module:
    return ResNet(RESNET50, num_classes=num_classes)


@register_model(
    "resnet101",
    family=Family.RESNET,
    input_size=(3, 224, 224),
    paper=_HE_2015,
    description="ResNet-50 with 23 instead of 6 bottleneck blocks in the third stage: depth bought cheaply "
    "through the bottleneck design.",
    top1=77.374,  # ResNet101_Weights.IMAGENET1K_V1 acc@1, torchvision/models/resnet.py
    top1_source=_top1_source("ResNet101_Weights"),
)
def resnet101(*, num_classes: int = 1000) -> nn.Module:
    return ResNet(RESNET101, num_classes=num_classes)


@register_model(
    "resnet152",
    family=Family.RESNET,
    input_size=(3, 224, 224),
    paper=_HE_2015,
    description="The 152-layer ImageNet model the lecture notes single out: bottleneck blocks (3, 8, 36, 3 per "
    "stage), every one learning a residual F(x) that is added to its input, and no hidden fully connected layers.",
    top1=78.312,  # ResNet152_Weights.IMAGENET1K_V1 acc@1, torchvision/models/resnet.py
    top1_source=_top1_source("ResNet152_Weights"),
)
def resnet152(*, num_classes: int = 1000) -> nn.Module:
    return ResNet(RESNET152, num_classes=num_classes)


@register_model(
    "resnet50_v1",
    family=Family.RESNET,
    input_size=(3, 224, 224),
    paper=_HE_2015,
    description="ResNet-50 as the paper draws it: the downsampling stride sits on the first 1×1 of a bottleneck, "
    "so the 3×3 runs on the already-halved map. Same parameters as torchvision's v1.5, fewer MACs.",
)
def resnet50_v1(*, num_classes: int = 1000) -> nn.Module:
    return ResNet(RESNET50_V1, num_classes=num_classes)


@register_model(
    "wide_resnet50_2",
    family=Family.RESNET,
    input_size=(3, 224, 224),
    paper="Zagoruyko, Komodakis, 2016",
    description="Wide ResNet: ResNet-50 with every bottleneck twice as wide (e.g. 2048→1024→2048 at the end). The "
    "lecture notes cite it for the finding that widening a residual net can pay off better than deepening it.",
    top1=78.468,  # Wide_ResNet50_2_Weights.IMAGENET1K_V1 acc@1, torchvision/models/resnet.py
    top1_source=_top1_source("Wide_ResNet50_2_Weights"),
)
def wide_resnet50_2(*, num_classes: int = 1000) -> nn.Module:
    return ResNet(WIDE_RESNET50_2, num_classes=num_classes)


@register_model(
    "resnext50_32x4d",
    family=Family.RESNET,
    input_size=(3, 224, 224),
    paper="Xie, Girshick, Dollár, Tu, He, 2017",
    description="ResNeXt: ResNet-50 whose bottleneck 3×3 is split into 32 groups of 4 channels each (per 64 "
    "planes), a wider but grouped middle layer at about the same cost.",
    top1=77.618,  # ResNeXt50_32X4D_Weights.IMAGENET1K_V1 acc@1, torchvision/models/resnet.py
    top1_source=_top1_source("ResNeXt50_32X4D_Weights"),
)
def resnext50_32x4d(*, num_classes: int = 1000) -> nn.Module:
    return ResNet(RESNEXT50_32X4D, num_classes=num_classes)


# --- single blocks ----------------------------------------------------------------------------------------------


@register_model(
    "residual_block",
    family=Family.RESNET,
    input_size=(64, 56, 56),
    paper=_HE_2015,
    description="One residual block with an identity shortcut, at ResNet-18's first stage (56×56×64): "
    "a[l+2] = relu(z[l+2] + a[l]). Same convolutions keep the shapes equal, so the add needs no parameters.",
)
def residual_block() -> nn.Module:
    return BasicBlock(64, 64)


@register_model(
    "residual_block_projection",
    family=Family.RESNET,
    input_size=(64, 56, 56),
    paper=_HE_2015,
    description="A residual block that halves the map and doubles the channels (56×56×64 → 28×28×128), so the "
    "shortcut needs the learned W_s of the notes: here a stride-2 1×1 convolution with batch norm.",
)
def residual_block_projection() -> nn.Module:
    return BasicBlock(64, 128, stride=2)


@register_model(
    "bottleneck_block",
    family=Family.RESNET,
    input_size=(256, 56, 56),
    paper=_HE_2015,
    description="One ResNet-50 bottleneck block at 56×56×256: 1×1 down to 64 channels, 3×3 at 64, 1×1 back up to "
    "256, plus the identity shortcut.",
)
def bottleneck_block() -> nn.Module:
    return Bottleneck(256, 64)
