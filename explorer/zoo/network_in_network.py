"""1×1 convolutions: the seeds' 28×28×192 → 28×28×32 example and Network in Network (Lin, Chen & Yan, 2013).

`nin` is the ImageNet NiN: four "mlpconv" blocks (a spatial convolution followed by two 1×1 convolutions, each with
ReLU), max pooling between them, and global average pooling instead of fully connected layers. The paper reports
CIFAR/SVHN/MNIST models; the ImageNet layout is the one its authors released with Caffe (the "NIN-imagenet" model
zoo entry: conv1 96@11×11/4, cccp1–2 96; conv2 256@5×5; conv3 384@3×3; dropout; conv4 1024@3×3, cccp7 1024,
cccp8 1000), which is also the NiN of Dive into Deep Learning §8.3. At 224×224 the maps go 54 → 26 → 12 → 5 → 1.
"""

from __future__ import annotations

from collections import OrderedDict

from torch import nn

from explorer.zoo.registry import Family, register_model

__all__ = ["MlpConv", "NetworkInNetwork", "PointwiseConv", "conv1x1_28x28x192_to_32", "nin"]

_PAPER = "Lin, Chen & Yan, 2013"


class MlpConv(nn.Sequential):
    """An mlpconv block: a k×k convolution, then two 1×1 convolutions (a tiny MLP at every position), all with ReLU."""

    def __init__(
        self,
        in_channels: int,
        channels: int,
        kernel_size: int,
        *,
        stride: int = 1,
        padding: int = 0,
        out_channels: int | None = None,
    ) -> None:
        out_channels = channels if out_channels is None else out_channels
        super().__init__(
            OrderedDict(
                conv=nn.Conv2d(in_channels, channels, kernel_size=kernel_size, stride=stride, padding=padding),
                relu=nn.ReLU(inplace=True),
                mlp1=nn.Conv2d(channels, channels, kernel_size=1),
                mlp1_relu=nn.ReLU(inplace=True),
                mlp2=nn.Conv2d(channels, out_channels, kernel_size=1),
                mlp2_relu=nn.ReLU(inplace=True),
            )
        )


class NetworkInNetwork(nn.Sequential):
    """The ImageNet NiN: the last mlpconv emits one map per class, and global average pooling turns maps into logits."""

    def __init__(self, num_classes: int = 1000, dropout: float = 0.5) -> None:
        super().__init__(
            OrderedDict(
                block1=MlpConv(3, 96, kernel_size=11, stride=4),  # 224 → 54
                pool1=nn.MaxPool2d(kernel_size=3, stride=2),  # 26
                block2=MlpConv(96, 256, kernel_size=5, padding=2),
                pool2=nn.MaxPool2d(kernel_size=3, stride=2),  # 12
                block3=MlpConv(256, 384, kernel_size=3, padding=1),
                pool3=nn.MaxPool2d(kernel_size=3, stride=2),  # 5
                dropout=nn.Dropout(p=dropout),
                block4=MlpConv(384, 1024, kernel_size=3, padding=1, out_channels=num_classes),
                global_pool=nn.AdaptiveAvgPool2d(1),
                flatten=nn.Flatten(),
            )
        )


class PointwiseConv(nn.Sequential):
    """A 1×1 convolution followed by ReLU: one small neuron per position, reading every input channel."""

    def __init__(self, in_channels: int, out_channels: int) -> None:
        # No bias, as in the seeds' arithmetic: 192·32 = 6,144 weights, 28·28·32·192 ≈ 4.8M multiplications.
        super().__init__(
            OrderedDict(
                conv=nn.Conv2d(in_channels, out_channels, kernel_size=1, bias=False),
                relu=nn.ReLU(inplace=True),
            )
        )


@register_model(
    "conv1x1_28x28x192_to_32",
    family=Family.ONE_BY_ONE,
    input_size=(192, 28, 28),
    paper=_PAPER,
    description="The seeds' 1×1 convolution: 32 filters of size 1×1×192 shrink a 28×28×192 volume to 28×28×32. Each "
    "filter acts like one neuron that takes the 192 numbers at a position, weighs and sums them and applies a ReLU, "
    "so it changes the number of channels while pooling only changes height and width.",
)
def conv1x1_28x28x192_to_32() -> nn.Module:
    return PointwiseConv(192, 32)


@register_model(
    "nin",
    family=Family.ONE_BY_ONE,
    input_size=(3, 224, 224),
    paper=_PAPER,
    description="Network in Network, the paper the seeds credit for 1×1 convolutions: every convolution is followed "
    "by two 1×1 convolutions that act as a small network applied at each position, and global average pooling over "
    "one map per class replaces the fully connected layers (ImageNet layout, about 7.6M parameters).",
)
def nin(*, num_classes: int = 1000) -> nn.Module:
    return NetworkInNetwork(num_classes=num_classes)
