"""Backward formulas and result stand-ins, one at a time: the stand-ins give exactly torch's meta results (shape,
dtype, strides), and each per-element constant is the documented one."""

from __future__ import annotations

from typing import Any

import pytest
import torch
import torchvision
from torch import nn
from torch.utils._python_dispatch import TorchDispatchMode

from analyzers.training.formulas import BackwardCost, backward_cost, conv_backward_macs
from analyzers.shapes.backward import BACKWARD_RESULTS
from analyzers.shapes.forward import FAST_RESULTS
from analyzers.records import OpCategory, OpKind
from analyzers.training.analyze import analyze_training
from tests.differential import layout_strides

aten = torch.ops.aten


def _described(result: Any) -> tuple:
    """Each result tensor's shape, dtype and strides (none on size-1 dims, which address nothing), or None."""
    results = result if isinstance(result, (tuple, list)) else (result,)
    return tuple(None if t is None else (tuple(t.shape), t.dtype, layout_strides(t)) for t in results)


def _on_cpu(value: Any) -> Any:
    """A meta operand as a CPU tensor of the same shape, dtype and strides (holding 0.5, or 0 for indices)."""
    if isinstance(value, torch.Tensor) and value.is_meta:
        span = sum((n - 1) * s for n, s in zip(value.shape, value.stride())) + 1 if value.numel() else 0
        base = torch.full((span,), 0.5 if value.dtype.is_floating_point else 0, dtype=value.dtype)
        return base.as_strided(value.shape, value.stride())
    if isinstance(value, (list, tuple)):
        return type(value)(_on_cpu(v) for v in value)
    return value


class _CompareStandIns(TorchDispatchMode):
    """During a real meta backward, run every stand-in (backward and forward ones, as `backward_result` consults
    them) beside torch's meta kernel; where the two differ, the stand-in must give what torch's CPU kernel gives for
    operands of the same shapes and strides (the documented meta/CPU differences), else it is a mismatch."""

    def __init__(self) -> None:
        super().__init__()
        self.checked: dict[Any, int] = {}
        self.cpu_followed: dict[str, int] = {}
        self.mismatches: list[str] = []

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        out = func(*args, **kwargs)
        packet = func.overloadpacket
        stand_in = BACKWARD_RESULTS.get(packet) or FAST_RESULTS.get(packet)
        mine = stand_in(args, kwargs) if stand_in is not None else None
        if mine is None:
            return out
        if _described(mine) != _described(out):
            cpu = func(*_on_cpu(args), **_on_cpu(kwargs))
            if _described(mine) != _described(cpu):
                self.mismatches.append(f"{func}: {_described(mine)} vs meta {_described(out)}, cpu {_described(cpu)}")
            self.cpu_followed[str(func)] = self.cpu_followed.get(str(func), 0) + 1
        self.checked[packet] = self.checked.get(packet, 0) + 1
        return out


def _timm_vit_tiny() -> nn.Module:
    timm = pytest.importorskip("timm")
    return timm.create_model("vit_tiny_patch16_224", img_size=32)


@pytest.mark.parametrize("make, size, exercised", [
    (torchvision.models.resnet18, 64, {aten.convolution_backward, aten.threshold_backward}),
    (torchvision.models.mobilenet_v2, 64, {aten.hardtanh_backward, aten.native_batch_norm_backward}),
    (torchvision.models.efficientnet_b0, 64, {aten.silu_backward, aten.sigmoid_backward}),
    (torchvision.models.vgg11, 64, {aten.max_pool2d_with_indices_backward, aten._adaptive_avg_pool2d_backward}),
    (lambda: torchvision.models.vit_b_16(image_size=32), 32, {
        aten.native_layer_norm_backward, aten._softmax_backward_data, aten.select_backward, aten.gelu_backward}),
    (torchvision.models.swin_t, 64, {aten.native_layer_norm_backward, aten.slice_backward, aten.roll, aten.clone,
                                      aten.new_zeros, aten.index_put}),
    (torchvision.models.convnext_tiny, 32, {aten.native_layer_norm_backward, aten.new_empty_strided}),
    # batch 2: the branches' ReLU gradients are slices of a concatenation's gradient (not contiguous)
    (lambda: torchvision.models.inception_v3(aux_logits=False, init_weights=False), 80, {
        aten.threshold_backward, aten.avg_pool2d_backward, aten.max_pool2d_with_indices_backward}),
    (_timm_vit_tiny, 32, {aten.stack, aten.native_layer_norm_backward}),
], ids=["resnet18", "mobilenet_v2", "efficientnet_b0", "vgg11", "vit_b_16", "swin_t", "convnext_tiny",
        "inception_v3", "timm_vit_tiny"])
def test_stand_ins_equal_torch_kernels(make, size, exercised):
    with torch.device("meta"):
        model = make().train()
    y = model(torch.empty(2, 3, size, size, device="meta"))
    mode = _CompareStandIns()
    with mode:
        y.backward(torch.empty_like(y))
    assert not mode.mismatches
    assert exercised <= set(mode.checked)  # the stand-ins were really exercised


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
