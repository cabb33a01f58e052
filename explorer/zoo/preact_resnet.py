"""Pre-activation ResNets (He et al. 2016, "Identity mappings in deep residual networks"), CIFAR and ImageNet.

Every convolution is preceded by batch norm and ReLU (BN-ReLU-conv) instead of followed by them, so nothing but the
addition sits on the shortcut path: the identity carries the signal from any block to any other unchanged. One batch
norm and ReLU after the last block close the network. The blocks are also Wide ResNet's (`wide_resnet.py`).

Shortcuts follow the reference code (fb.resnet.torch's preresnet): identity where shapes agree, else a bare 1×1
projection (no BN after it) that reads the pre-activated input, which the residual path then shares.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from torch import Tensor, nn

from explorer.zoo.layers import conv1x1, conv3x3
from explorer.zoo.registry import Family, register_model
from explorer.zoo.resnet import Stage, four_stages

__all__ = [
    "BlockKind", "IMAGENET_DEPTHS", "PreActBlock", "PreActBottleneck", "PreActConfig", "PreActResNet", "Stem",
    "cifar_stages", "preact_resnet110", "preact_resnet164",
]

_HE_2016 = "He, Zhang, Ren, Sun, 2016"


class PreActBlock(nn.Module):
    """BN-ReLU-conv3×3, BN-ReLU-(dropout)-conv3×3, plus the shortcut: the pre-activation basic block (and WRN's B(3,3)).

    `preactivate=False` drops the first BN-ReLU, for a block whose input was just activated by the stem.
    """

    expansion = 1

    def __init__(
        self, in_channels: int, planes: int, stride: int = 1, *, preactivate: bool = True, dropout: float = 0.0
    ) -> None:
        super().__init__()
        out_channels = planes * self.expansion
        self.bn1 = nn.BatchNorm2d(in_channels) if preactivate else None
        self.relu = nn.ReLU(inplace=True)
        self.conv1 = conv3x3(in_channels, planes, stride)
        self.bn2 = nn.BatchNorm2d(planes)
        self.dropout = nn.Dropout(dropout) if dropout > 0 else None
        self.conv2 = conv3x3(planes, out_channels)
        self.shortcut = _projection(in_channels, out_channels, stride)

    def residual(self, activated: Tensor) -> Tensor:
        out = self.relu(self.bn2(self.conv1(activated)))
        if self.dropout is not None:
            out = self.dropout(out)
        return self.conv2(out)

    def forward(self, x: Tensor) -> Tensor:
        activated = x if self.bn1 is None else self.relu(self.bn1(x))
        identity = x if self.shortcut is None else self.shortcut(activated)
        return self.residual(activated) + identity


class PreActBottleneck(nn.Module):
    """BN-ReLU-conv1×1 (reduce), BN-ReLU-conv3×3 (strided), BN-ReLU-conv1×1 (expand ×4), plus the shortcut."""

    expansion = 4

    def __init__(self, in_channels: int, planes: int, stride: int = 1, *, preactivate: bool = True) -> None:
        super().__init__()
        out_channels = planes * self.expansion
        self.bn1 = nn.BatchNorm2d(in_channels) if preactivate else None
        self.relu = nn.ReLU(inplace=True)
        self.conv1 = conv1x1(in_channels, planes)
        self.bn2 = nn.BatchNorm2d(planes)
        self.conv2 = conv3x3(planes, planes, stride)
        self.bn3 = nn.BatchNorm2d(planes)
        self.conv3 = conv1x1(planes, out_channels)
        self.shortcut = _projection(in_channels, out_channels, stride)

    def forward(self, x: Tensor) -> Tensor:
        activated = x if self.bn1 is None else self.relu(self.bn1(x))
        identity = x if self.shortcut is None else self.shortcut(activated)
        out = self.conv1(activated)
        out = self.conv2(self.relu(self.bn2(out)))
        out = self.conv3(self.relu(self.bn3(out)))
        return out + identity


def _projection(in_channels: int, out_channels: int, stride: int) -> nn.Conv2d | None:
    if stride == 1 and in_channels == out_channels:
        return None
    return conv1x1(in_channels, out_channels, stride)


class BlockKind(enum.Enum):
    BASIC = "basic"
    BOTTLENECK = "bottleneck"


class Stem(enum.Enum):
    CIFAR = "cifar"  # 3×3 conv, 16 filters; the first block's BN-ReLU activates it
    IMAGENET = "imagenet"  # 7×7/2 conv, BN, ReLU, 3×3/2 max pool; the first block skips its BN-ReLU


@dataclass(frozen=True)
class PreActConfig:
    stem: Stem
    block: BlockKind
    stages: tuple[Stage, ...]
    dropout: float = 0.0  # Wide ResNet's dropout between the two 3×3 convs (inactive at inference)


class PreActResNet(nn.Module):
    """Stem, stages of pre-activation blocks, final BN-ReLU, global average pool, linear classifier."""

    def __init__(self, config: PreActConfig, *, num_classes: int) -> None:
        super().__init__()
        if num_classes < 1:
            raise ValueError(f"num_classes must be at least 1, got {num_classes}")
        block_type = PreActBottleneck if config.block is BlockKind.BOTTLENECK else PreActBlock
        if config.stem is Stem.CIFAR:
            channels = 16
            self.stem = nn.Sequential(conv3x3(3, channels))
        else:
            channels = 64
            self.stem = nn.Sequential(
                nn.Conv2d(3, channels, 7, stride=2, padding=3, bias=False),
                nn.BatchNorm2d(channels),
                nn.ReLU(inplace=True),
                nn.MaxPool2d(3, stride=2, padding=1),
            )
        stages: list[nn.Sequential] = []
        for stage_index, stage in enumerate(config.stages):
            blocks: list[nn.Module] = []
            for index in range(stage.blocks):
                first = stage_index == 0 and index == 0
                extra = {"dropout": config.dropout} if block_type is PreActBlock else {}
                blocks.append(
                    block_type(
                        channels,
                        stage.planes,
                        stage.stride if index == 0 else 1,
                        preactivate=not (first and config.stem is Stem.IMAGENET),
                        **extra,
                    )
                )
                channels = stage.planes * block_type.expansion
            stages.append(nn.Sequential(*blocks))
        self.layers = nn.Sequential(*stages)
        self.bn = nn.BatchNorm2d(channels)
        self.relu = nn.ReLU(inplace=True)
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.flatten = nn.Flatten(1)
        self.fc = nn.Linear(channels, num_classes)

    def forward(self, x: Tensor) -> Tensor:
        x = self.relu(self.bn(self.layers(self.stem(x))))
        return self.fc(self.flatten(self.avgpool(x)))


def cifar_stages(blocks: int, widths: tuple[int, int, int] = (16, 32, 64)) -> tuple[Stage, ...]:
    """Three stages on 32×32, 16×16 and 8×8 maps."""
    return tuple(Stage(width, blocks, stride) for width, stride in zip(widths, (1, 2, 2)))


def _check_classes(num_classes: int) -> int:
    if num_classes < 1:
        raise ValueError(f"num_classes must be at least 1, got {num_classes}")
    return num_classes


# --- CIFAR: the paper's Table 3/4 networks -----------------------------------------------------------------------


@register_model(
    "preact_resnet110",
    family=Family.RESNET,
    input_size=(3, 32, 32),
    paper=_HE_2016,
    description="The 110-layer CIFAR ResNet (18 basic blocks per stage, 16/32/64 filters) with full pre-activation: "
    "BN and ReLU before each 3×3 convolution, so the shortcuts are pure identities end to end. 1.7M parameters.",
)
def preact_resnet110(*, num_classes: int = 10) -> nn.Module:
    return PreActResNet(PreActConfig(Stem.CIFAR, BlockKind.BASIC, cifar_stages(18)), num_classes=num_classes)


@register_model(
    "preact_resnet164",
    family=Family.RESNET,
    input_size=(3, 32, 32),
    paper=_HE_2016,
    description="The 164-layer CIFAR ResNet of the Identity-mappings paper: 18 pre-activation bottleneck blocks "
    "per stage (1×1 reduce, 3×3, 1×1 expand to 64/128/256), 1.7M parameters, deeper than ResNet-110 at the "
    "same size.",
)
def preact_resnet164(*, num_classes: int = 10) -> nn.Module:
    return PreActResNet(PreActConfig(Stem.CIFAR, BlockKind.BOTTLENECK, cifar_stages(18)), num_classes=num_classes)


# --- ImageNet: the ResNet paper's depths with pre-activation blocks ----------------------------------------------

IMAGENET_DEPTHS: dict[int, tuple[BlockKind, tuple[int, ...]]] = {
    18: (BlockKind.BASIC, (2, 2, 2, 2)),
    34: (BlockKind.BASIC, (3, 4, 6, 3)),
    50: (BlockKind.BOTTLENECK, (3, 4, 6, 3)),
    101: (BlockKind.BOTTLENECK, (3, 4, 23, 3)),
    152: (BlockKind.BOTTLENECK, (3, 8, 36, 3)),
}


def _register_imagenet(depth: int) -> None:
    kind, blocks = IMAGENET_DEPTHS[depth]
    config = PreActConfig(Stem.IMAGENET, kind, four_stages(*blocks))

    def build(*, num_classes: int = 1000) -> nn.Module:
        return PreActResNet(config, num_classes=_check_classes(num_classes))

    build.__name__ = build.__qualname__ = f"preact_resnet{depth}"
    register_model(
        build.__name__,
        family=Family.RESNET,
        input_size=(3, 224, 224),
        paper=_HE_2016,
        description=f"ResNet-{depth}'s stages ({', '.join(map(str, blocks))} {kind.value} blocks) with BN-ReLU "
        "moved before every convolution and one more BN-ReLU at the end. Same convolutions and MACs as "
        f"resnet{depth}; the projection shortcuts lose their batch norm.",
    )(build)


for _depth in IMAGENET_DEPTHS:
    _register_imagenet(_depth)
