"""Pre-activation ResNets (He et al. 2016): parameter counts derived by hand, the identity shortcut, and MACs equal to
the v1 networks' (the same convolutions, only the BN-ReLU positions move)."""

from __future__ import annotations

import pytest
import torch

from analyzers import analyze
from explorer.zoo import build_model, get_model_info
from explorer.zoo.preact_resnet import PreActBlock
from explorer.zoo.resnet import BasicBlock
from tests.zoo_helpers import params

# Where the batch norms go. A v1 net has one BN after the stem conv and one after every block conv (each of that
# conv's output width), plus one after every projection. A pre-activation net has one BN before every block conv (its
# input width = the previous conv's output width) and one after the last block, and none on the projections
# (fb.resnet.torch's preresnet: a bare 1×1 conv). The input of each block conv is the output of the conv before
# it, so the two lists of widths are the same, and:  preact params = v1 params − the projections' BN params.

# torchvision/models/resnet.py, <Arch>_Weights.IMAGENET1K_V1 "num_params", and the widths of each net's projection
# shortcuts: basic nets 128, 256, 512 (stages 2–4); bottleneck nets 256, 512, 1024, 2048 (stages 1–4).
TORCHVISION_PARAMS = {18: 11_689_512, 34: 21_797_672, 50: 25_557_032, 101: 44_549_160, 152: 60_192_808}
PROJECTION_BN = {18: 2 * (128 + 256 + 512), 34: 2 * (128 + 256 + 512)}
PROJECTION_BN.update({depth: 2 * (256 + 512 + 1024 + 2048) for depth in (50, 101, 152)})


def test_preact_resnet18_params_by_hand() -> None:
    conv = (
        7 * 7 * 3 * 64  # stem                                                         9,408
        + 4 * 9 * 64 * 64  # stage 1: four 3×3 64→64                                147,456
        + 9 * 64 * 128 + 3 * 9 * 128 * 128 + 64 * 128  # stage 2 + projection      524,288
        + 9 * 128 * 256 + 3 * 9 * 256 * 256 + 128 * 256  # stage 3 + projection  2,097,152
        + 9 * 256 * 512 + 3 * 9 * 512 * 512 + 256 * 512  # stage 4 + projection  8,388,608
    )
    norms = 2 * 64 + 2 * 4 * (64 + 128 + 256 + 512)  # stem BN, then one BN per block conv (its width)   7,808
    fc = 512 * 1000 + 1000
    assert params(build_model("preact_resnet18").module) == conv + norms + fc == 11_687_720


@pytest.mark.parametrize("depth", sorted(TORCHVISION_PARAMS))
def test_imagenet_preact_params_are_v1_minus_the_projection_norms(depth: int) -> None:
    assert params(build_model(f"preact_resnet{depth}").module) == TORCHVISION_PARAMS[depth] - PROJECTION_BN[depth]


def test_preact_resnet110_params_by_hand() -> None:
    # n = 18 basic blocks per stage; weights as the v1 CIFAR net (He et al. 2015 §4.2): 96,768·n − 22,608.
    n = 18
    weights = 96_768 * n - 22_608
    norms = (
        n * 2 * (16 + 16)  # stage 1: BN(16) before each of the two convs
        + 2 * (16 + 32) + (n - 1) * 2 * (32 + 32)  # stage 2: the first block's first BN sees 16 channels
        + 2 * (32 + 64) + (n - 1) * 2 * (64 + 64)
        + 2 * 64  # the final BN
    )
    projections = 16 * 32 + 32 * 64  # bare 1×1 convs where the shape changes
    fc = 64 * 10 + 10
    assert params(build_model("preact_resnet110").module) == weights + norms + projections + fc == 1_730_522


def test_preact_resnet164_params_by_hand() -> None:
    # n = 18 bottlenecks per stage (9n + 2 = 164), widths 16/32/64 expanded ×4 to 64/128/256.
    def stage(c_in: int, planes: int, n: int) -> int:
        out = 4 * planes
        first = 2 * c_in + c_in * planes + 2 * planes + 9 * planes**2 + 2 * planes + planes * out + c_in * out
        rest = 2 * out + out * planes + 2 * planes + 9 * planes**2 + 2 * planes + planes * out
        return first + (n - 1) * rest

    total = 3 * 3 * 3 * 16 + stage(16, 16, 18) + stage(64, 32, 18) + stage(128, 64, 18) + 2 * 256 + 256 * 10 + 10
    assert stage(16, 16, 18) == 4_704 + 17 * 4_544
    assert params(build_model("preact_resnet164").module) == total == 1_703_258


@pytest.mark.parametrize("name", ["preact_resnet110", "preact_resnet164"])
def test_cifar_preact_nets_have_the_papers_1_7m_parameters(name: str) -> None:
    # He et al. 2016, Table 3 and 4: ResNet-110 and ResNet-164, 1.7M parameters each.
    assert round(params(build_model(name).module) / 1e6, 1) == 1.7


def test_preact_resnet50_macs_equal_resnet50s() -> None:
    # Same convolutions as torchvision's v1.5 ResNet-50, whose count FlopCounterMode measured (shared notes).
    model = build_model("preact_resnet50")
    assert analyze(model.module, model.input_size).totals.macs == 4_089_184_256


def test_preact_resnet110_macs_by_hand() -> None:
    # He et al. 2015's CIFAR arithmetic (test_zoo_cifar): 442,368 + (6n − 1)·2,359,296 + 640, plus the two 1×1
    # projections, 16·16·32·16 and 8·8·64·32 = 131,072 each.
    model = build_model("preact_resnet110")
    expected = 442_368 + (6 * 18 - 1) * 2_359_296 + 640 + 2 * 131_072
    assert analyze(model.module, model.input_size).totals.macs == expected


def test_a_preact_block_with_zero_residual_is_the_exact_identity() -> None:
    # The paper's point: nothing after the addition, so an idle block passes negative values through too;
    # a v1 block ends in a ReLU and clips them.
    torch.manual_seed(0)
    x = torch.randn(2, 16, 8, 8)
    preact, v1 = PreActBlock(16, 16).eval(), BasicBlock(16, 16).eval()
    for block in (preact, v1):
        torch.nn.init.zeros_(block.conv2.weight)
    with torch.no_grad():
        assert torch.equal(preact(x), x)
        assert torch.equal(v1(x), torch.relu(x))


def test_metadata() -> None:
    for name in ("preact_resnet110", "preact_resnet164", "preact_resnet152"):
        info = get_model_info(name)
        assert info.paper == "He, Zhang, Ren, Sun, 2016"
