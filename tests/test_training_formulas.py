"""Backward formulas and result stand-ins, one at a time: the stand-ins give exactly torch's meta results (shape,
dtype, strides), and each per-element constant is the documented one."""

from __future__ import annotations

import pytest
import torch
import torchvision
from torch import nn
from torch.utils._python_dispatch import TorchDispatchMode

from analyzers.backward_formulas import BackwardCost, backward_cost, conv_backward_macs
from analyzers.backward_shapes import BACKWARD_RESULTS
from analyzers.records import OpCategory, OpKind
from analyzers.training import analyze_training

aten = torch.ops.aten


class _CompareStandIns(TorchDispatchMode):
    """During a real meta backward, run every stand-in beside torch's kernel and record any difference."""

    def __init__(self) -> None:
        super().__init__()
        self.checked: dict[str, int] = {}
        self.mismatches: list[str] = []

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        out = func(*args, **kwargs)
        stand_in = BACKWARD_RESULTS.get(func.overloadpacket)
        if stand_in is not None:
            mine = stand_in(args, kwargs)
            if mine is not None:
                theirs = out if isinstance(out, (tuple, list)) else (out,)
                ours = mine if isinstance(mine, (tuple, list)) else (mine,)
                for a, b in zip(ours, theirs):
                    if (a is None) != (b is None) or (a is not None and (
                            a.shape != b.shape or a.dtype != b.dtype or a.stride() != b.stride())):
                        self.mismatches.append(f"{func}: {a} vs {b}")
                self.checked[str(func)] = self.checked.get(str(func), 0) + 1
        return out


@pytest.mark.parametrize("make", [torchvision.models.resnet18, torchvision.models.mobilenet_v2,
                                  torchvision.models.efficientnet_b0, torchvision.models.vgg11])
def test_stand_ins_equal_torch_meta_kernels(make):
    model = make().to("meta").train()
    x = torch.empty(2, 3, 64, 64, device="meta")
    y = model(x)
    mode = _CompareStandIns()
    with mode:
        y.backward(torch.empty_like(y))
    assert not mode.mismatches
    assert mode.checked  # the stand-ins were really exercised


def test_conv_backward_macs_by_hand():
    """3×3 conv 64→128 on 2×64×16×16, stride 1, padding 1: N·out_spatial·C_out·k·C_in = 2·256·128·9·64."""
    assert conv_backward_macs((2, 128, 16, 16), (2, 64, 16, 16), (128, 64, 3, 3), transposed=False) == (
        2 * 256 * 128 * 9 * 64)
    # transposed 64→32, 4×4 stride 2 on 2×64×8×8 (weight 64×32×4×4): N·in_spatial·C_in·k·C_out/g = 2·64·64·16·32
    assert conv_backward_macs((2, 32, 16, 16), (2, 64, 8, 8), (64, 32, 4, 4), transposed=True) == (
        2 * 64 * 64 * 16 * 32)


@pytest.mark.parametrize("module, per_element", [
    (nn.ReLU(), 1), (nn.ReLU6(), 1), (nn.LeakyReLU(), 1), (nn.Hardsigmoid(), 1), (nn.Sigmoid(), 2), (nn.Tanh(), 2),
    (nn.Hardswish(), 2), (nn.ELU(), 2), (nn.SiLU(), 3), (nn.Softplus(), 3), (nn.GELU(), 4),
])  # mish_backward is a composite: the dispatcher sees (and counts) its pieces
def test_activation_backward_per_element(module, per_element):
    """After a linear 8→6 on batch 4 (so the activation's input needs a gradient): 4·6 = 24 elements."""
    analysis = analyze_training(nn.Sequential(nn.Linear(8, 6), module), (8,), batch_size=4)
    assert analysis.layer("1").backward_elementwise_ops == per_element * 24


def test_norm_softmax_and_pool_backward_by_hand():
    """conv 3→4 (3×3, padding 1, no bias) on 1×3×8×8 → BN (7 per element: 7·256) → max pool 2×2 (1 per grad_output
    element: 4·4·4 = 64) → avg pool 2×2 (4 taps per grad_output element: 4·2·2·4 = 64) → flatten → softmax over 16
    (4 per element: 64)."""
    model = nn.Sequential(nn.Conv2d(3, 4, 3, padding=1, bias=False), nn.BatchNorm2d(4), nn.MaxPool2d(2),
                          nn.AvgPool2d(2), nn.Flatten(), nn.Softmax(dim=1))
    analysis = analyze_training(model, (3, 8, 8))
    assert analysis.layer("1").backward_elementwise_ops == 7 * 4 * 8 * 8
    assert analysis.layer("2").backward_elementwise_ops == 4 * 4 * 4
    assert analysis.layer("3").backward_elementwise_ops == 4 * 4 * 2 * 2
    assert analysis.layer("5").backward_elementwise_ops == 4 * 16


def test_an_op_without_any_formula_is_uncounted_never_zero():
    class Unknown:  # a stand-in op packet nobody registered
        __name__ = "mystery_backward"

    class Func:
        overloadpacket = Unknown()

        def __str__(self) -> str:
            return "aten.mystery_backward.default"

    cost = backward_cost(Func(), (), {}, None)
    assert cost.kind is OpKind.UNCOUNTED and cost.category is OpCategory.UNCOUNTED


def test_a_product_moves_to_the_weight_column_whole():
    cost = BackwardCost("aten.mm.default", OpCategory.MATMUL, input_macs=120, splittable=True)
    assert (cost.as_weight_gradient().input_macs, cost.as_weight_gradient().weight_macs) == (0, 120)
