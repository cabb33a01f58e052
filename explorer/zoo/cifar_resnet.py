"""The ResNet paper's CIFAR-10 networks (He et al. 2015, §4.2): plain and residual nets of 6n+2 layers.

A 3×3 convolution with 16 filters, then three stages of 2n 3×3 layers with 16, 32 and 64 filters on 32×32, 16×16
and 8×8 maps (the first layer of stages 2 and 3 has stride 2), global average pooling and a 10-way linear layer.
The residual nets put a shortcut around every pair of 3×3 layers; where a shortcut changes shape the paper compares
three options: A (identity, zero-padded channels, stride-2 subsampling: no parameters), B (a projection only where
the shape changes) and C (a projection on every shortcut). The plain nets are the same stacks without shortcuts:
the pair the notes use to show a deeper plain net training worse.
"""

from __future__ import annotations

import enum
from typing import Literal

import torch.nn.functional as F
from torch import Tensor, nn

from explorer.zoo.build_options import Bounds
from explorer.zoo.registry import Family, register_model
from explorer.zoo.resnet import PlainBlock, projection

__all__ = [
    "CIFAR_BOUNDS", "CIFAR_CLASSES", "CIFAR_INPUT", "CIFAR_WIDTHS", "CifarResNet", "CifarResidualBlock", "PAPER_DEPTHS",
    "PLAIN_DEPTHS", "SHORTCUT_BOUNDS", "Shortcut", "ShortcutOption", "ZeroPadShortcut", "blocks_per_stage",
    "build_cifar_resnet", "cifar_resnet",
]

_HE_2015 = "He, Zhang, Ren, Sun, 2015"
CIFAR_INPUT = (3, 32, 32)
CIFAR_WIDTHS = (16, 32, 64)
CIFAR_CLASSES = 10
PAPER_DEPTHS = (20, 32, 44, 56, 110, 1202)  # He et al. 2015, Table 6
# Plain twins for the depths the paper's plain-vs-residual comparison needs (Fig. 6 trains plain 20–56); no plain
# 1202, which the paper never builds (`cifar_resnet` with depth=1202, plain=true makes one on request).
PLAIN_DEPTHS = (20, 32, 44, 56, 110)
ShortcutOption = Literal["a", "b", "c"]
SHORTCUT_BOUNDS = Bounds("shortcut where the shape changes: a zero-padded identity, b projection there, c projections everywhere")
# 1,202 layers is the paper's deepest net; it builds on the meta device in well under a second.
CIFAR_BOUNDS = {
    "depth": Bounds("weight layers, 6n+2 (20, 32, 44, 56, 110, 1202 in the paper)", 8, 1202),
    "shortcut": SHORTCUT_BOUNDS,
    "plain": Bounds("drop every shortcut: the paper's plain baseline"),
}


class Shortcut(str, enum.Enum):
    """The paper's three shortcut options (§3.3 and Table 3), by the letters it uses."""

    A = "A"  # identity; extra channels zero-padded, stride-2 subsampling: no parameters
    B = "B"  # projection (1×1 conv + BN) only where the shape changes, identity elsewhere
    C = "C"  # projection on every shortcut

    @classmethod
    def parse(cls, value: str | Shortcut) -> Shortcut:
        try:
            return cls(str(value.value if isinstance(value, Shortcut) else value).upper())
        except ValueError:
            raise ValueError(f"shortcut must be A, B or C (He et al. 2015, §3.3), got {value!r}") from None


def blocks_per_stage(depth: int) -> int:
    """n for a 6n+2-layer net: 2n 3×3 layers in each of the three stages, plus the first conv and the fc."""
    if isinstance(depth, bool) or not isinstance(depth, int) or depth < 8 or (depth - 2) % 6:
        raise ValueError(f"depth must be 6n+2 for a whole n ≥ 1 (8, 14, 20, 32, 44, 56, 110, …), got {depth!r}")
    return (depth - 2) // 6


class ZeroPadShortcut(nn.Module):
    """Option A where the shape changes: keep every `stride`-th pixel and pad the new channels with zeros."""

    def __init__(self, in_channels: int, out_channels: int, stride: int) -> None:
        super().__init__()
        self.stride = stride
        self.extra_channels = out_channels - in_channels

    def forward(self, x: Tensor) -> Tensor:
        subsampled = x[:, :, :: self.stride, :: self.stride]
        return F.pad(subsampled, (0, 0, 0, 0, 0, self.extra_channels))

    def extra_repr(self) -> str:
        return f"stride={self.stride}, extra_channels={self.extra_channels}"


def _shortcut(kind: Shortcut, in_channels: int, out_channels: int, stride: int) -> nn.Module | None:
    reshapes = stride != 1 or in_channels != out_channels
    if kind is Shortcut.C:
        return nn.Sequential(
            nn.Conv2d(in_channels, out_channels, 1, stride=stride, bias=False), nn.BatchNorm2d(out_channels)
        )
    if not reshapes:
        return None
    if kind is Shortcut.B:
        return projection(in_channels, out_channels, stride)
    return ZeroPadShortcut(in_channels, out_channels, stride)


class CifarResidualBlock(PlainBlock):
    """relu(F(x) + shortcut(x)) with the shortcut of the chosen option (None: the identity)."""

    def __init__(self, in_channels: int, planes: int, stride: int, shortcut: Shortcut) -> None:
        super().__init__(in_channels, planes, stride)
        self.downsample = _shortcut(shortcut, in_channels, planes, stride)

    def forward(self, x: Tensor) -> Tensor:
        identity = x if self.downsample is None else self.downsample(x)
        out = self.residual(x)
        out += identity
        return self.relu(out)


class CifarResNet(nn.Module):
    """conv 3×3/16–BN–ReLU, three stages of n blocks (16, 32, 64 filters), global average pool, linear."""

    def __init__(self, depth: int, *, shortcut: Shortcut | None, num_classes: int = CIFAR_CLASSES) -> None:
        super().__init__()
        n = blocks_per_stage(depth)
        if num_classes < 1:
            raise ValueError(f"num_classes must be at least 1, got {num_classes}")
        self.conv1 = nn.Conv2d(3, CIFAR_WIDTHS[0], 3, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(CIFAR_WIDTHS[0])
        self.relu = nn.ReLU(inplace=True)
        channels = CIFAR_WIDTHS[0]
        stages: list[nn.Sequential] = []
        for index, width in enumerate(CIFAR_WIDTHS):
            blocks: list[nn.Module] = []
            for block in range(n):
                stride = 2 if index > 0 and block == 0 else 1
                if shortcut is None:
                    blocks.append(PlainBlock(channels, width, stride))
                else:
                    blocks.append(CifarResidualBlock(channels, width, stride, shortcut))
                channels = width
            stages.append(nn.Sequential(*blocks))
        self.layer1, self.layer2, self.layer3 = stages
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.flatten = nn.Flatten(1)
        self.fc = nn.Linear(channels, num_classes)

    def forward(self, x: Tensor) -> Tensor:
        x = self.relu(self.bn1(self.conv1(x)))
        x = self.layer3(self.layer2(self.layer1(x)))
        return self.fc(self.flatten(self.avgpool(x)))


def build_cifar_resnet(depth: int, *, plain: bool = False, shortcut: str = "a", num_classes: int = 10) -> nn.Module:
    """One builder behind every name: `plain` drops the shortcuts (so only the default option A goes with it)."""
    kind = Shortcut.parse(shortcut)
    if plain and kind is not Shortcut.A:
        raise ValueError(f"a plain net has no shortcuts, so shortcut={shortcut} does not apply; drop one of the two")
    return CifarResNet(depth, shortcut=None if plain else kind, num_classes=num_classes)


@register_model(
    "cifar_resnet",
    family=Family.RESNET,
    input_size=CIFAR_INPUT,
    paper=_HE_2015,
    description="The CIFAR-10 ResNet of §4.2 with every knob: depth 6n+2 (20 … 1202), shortcut option A "
    "(zero-padded identity), B (projections where the shape changes) or C (all projections), and plain=true "
    "for the same stack without shortcuts.",
    bounds=CIFAR_BOUNDS,
)
def cifar_resnet(
    *, depth: int = 20, shortcut: ShortcutOption = "a", plain: bool = False, num_classes: int = 10
) -> nn.Module:
    return build_cifar_resnet(depth, plain=plain, shortcut=shortcut, num_classes=num_classes)


def _register_depth(depth: int) -> None:
    n = blocks_per_stage(depth)

    def residual(*, shortcut: ShortcutOption = "a", num_classes: int = 10) -> nn.Module:
        return build_cifar_resnet(depth, shortcut=shortcut, num_classes=num_classes)

    def plain(*, num_classes: int = 10) -> nn.Module:
        return build_cifar_resnet(depth, plain=True, num_classes=num_classes)

    residual.__name__ = residual.__qualname__ = f"resnet{depth}_cifar"
    plain.__name__ = plain.__qualname__ = f"plain{depth}_cifar"
    register_model(
        residual.__name__,
        family=Family.RESNET,
        input_size=CIFAR_INPUT,
        paper=_HE_2015,
        description=f"The paper's {depth}-layer CIFAR-10 ResNet (n = {n}): {3 * n} basic blocks on 32×32, 16×16 "
        "and 8×8 maps with 16, 32 and 64 filters; shortcut option A by default (zero-padded identity, no "
        "parameters), B or C via the shortcut option.",
        bounds={"shortcut": SHORTCUT_BOUNDS},
    )(residual)
    if depth not in PLAIN_DEPTHS:
        return
    register_model(
        plain.__name__,
        family=Family.RESNET,
        input_size=CIFAR_INPUT,
        paper=_HE_2015,
        description=f"resnet{depth}_cifar without its shortcuts: {depth} weight layers stacked plainly. The paper "
        "finds deeper plain nets train to a higher error (56 worse than 20), the notes' case for skip connections.",
    )(plain)


for _depth in PAPER_DEPTHS:
    _register_depth(_depth)
