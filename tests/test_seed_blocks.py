"""The seeds' worked examples, exact: the project's first acceptance tests (arithmetic written out by hand)."""

import pytest

from analyzers import analyze
from analyzers.counting.formula_text import layer_formula, params_formula
from explorer.zoo import build_model


def analysed(name: str):
    model = build_model(name)
    return analyze(model.module, model.input_size, model_name=name)


def test_inception_5x5_naive_is_120_million_macs():
    # 28·28·32 outputs, each a 5·5·192 dot product
    expected = 28 * 28 * 32 * 5 * 5 * 192
    assert expected == 120_422_400
    a = analysed("inception_5x5_naive")
    assert a.totals.macs == expected
    assert a.totals.flops == 2 * expected
    assert a.totals.params == 5 * 5 * 192 * 32  # bias off
    conv = next(a.leaves())
    assert conv.output_shapes == ((1, 32, 28, 28),)
    assert layer_formula(conv) == "out 28×28×32 · kernel 5×5×192 = 120,422,400 MACs"
    assert params_formula(conv) == "5·5·192·32 = 153,600"


def test_inception_5x5_bottleneck_is_12_4_million_macs():
    squeeze = 28 * 28 * 16 * 1 * 1 * 192  # 1×1 conv 192 → 16
    expand = 28 * 28 * 32 * 5 * 5 * 16  # 5×5 conv 16 → 32
    assert (squeeze, expand) == (2_408_448, 10_035_200)
    a = analysed("inception_5x5_bottleneck")
    assert [r.macs for r in a.leaves()] == [squeeze, expand]
    assert a.totals.macs == 12_443_648
    assert layer_formula(a.record("")) == "2,408,448 + 10,035,200 = 12,443,648 MACs"
    assert [r.output_shapes for r in a.leaves()] == [((1, 16, 28, 28),), ((1, 32, 28, 28),)]


def test_normal_conv_6x6x3_is_2160_macs():
    # 4·4·5 outputs (valid 3×3 on 6×6: 6 − 3 + 1 = 4), each 3·3·3 multiplications
    expected = 4 * 4 * 5 * 3 * 3 * 3
    assert expected == 2_160
    a = analysed("conv_6x6x3_normal")
    assert a.totals.macs == expected
    assert next(a.leaves()).output_shapes == ((1, 5, 4, 4),)


def test_depthwise_separable_is_672_macs_and_the_ratio_is_1_over_nc_plus_1_over_f2():
    depthwise = 4 * 4 * 3 * 3 * 3  # one 3×3 filter per channel: 4·4·3 outputs × 9
    pointwise = 4 * 4 * 5 * 1 * 1 * 3  # five 1×1×3 filters: 4·4·5 outputs × 3
    assert (depthwise, pointwise) == (432, 240)
    a = analysed("conv_6x6x3_depthwise_separable")
    assert [r.macs for r in a.leaves()] == [depthwise, pointwise]
    assert a.totals.macs == 672
    assert layer_formula(a.leaves().__next__()) == "out 4×4×3 · kernel 3×3×1 = 432 MACs"
    ratio = a.totals.macs / analysed("conv_6x6x3_normal").totals.macs
    assert ratio == pytest.approx(1 / 5 + 1 / 3**2)  # 1/n_c' + 1/f² = 0.3111…
    assert round(ratio, 3) == 0.311


def test_lenet5_layer_by_layer():
    a = analysed("lenet5")
    convs_and_fcs = [r for r in a.leaves() if r.macs]
    expected_macs = [
        28 * 28 * 6 * 5 * 5 * 1,  # conv1: 32 − 5 + 1 = 28
        10 * 10 * 16 * 5 * 5 * 6,  # conv2 on 14×14×6: 14 − 5 + 1 = 10
        400 * 120,  # fc 5·5·16 = 400 → 120
        120 * 84,
        84 * 10,
    ]
    assert [r.macs for r in convs_and_fcs] == expected_macs
    expected_params = [(5 * 5 * 1 + 1) * 6, (5 * 5 * 6 + 1) * 16, (400 + 1) * 120, (120 + 1) * 84, (84 + 1) * 10]
    assert [r.params for r in convs_and_fcs] == expected_params
    assert a.totals.params == sum(expected_params) == 61_706
    assert a.totals.macs == sum(expected_macs) == 416_520
    spatial = [r.output_shapes[0][2] for r in a.leaves() if len(r.output_shapes[0]) == 4]
    assert sorted(set(spatial), reverse=True) == [28, 14, 10, 5]
    assert params_formula(convs_and_fcs[0]) == "(5·5·1+1)·6 = 156"
    assert params_formula(convs_and_fcs[2]) == "(400+1)·120 = 48,120"
    assert a.totals.uncounted_ops == 0
