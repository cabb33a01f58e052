"""Wide ResNets on CIFAR (Zagoruyko & Komodakis 2016): WRN-d-k, fewer but k times wider pre-activation blocks.

A 3×3 conv with 16 filters, three groups of N = (d − 4)/6 pre-activation B(3,3) blocks with 16k, 32k and 64k filters,
a final BN-ReLU, global average pooling and a linear layer. The notes' point: widening a residual net can pay off
better than deepening it (WRN-28-10 beats the 1001-layer pre-activation ResNet at a fraction of the depth). The
ImageNet `wide_resnet50_2` (torchvision's) lives in `resnet.py`.
"""

from __future__ import annotations

from torch import nn

from explorer.zoo.build_options import Bounds
from explorer.zoo.preact_resnet import BlockKind, PreActConfig, PreActResNet, Stem, cifar_stages
from explorer.zoo.registry import Family, register_model

__all__ = ["PAPER_NETWORKS", "WRN_BOUNDS", "blocks_per_group", "build_wide_resnet", "wide_resnet_cifar"]

_ZAGORUYKO_2016 = "Zagoruyko, Komodakis, 2016"

# Zagoruyko & Komodakis 2016, Tables 4–6: the networks quoted with their parameter counts (CIFAR-10, 10 classes).
PAPER_NETWORKS = {(28, 10): 36.5, (40, 4): 8.9, (16, 8): 11.0}
# The paper's widest net is k = 12 and its deepest wide one d = 40; these bounds leave room around them while the
# largest (WRN-100-16, about 400M parameters) still builds on the meta device in a fraction of a second.
WRN_BOUNDS = {
    "depth": Bounds("weight layers d = 6N+4 (16, 22, 28, 40 in the paper)", 10, 100),
    "widen_factor": Bounds("widening factor k: filters 16k, 32k, 64k per group", 1, 16),
}


def blocks_per_group(depth: int) -> int:
    """N for WRN-d-k: d = 6N + 4 (three groups of N two-conv blocks, the first conv, the fc and two shortcuts)."""
    if isinstance(depth, bool) or not isinstance(depth, int) or depth < 10 or (depth - 4) % 6:
        raise ValueError(f"depth must be 6N+4 for a whole N ≥ 1 (10, 16, 22, 28, 40, …), got {depth!r}")
    return (depth - 4) // 6


def _check_widen(widen_factor: int) -> int:
    if isinstance(widen_factor, bool) or not isinstance(widen_factor, int) or widen_factor < 1:
        raise ValueError(f"widen_factor must be a whole number ≥ 1 (k = 1 is a thin pre-activation ResNet), "
                         f"got {widen_factor!r}")
    return widen_factor


def _check_dropout(dropout: float) -> float:
    if not 0.0 <= float(dropout) < 1.0:
        raise ValueError(f"dropout must be in [0, 1), got {dropout}")
    return float(dropout)


def build_wide_resnet(depth: int, widen_factor: int, *, dropout: float = 0.0, num_classes: int = 10) -> nn.Module:
    k = _check_widen(widen_factor)
    stages = cifar_stages(blocks_per_group(depth), (16 * k, 32 * k, 64 * k))
    config = PreActConfig(Stem.CIFAR, BlockKind.BASIC, stages, dropout=_check_dropout(dropout))
    return PreActResNet(config, num_classes=num_classes)


@register_model(
    "wide_resnet_cifar",
    family=Family.RESNET,
    input_size=(3, 32, 32),
    paper=_ZAGORUYKO_2016,
    description="WRN-d-k with both knobs: depth d = 6N+4 and widening factor k (16k, 32k, 64k filters per group); "
    "dropout between the 3×3 convs is the paper's option and costs nothing at inference. Defaults to WRN-28-10.",
    bounds=WRN_BOUNDS,
)
def wide_resnet_cifar(
    *, depth: int = 28, widen_factor: int = 10, dropout: float = 0.0, num_classes: int = 10
) -> nn.Module:
    return build_wide_resnet(depth, widen_factor, dropout=dropout, num_classes=num_classes)


def _register(depth: int, widen_factor: int, params_m: float) -> None:
    def build(*, dropout: float = 0.0, num_classes: int = 10) -> nn.Module:
        return build_wide_resnet(depth, widen_factor, dropout=dropout, num_classes=num_classes)

    build.__name__ = build.__qualname__ = f"wide_resnet{depth}_{widen_factor}_cifar"
    register_model(
        build.__name__,
        family=Family.RESNET,
        input_size=(3, 32, 32),
        paper=_ZAGORUYKO_2016,
        description=f"WRN-{depth}-{widen_factor}: {blocks_per_group(depth)} pre-activation blocks per group with "
        f"{16 * widen_factor}, {32 * widen_factor} and {64 * widen_factor} filters, {params_m}M parameters in "
        "the paper's tables.",
    )(build)


for (_depth, _k), _params in PAPER_NETWORKS.items():
    _register(_depth, _k, _params)
