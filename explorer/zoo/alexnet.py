"""AlexNet: torchvision's layers (`alexnet`) and the 2012 paper's network, on one GPU (`alexnet_2012`) and split
over two GPUs as the paper trained it (`alexnet_2012_2gpu`).

torchvision's AlexNet follows Krizhevsky's 2014 "One weird trick" variant (64/192/384/256/256 filters, no local
response normalization), not the 2012 paper; the `_2012` entries follow the seeds and the paper.
"""

from __future__ import annotations

from collections import OrderedDict

from torch import nn

from explorer.zoo.registry import Family, register_model

__all__ = ["AlexNet", "AlexNet2012", "alexnet", "alexnet_2012", "alexnet_2012_2gpu", "classifier_2012"]

_PAPER = "Krizhevsky, Sutskever & Hinton, 2012"
_TORCHVISION_PAPER = "Krizhevsky, 2014"  # "One weird trick for parallelizing CNNs", which torchvision's docstring cites


def _paper_lrn() -> nn.LocalResponseNorm:
    # Krizhevsky et al. 2012, Section 3.3: k = 2, n = 5, α = 1e-4, β = 0.75. The paper multiplies the sum of squares
    # by α; PyTorch multiplies it by alpha / size, hence alpha = α·n.
    return nn.LocalResponseNorm(size=5, alpha=1e-4 * 5, beta=0.75, k=2.0)


class AlexNet(nn.Sequential):
    """torchvision's AlexNet: same layers, same `features.i` / `classifier.i` names (torchvision/models/alexnet.py)."""

    def __init__(self, num_classes: int = 1000, dropout: float = 0.5) -> None:
        features = nn.Sequential(
            nn.Conv2d(3, 64, kernel_size=11, stride=4, padding=2),
            nn.ReLU(inplace=True),
            nn.MaxPool2d(kernel_size=3, stride=2),
            nn.Conv2d(64, 192, kernel_size=5, padding=2),
            nn.ReLU(inplace=True),
            nn.MaxPool2d(kernel_size=3, stride=2),
            nn.Conv2d(192, 384, kernel_size=3, padding=1),
            nn.ReLU(inplace=True),
            nn.Conv2d(384, 256, kernel_size=3, padding=1),
            nn.ReLU(inplace=True),
            nn.Conv2d(256, 256, kernel_size=3, padding=1),
            nn.ReLU(inplace=True),
            nn.MaxPool2d(kernel_size=3, stride=2),
        )
        classifier = nn.Sequential(
            nn.Dropout(p=dropout),
            nn.Linear(256 * 6 * 6, 4096),
            nn.ReLU(inplace=True),
            nn.Dropout(p=dropout),
            nn.Linear(4096, 4096),
            nn.ReLU(inplace=True),
            nn.Linear(4096, num_classes),
        )
        super().__init__(
            OrderedDict(
                features=features,
                avgpool=nn.AdaptiveAvgPool2d((6, 6)),
                flatten=nn.Flatten(),
                classifier=classifier,
            )
        )


def classifier_2012(in_features: int, num_classes: int, dropout: float) -> dict[str, nn.Module]:
    """The 2012 paper's head, shared by ZFNet: fc6 and fc7 of 4096 units with ReLU and dropout, then fc8."""
    return dict(
        fc6=nn.Linear(in_features, 4096),
        relu6=nn.ReLU(inplace=True),
        drop6=nn.Dropout(p=dropout),
        fc7=nn.Linear(4096, 4096),
        relu7=nn.ReLU(inplace=True),
        drop7=nn.Dropout(p=dropout),
        fc8=nn.Linear(4096, num_classes),
    )


class AlexNet2012(nn.Sequential):
    """The 2012 paper's AlexNet at the seeds' 227×227×3 input: 227 → 55 → 27 → 13 → 6, then 9216 → 4096 → 4096.

    With `towers=2` the paper's two-GPU split becomes grouped convolutions where the towers do not talk (conv2, conv4,
    conv5); conv1 gives each tower its own 48 filters over all three input channels (a dense convolution), and conv3
    and the fully connected layers read both towers. Local response normalization is applied over all 96/256 maps in
    one module; in the paper each GPU normalized only its own half (same cost, slightly different windows at the seam).
    """

    def __init__(self, num_classes: int = 1000, towers: int = 1, dropout: float = 0.5) -> None:
        super().__init__(
            OrderedDict(
                conv1=nn.Conv2d(3, 96, kernel_size=11, stride=4),  # (227 − 11)/4 + 1 = 55
                relu1=nn.ReLU(inplace=True),
                norm1=_paper_lrn(),
                pool1=nn.MaxPool2d(kernel_size=3, stride=2),  # (55 − 3)/2 + 1 = 27
                conv2=nn.Conv2d(96, 256, kernel_size=5, padding=2, groups=towers),  # same: 27
                relu2=nn.ReLU(inplace=True),
                norm2=_paper_lrn(),
                pool2=nn.MaxPool2d(kernel_size=3, stride=2),  # 13
                conv3=nn.Conv2d(256, 384, kernel_size=3, padding=1),  # both towers
                relu3=nn.ReLU(inplace=True),
                conv4=nn.Conv2d(384, 384, kernel_size=3, padding=1, groups=towers),
                relu4=nn.ReLU(inplace=True),
                conv5=nn.Conv2d(384, 256, kernel_size=3, padding=1, groups=towers),
                relu5=nn.ReLU(inplace=True),
                pool5=nn.MaxPool2d(kernel_size=3, stride=2),  # 6
                flatten=nn.Flatten(),  # 6·6·256 = 9216
                **classifier_2012(9216, num_classes, dropout),
            )
        )


@register_model(
    "alexnet",
    family=Family.ALEXNET,
    input_size=(3, 224, 224),
    paper=_TORCHVISION_PAPER,
    description="AlexNet as torchvision ships it, the single-tower variant of Krizhevsky's 2014 follow-up: five "
    "convolutions (11×11 stride 4 with 64 filters, 5×5 with 192, then three 3×3) with max pooling, no local response "
    "normalization, adaptive pooling to 6×6×256 and three fully connected layers with dropout; as in the seeds' "
    "AlexNet, most of its ~61M parameters sit in the fully connected layers.",
    top1=56.522,  # torchvision/models/alexnet.py, AlexNet_Weights.IMAGENET1K_V1 meta "acc@1"
    top1_source="torchvision AlexNet_Weights.IMAGENET1K_V1",
)
def alexnet(*, num_classes: int = 1000) -> nn.Module:
    return AlexNet(num_classes=num_classes)


@register_model(
    "alexnet_2012",
    family=Family.ALEXNET,
    input_size=(3, 227, 227),
    paper=_PAPER,
    description="The seeds' AlexNet: 227×227×3 through 96 11×11 filters at stride 4 (55×55), 3×3 stride-2 max "
    "pooling (27), 256 5×5 same filters, pooling (13), 384, 384 and 256 3×3 same filters, pooling to 6×6×256 = "
    "9216 units, then 4096, 4096 and a 1000-way softmax; ReLU, local response normalization, about 60M parameters.",
)
def alexnet_2012(*, num_classes: int = 1000) -> nn.Module:
    return AlexNet2012(num_classes=num_classes, towers=1)


@register_model(
    "alexnet_2012_2gpu",
    family=Family.ALEXNET,
    input_size=(3, 227, 227),
    paper=_PAPER,
    description="The same AlexNet with the paper's split over two GPUs that the seeds mention: conv2, conv4 and conv5 "
    "only see their own GPU's half of the maps (grouped convolutions, groups = 2), while conv3 and the fully "
    "connected layers read both halves; the split saves about 1.4M weights.",
)
def alexnet_2012_2gpu(*, num_classes: int = 1000) -> nn.Module:
    return AlexNet2012(num_classes=num_classes, towers=2)
