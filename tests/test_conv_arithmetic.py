"""The calculator's arithmetic: the seeds' worked numbers exactly, and agreement with the analyzer on any layer."""

from __future__ import annotations

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn

from analyzers import analyze
from explorer.conv_arithmetic import (
    COMPARISONS,
    PRESETS,
    ConvLayer,
    LayerArithmeticError,
    LayerKind,
    PaddingMode,
    output_size,
    resolve_padding,
    separable_cost_ratio,
)


def preset(title_start: str) -> ConvLayer:
    return next(p.layer for p in PRESETS if p.title.startswith(title_start))


def test_output_size_alexnet_conv1_is_55() -> None:
    # (227 − 11)/4 + 1 = 55 (course notes 004)
    assert output_size(227, 11, stride=4) == 55
    assert preset("AlexNet conv1").output_size_formula == "⌊(227 + 2·0 − 11)/4⌋ + 1 = 55"


def test_output_size_floors_and_same_padding_keeps_n() -> None:
    assert output_size(6, 3) == 4
    assert output_size(7, 3, stride=2) == 3  # ⌊(7 − 3)/2⌋ + 1
    assert output_size(28, 5, padding=resolve_padding(PaddingMode.SAME, 5)) == 28


def test_kernel_larger_than_padded_input_is_refused() -> None:
    with pytest.raises(LayerArithmeticError, match="5×5 kernel larger than the 4×4 padded input"):
        output_size(4, 5)


def test_same_padding_needs_an_odd_kernel() -> None:
    with pytest.raises(LayerArithmeticError, match="odd f"):
        resolve_padding(PaddingMode.SAME, 4)


def test_groups_must_divide_channels() -> None:
    with pytest.raises(LayerArithmeticError, match="groups = 4 must divide"):
        ConvLayer(n=8, n_c=6, f=3, filters=8, groups=4)


def test_inception_naive_5x5_is_120_million() -> None:
    naive = preset("Inception 5×5, naive")
    assert naive.macs == 120_422_400
    assert naive.params == 153_600
    assert naive.params_formula == "(5·5·192)·32 = 153,600"
    assert naive.macs_formula == "28·28·32 outputs × 5·5·192 = 120,422,400"


def test_inception_bottleneck_is_12_4_million() -> None:
    comparison = COMPARISONS[0]
    assert comparison.baseline.macs == 120_422_400
    assert comparison.alternative.macs == 12_443_648
    assert comparison.alternative.macs_formula == "2,408,448 + 10,035,200 = 12,443,648"


def test_depthwise_separable_is_672_against_2160() -> None:
    comparison = COMPARISONS[1]
    assert comparison.baseline.macs == 2_160
    assert [layer.macs for layer in comparison.alternative.layers] == [432, 240]
    assert comparison.alternative.macs == 672
    # MobileNet's ratio 1/n_c' + 1/f² = 1/5 + 1/9 = 14/45, exactly 672/2160
    assert comparison.ratio == pytest.approx(separable_cost_ratio(5, 3), rel=1e-12)


def test_one_by_one_conv_keeps_height_and_width() -> None:
    layer = preset("1×1 conv")
    assert layer.shape_text == "28×28×192 → 28×28×32"
    assert layer.macs == 28 * 28 * 32 * 192


def test_pooling_has_no_parameters() -> None:
    pool = preset("AlexNet max pool")
    assert pool.kind is LayerKind.MAX_POOL
    assert (pool.params, pool.macs, pool.out_n, pool.out_channels) == (0, 0, 27, 96)
    assert pool.params_formula == "pooling has no parameters: 0"


def test_bias_adds_one_per_filter() -> None:
    assert preset("AlexNet conv1").params_formula == "(11·11·3 + 1)·96 = 34,944"


@st.composite
def conv_layers(draw: st.DrawFn) -> ConvLayer:
    groups = draw(st.sampled_from([1, 1, 2, 3, 4]))
    n_c = groups * draw(st.integers(1, 6))
    filters = groups * draw(st.integers(1, 6))
    f = draw(st.integers(1, 7))
    padding = draw(st.integers(0, 3))
    n = draw(st.integers(max(1, f - 2 * padding), 40))
    return ConvLayer(
        n=n,
        n_c=n_c,
        f=f,
        filters=filters,
        stride=draw(st.integers(1, 4)),
        padding=padding,
        groups=groups,
        bias=draw(st.booleans()),
    )


@settings(max_examples=40, deadline=None)
@given(conv_layers())
def test_formulas_agree_with_the_analyzer_on_a_real_conv2d(layer: ConvLayer) -> None:
    with torch.device("meta"):
        module = nn.Conv2d(
            layer.n_c,
            layer.filters,
            layer.f,
            stride=layer.stride,
            padding=layer.padding,
            groups=layer.groups,
            bias=layer.bias,
        )
    analysis = analyze(module, (layer.n_c, layer.n, layer.n))
    assert analysis.totals.macs == layer.macs
    assert analysis.totals.params == layer.params
    assert analysis.records[0].output_shapes[0] == (1, layer.filters, layer.out_n, layer.out_n)
