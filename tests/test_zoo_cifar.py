"""The CIFAR-10 networks of the course notes' papers, against counts derived by hand from each paper's description.

Every expected number below is worked out in the comments from the paper's text, not from our code.
"""

from __future__ import annotations

import pytest
import torch

from analyzers import analyze
from explorer.zoo import BuildOptionError, build_model, get_model_info
from tests.zoo_helpers import params


# --- He et al. 2015, §4.2: 6n+2 layers ---------------------------------------------------------------------------
#
# Weights (3×3 convs, no bias), with n blocks of two 3×3 convs per stage:
#   conv1 3→16:                           3·3·3·16              =       432
#   stage 1, 2n convs 16→16:              2n · 3·3·16·16        =  4,608·n
#   stage 2, one 16→32, 2n−1 of 32→32:    4,608 + (2n−1)·9,216  = 18,432·n −  4,608
#   stage 3, one 32→64, 2n−1 of 64→64:    18,432 + (2n−1)·36,864 = 73,728·n − 18,432
#   batch norms (γ, β per channel):       2·16 + 2n·2·(16+32+64) =   448·n +     32
#   fc 64→10 with bias:                   64·10 + 10            =       650
# Total = 97,216·n − 21,926 (option A and the plain nets: neither has shortcut parameters).
def paper_params_option_a(n: int) -> int:
    return 432 + 4_608 * n + (18_432 * n - 4_608) + (73_728 * n - 18_432) + (448 * n + 32) + 650


# He et al. 2015, Table 6, "#params" column (option A).
TABLE_6_PARAMS_M = {20: 0.27, 32: 0.46, 44: 0.66, 56: 0.85, 110: 1.7, 1202: 19.4}
# Option B adds two projections, 1×1 16→32 (512 + BN 64) and 1×1 32→64 (2,048 + BN 128): 2,752.
OPTION_B_EXTRA = 512 + 64 + 2_048 + 128


# Option C adds a 1×1 projection + BN on every shortcut: stage 1 n of 16→16 (256 + 32), stage 2 one 16→32 (512 + 64)
# and n−1 of 32→32 (1,024 + 64), stage 3 one 32→64 (2,048 + 128) and n−1 of 64→64 (4,096 + 128).
def option_c_extra(n: int) -> int:
    return n * 288 + 576 + (n - 1) * 1_088 + 2_176 + (n - 1) * 4_224


# MACs at 32×32: conv1 32·32·16·27 = 442,368; every 3×3 conv but the two stride-2 ones costs
# 32·32·16·144 = 16·16·32·288 = 8·8·64·576 = 2,359,296; the two stride-2 entries cost half (1,179,648 each); fc 640.
# 6n convs in the stages: (6n − 2) full ones + 2 halves = (6n − 1) · 2,359,296.
def paper_macs(n: int) -> int:
    return 442_368 + (6 * n - 1) * 2_359_296 + 640


@pytest.mark.parametrize("depth", sorted(TABLE_6_PARAMS_M))
def test_resnet_cifar_params_follow_the_papers_description_and_table_6(depth: int) -> None:
    n = (depth - 2) // 6
    counted = params(build_model(f"resnet{depth}_cifar").module)
    assert counted == paper_params_option_a(n)
    assert round(counted / 1e6, 2 if depth < 100 else 1) == TABLE_6_PARAMS_M[depth]


def test_the_hand_derivation_gives_the_known_resnet20_and_resnet56_counts() -> None:
    assert paper_params_option_a(3) == 269_722
    assert paper_params_option_a(9) == 853_018


@pytest.mark.parametrize("depth", [20, 32, 44, 56, 110])
def test_plain_nets_have_the_residual_nets_parameters_under_option_a(depth: int) -> None:
    n = (depth - 2) // 6
    assert params(build_model(f"plain{depth}_cifar").module) == paper_params_option_a(n)


def test_option_b_and_c_add_exactly_their_projections() -> None:
    assert params(build_model("resnet20_cifar", shortcut="B").module) == 269_722 + OPTION_B_EXTRA == 272_474
    assert params(build_model("resnet20_cifar", shortcut="C").module) == 269_722 + option_c_extra(3) == 283_962
    assert params(build_model("cifar_resnet", depth=56, shortcut="b").module) == paper_params_option_a(9) + 2_752


@pytest.mark.parametrize("name, n", [("resnet20_cifar", 3), ("plain56_cifar", 9), ("resnet110_cifar", 18)])
def test_macs_follow_the_layer_arithmetic(name: str, n: int) -> None:
    model = build_model(name)
    analysis = analyze(model.module, model.input_size)
    assert analysis.totals.macs == paper_macs(n)
    assert analysis.totals.uncounted_ops == 0


def test_option_a_pads_channels_with_zeros_and_subsamples() -> None:
    block = build_model("resnet20_cifar", device="cpu").module.layer2[0].downsample
    x = torch.arange(2 * 16 * 4 * 4, dtype=torch.float32).reshape(2, 16, 4, 4)
    out = block(x)
    assert out.shape == (2, 32, 2, 2)
    assert torch.equal(out[:, :16], x[:, :, ::2, ::2])
    assert torch.count_nonzero(out[:, 16:]) == 0


def test_plain_and_residual_pairs_differ_only_in_shortcuts() -> None:
    plain = build_model("plain56_cifar", device="cpu").module
    residual = build_model("resnet56_cifar", device="cpu").module
    assert [n for n, _ in plain.named_parameters()] == [n for n, _ in residual.named_parameters()]
    assert not any(hasattr(block, "downsample") for block in plain.modules())


def test_metadata_names_the_paper() -> None:
    for name in ("resnet1202_cifar", "plain20_cifar", "cifar_resnet"):
        info = get_model_info(name)
        assert info.paper.startswith("He") and "2015" in info.paper
        assert info.input_size == (3, 32, 32)


@pytest.mark.parametrize(
    "options, message",
    [({"depth": 21}, "6n\\+2"), ({"shortcut": "D"}, "one of a, b, c"), ({"plain": True, "shortcut": "B"}, "no shortcuts")],
)
def test_bad_options_say_what_is_allowed(options: dict, message: str) -> None:
    with pytest.raises(BuildOptionError, match=message):
        build_model("cifar_resnet", **options)


def test_shortcut_option_is_a_choice_and_plain_takes_only_the_default() -> None:
    info = get_model_info("cifar_resnet")
    shortcut = next(option for option in info.options if option.name == "shortcut")
    assert shortcut.choices == ("a", "b", "c") and shortcut.default == "a"
    assert params(build_model("cifar_resnet", depth="56", plain="true").module) == paper_params_option_a(9)


# --- Zagoruyko & Komodakis 2016: WRN-d-k -----------------------------------------------------------------------
#
# conv1 3×3 3→16 (432), then three groups of N = (d−4)/6 pre-activation blocks B(3,3) of width w = 16k, 32k, 64k:
#   first block of a group (input c):  BN(c) 2c + 3×3 c→w 9cw + BN(w) 2w + 3×3 w→w 9w² + 1×1 shortcut cw (c ≠ w)
#   each other block:                  BN(w) 2w + 9w² + BN(w) 2w + 9w²
# then the final BN(64k) and the fc 64k→10 with bias.
def wrn_params(depth: int, k: int) -> int:
    n = (depth - 4) // 6
    total, c = 432, 16
    for w in (16 * k, 32 * k, 64 * k):
        shortcut = c * w if c != w else 0
        total += 2 * c + 9 * c * w + 2 * w + 9 * w * w + shortcut + (n - 1) * (4 * w + 18 * w * w)
        c = w
    return total + 2 * c + 10 * c + 10


# The paper's tables (Table 4: WRN-28-10 36.5M, WRN-40-4 8.9M, WRN-16-8 11.0M).
WRN_PAPER_PARAMS_M = {(28, 10): 36.5, (40, 4): 8.9, (16, 8): 11.0}


@pytest.mark.parametrize("depth, k", sorted(WRN_PAPER_PARAMS_M))
def test_wide_resnets_have_the_papers_parameter_counts(depth: int, k: int) -> None:
    counted = params(build_model(f"wide_resnet{depth}_{k}_cifar").module)
    assert counted == wrn_params(depth, k)
    assert round(counted / 1e6, 1) == WRN_PAPER_PARAMS_M[(depth, k)]


def test_wrn_28_10_exact_count() -> None:
    # group 1: 256,352 + 3·461,440; group 2: 1,434,560 + 3·1,844,480; group 3: 5,736,320 + 3·7,375,360;
    # plus 432 (conv1), 1,280 (final BN) and 6,410 (fc).
    assert wrn_params(28, 10) == 36_479_194
    assert params(build_model("wide_resnet_cifar").module) == 36_479_194


def test_wrn_options_and_macs() -> None:
    # WRN-16-1 at k = 1 has no shortcut conv in group 1 (16 → 16); widening by k multiplies the 3×3 MACs by k².
    thin = build_model("wide_resnet_cifar", depth=16, widen_factor=1)
    wide = build_model("wide_resnet_cifar", depth=16, widen_factor=2)
    assert params(thin.module) == wrn_params(16, 1)
    assert params(wide.module) == wrn_params(16, 2)
    # conv MACs of WRN-16-k at 32×32 (N = 2): group 1 at 32·32, group 2 at 16·16, group 3 at 8·8 outputs.
    def macs(k: int) -> int:
        w1, w2, w3 = 16 * k, 32 * k, 64 * k
        g1 = 32 * 32 * (9 * 16 * w1 + 9 * w1 * w1 + (16 * w1 if k > 1 else 0) + 2 * 9 * w1 * w1)
        g2 = 16 * 16 * (9 * w1 * w2 + 9 * w2 * w2 + w1 * w2 + 2 * 9 * w2 * w2)
        g3 = 8 * 8 * (9 * w2 * w3 + 9 * w3 * w3 + w2 * w3 + 2 * 9 * w3 * w3)
        return 32 * 32 * 16 * 27 + g1 + g2 + g3 + w3 * 10

    assert analyze(thin.module, thin.input_size).totals.macs == macs(1)
    assert analyze(wide.module, wide.input_size).totals.macs == macs(2)


def test_wrn_depth_must_be_6n_plus_4() -> None:
    with pytest.raises(BuildOptionError, match="6N\\+4"):
        build_model("wide_resnet_cifar", depth=20)
    with pytest.raises(BuildOptionError, match="widen_factor"):
        build_model("wide_resnet_cifar", widen_factor=0)


def test_plain_twins_exist_up_to_110_and_a_plain_1202_only_on_request() -> None:
    from explorer.zoo import list_models

    names = {m.name for m in list_models()}
    assert {f"plain{d}_cifar" for d in (20, 32, 44, 56, 110)} <= names and "plain1202_cifar" not in names
    assert params(build_model("cifar_resnet", depth=1202, plain=True).module) == paper_params_option_a(200)
