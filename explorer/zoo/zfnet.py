"""ZFNet (Zeiler & Fergus, 2013): AlexNet with a smaller, denser first layer and, per notes 004, wider conv3–5.

Shapes follow the paper's Figure 3 at its 224×224 crop: 224 → 110 → 55 → 26 → 13 → 6. Two choices make them come
out: conv1 pads by one pixel ((224 + 2 − 7)/2 + 1 = 110), and the 3×3 stride-2 max pools round up, as the Caffe-era
code did ((110 − 3)/2 + 1 = 54.5 → 55, (26 − 3)/2 + 1 = 12.5 → 13).

The paper's base model keeps AlexNet's 384/384/256 filters in conv3–5; notes 004 give 512/1024/512, the wider
variant the paper also reports in its ImageNet results (Table 2), and that is what `zfnet` builds.
"""

from __future__ import annotations

from collections import OrderedDict

from torch import nn

from explorer.zoo.alexnet import classifier_2012
from explorer.zoo.registry import Family, register_model

__all__ = ["ZFNet", "zfnet"]


def _contrast_norm() -> nn.LocalResponseNorm:
    # Zeiler & Fergus normalize "across feature maps" without giving constants; we use AlexNet's (k = 2, n = 5,
    # α = 1e-4, β = 0.75; PyTorch's alpha is α·n because it divides by the window size).
    return nn.LocalResponseNorm(size=5, alpha=1e-4 * 5, beta=0.75, k=2.0)


class ZFNet(nn.Sequential):
    """conv → ReLU → max pool → contrast normalization in layers 1–2 (the paper's Figure 3), then AlexNet's head."""

    def __init__(self, num_classes: int = 1000, widths: tuple[int, int, int] = (512, 1024, 512), dropout: float = 0.5):
        c3, c4, c5 = widths
        super().__init__(
            OrderedDict(
                conv1=nn.Conv2d(3, 96, kernel_size=7, stride=2, padding=1),  # 224 → 110
                relu1=nn.ReLU(inplace=True),
                pool1=nn.MaxPool2d(kernel_size=3, stride=2, ceil_mode=True),  # 110 → 55
                norm1=_contrast_norm(),
                conv2=nn.Conv2d(96, 256, kernel_size=5, stride=2),  # 55 → 26
                relu2=nn.ReLU(inplace=True),
                pool2=nn.MaxPool2d(kernel_size=3, stride=2, ceil_mode=True),  # 26 → 13
                norm2=_contrast_norm(),
                conv3=nn.Conv2d(256, c3, kernel_size=3, padding=1),
                relu3=nn.ReLU(inplace=True),
                conv4=nn.Conv2d(c3, c4, kernel_size=3, padding=1),
                relu4=nn.ReLU(inplace=True),
                conv5=nn.Conv2d(c4, c5, kernel_size=3, padding=1),
                relu5=nn.ReLU(inplace=True),
                pool5=nn.MaxPool2d(kernel_size=3, stride=2, ceil_mode=True),  # 13 → 6
                flatten=nn.Flatten(),
                **classifier_2012(6 * 6 * c5, num_classes, dropout),
            )
        )


@register_model(
    "zfnet",
    family=Family.ZFNET,
    input_size=(3, 224, 224),
    paper="Zeiler & Fergus, 2013",
    description="ZFNet, which notes 004 present as a retuned AlexNet: the first layer uses 7×7 filters at stride 2 "
    "instead of 11×11 at stride 4, and conv3–5 use 512, 1024 and 512 filters instead of 384, 384 and 256.",
)
def zfnet(*, num_classes: int = 1000) -> nn.Module:
    return ZFNet(num_classes=num_classes)
