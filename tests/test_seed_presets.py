"""The notes' remaining worked examples, exact (seed_blocks.py): arithmetic written out by hand from notes 001/004."""

from __future__ import annotations

from fractions import Fraction

import torch

from analyzers import analyze
from explorer.zoo import build_model, list_models


def analysed(name: str):
    model = build_model(name)
    return analyze(model.module, model.input_size, model_name=name)


def test_naive_inception_on_28x28x256_outputs_672_channels_and_854m_macs() -> None:
    # notes 004: after filter concatenation 28×28×(128 + 192 + 96 + 256) = 28×28×672
    one = 28 * 28 * 128 * 256  # 1×1 conv, 128 filters
    three = 28 * 28 * 192 * 3 * 3 * 256  # 3×3 conv, 192
    five = 28 * 28 * 96 * 5 * 5 * 256  # 5×5 conv, 96
    assert (one, three, five) == (25_690_112, 346_816_512, 481_689_600)
    a = analysed("inception_naive_28x28x256")
    assert a.totals.macs == one + three + five == 854_196_224  # "854M ops"
    assert a.record("").output_shapes == ((1, 672, 28, 28),)
    assert a.totals.params == 256 * 128 + 9 * 256 * 192 + 25 * 256 * 96  # bias off; pooling has none


def test_depthwise_separable_with_512_outputs_costs_1_over_512_plus_1_over_9() -> None:
    normal = 14 * 14 * 512 * 3 * 3 * 512  # every output a 3·3·512 dot product
    depthwise = 14 * 14 * 512 * 3 * 3  # one 3×3 filter per channel
    pointwise = 14 * 14 * 512 * 512  # 1×1 across 512 channels
    assert analysed("conv_3x3_512_normal").totals.macs == normal == 462_422_016
    separable = analysed("conv_3x3_512_depthwise_separable")
    assert [r.macs for r in separable.leaves()] == [depthwise, pointwise]
    ratio = Fraction(separable.totals.macs, normal)
    assert ratio == Fraction(1, 512) + Fraction(1, 9)  # (9 + 512) / (9 · 512), exactly
    assert round(float(ratio), 3) == 0.113


def test_three_3x3_convs_against_one_7x7() -> None:
    c = 64
    three, seven = analysed("three_3x3_convs"), analysed("one_7x7_conv")
    assert three.totals.params == 3 * (3 * 3 * c * c) == 27 * c * c == 110_592
    assert seven.totals.params == 7 * 7 * c * c == 49 * c * c == 200_704
    assert three.totals.macs == 56 * 56 * 27 * c * c and seven.totals.macs == 56 * 56 * 49 * c * c
    assert three.record("").output_shapes == seven.record("").output_shapes == ((1, c, 56, 56),)


def test_three_3x3_convs_see_a_7x7_window() -> None:
    # Receptive field 3 → 5 → 7: the centre output's gradient reaches exactly the 7×7 input patch around it.
    model = build_model("three_3x3_convs", device="cpu").module
    for module in model.modules():
        if isinstance(module, torch.nn.Conv2d):
            torch.nn.init.ones_(module.weight)  # positive weights on a positive input: every ReLU passes
    x = torch.ones(1, 64, 15, 15, requires_grad=True)
    model(x)[0, 0, 7, 7].backward()
    reached = (x.grad[0, 0] != 0).nonzero()
    assert reached.min(0).values.tolist() == [4, 4] and reached.max(0).values.tolist() == [10, 10]


def test_worked_examples_stay_first_in_the_listing() -> None:
    names = [m.name for m in list_models()]
    assert names.index("one_7x7_conv") < names.index("lenet5")
