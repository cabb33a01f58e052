"""FractalNet (Larsson et al. 2016): the expansion rule's layer counts and joins, worked by hand, and the cost."""

from __future__ import annotations

from fractions import Fraction

import pytest
import torch
from torch import Tensor, nn

from analyzers import analyze
from explorer.zoo import BuildOptionError, Family, build_model, get_model_info
from explorer.zoo.fractalnet import FractalBlock
from tests.zoo_helpers import params

# The expansion rule f_1 = conv, f_{C+1}(z) = join(f_C(f_C(z)), conv(z)):
#   convs on the deepest path   d(C) = 2·d(C−1),  d(1) = 1  →  1, 2, 4, 8      (2^(C−1))
#   convs in the block          t(C) = 2·t(C−1) + 1, t(1) = 1 →  1, 3, 7, 15   (2^C − 1)
#   convs that read the block input: one per column → C
DEEPEST = {1: 1, 2: 2, 3: 4, 4: 8}
TOTAL = {1: 1, 2: 3, 3: 7, 4: 15}
# Joins: one wherever two or more columns end at the same depth: every second step of the deepest column
# (C ≥ 2), so 2^(C−2) per block: 0, 1, 2, 4.
JOINS = {1: 0, 2: 1, 3: 2, 4: 4}


def _convs(module: nn.Module) -> int:
    return sum(1 for m in module.modules() if isinstance(m, nn.Conv2d))


@pytest.mark.parametrize("columns", sorted(DEEPEST))
def test_a_block_follows_the_expansion_rule(columns: int) -> None:
    block = FractalBlock(8, 8, columns)
    assert len(block.columns[-1]) == DEEPEST[columns]
    assert [len(column) for column in block.columns] == [2**j for j in range(columns)]
    assert _convs(block) == TOTAL[columns]
    assert len(block.joins) == JOINS[columns]


class _Double(nn.Module):
    def forward(self, x: Tensor) -> Tensor:
        return 2 * x


# Replace every conv unit by x ↦ 2x and push z = 1 through, joins being means over the columns that end together:
#   C = 2: mean(2·2, 2) = 3
#   C = 3: y = mean(4, 2) = 3 after two steps; at step 4 mean(2·2·y, 2·y, 2·1) = mean(12, 6, 2) = 20/3
#   C = 4: m2 = 3, m4 = mean(12, 6, 2) = 20/3, m6 = mean(2·2·m4, 2·m4) = 20,
#          m8 = mean(2·2·m6, 2·m6, 2·m4, 2) = mean(80, 40, 40/3, 2) = 203/6
EXPECTED_GAIN = {1: Fraction(2), 2: Fraction(3), 3: Fraction(20, 3), 4: Fraction(203, 6)}


@pytest.mark.parametrize("columns", sorted(EXPECTED_GAIN))
def test_joins_average_the_columns_that_meet(columns: int) -> None:
    block = FractalBlock(1, 1, columns)
    for column in block.columns:
        for index in range(len(column)):
            column[index] = _Double()
    out = block(torch.ones(1, 1, 1, 1, dtype=torch.float64))
    assert out.item() == pytest.approx(float(EXPECTED_GAIN[columns]), rel=1e-12)


# Parameters of a block c_in → c with C columns: C convs 3×3·c_in·c, the other 2^C − 1 − C convs 3×3·c·c, and a BN
# (2c) after every conv. CIFAR layout: 3→64→128→256→512→512, then fc 512→10 with bias.
CHANNELS = (3, 64, 128, 256, 512, 512)
SIDES = (32, 16, 8, 4, 2)  # each block runs at the resolution left by the pools before it


def fractal_params(columns: int) -> int:
    total = 0
    for c_in, c in zip(CHANNELS, CHANNELS[1:]):
        total += 9 * (columns * c_in * c + (2**columns - 1 - columns) * c * c) + 2 * c * (2**columns - 1)
    return total + 512 * 10 + 10


def fractal_macs(columns: int) -> int:
    total = 0
    for side, c_in, c in zip(SIDES, CHANNELS, CHANNELS[1:]):
        total += side * side * 9 * (columns * c_in * c + (2**columns - 1 - columns) * c * c)
    return total + 512 * 10


def test_fractalnet20_params_by_hand() -> None:
    # C = 3, per block 3 input convs + 4 inner ones:
    #   9·(3·3·64 + 4·64²) = 152,640;  9·(3·64·128 + 4·128²) = 811,008;  9·(3·128·256 + 4·256²) = 3,244,032;
    #   9·(3·256·512 + 4·512²) = 12,976,128;  9·(3·512² + 4·512²) = 16,515,072;  BN 14·1,472 = 20,608; fc 5,130.
    assert fractal_params(3) == 152_640 + 811_008 + 3_244_032 + 12_976_128 + 16_515_072 + 20_608 + 5_130
    assert params(build_model("fractalnet20_cifar").module) == fractal_params(3) == 33_724_618


@pytest.mark.parametrize("name, columns", [("fractalnet20_cifar", 3), ("fractalnet40_cifar", 4)])
def test_named_nets_have_5_blocks_and_the_counted_cost(name: str, columns: int) -> None:
    model = build_model(name)
    assert _convs(model.module) == 5 * TOTAL[columns]
    assert params(model.module) == fractal_params(columns)
    analysis = analyze(model.module, model.input_size)
    assert analysis.totals.macs == fractal_macs(columns)
    assert analysis.totals.uncounted_ops == 0


def test_depth_is_blocks_times_the_deepest_path() -> None:
    # 20 = 5 · 2^(3−1) and 40 = 5 · 2^(4−1) weight layers on the longest path (the fc not counted).
    assert "20-layer" in get_model_info("fractalnet20_cifar").description
    assert "40-layer" in get_model_info("fractalnet40_cifar").description


def test_options_and_metadata() -> None:
    info = get_model_info("fractalnet")
    assert info.family is Family.FRACTALNET and "Larsson" in info.paper and "2016" in info.paper
    assert _convs(build_model("fractalnet", columns=2, blocks=3).module) == 3 * TOTAL[2]
    with pytest.raises(BuildOptionError, match="columns"):
        build_model("fractalnet", columns=9)
