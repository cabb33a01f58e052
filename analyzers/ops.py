"""Op families: which aten ops are window pools, adaptive pools, views, matrix products and attention kernels, one
list each, for every module that asks (the counting formulas, the receptive-field flow, the window checks, the
dispatch mode and the backward formulas). Six modules used to keep their own lists, and they disagreed: `max_pool3d`
was a max pool to the window checks only.

Some members never reach a dispatch mode: composite ops that PyTorch decomposes first (`max_pool3d` into
`max_pool3d_with_indices`, `adaptive_avg_pool1d` into `_adaptive_avg_pool2d`, `scaled_dot_product_attention` into one
of its kernels). They are listed all the same, so that a family means the same thing wherever it is read.
"""

from __future__ import annotations

import torch

__all__ = [
    "ADAPTIVE_POOLS", "ADAPTIVE_POOL_BACKWARD", "ATTENTION", "AVG_POOLS", "AVG_POOL_BACKWARD", "FUSED_ATTENTION",
    "FUSED_ATTENTION_BACKWARD", "MAX_POOLS", "MAX_POOL_BACKWARD", "POOL_DIMS", "PRODUCTS", "VIEWS", "WINDOW_POOLS",
]

aten = torch.ops.aten

# ---------------------------------------------------------------- forward

# A window slides over the last 1, 2 or 3 dims: how many, for each window pool.
POOL_DIMS = {
    aten.max_pool1d: 1, aten.avg_pool1d: 1,
    aten.max_pool2d: 2, aten.max_pool2d_with_indices: 2, aten.avg_pool2d: 2,
    aten.max_pool3d: 3, aten.max_pool3d_with_indices: 3, aten.avg_pool3d: 3,
}  # fmt: skip
MAX_POOLS = frozenset({aten.max_pool1d, aten.max_pool2d, aten.max_pool2d_with_indices, aten.max_pool3d,
                       aten.max_pool3d_with_indices})  # their argument lists carry a dilation (index 4)
AVG_POOLS = frozenset({aten.avg_pool1d, aten.avg_pool2d, aten.avg_pool3d})
WINDOW_POOLS = MAX_POOLS | AVG_POOLS
ADAPTIVE_POOLS = frozenset({aten._adaptive_avg_pool2d, aten.adaptive_max_pool2d, aten._adaptive_avg_pool3d,
                            aten.adaptive_avg_pool1d, aten.adaptive_max_pool1d})

# Ops that give the same elements another shape (no copy where the strides allow).
VIEWS = frozenset({aten.view, aten._unsafe_view, aten.reshape, aten._reshape_alias, aten.flatten, aten.unsqueeze,
                   aten.squeeze, aten.unsqueeze_, aten.squeeze_, aten.unflatten})

# a @ b, without a bias (`addmm`, `baddbmm` add one); `_grouped_mm`: a mixture of experts' per-group products.
PRODUCTS = frozenset({aten.mm, aten.bmm, aten.matmul, aten._grouped_mm})

# The attention kernels whose cost has a formula (QKᵀ and AV fused), and with them the composite entry points.
FUSED_ATTENTION = frozenset({aten._scaled_dot_product_flash_attention, aten._scaled_dot_product_efficient_attention,
                             aten._scaled_dot_product_cudnn_attention,
                             aten._scaled_dot_product_flash_attention_for_cpu})
ATTENTION = FUSED_ATTENTION | {aten._scaled_dot_product_attention_math, aten.scaled_dot_product_attention}

# ---------------------------------------------------------------- backward

MAX_POOL_BACKWARD = frozenset({aten.max_pool2d_with_indices_backward, aten.max_pool3d_with_indices_backward})
AVG_POOL_BACKWARD = frozenset({aten.avg_pool2d_backward, aten.avg_pool3d_backward})
ADAPTIVE_POOL_BACKWARD = frozenset({aten._adaptive_avg_pool2d_backward, aten._adaptive_avg_pool3d_backward,
                                    aten.adaptive_max_pool2d_backward})
FUSED_ATTENTION_BACKWARD = frozenset({
    aten._scaled_dot_product_flash_attention_backward, aten._scaled_dot_product_efficient_attention_backward,
    aten._scaled_dot_product_cudnn_attention_backward, aten._scaled_dot_product_flash_attention_for_cpu_backward,
})
