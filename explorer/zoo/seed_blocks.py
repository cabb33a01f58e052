"""The seeds' worked cost examples as tiny named models: the project's first acceptance tests.

Bias is off in all of them, as in the seeds' arithmetic, so the parameter counts are the pure weight counts.
"""

from __future__ import annotations

from torch import nn

from explorer.zoo.registry import Family, register_model

_INCEPTION_NOTES = "Szegedy et al., 2014 (as worked in the course notes)"
_MOBILENET_NOTES = "Howard et al., 2017 (as worked in the course notes)"


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
