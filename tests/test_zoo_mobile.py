"""MobileNet v1/v2 and EfficientNet: the papers' cost tables, torchvision's exact counts, the seeds' blocks, and the
compound-scaling dial `efficientnet(phi)`."""

from __future__ import annotations

from functools import lru_cache

import pytest
from torch import nn

from analyzers import Analysis, analyze
from explorer.zoo import BuildOptionError, Family, build_model, get_model_info, list_models
from explorer.zoo.efficientnet import (
    DEPTH_COEFFICIENT,
    RESOLUTION_COEFFICIENT,
    WIDTH_COEFFICIENT,
    MBConv,
    SqueezeExcitation,
)
from explorer.zoo.layers import make_divisible
from explorer.zoo.mobilenet import InvertedResidual


def _params(module: nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


@lru_cache(maxsize=None)
def _analysis(name: str, **options: float) -> Analysis:
    """One zoo entry at its default input for these options, analysed once per session (analyses are immutable)."""
    model = build_model(name, **options)
    return analyze(model.module, model.input_size, model_name=name)


# --- MobileNet v1 against the paper ----------------------------------------------------------------------------

# Howard et al. 2017 (arXiv:1704.04861), Table 6 (width multiplier at 224) and Table 7 (resolution at α = 1):
# million mult-adds and million parameters; Table 9 adds 0.50 MobileNet-160 (76 M mult-adds).
PAPER_MULT_ADDS_M = {
    (1.0, 224): 569,
    (0.75, 224): 325,
    (0.5, 224): 149,
    (0.25, 224): 41,
    (1.0, 192): 418,
    (1.0, 160): 290,
    (1.0, 128): 186,
    (0.5, 160): 76,
}
PAPER_PARAMS_M = {1.0: 4.2, 0.75: 2.6, 0.5: 1.3, 0.25: 0.5}

# Table 1 after the stem: (output channels, depthwise stride) of the 13 depthwise-separable layers.
TABLE_1 = [(64, 1), (128, 2), (128, 1), (256, 2), (256, 1), (512, 2)] + [(512, 1)] * 5 + [(1024, 2), (1024, 1)]


def mobilenet_v1_mult_adds(alpha: float, resolution: int) -> int:
    """The paper's cost model (Eq. 7 per separable layer, plus the full stem conv and the FC layer), by hand.

    The paper's count includes the fully connected layer: Table 2 gives it 0.18% of the mult-adds, which is
    1024·1000 of 569M. Batch norm, ReLU and pooling are not mult-adds.
    """
    side = resolution // 2
    channels = int(32 * alpha)
    total = side * side * 3 * 3 * 3 * channels
    for out, stride in TABLE_1:
        side = (side - 1) // stride + 1  # 3×3, padding 1
        total += side * side * 3 * 3 * channels  # depthwise D_K·D_K·αM·ρD_F·ρD_F
        total += side * side * channels * int(out * alpha)  # pointwise αM·αN·ρD_F·ρD_F
        channels = int(out * alpha)
    return total + channels * 1000


@pytest.mark.parametrize("alpha", [1.0, 0.75, 0.5, 0.25])
@pytest.mark.parametrize("resolution", [224, 192, 160, 128])
def test_mobilenet_v1_macs_follow_the_papers_cost_model(alpha: float, resolution: int) -> None:
    analysis = _analysis("mobilenet_v1", width_mult=alpha, resolution=resolution)
    assert analysis.input_size == (3, resolution, resolution)
    assert analysis.totals.macs == mobilenet_v1_mult_adds(alpha, resolution)
    assert analysis.totals.uncounted_ops == 0


@pytest.mark.parametrize(("alpha", "resolution"), sorted(PAPER_MULT_ADDS_M))
def test_mobilenet_v1_macs_match_tables_6_and_7_to_their_rounding(alpha: float, resolution: int) -> None:
    # Within the last printed digit (1 M). Exact rounding holds everywhere except ρ = 160, where we count 290.7 M
    # and the paper prints 290: Table 7 appears to be 569·ρ² (290.3), which also scales the FC layer, which does
    # not shrink with the input. Likewise 0.5 MobileNet-160 is 76.5 M here, 76 in Table 9.
    macs = _analysis("mobilenet_v1", width_mult=alpha, resolution=resolution).totals.macs
    assert abs(macs / 1e6 - PAPER_MULT_ADDS_M[(alpha, resolution)]) < 1.0


def test_mobilenet_v1_reference_counts() -> None:
    assert _analysis("mobilenet_v1").totals.macs == 568_740_352  # 569 M in Tables 6–8
    assert _analysis("mobilenet_v1", resolution=192).totals.macs == 418_121_728  # 418 M in Table 7


@pytest.mark.parametrize("alpha", sorted(PAPER_PARAMS_M))
def test_mobilenet_v1_params_match_table_6_and_ignore_resolution(alpha: float) -> None:
    params = _params(build_model("mobilenet_v1", width_mult=alpha).module)
    assert round(params / 1e6, 1) == PAPER_PARAMS_M[alpha]
    assert _analysis("mobilenet_v1", width_mult=alpha, resolution=128).totals.params == params


def test_mobilenet_v1_structure() -> None:
    model = build_model("mobilenet_v1").module
    blocks = list(model.features)[1:]
    assert len(blocks) == 13
    assert all(block.depthwise[0].groups == block.depthwise[0].in_channels for block in blocks)
    assert [block.pointwise[0].out_channels for block in blocks] == [c for c, _ in TABLE_1]
    thin = build_model("mobilenet_v1", width_mult=0.25).module
    assert thin.fc.in_features == 256 and thin.features[0][0].out_channels == 8


def test_width_multiplier_cuts_v1_params_roughly_quadratically() -> None:
    # The paper: "reducing computational cost and the number of parameters quadratically by roughly α²" — the FC
    # layer (a quarter of the parameters) shrinks only linearly, so the ratio sits between α² and α.
    full = _params(build_model("mobilenet_v1").module)
    for alpha in (0.75, 0.5, 0.25):
        ratio = _params(build_model("mobilenet_v1", width_mult=alpha).module) / full
        assert alpha**2 < ratio < alpha


# --- the seeds' MobileNet blocks ---------------------------------------------------------------------------------


def test_depthwise_separable_block_costs_the_seeds_672() -> None:
    analysis = _analysis("depthwise_separable_block")
    assert analysis.input_size == (3, 6, 6)
    assert analysis.records[0].output_shapes == ((1, 5, 4, 4),)
    assert analysis.record("depthwise.0").macs == 432  # 4·4·3 outputs × 3·3
    assert analysis.record("pointwise.0").macs == 240  # 4·4·5 outputs × 3
    assert analysis.totals.macs == 672
    normal_convolution = 4 * 4 * 5 * 3 * 3 * 3  # 2,160
    assert analysis.totals.macs / normal_convolution == pytest.approx(1 / 5 + 1 / 9, abs=5e-4)


def test_mobilenet_v2_block_expands_3_to_18_and_projects_back() -> None:
    model = build_model("mobilenet_v2_block")
    block = model.module
    assert isinstance(block, InvertedResidual) and block.use_residual
    expand, depthwise, project = block.conv[0][0], block.conv[1][0], block.conv[2]
    channels = [(c.in_channels, c.out_channels) for c in (expand, depthwise, project)]
    assert channels == [(3, 18), (18, 18), (18, 3)]
    assert depthwise.groups == 18 and depthwise.padding == (1, 1)
    analysis = _analysis("mobilenet_v2_block")
    shapes = [analysis.record(name).output_shapes for name in ("conv.0", "conv.1", "conv.2", "")]
    assert shapes == [((1, 18, 6, 6),), ((1, 18, 6, 6),), ((1, 3, 6, 6),), ((1, 3, 6, 6),)]
    assert analysis.totals.macs == 6 * 6 * (3 * 18 + 3 * 3 * 18 + 18 * 3)
    assert analysis.totals.params == 3 * 18 + 9 * 18 + 18 * 3 + 2 * (18 + 18 + 3)


def test_mobilenet_v2_block_takes_any_n() -> None:
    analysis = _analysis("mobilenet_v2_block", resolution=56)
    assert analysis.records[0].output_shapes == ((1, 3, 56, 56),)


# --- MobileNet v2 against torchvision ----------------------------------------------------------------------------

# torchvision/models/mobilenetv2.py, MobileNet_V2_Weights.IMAGENET1K_V1: num_params 3504872, _ops 0.301, acc@1 71.878.
MOBILENET_V2_PARAMS = 3_504_872
MOBILENET_V2_GFLOPS = 0.301
MOBILENET_V2_TOP1 = 71.878


def test_mobilenet_v2_matches_torchvision() -> None:
    assert _params(build_model("mobilenet_v2").module) == MOBILENET_V2_PARAMS
    assert round(_analysis("mobilenet_v2").totals.macs / 1e9, 3) == MOBILENET_V2_GFLOPS
    assert get_model_info("mobilenet_v2").top1 == MOBILENET_V2_TOP1


def test_mobilenet_v2_has_17_bottlenecks_with_expansion_6() -> None:
    model = build_model("mobilenet_v2").module
    blocks = [m for m in model.features if isinstance(m, InvertedResidual)]
    assert len(blocks) == 17
    hidden = [block.conv[-3][0].out_channels / block.conv[-3][0].groups for block in blocks]
    assert hidden == [1.0] * 17  # every middle conv is depthwise
    expansions = [block.conv[0][0].out_channels // block.conv[0][0].in_channels for block in blocks[1:]]
    assert expansions == [6] * 16  # the first block (t = 1) has no expansion layer
    assert sum(block.use_residual for block in blocks) == 10  # 17 blocks minus the 7 stage entries


@pytest.mark.parametrize(
    ("width", "stem", "last"), [(0.35, 16, 1280), (0.5, 16, 1280), (1.0, 32, 1280), (1.4, 48, 1792)]
)
def test_mobilenet_v2_width_mult_rounds_channels_to_multiples_of_8(width: float, stem: int, last: int) -> None:
    model = build_model("mobilenet_v2", width_mult=width).module
    assert model.features[0][0].out_channels == stem == make_divisible(32 * width)
    assert model.features[-1][0].out_channels == last  # the last 1×1 never narrows below 1280
    convs = [m for m in model.modules() if isinstance(m, nn.Conv2d)]
    assert all(c.out_channels % 8 == 0 for c in convs[1:])


def test_mobilenet_v2_params_grow_with_width() -> None:
    counts = [_params(build_model("mobilenet_v2", width_mult=w).module) for w in (0.35, 0.5, 0.75, 1.0, 1.4)]
    assert counts == sorted(counts) and counts[3] == MOBILENET_V2_PARAMS


def test_width_mult_must_be_positive() -> None:
    with pytest.raises(BuildOptionError, match="width_mult"):
        build_model("mobilenet_v2", width_mult=0)


# --- EfficientNet against torchvision ----------------------------------------------------------------------------

# torchvision/models/efficientnet.py, EfficientNet_BN_Weights.IMAGENET1K_V1: num_params, _ops (GFLOPS = MACs at the
# crop size), crop_size of the eval transforms, acc@1.
EFFICIENTNET = {
    "efficientnet_b0": (5_288_548, 0.386, 224, 77.692),
    "efficientnet_b1": (7_794_184, 0.687, 240, 78.642),
    "efficientnet_b2": (9_109_994, 1.088, 288, 80.608),
    "efficientnet_b3": (12_233_232, 1.827, 300, 82.008),
    "efficientnet_b4": (19_341_616, 4.394, 380, 83.384),
    "efficientnet_b5": (30_389_784, 10.266, 456, 83.444),
    "efficientnet_b6": (43_040_704, 19.068, 528, 84.008),
    "efficientnet_b7": (66_347_960, 37.746, 600, 84.122),
}


@pytest.mark.parametrize("name", sorted(EFFICIENTNET))
def test_efficientnet_matches_torchvision(name: str) -> None:
    params, gflops, crop, top1 = EFFICIENTNET[name]
    model = build_model(name)
    assert _params(model.module) == params
    assert model.input_size == (3, crop, crop)
    assert get_model_info(name).top1 == top1
    assert round(_analysis(name).totals.macs / 1e9, 3) == gflops


def test_efficientnet_b0_stage_table() -> None:
    model = build_model("efficientnet_b0").module
    stages = list(model.features)[1:-1]
    assert [len(stage) for stage in stages] == [1, 2, 2, 3, 3, 4, 1]
    assert [stage[0].out_channels for stage in stages] == [16, 24, 40, 80, 112, 192, 320]
    assert model.features[-1][0].out_channels == 1280


def test_efficientnet_b7_is_b0_scaled() -> None:
    model = build_model("efficientnet_b7").module
    stages = list(model.features)[1:-1]
    assert [len(stage) for stage in stages] == [4, 7, 7, 10, 10, 13, 4]  # ceil(n · 3.1)
    assert [stage[0].out_channels for stage in stages] == [32, 48, 80, 160, 224, 384, 640]  # c · 2.0, multiples of 8
    assert model.features[0][1].eps == 1e-3  # B5–B7 use the TF batch-norm settings of their ported weights
    assert build_model("efficientnet_b4").module.features[0][1].eps == 1e-5


def test_mbconv_has_squeeze_excitation_and_a_residual() -> None:
    model = build_model("efficientnet_b0").module
    block = model.features[2][1]
    assert isinstance(block, MBConv) and block.use_residual
    se = block.block[2]
    assert isinstance(se, SqueezeExcitation)
    assert (se.fc1.in_channels, se.fc1.out_channels) == (144, 6)  # expanded 24·6, squeezed to 24 // 4
    # The SE rescale is a functional multiply: element-wise work in its own row, not MACs.
    rescale = _analysis("efficientnet_b0").record("features.2.1.block.2.(functional)")
    assert rescale.macs == 0 and rescale.elementwise_ops == 144 * 56 * 56


# --- efficientnet(phi): compound scaling as a dial ----------------------------------------------------------------


def test_phi_zero_is_b0() -> None:
    b0, scaled = build_model("efficientnet_b0"), build_model("efficientnet", phi=0)
    assert scaled.input_size == b0.input_size == (3, 224, 224)
    assert list(scaled.module.state_dict()) == list(b0.module.state_dict())
    assert _analysis("efficientnet", phi=0).totals.macs == _analysis("efficientnet_b0").totals.macs


@pytest.mark.parametrize(("phi", "resolution"), [(0.5, 240), (1, 258), (2, 296), (3.5, 365), (7, 596)])
def test_phi_sets_the_default_input(phi: float, resolution: int) -> None:
    assert resolution == round(224 * RESOLUTION_COEFFICIENT**phi)
    assert build_model("efficientnet", phi=phi).input_size == (3, resolution, resolution)
    assert build_model("efficientnet", phi=phi, resolution=200).input_size == (3, 200, 200)


def test_phi_one_and_two_have_b2_and_b3_layers() -> None:
    # β^1 = 1.1 and α^1 = 1.2 are exactly B2's multipliers; β² = 1.21 and α² = 1.44 round to B3's channels and
    # block counts. Only the resolution differs (258 vs 288, 296 vs 300).
    assert _params(build_model("efficientnet", phi=1).module) == EFFICIENTNET["efficientnet_b2"][0]
    assert _params(build_model("efficientnet", phi=2).module) == EFFICIENTNET["efficientnet_b3"][0]


def test_macs_never_decrease_as_phi_grows() -> None:
    macs = [_analysis("efficientnet", phi=phi).totals.macs for phi in (0, 0.5, 1, 1.5, 2)]
    assert macs == sorted(macs)


@pytest.mark.parametrize("phi", range(1, 8))
def test_integer_phi_roughly_doubles_macs_per_step(phi: int) -> None:
    # Found: MACs(φ)/MACs(0) = 2.57, 4.69, 8.43, 16.4, 29.5, 52.1, 102.8 for φ = 1..7. Against the paper's "≈ 2^φ"
    # that is 1.29, 1.17, 1.05, 1.02, 0.92, 0.81, 0.80 ×; against the exact (α·β²·γ²)^φ = 1.92^φ it is 1.34, 1.27,
    # 1.19, 1.20, 1.13, 1.04, 1.07 ×: always above, because block counts are rounded up (ceil) and channels to
    # multiples of 8, which matters most at small φ.
    ratio = _analysis("efficientnet", phi=phi).totals.macs / _analysis("efficientnet", phi=0).totals.macs
    smooth = (DEPTH_COEFFICIENT * WIDTH_COEFFICIENT**2 * RESOLUTION_COEFFICIENT**2) ** phi
    assert 1.0 <= ratio / smooth <= 1.4
    assert 0.75 <= ratio / 2**phi <= 1.35


def test_phi_must_be_non_negative() -> None:
    with pytest.raises(BuildOptionError, match="phi"):
        build_model("efficientnet", phi=-1)


# --- every entry -----------------------------------------------------------------------------------------------


def _mobile_entries() -> list[str]:
    return [info.name for family in (Family.MOBILENET, Family.EFFICIENTNET) for info in list_models(family=family)]


def test_families_hold_every_entry() -> None:
    expected = {"mobilenet_v1", "mobilenet_v2", "depthwise_separable_block", "mobilenet_v2_block", "efficientnet"}
    assert expected | set(EFFICIENTNET) <= set(_mobile_entries())


@pytest.mark.parametrize("name", _mobile_entries())
def test_every_entry_builds_on_meta_and_analyses_with_no_uncounted_ops(name: str) -> None:
    model = build_model(name)
    assert {p.device.type for p in model.module.parameters()} == {"meta"}
    info = get_model_info(name)
    assert info.paper and info.description
    analysis = _analysis(name)
    assert analysis.totals.uncounted_ops == 0 and analysis.uncounted == {}
    assert analysis.totals.params == _params(model.module) and analysis.totals.macs > 0
