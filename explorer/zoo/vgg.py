"""VGG-11/13/16/19, with and without batch normalization: torchvision's exact layers.

The four depths are the paper's configurations A, B, D and E (Simonyan & Zisserman, Table 1): stacks of 3×3 same
convolutions, each stack closed by a 2×2 stride-2 max pool, so 224 → 112 → 56 → 28 → 14 → 7.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass

from torch import nn

from explorer.zoo.registry import Family, register_model

__all__ = ["VGG", "VGGConfig", "VGG_CONFIGS", "vgg_features"]

_PAPER = "Simonyan & Zisserman, 2014"


@dataclass(frozen=True)
class VGGConfig:
    """One column of the paper's Table 1: the conv widths of each of the five stacks."""

    column: str
    stacks: tuple[tuple[int, ...], ...]

    @property
    def weight_layers(self) -> int:
        return sum(len(stack) for stack in self.stacks) + 3  # + the three fully connected layers


VGG_CONFIGS: dict[int, VGGConfig] = {
    11: VGGConfig("A", ((64,), (128,), (256, 256), (512, 512), (512, 512))),
    13: VGGConfig("B", ((64, 64), (128, 128), (256, 256), (512, 512), (512, 512))),
    16: VGGConfig("D", ((64, 64), (128, 128), (256, 256, 256), (512, 512, 512), (512, 512, 512))),
    19: VGGConfig("E", ((64, 64), (128, 128), (256,) * 4, (512,) * 4, (512,) * 4)),
}


def vgg_features(config: VGGConfig, batch_norm: bool) -> nn.Sequential:
    """The convolutional part as one flat Sequential: rows `features.0`, `features.1`, … as in torchvision."""
    layers: list[nn.Module] = []
    in_channels = 3
    for stack in config.stacks:
        for width in stack:
            layers.append(nn.Conv2d(in_channels, width, kernel_size=3, padding=1))
            if batch_norm:
                layers.append(nn.BatchNorm2d(width))
            layers.append(nn.ReLU(inplace=True))
            in_channels = width
        layers.append(nn.MaxPool2d(kernel_size=2, stride=2))
    return nn.Sequential(*layers)


class VGG(nn.Sequential):
    """torchvision's VGG (torchvision/models/vgg.py): features, adaptive pool to 7×7, 25088 → 4096 → 4096 → classes."""

    def __init__(self, config: VGGConfig, batch_norm: bool, num_classes: int = 1000, dropout: float = 0.5) -> None:
        classifier = nn.Sequential(
            nn.Linear(512 * 7 * 7, 4096),
            nn.ReLU(inplace=True),
            nn.Dropout(p=dropout),
            nn.Linear(4096, 4096),
            nn.ReLU(inplace=True),
            nn.Dropout(p=dropout),
            nn.Linear(4096, num_classes),
        )
        super().__init__(
            OrderedDict(
                features=vgg_features(config, batch_norm),
                avgpool=nn.AdaptiveAvgPool2d((7, 7)),
                flatten=nn.Flatten(),
                classifier=classifier,
            )
        )


@dataclass(frozen=True)
class _Entry:
    depth: int
    batch_norm: bool
    top1: float  # torchvision/models/vgg.py, VGG<depth>[_BN]_Weights.IMAGENET1K_V1 meta "acc@1"

    @property
    def name(self) -> str:
        return f"vgg{self.depth}" + ("_bn" if self.batch_norm else "")

    @property
    def weights_enum(self) -> str:
        return f"VGG{self.depth}" + ("_BN" if self.batch_norm else "") + "_Weights.IMAGENET1K_V1"


_ENTRIES = (
    _Entry(11, False, 69.020),
    _Entry(11, True, 70.370),
    _Entry(13, False, 69.928),
    _Entry(13, True, 71.586),
    _Entry(16, False, 71.592),
    _Entry(16, True, 73.360),
    _Entry(19, False, 72.376),
    _Entry(19, True, 74.218),
)

_DESCRIPTIONS = {
    11: "The shallowest VGG (configuration A, 11 weight layers)",
    13: "VGG configuration B (13 weight layers, two convolutions in every stack)",
    16: "VGG-16 as the seeds describe it (configuration D): 16 weight layers, about 138M parameters, most of them in "
    "the fully connected layers",
    19: "VGG-19 (configuration E), the bigger sibling the seeds say does barely better than VGG-16",
}


def _describe(entry: _Entry) -> str:
    norm = " A batch-normalization layer follows every convolution." if entry.batch_norm else ""
    return (
        f"{_DESCRIPTIONS[entry.depth]}. Only 3×3 stride-1 same convolutions and 2×2 stride-2 max pools: height and "
        f"width halve 224→112→56→28→14→7 while channels double 64→128→256→512, then 7×7×512 → 4096 → 4096 → 1000."
        f"{norm}"
    )


def _register(entry: _Entry) -> None:
    config = VGG_CONFIGS[entry.depth]

    @register_model(
        entry.name,
        family=Family.VGG,
        input_size=(3, 224, 224),
        paper=_PAPER,
        description=_describe(entry),
        top1=entry.top1,
        top1_source=f"torchvision {entry.weights_enum}",
    )
    def build(*, num_classes: int = 1000) -> nn.Module:
        return VGG(config, batch_norm=entry.batch_norm, num_classes=num_classes)

    build.__name__ = build.__qualname__ = entry.name


for _entry in _ENTRIES:
    _register(_entry)
