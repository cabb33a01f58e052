"""The counting engine on small hand-checked models: formulas per op kind, attribution, sharing, uncounted ops."""

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from analyzers import OpKind, analyze
from analyzers.counting.formula_text import layer_formula, params_formula
from analyzers.errors import InputSizeError, InputTooSmallError, ModelRunError


def one_leaf(module: nn.Module, size, batch=1):
    a = analyze(nn.Sequential(module), size, batch)
    (leaf,) = list(a.leaves())
    return leaf


def test_grouped_conv_counts_in_channels_per_group():
    leaf = one_leaf(nn.Conv2d(8, 16, 3, padding=1, groups=4, bias=False), (8, 10, 10))
    assert leaf.macs == 10 * 10 * 16 * 3 * 3 * (8 // 4)
    assert leaf.params == 3 * 3 * 2 * 16
    assert layer_formula(leaf) == "out 10×10×16 · kernel 3×3×2 = 28,800 MACs"


def test_dilated_conv_shrinks_the_output_but_not_the_kernel_cost():
    leaf = one_leaf(nn.Conv2d(4, 4, 3, dilation=2, bias=False), (4, 9, 9))
    # effective window 2·(3 − 1) + 1 = 5: out 9 − 5 + 1 = 5
    assert leaf.output_shapes == ((1, 4, 5, 5),)
    assert leaf.macs == 5 * 5 * 4 * 3 * 3 * 4


def test_transposed_conv_scatters_every_input_through_the_kernel():
    leaf = one_leaf(nn.ConvTranspose2d(8, 4, 2, stride=2, bias=False), (8, 5, 5))
    assert leaf.output_shapes == ((1, 4, 10, 10),)
    assert leaf.macs == 5 * 5 * 8 * 2 * 2 * 4
    assert "transposed" in layer_formula(leaf)
    assert params_formula(leaf) == "2·2·4·8 = 128"


def test_conv_bias_is_an_elementwise_add_not_a_mac():
    leaf = one_leaf(nn.Conv2d(3, 2, 3), (3, 5, 5), batch=2)
    assert leaf.macs == 2 * 3 * 3 * 2 * 3 * 3 * 3
    assert leaf.elementwise_ops == 2 * 2 * 3 * 3
    assert layer_formula(leaf).startswith("batch 2 · out 3×3×2 · kernel 3×3×3 = 972 MACs; bias 36 adds")
    assert params_formula(leaf) == "(3·3·3+1)·2 = 56"


def test_linear_on_a_sequence_goes_through_matmul():
    leaf = one_leaf(nn.Linear(8, 3), (5, 8), batch=2)
    assert leaf.macs == 2 * 5 * 8 * 3
    assert leaf.params == (8 + 1) * 3


class Attention(nn.Module):
    def forward(self, x):
        q = x.view(x.shape[0], 2, x.shape[1], -1)  # 2 heads
        return F.scaled_dot_product_attention(q, q, q)


def test_attention_counts_both_matmuls():
    a = analyze(Attention(), (6, 8))  # 6 tokens, 8 features → 2 heads of 4
    # QKᵀ: 2 heads · 6·4·6, AV: 2 heads · 6·6·4
    assert a.totals.macs == 2 * 6 * 4 * 6 + 2 * 6 * 6 * 4
    assert a.totals.uncounted_ops == 0


class Einsum(nn.Module):
    def forward(self, x):
        return torch.einsum("bij,bjk->bik", x, x.transpose(1, 2))


def test_einsum_and_matmul_reduce_to_counted_products():
    a = analyze(Einsum(), (3, 5), batch_size=2)
    assert a.totals.macs == 2 * 3 * 5 * 3
    assert a.totals.uncounted_ops == 0


@pytest.mark.parametrize(
    "module, size, per_element",
    [
        (nn.BatchNorm2d(4), (4, 3, 3), 2),
        (nn.LayerNorm(5), (3, 5), 5),
        (nn.GroupNorm(2, 4), (4, 3, 3), 5),
        (nn.ReLU(), (4, 3, 3), 1),
        (nn.Softmax(dim=-1), (7,), 3),
    ],
)
def test_norms_and_activations_are_elementwise_ops_never_macs(module, size, per_element):
    leaf = one_leaf(module, size)
    elements = 1
    for d in size:
        elements *= d
    assert leaf.macs == 0
    assert leaf.elementwise_ops == per_element * elements


def test_pooling_costs_one_op_per_window_element_and_has_no_parameters():
    leaf = one_leaf(nn.MaxPool2d(3, stride=2), (96, 55, 55))
    assert leaf.output_shapes == ((1, 96, 27, 27),)  # (55 − 3)/2 + 1 = 27
    assert leaf.elementwise_ops == 27 * 27 * 96 * 9
    assert params_formula(leaf) == "pooling has no parameters"
    adaptive = one_leaf(nn.AdaptiveAvgPool2d(1), (8, 7, 7))
    assert adaptive.elementwise_ops == 8 * 7 * 7
    resize = one_leaf(nn.AdaptiveAvgPool2d(3), (8, 6, 6))
    assert resize.output_shapes == ((1, 8, 3, 3),)


class Residual(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(4, 4, 3, padding=1, bias=False)
        self.relu = nn.ReLU()

    def forward(self, x):
        return self.relu(self.conv(x) + x)  # the add is a functional call of the block itself


def test_functional_ops_land_on_the_calling_module_as_a_functional_row():
    a = analyze(nn.Sequential(Residual()), (4, 5, 5))
    names = [r.name for r in a.records]
    assert names == ["", "0", "0.conv", "0.relu", "0.(functional)"]
    functional = a.record("0.(functional)")
    assert functional.is_leaf and functional.type == "functional"
    assert functional.elementwise_ops == 4 * 5 * 5
    assert functional.output_shapes == ((1, 4, 5, 5),)
    assert layer_formula(functional) == "add: 5×5×4 = 100 ops"


class Shared(nn.Module):
    def __init__(self):
        super().__init__()
        self.block = nn.Linear(4, 4)

    def forward(self, x):
        return self.block(self.block(x))


def test_a_reused_module_is_counted_per_call_for_work_and_once_for_parameters():
    a = analyze(Shared(), (4,))
    block = a.record("block")
    assert block.calls == 2
    assert block.macs == 2 * 4 * 4
    assert a.totals.params == (4 + 1) * 4
    assert "2 × (rows 1 · in 4 · out 4 = 16 MACs; bias 4 adds)" == layer_formula(block)


def test_totals_are_sums_over_leaves_and_containers_sum_their_subtree():
    a = analyze(nn.Sequential(nn.Sequential(nn.Conv2d(3, 4, 3), nn.ReLU()), nn.Flatten(), nn.Linear(36, 2)), (3, 5, 5))
    leaves = list(a.leaves())
    for field in ("params", "macs", "elementwise_ops", "activation_bytes", "param_bytes"):
        assert getattr(a.totals, field) == sum(getattr(r, field) for r in leaves)
    inner = a.record("0")
    assert inner.macs == a.record("0.0").macs and inner.params == a.record("0.0").params
    assert a.totals.layers == len(leaves) == 4


class WithFft(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(1, 1, 3, bias=False)

    def forward(self, x):
        return torch.fft.rfft2(self.conv(x)).abs()


def test_ops_without_a_formula_are_reported_per_layer_never_silently_zero():
    a = analyze(WithFft(), (1, 8, 8))
    assert a.totals.uncounted_ops == 1
    assert a.uncounted == {"(functional)": ("aten._fft_r2c.default",)}
    functional = a.record("(functional)")
    assert "_fft_r2c: no formula, not counted" in layer_formula(functional)
    assert [op.kind for op in functional.ops].count(OpKind.UNCOUNTED) == 1
    assert a.record("").uncounted_ops == ("aten._fft_r2c.default",)


def test_a_cpu_model_is_analysed_without_moving_or_changing_it():
    model = nn.Sequential(nn.Conv2d(3, 4, 3), nn.BatchNorm2d(4), nn.Dropout(0.5))
    model.train()
    weight = model[0].weight
    a = analyze(model, (3, 8, 8))
    assert a.totals.params == 3 * 3 * 3 * 4 + 4 + 2 * 4
    assert model.training and all(m.training for m in model.modules())
    assert model[0].weight is weight and weight.device.type == "cpu"
    assert int(model[1].num_batches_tracked) == 0  # ran in eval mode: no running-stat update


def test_dtype_changes_bytes_not_counts():
    model = nn.Sequential(nn.Conv2d(3, 4, 3))
    fp32 = analyze(model, (3, 8, 8))
    bf16 = analyze(model, (3, 8, 8), dtype=torch.bfloat16)
    assert bf16.totals.macs == fp32.totals.macs
    assert bf16.totals.param_bytes * 2 == fp32.totals.param_bytes
    assert bf16.totals.activation_bytes * 2 == fp32.totals.activation_bytes


def test_in_place_results_and_views_are_not_new_activation_memory():
    model = nn.Sequential(nn.Conv2d(3, 4, 3), nn.ReLU(inplace=True), nn.Flatten(), nn.ReLU())
    a = analyze(model, (3, 5, 5))
    conv, inplace, flatten, relu = a.leaves()
    assert conv.activation_elements == 4 * 3 * 3
    assert inplace.activation_elements == 0 and flatten.activation_elements == 0
    assert relu.activation_elements == 36 and relu.activation_bytes == 36 * 4


@pytest.mark.parametrize("size", [(0, 4, 4), (3, -1, 4), (), (1, 2, 3, 4, 5)])
def test_bad_input_sizes_are_rejected_in_one_line(size):
    with pytest.raises(InputSizeError) as err:
        analyze(nn.Conv2d(3, 3, 1), size)
    assert "\n" not in str(err.value)


def test_an_input_too_small_names_the_layer_and_the_arithmetic():
    model = nn.Sequential()
    model.add_module("conv1", nn.Conv2d(3, 96, 11, stride=4))
    with pytest.raises(InputTooSmallError) as err:
        analyze(model, (3, 4, 4))
    assert str(err.value).startswith("conv1: (4 + 2·0 − 11)/4 + 1 < 1")
    pool = nn.Sequential(nn.Conv2d(3, 3, 3), nn.MaxPool2d(3, 2))
    with pytest.raises(InputTooSmallError, match=r"^1: \(2 \+ 2·0 − 3\)/2 \+ 1 < 1"):
        analyze(pool, (3, 4, 4))


def test_a_forward_that_fails_reports_the_layer_in_one_line():
    model = nn.Sequential(nn.Flatten(), nn.Linear(10, 2))
    with pytest.raises(ModelRunError) as err:
        analyze(model, (3, 4, 4))
    message = str(err.value)
    assert message.startswith("1: forward failed on the meta device:") and "\n" not in message


def test_bilinear_upsampling_is_four_ops_per_output_and_nearest_is_a_copy():
    bilinear = one_leaf(nn.Upsample(scale_factor=2, mode="bilinear"), (3, 4, 4))
    assert bilinear.elementwise_ops == 4 * 3 * 8 * 8 and not bilinear.uncounted_ops
    nearest = one_leaf(nn.Upsample(scale_factor=2, mode="nearest"), (3, 4, 4))
    assert nearest.elementwise_ops == 0 and not nearest.uncounted_ops


def test_a_transformer_layer_is_fully_counted():
    layer = nn.TransformerEncoderLayer(16, 4, 32, batch_first=True)
    a = analyze(layer, (6, 16), batch_size=2)
    qkv, attention, out_proj, feed_forward = 2 * 6 * 16 * 48, 2 * 4 * (6 * 4 * 6 + 6 * 6 * 4), 2 * 6 * 16 * 16, 2 * (
        2 * 6 * 16 * 32)
    assert a.totals.macs == qkv + attention + out_proj + feed_forward == 26_880
    assert a.totals.uncounted_ops == 0
