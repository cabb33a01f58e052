"""The seeds' worked cost examples as tiny named models: the project's first acceptance tests.

Bias is off in all of them, as in the seeds' arithmetic, so the parameter counts are the pure weight counts.
"""

from __future__ import annotations

from functools import partial

from torch import nn

from explorer.zoo.registry import Family, register_model

__all__ = [
    "conv_3x3_512_depthwise_separable", "conv_3x3_512_normal", "conv_6x6x3_depthwise_separable", "conv_6x6x3_normal",
    "inception_5x5_bottleneck", "inception_5x5_naive", "inception_naive_28x28x256", "one_7x7_conv", "three_3x3_convs",
]

_INCEPTION_NOTES = "Szegedy et al., 2014 (as worked in the course notes)"
_MOBILENET_NOTES = "Howard et al., 2017 (as worked in the course notes)"
_VGG_NOTES = "Simonyan, Zisserman, 2014 (as worked in the course notes)"


@register_model(
    "inception_5x5_naive",
    family=Family.SEED_BLOCK,
    input_size=(192, 28, 28),
    paper=_INCEPTION_NOTES,
    description="A 5×5 same convolution straight from 28×28×192 to 32 channels: 28·28·32 outputs, each "
    "5·5·192 multiplications, about 120 million in all.",
)
def inception_5x5_naive() -> nn.Module:
    return nn.Sequential(nn.Conv2d(192, 32, kernel_size=5, padding=2, bias=False))


@register_model(
    "inception_5x5_bottleneck",
    family=Family.SEED_BLOCK,
    input_size=(192, 28, 28),
    paper=_INCEPTION_NOTES,
    description="The same 28×28×192 → 28×28×32 map through a 1×1 bottleneck to 16 channels first: "
    "2.4M + 10.0M ≈ 12.4M multiplications, a tenth of the naive cost.",
)
def inception_5x5_bottleneck() -> nn.Module:
    return nn.Sequential(
        nn.Conv2d(192, 16, kernel_size=1, bias=False),
        nn.Conv2d(16, 32, kernel_size=5, padding=2, bias=False),
    )


@register_model(
    "conv_6x6x3_normal",
    family=Family.SEED_BLOCK,
    input_size=(3, 6, 6),
    paper=_MOBILENET_NOTES,
    description="A normal convolution of a 6×6×3 input with five 3×3×3 filters (valid): 4×4×5 outputs, "
    "27 multiplications each, 2,160 in all.",
)
def conv_6x6x3_normal() -> nn.Module:
    return nn.Sequential(nn.Conv2d(3, 5, kernel_size=3, bias=False))


@register_model(
    "conv_6x6x3_depthwise_separable",
    family=Family.SEED_BLOCK,
    input_size=(3, 6, 6),
    paper=_MOBILENET_NOTES,
    description="The same 6×6×3 → 4×4×5 map as a depthwise 3×3 convolution (432 multiplications) followed by a "
    "pointwise 1×1 convolution (240): 672 in all, 1/n_c' + 1/f² ≈ 0.31 of the normal convolution.",
)
def conv_6x6x3_depthwise_separable() -> nn.Module:
    return nn.Sequential(
        nn.Conv2d(3, 3, kernel_size=3, groups=3, bias=False),
        nn.Conv2d(3, 5, kernel_size=1, bias=False),
    )


# --- notes 004: the naive Inception module on 28×28×256 ---------------------------------------------------------


@register_model(
    "inception_naive_28x28x256",
    family=Family.SEED_BLOCK,
    input_size=(256, 28, 28),
    paper=_INCEPTION_NOTES,
    description="Notes 004's naive module: 1×1 (128), 3×3 same (192) and 5×5 same (96) convolutions and a 3×3 "
    "stride-1 max pool on 28×28×256, concatenated to 28×28×(128+192+96+256) = 28×28×672. The convolutions "
    "alone cost 28·28·128·256 + 28·28·192·3·3·256 + 28·28·96·5·5·256 = 854M multiplications.",
)
def inception_naive_28x28x256() -> nn.Module:
    from explorer.zoo.inception import NaiveInception  # here, so the worked examples stay first in the listing

    return NaiveInception(256, ch1x1=128, ch3x3=192, ch5x5=96, conv_block=partial(nn.Conv2d, bias=False))


# --- notes 001: depthwise-separable vs normal convolution with 512 output channels --------------------------------
# 14×14×512 is MobileNet v1's middle stage; the ratio 1/n_c' + 1/f² does not depend on the input size.


@register_model(
    "conv_3x3_512_normal",
    family=Family.SEED_BLOCK,
    input_size=(512, 14, 14),
    paper=_MOBILENET_NOTES,
    description="A normal 3×3 same convolution from 14×14×512 to 512 channels: 14·14·512 outputs, each 3·3·512 "
    "multiplications, 462M in all; the baseline for the notes' 'typical' ratio with n_c' = 512.",
)
def conv_3x3_512_normal() -> nn.Module:
    return nn.Sequential(nn.Conv2d(512, 512, kernel_size=3, padding=1, bias=False))


@register_model(
    "conv_3x3_512_depthwise_separable",
    family=Family.SEED_BLOCK,
    input_size=(512, 14, 14),
    paper=_MOBILENET_NOTES,
    description="The same 14×14×512 → 14×14×512 map as a 3×3 depthwise convolution then a 1×1 pointwise one: "
    "1/512 + 1/9 ≈ 0.113 of the normal convolution's cost, 'roughly 10 times cheaper' as the notes put it.",
)
def conv_3x3_512_depthwise_separable() -> nn.Module:
    return nn.Sequential(
        nn.Conv2d(512, 512, kernel_size=3, padding=1, groups=512, bias=False),
        nn.Conv2d(512, 512, kernel_size=1, bias=False),
    )


# --- notes 004: three stacked 3×3 convolutions against one 7×7 ------------------------------------------------------


@register_model(
    "three_3x3_convs",
    family=Family.SEED_BLOCK,
    input_size=(64, 56, 56),
    paper=_VGG_NOTES,
    description="Three 3×3 same convolutions (C = 64 channels each, a ReLU after each): every output sees a 7×7 "
    "window of the input (3 → 5 → 7), like one 7×7 layer, with 3·3²·C² = 27C² weights instead of 49C² and three "
    "non-linearities instead of one.",
)
def three_3x3_convs() -> nn.Module:
    layers: list[nn.Module] = []
    for _ in range(3):
        layers += [nn.Conv2d(64, 64, kernel_size=3, padding=1, bias=False), nn.ReLU(inplace=True)]
    return nn.Sequential(*layers)


@register_model(
    "one_7x7_conv",
    family=Family.SEED_BLOCK,
    input_size=(64, 56, 56),
    paper=_VGG_NOTES,
    description="One 7×7 same convolution with C = 64 channels and a ReLU: the same 7×7 receptive field as three "
    "stacked 3×3 layers, but 7²·C² = 49C² weights (and MACs per output pixel) against their 27C².",
)
def one_7x7_conv() -> nn.Module:
    return nn.Sequential(nn.Conv2d(64, 64, kernel_size=7, padding=3, bias=False), nn.ReLU(inplace=True))
