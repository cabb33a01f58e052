"""Inception: the seeds' 28×28×192 modules, GoogLeNet (torchvision's and the 2014 paper's) and Inception v3.

The seeds' bottleneck module (1×1 64; 1×1 96 → 3×3 128; 1×1 16 → 5×5 32; pool → 1×1 32) is exactly GoogLeNet's
module 3a, so one `Inception` class builds both. torchvision's GoogLeNet differs from the paper: every convolution is
conv (no bias) + batch norm + ReLU, the "5×5" branch uses a 3×3 kernel (a known quirk of the port,
pytorch/vision#906), there is no local response normalization, the last max pool is 2×2 and dropout is 20%.

Auxiliary classifiers run only in training mode, as in the paper (discarded at inference) and in torchvision; in
eval mode every network here returns a plain logits tensor.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass
from typing import Callable, NamedTuple

import torch
from torch import nn

from explorer.zoo.registry import Family, register_model

__all__ = [
    "AuxOutputs", "BasicConv2d", "Branches", "ConvBlock", "ConvReLU", "GOOGLENET_MODULES", "GoogLeNet", "GoogLeNetAux",
    "Inception", "InceptionA", "InceptionB", "InceptionC", "InceptionD", "InceptionE", "InceptionSpec", "InceptionV3",
    "InceptionV3Aux", "NaiveInception", "TrunkWithAuxHeads", "googlenet", "googlenet_2014", "inception_module",
    "inception_module_naive", "inception_v3",
]

_GOOGLENET_PAPER = "Szegedy et al., 2014"
_INCEPTION_V3_PAPER = "Szegedy, Vanhoucke, Ioffe, Shlens & Wojna, 2015"

ConvBlock = Callable[..., nn.Module]  # (in_channels, out_channels, kernel_size=…, stride=…, padding=…) -> module


class ConvReLU(nn.Sequential):
    """The paper's convolution: conv with bias, then ReLU (GoogLeNet uses ReLU after every convolution)."""

    def __init__(self, in_channels: int, out_channels: int, **conv_options: int | tuple[int, int]) -> None:
        super().__init__(
            OrderedDict(conv=nn.Conv2d(in_channels, out_channels, **conv_options), relu=nn.ReLU(inplace=True))
        )


class BasicConv2d(nn.Sequential):
    """torchvision's conv block for GoogLeNet and Inception v3: conv without bias, batch norm (eps 0.001), ReLU."""

    def __init__(self, in_channels: int, out_channels: int, **conv_options: int | tuple[int, int]) -> None:
        super().__init__(
            OrderedDict(
                conv=nn.Conv2d(in_channels, out_channels, bias=False, **conv_options),
                bn=nn.BatchNorm2d(out_channels, eps=0.001),
                relu=nn.ReLU(inplace=True),
            )
        )


class Branches(nn.Module):
    """Runs every child on the same input and concatenates their outputs along channels."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat([branch(x) for branch in self.children()], dim=1)


class NaiveInception(Branches):
    """All filter sizes side by side, no bottlenecks: the pool branch passes every input channel through."""

    def __init__(self, in_channels: int, ch1x1: int, ch3x3: int, ch5x5: int, conv_block: ConvBlock = ConvReLU):
        super().__init__()
        self.branch1 = conv_block(in_channels, ch1x1, kernel_size=1)
        self.branch2 = conv_block(in_channels, ch3x3, kernel_size=3, padding=1)
        self.branch3 = conv_block(in_channels, ch5x5, kernel_size=5, padding=2)
        self.branch4 = nn.MaxPool2d(kernel_size=3, stride=1, padding=1)


@dataclass(frozen=True)
class InceptionSpec:
    """One row of GoogLeNet's Table 1: the widths of an Inception module's four branches."""

    in_channels: int
    ch1x1: int
    ch3x3_reduce: int
    ch3x3: int
    ch5x5_reduce: int
    ch5x5: int
    pool_proj: int

    @property
    def out_channels(self) -> int:
        return self.ch1x1 + self.ch3x3 + self.ch5x5 + self.pool_proj


# Szegedy et al. 2014, Table 1 (the same widths in torchvision/models/googlenet.py). 3a is the seeds' module.
GOOGLENET_MODULES: dict[str, InceptionSpec] = {
    "inception3a": InceptionSpec(192, 64, 96, 128, 16, 32, 32),
    "inception3b": InceptionSpec(256, 128, 128, 192, 32, 96, 64),
    "inception4a": InceptionSpec(480, 192, 96, 208, 16, 48, 64),
    "inception4b": InceptionSpec(512, 160, 112, 224, 24, 64, 64),
    "inception4c": InceptionSpec(512, 128, 128, 256, 24, 64, 64),
    "inception4d": InceptionSpec(512, 112, 144, 288, 32, 64, 64),
    "inception4e": InceptionSpec(528, 256, 160, 320, 32, 128, 128),
    "inception5a": InceptionSpec(832, 256, 160, 320, 32, 128, 128),
    "inception5b": InceptionSpec(832, 384, 192, 384, 48, 128, 128),
}


class Inception(Branches):
    """The Inception module with 1×1 bottlenecks before the 3×3 and 5×5 convolutions and after the pool.

    `wide_kernel` is the kernel of the third branch: 5 in the paper, 3 in torchvision's port.
    """

    def __init__(self, spec: InceptionSpec, conv_block: ConvBlock = ConvReLU, wide_kernel: int = 5) -> None:
        super().__init__()
        self.branch1 = conv_block(spec.in_channels, spec.ch1x1, kernel_size=1)
        self.branch2 = nn.Sequential(
            conv_block(spec.in_channels, spec.ch3x3_reduce, kernel_size=1),
            conv_block(spec.ch3x3_reduce, spec.ch3x3, kernel_size=3, padding=1),
        )
        self.branch3 = nn.Sequential(
            conv_block(spec.in_channels, spec.ch5x5_reduce, kernel_size=1),
            conv_block(spec.ch5x5_reduce, spec.ch5x5, kernel_size=wide_kernel, padding=wide_kernel // 2),
        )
        self.branch4 = nn.Sequential(
            nn.MaxPool2d(kernel_size=3, stride=1, padding=1, ceil_mode=True),
            conv_block(spec.in_channels, spec.pool_proj, kernel_size=1),
        )


class AuxOutputs(NamedTuple):
    """Training-mode output of a network with auxiliary classifiers: main logits, then each head's, in tap order."""

    logits: torch.Tensor
    aux_logits: tuple[torch.Tensor, ...]


class TrunkWithAuxHeads(nn.Module):
    """A trunk of named layers run in order; auxiliary heads read the output of the layer they tap (training only)."""

    def __init__(self, trunk: OrderedDict[str, nn.Module], heads: dict[str, tuple[str, nn.Module]]) -> None:
        super().__init__()
        self._trunk_names = tuple(trunk)
        self._taps = {tap: name for name, (tap, _) in heads.items()}
        for name, layer in trunk.items():
            self.add_module(name, layer)
            if name in self._taps:  # register each head next to its tap, so printing reads in network order
                head_name = self._taps[name]
                self.add_module(head_name, heads[head_name][1])

    def forward(self, x: torch.Tensor) -> torch.Tensor | AuxOutputs:
        aux_logits: list[torch.Tensor] = []
        for name in self._trunk_names:
            x = self._modules[name](x)
            head_name = self._taps.get(name)
            if head_name is not None and self.training:
                aux_logits.append(self._modules[head_name](x))
        return AuxOutputs(x, tuple(aux_logits)) if aux_logits else x


class GoogLeNetAux(nn.Sequential):
    """A side classifier: pool to 4×4, 1×1 conv to 128, fc 2048 → 1024 with ReLU and 70% dropout, fc to classes."""

    def __init__(self, in_channels: int, num_classes: int, conv_block: ConvBlock, pool: nn.Module) -> None:
        super().__init__(
            OrderedDict(
                pool=pool,
                conv=conv_block(in_channels, 128, kernel_size=1),
                flatten=nn.Flatten(),
                fc1=nn.Linear(128 * 4 * 4, 1024),
                relu=nn.ReLU(inplace=True),
                dropout=nn.Dropout(p=0.7),
                fc2=nn.Linear(1024, num_classes),
            )
        )


def _googlenet_lrn() -> nn.LocalResponseNorm:
    # The paper gives no constants; these are the Caffe reference model's (BVLC GoogLeNet): size 5, α = 1e-4,
    # β = 0.75, with α divided by the window size as PyTorch does.
    return nn.LocalResponseNorm(size=5, alpha=1e-4, beta=0.75)


class GoogLeNet(TrunkWithAuxHeads):
    """GoogLeNet with torchvision's layer names; `paper=True` builds the 2014 paper's network instead.

    Paper: convolutions with bias + ReLU, true 5×5 branches, local response normalization after the first pool and
    after conv3, a 3×3 last max pool, 40% dropout, aux heads pooling with a fixed 5×5 stride-3 average pool.
    torchvision: BasicConv2d blocks, 3×3 in the "5×5" branch, no LRN, a 2×2 last max pool, 20% dropout, aux heads
    with adaptive pooling to 4×4.
    """

    def __init__(self, num_classes: int = 1000, aux_logits: bool = False, paper: bool = False) -> None:
        conv: ConvBlock = ConvReLU if paper else BasicConv2d
        wide_kernel = 5 if paper else 3

        def modules(*names: str) -> list[tuple[str, nn.Module]]:
            return [(name, Inception(GOOGLENET_MODULES[name], conv, wide_kernel)) for name in names]

        stem: list[tuple[str, nn.Module]] = [
            ("conv1", conv(3, 64, kernel_size=7, stride=2, padding=3)),  # 224 → 112
            ("maxpool1", nn.MaxPool2d(3, stride=2, ceil_mode=True)),  # 56
        ]
        if paper:
            stem.append(("lrn1", _googlenet_lrn()))
        stem += [("conv2", conv(64, 64, kernel_size=1)), ("conv3", conv(64, 192, kernel_size=3, padding=1))]
        if paper:
            stem.append(("lrn2", _googlenet_lrn()))
        stem.append(("maxpool2", nn.MaxPool2d(3, stride=2, ceil_mode=True)))  # 28
        trunk = OrderedDict(
            [
                *stem,
                *modules("inception3a", "inception3b"),
                ("maxpool3", nn.MaxPool2d(3, stride=2, ceil_mode=True)),  # 14
                *modules("inception4a", "inception4b", "inception4c", "inception4d", "inception4e"),
                ("maxpool4", nn.MaxPool2d(3 if paper else 2, stride=2, ceil_mode=True)),  # 7
                *modules("inception5a", "inception5b"),
                ("avgpool", nn.AdaptiveAvgPool2d(1)),  # the paper's 7×7 average pool at 224
                ("flatten", nn.Flatten()),
                ("dropout", nn.Dropout(p=0.4 if paper else 0.2)),
                ("fc", nn.Linear(1024, num_classes)),
            ]
        )
        heads: dict[str, tuple[str, nn.Module]] = {}
        if aux_logits:
            for head_name, tap in (("aux1", "inception4a"), ("aux2", "inception4d")):
                pool = nn.AvgPool2d(5, stride=3) if paper else nn.AdaptiveAvgPool2d(4)  # 14×14 → 4×4
                in_channels = GOOGLENET_MODULES[tap].out_channels
                heads[head_name] = (tap, GoogLeNetAux(in_channels, num_classes, conv, pool))
        super().__init__(trunk, heads)


class InceptionA(nn.Module):
    """Inception v3's 35×35 module: 1×1; 1×1 → 5×5; 1×1 → 3×3 → 3×3; 3×3 average pool → 1×1."""

    def __init__(self, in_channels: int, pool_features: int) -> None:
        super().__init__()
        self.branch1x1 = BasicConv2d(in_channels, 64, kernel_size=1)
        self.branch5x5_1 = BasicConv2d(in_channels, 48, kernel_size=1)
        self.branch5x5_2 = BasicConv2d(48, 64, kernel_size=5, padding=2)
        self.branch3x3dbl_1 = BasicConv2d(in_channels, 64, kernel_size=1)
        self.branch3x3dbl_2 = BasicConv2d(64, 96, kernel_size=3, padding=1)
        self.branch3x3dbl_3 = BasicConv2d(96, 96, kernel_size=3, padding=1)
        self.avgpool = nn.AvgPool2d(kernel_size=3, stride=1, padding=1)
        self.branch_pool = BasicConv2d(in_channels, pool_features, kernel_size=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        branch5x5 = self.branch5x5_2(self.branch5x5_1(x))
        branch3x3dbl = self.branch3x3dbl_3(self.branch3x3dbl_2(self.branch3x3dbl_1(x)))
        branch_pool = self.branch_pool(self.avgpool(x))
        return torch.cat([self.branch1x1(x), branch5x5, branch3x3dbl, branch_pool], dim=1)


class InceptionB(nn.Module):
    """Inception v3's 35 → 17 grid reduction: strided 3×3; 1×1 → 3×3 → strided 3×3; strided max pool."""

    def __init__(self, in_channels: int) -> None:
        super().__init__()
        self.branch3x3 = BasicConv2d(in_channels, 384, kernel_size=3, stride=2)
        self.branch3x3dbl_1 = BasicConv2d(in_channels, 64, kernel_size=1)
        self.branch3x3dbl_2 = BasicConv2d(64, 96, kernel_size=3, padding=1)
        self.branch3x3dbl_3 = BasicConv2d(96, 96, kernel_size=3, stride=2)
        self.maxpool = nn.MaxPool2d(kernel_size=3, stride=2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        branch3x3dbl = self.branch3x3dbl_3(self.branch3x3dbl_2(self.branch3x3dbl_1(x)))
        return torch.cat([self.branch3x3(x), branch3x3dbl, self.maxpool(x)], dim=1)


class InceptionC(nn.Module):
    """Inception v3's 17×17 module: 7×7 convolutions factorized into 1×7 and 7×1."""

    def __init__(self, in_channels: int, channels_7x7: int) -> None:
        super().__init__()
        c7 = channels_7x7
        self.branch1x1 = BasicConv2d(in_channels, 192, kernel_size=1)
        self.branch7x7_1 = BasicConv2d(in_channels, c7, kernel_size=1)
        self.branch7x7_2 = BasicConv2d(c7, c7, kernel_size=(1, 7), padding=(0, 3))
        self.branch7x7_3 = BasicConv2d(c7, 192, kernel_size=(7, 1), padding=(3, 0))
        self.branch7x7dbl_1 = BasicConv2d(in_channels, c7, kernel_size=1)
        self.branch7x7dbl_2 = BasicConv2d(c7, c7, kernel_size=(7, 1), padding=(3, 0))
        self.branch7x7dbl_3 = BasicConv2d(c7, c7, kernel_size=(1, 7), padding=(0, 3))
        self.branch7x7dbl_4 = BasicConv2d(c7, c7, kernel_size=(7, 1), padding=(3, 0))
        self.branch7x7dbl_5 = BasicConv2d(c7, 192, kernel_size=(1, 7), padding=(0, 3))
        self.avgpool = nn.AvgPool2d(kernel_size=3, stride=1, padding=1)
        self.branch_pool = BasicConv2d(in_channels, 192, kernel_size=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        branch7x7 = self.branch7x7_3(self.branch7x7_2(self.branch7x7_1(x)))
        branch7x7dbl = self.branch7x7dbl_1(x)
        for layer in (self.branch7x7dbl_2, self.branch7x7dbl_3, self.branch7x7dbl_4, self.branch7x7dbl_5):
            branch7x7dbl = layer(branch7x7dbl)
        branch_pool = self.branch_pool(self.avgpool(x))
        return torch.cat([self.branch1x1(x), branch7x7, branch7x7dbl, branch_pool], dim=1)


class InceptionD(nn.Module):
    """Inception v3's 17 → 8 grid reduction: 1×1 → strided 3×3; 1×1 → 1×7 → 7×1 → strided 3×3; strided max pool."""

    def __init__(self, in_channels: int) -> None:
        super().__init__()
        self.branch3x3_1 = BasicConv2d(in_channels, 192, kernel_size=1)
        self.branch3x3_2 = BasicConv2d(192, 320, kernel_size=3, stride=2)
        self.branch7x7x3_1 = BasicConv2d(in_channels, 192, kernel_size=1)
        self.branch7x7x3_2 = BasicConv2d(192, 192, kernel_size=(1, 7), padding=(0, 3))
        self.branch7x7x3_3 = BasicConv2d(192, 192, kernel_size=(7, 1), padding=(3, 0))
        self.branch7x7x3_4 = BasicConv2d(192, 192, kernel_size=3, stride=2)
        self.maxpool = nn.MaxPool2d(kernel_size=3, stride=2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        branch3x3 = self.branch3x3_2(self.branch3x3_1(x))
        branch7x7x3 = self.branch7x7x3_1(x)
        for layer in (self.branch7x7x3_2, self.branch7x7x3_3, self.branch7x7x3_4):
            branch7x7x3 = layer(branch7x7x3)
        return torch.cat([branch3x3, branch7x7x3, self.maxpool(x)], dim=1)


class InceptionE(nn.Module):
    """Inception v3's 8×8 module: two branches widen into a 1×3 and a 3×1 convolution side by side."""

    def __init__(self, in_channels: int) -> None:
        super().__init__()
        self.branch1x1 = BasicConv2d(in_channels, 320, kernel_size=1)
        self.branch3x3_1 = BasicConv2d(in_channels, 384, kernel_size=1)
        self.branch3x3_2a = BasicConv2d(384, 384, kernel_size=(1, 3), padding=(0, 1))
        self.branch3x3_2b = BasicConv2d(384, 384, kernel_size=(3, 1), padding=(1, 0))
        self.branch3x3dbl_1 = BasicConv2d(in_channels, 448, kernel_size=1)
        self.branch3x3dbl_2 = BasicConv2d(448, 384, kernel_size=3, padding=1)
        self.branch3x3dbl_3a = BasicConv2d(384, 384, kernel_size=(1, 3), padding=(0, 1))
        self.branch3x3dbl_3b = BasicConv2d(384, 384, kernel_size=(3, 1), padding=(1, 0))
        self.avgpool = nn.AvgPool2d(kernel_size=3, stride=1, padding=1)
        self.branch_pool = BasicConv2d(in_channels, 192, kernel_size=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        branch3x3 = self.branch3x3_1(x)
        branch3x3 = torch.cat([self.branch3x3_2a(branch3x3), self.branch3x3_2b(branch3x3)], dim=1)
        branch3x3dbl = self.branch3x3dbl_2(self.branch3x3dbl_1(x))
        branch3x3dbl = torch.cat([self.branch3x3dbl_3a(branch3x3dbl), self.branch3x3dbl_3b(branch3x3dbl)], dim=1)
        branch_pool = self.branch_pool(self.avgpool(x))
        return torch.cat([self.branch1x1(x), branch3x3, branch3x3dbl, branch_pool], dim=1)


class InceptionV3Aux(nn.Sequential):
    """Inception v3's side classifier on the 17×17×768 map: 5×5/3 average pool, 1×1 to 128, 5×5 to 768, fc."""

    def __init__(self, in_channels: int, num_classes: int) -> None:
        super().__init__(
            OrderedDict(
                pool=nn.AvgPool2d(kernel_size=5, stride=3),  # 17 → 5
                conv0=BasicConv2d(in_channels, 128, kernel_size=1),
                conv1=BasicConv2d(128, 768, kernel_size=5),  # 5 → 1
                avgpool=nn.AdaptiveAvgPool2d(1),
                flatten=nn.Flatten(),
                fc=nn.Linear(768, num_classes),
            )
        )


class InceptionV3(TrunkWithAuxHeads):
    """torchvision's Inception3 (torchvision/models/inception.py): same layers, widths and parameter names.

    The pools torchvision calls functionally are modules here (`avgpool`, `maxpool`), so they show up as rows.
    """

    def __init__(self, num_classes: int = 1000, aux_logits: bool = True, dropout: float = 0.5) -> None:
        trunk = OrderedDict(
            Conv2d_1a_3x3=BasicConv2d(3, 32, kernel_size=3, stride=2),  # 299 → 149
            Conv2d_2a_3x3=BasicConv2d(32, 32, kernel_size=3),  # 147
            Conv2d_2b_3x3=BasicConv2d(32, 64, kernel_size=3, padding=1),
            maxpool1=nn.MaxPool2d(kernel_size=3, stride=2),  # 73
            Conv2d_3b_1x1=BasicConv2d(64, 80, kernel_size=1),
            Conv2d_4a_3x3=BasicConv2d(80, 192, kernel_size=3),  # 71
            maxpool2=nn.MaxPool2d(kernel_size=3, stride=2),  # 35
            Mixed_5b=InceptionA(192, pool_features=32),  # 256 channels
            Mixed_5c=InceptionA(256, pool_features=64),  # 288
            Mixed_5d=InceptionA(288, pool_features=64),  # 288
            Mixed_6a=InceptionB(288),  # 17×17×768
            Mixed_6b=InceptionC(768, channels_7x7=128),
            Mixed_6c=InceptionC(768, channels_7x7=160),
            Mixed_6d=InceptionC(768, channels_7x7=160),
            Mixed_6e=InceptionC(768, channels_7x7=192),
            Mixed_7a=InceptionD(768),  # 8×8×1280
            Mixed_7b=InceptionE(1280),  # 2048
            Mixed_7c=InceptionE(2048),
            avgpool=nn.AdaptiveAvgPool2d(1),
            dropout=nn.Dropout(p=dropout),
            flatten=nn.Flatten(),
            fc=nn.Linear(2048, num_classes),
        )
        heads = {"AuxLogits": ("Mixed_6e", InceptionV3Aux(768, num_classes))} if aux_logits else {}
        super().__init__(trunk, heads)


_SEED_MODULE = GOOGLENET_MODULES["inception3a"]


@register_model(
    "inception_module_naive",
    family=Family.INCEPTION,
    input_size=(192, 28, 28),
    paper=_GOOGLENET_PAPER,
    description="The seeds' first Inception module on 28×28×192: a 1×1 (64 filters), a 3×3 same (128) and a 5×5 same "
    "(32) convolution and a 3×3 stride-1 same max pool side by side, stacked along channels. A pool keeps all 192 "
    "channels, so the output is 28×28×416 (notes 001 draw the pool branch as 32 channels to reach 256; notes 004's "
    "example, 28×28×256 in with 128/192/96 filters, grows to 672 the same way). The 5×5 branch alone costs about "
    "120M multiplications.",
)
def inception_module_naive() -> nn.Module:
    return NaiveInception(192, ch1x1=64, ch3x3=128, ch5x5=32)


@register_model(
    "inception_module",
    family=Family.INCEPTION,
    input_size=(192, 28, 28),
    paper=_GOOGLENET_PAPER,
    description="The seeds' Inception module with bottlenecks: 1×1 convolutions shrink 192 channels to 96 before the "
    "3×3 and to 16 before the 5×5, and a 1×1 after the same-padded max pool brings 192 down to 32, so the output is "
    "28×28×(64+128+32+32) = 28×28×256 at about a tenth of the naive 5×5 cost. It is GoogLeNet's module 3a.",
)
def inception_module() -> nn.Module:
    return Inception(_SEED_MODULE, ConvReLU, wide_kernel=5)


@register_model(
    "googlenet",
    family=Family.INCEPTION,
    input_size=(3, 224, 224),
    paper=_GOOGLENET_PAPER,
    description="GoogLeNet as torchvision ships it: nine Inception modules stacked 22 layers deep, global average "
    "pooling and a single 1024→1000 linear layer instead of big fully connected layers, about 6.6M parameters. "
    "Every convolution carries batch norm, the '5×5' branch uses a 3×3 kernel, and the side classifiers are left "
    "out unless aux_logits=True.",
    top1=69.778,  # torchvision/models/googlenet.py, GoogLeNet_Weights.IMAGENET1K_V1 meta "acc@1"
    top1_source="torchvision GoogLeNet_Weights.IMAGENET1K_V1",
)
def googlenet(*, num_classes: int = 1000, aux_logits: bool = False) -> nn.Module:
    return GoogLeNet(num_classes=num_classes, aux_logits=aux_logits, paper=False)


@register_model(
    "googlenet_2014",
    family=Family.INCEPTION,
    input_size=(3, 224, 224),
    paper=_GOOGLENET_PAPER,
    description="GoogLeNet as the paper built it: true 5×5 branches, ReLU convolutions with bias, local response "
    "normalization in the stem, 40% dropout, and the two side branches the seeds describe: softmax classifiers on "
    "intermediate layers (after 4a and 4d) whose losses help regularize training. They run only in training mode, "
    "so they add parameters but no inference cost.",
)
def googlenet_2014(*, num_classes: int = 1000, aux_logits: bool = True) -> nn.Module:
    return GoogLeNet(num_classes=num_classes, aux_logits=aux_logits, paper=True)


@register_model(
    "inception_v3",
    family=Family.INCEPTION,
    input_size=(3, 299, 299),
    paper=_INCEPTION_V3_PAPER,
    description="One of the later Inception versions the seeds mention, as torchvision ships it: 299×299 input, "
    "5×5 and 7×7 convolutions factorized into smaller and 1×n / n×1 ones, grid-reduction modules, batch norm, and "
    "one auxiliary classifier (training only) whose weights torchvision includes in its 27.2M parameters.",
    top1=77.294,  # torchvision/models/inception.py, Inception_V3_Weights.IMAGENET1K_V1 meta "acc@1"
    top1_source="torchvision Inception_V3_Weights.IMAGENET1K_V1",
)
def inception_v3(*, num_classes: int = 1000, aux_logits: bool = True) -> nn.Module:
    return InceptionV3(num_classes=num_classes, aux_logits=aux_logits)
