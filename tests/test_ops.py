"""One list per op family (analyzers/ops.py), read the same way by the counting formulas, the receptive-field flow,
the window checks and the backward formulas."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from analyzers import InputTooSmallError, analyze
from analyzers.counting.formulas import FORMULAS
from analyzers.ops import (
    ADAPTIVE_POOL_BACKWARD,
    ADAPTIVE_POOLS,
    ATTENTION,
    AVG_POOL_BACKWARD,
    AVG_POOLS,
    FUSED_ATTENTION,
    FUSED_ATTENTION_BACKWARD,
    MAX_POOL_BACKWARD,
    MAX_POOLS,
    POOL_DIMS,
    WINDOW_POOLS,
)
from analyzers.training.formulas import BACKWARD_FORMULAS


def _decomposes(packet) -> bool:
    """A composite op: PyTorch rewrites it into other ops before any dispatch mode sees it."""
    return torch._C._dispatch_has_kernel_for_dispatch_key(packet._qualified_op_name, "CompositeImplicitAutograd")


def test_every_window_pool_says_how_many_dims_it_slides_over():
    assert set(POOL_DIMS) == WINDOW_POOLS == MAX_POOLS | AVG_POOLS and not MAX_POOLS & AVG_POOLS
    assert FUSED_ATTENTION < ATTENTION


@pytest.mark.parametrize("family", [WINDOW_POOLS, ADAPTIVE_POOLS, FUSED_ATTENTION], ids=["window", "adaptive", "sdpa"])
def test_every_member_that_reaches_a_dispatch_mode_has_a_formula(family):
    assert {op for op in family if not _decomposes(op) and op not in FORMULAS} == set()


def test_every_backward_member_has_a_backward_formula():
    members = MAX_POOL_BACKWARD | AVG_POOL_BACKWARD | ADAPTIVE_POOL_BACKWARD | FUSED_ATTENTION_BACKWARD
    assert {op for op in members if op not in BACKWARD_FORMULAS} == set()


def test_a_3d_max_pool_is_counted_and_checked_like_any_pool():
    # MaxPool3d(2) on 2×4×4×4: 2·2·2·2 = 16 outputs, one comparison per window element (2·2·2 = 8): 128 ops
    analysis = analyze(nn.MaxPool3d(2), (2, 4, 4, 4))
    assert analysis.totals.elementwise_ops == 16 * 8 and analysis.totals.macs == 0
    assert analysis.records[0].receptive_field.size == (2, 2, 2)
    with pytest.raises(InputTooSmallError, match=r"\(2 \+ 2·0 − 3\)/3 \+ 1 < 1"):
        analyze(nn.MaxPool3d(3), (1, 2, 2, 2))
