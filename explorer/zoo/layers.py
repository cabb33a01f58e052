"""Building blocks the zoo's families share, in the spirit of torchvision's `ops/misc.py` and `models/_utils.py`.

One home for the conv–norm–activation unit and the channel-rounding rule, so that MobileNet, EfficientNet and
FractalNet use the same layers (and the same module names, which decide how the per-layer table reads).
"""

from __future__ import annotations

from typing import Callable

from torch import nn

__all__ = ["ActivationFactory", "ConvNormActivation", "NormFactory", "conv1x1", "conv3x3", "make_divisible"]

NormFactory = Callable[[int], nn.Module]
ActivationFactory = Callable[..., nn.Module]  # called with inplace=True


def make_divisible(value: float, divisor: int = 8, min_value: int | None = None) -> int:
    """Round a scaled channel count to the nearest multiple of `divisor`, never more than 10% below `value`.

    The rounding rule of the MobileNet/EfficientNet reference code (and torchvision's `_make_divisible`), which
    decides the exact channel counts, and so the parameter counts, of every width-scaled variant.
    """
    floor = divisor if min_value is None else min_value
    rounded = max(floor, int(value + divisor / 2) // divisor * divisor)
    return rounded + divisor if rounded < 0.9 * value else rounded


class ConvNormActivation(nn.Sequential):
    """Convolution (no bias) → batch norm → optional in-place activation, as rows `0`, `1`, `2`.

    torchvision's `Conv2dNormActivation` layout, in-place activation included: that decides which outputs are new
    activation memory.
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: int = 3,
        stride: int = 1,
        *,
        groups: int = 1,
        padding: int | None = None,
        norm: NormFactory = nn.BatchNorm2d,
        activation: ActivationFactory | None = nn.ReLU,
    ) -> None:
        same = (kernel_size - 1) // 2
        layers: list[nn.Module] = [
            nn.Conv2d(
                in_channels,
                out_channels,
                kernel_size,
                stride=stride,
                padding=same if padding is None else padding,
                groups=groups,
                bias=False,
            ),
            norm(out_channels),
        ]
        if activation is not None:
            layers.append(activation(inplace=True))
        super().__init__(*layers)
        self.out_channels = out_channels


def conv3x3(in_channels: int, out_channels: int, stride: int = 1, groups: int = 1) -> nn.Conv2d:
    """A 3×3 same convolution without bias (a batch norm follows or precedes it): the ResNets' workhorse."""
    return nn.Conv2d(in_channels, out_channels, 3, stride=stride, padding=1, groups=groups, bias=False)


def conv1x1(in_channels: int, out_channels: int, stride: int = 1) -> nn.Conv2d:
    """A 1×1 convolution without bias: bottleneck reduce/expand and projection shortcuts."""
    return nn.Conv2d(in_channels, out_channels, 1, stride=stride, bias=False)
