"""The plain and residual networks: exact torchvision parameter counts and MACs, the paper's plain nets and v1 ResNet,
and the seeds' residual blocks."""

from __future__ import annotations

from functools import lru_cache

import pytest
import torch
from torch import nn

from analyzers import Analysis, analyze
from explorer.zoo import BuildOptionError, Family, build_model, get_model_info, list_models
from explorer.zoo.resnet import BasicBlock, Bottleneck

# torchvision/models/resnet.py, <Arch>_Weights.IMAGENET1K_V1 meta: "num_params", "_ops" (GFLOPS = conv+linear MACs
# at the 224 crop, batch 1) and "_metrics"["ImageNet-1K"]["acc@1"].
TORCHVISION = {
    "resnet18": (11_689_512, 1.814, 69.758),
    "resnet34": (21_797_672, 3.664, 73.314),
    "resnet50": (25_557_032, 4.089, 76.130),
    "resnet101": (44_549_160, 7.801, 77.374),
    "resnet152": (60_192_808, 11.514, 78.312),
    "wide_resnet50_2": (68_883_240, 11.398, 78.468),
    "resnext50_32x4d": (25_028_904, 4.23, 77.618),
}

# He et al. 2015, Table 1, "FLOPs" row (multiply-adds): 18 layers 1.8×10^9, 34 layers 3.6×10^9, 50 layers 3.8×10^9.
# The paper's ResNet-50 strides the first 1×1 of a bottleneck (our resnet50_v1); its plain nets have the same FLOPs
# as the residual ones apart from the projection shortcuts.
PAPER_GMACS = {"plain18": 1.8, "plain34": 3.6, "resnet50_v1": 3.8}

# ResNet-18's three projection shortcuts (W_s): a 1×1 conv and its batch norm at the entry of stages 2, 3 and 4.
RESNET18_PROJECTION_PARAMS = (64 * 128 + 2 * 128) + (128 * 256 + 2 * 256) + (256 * 512 + 2 * 512)  # = 173,824


def _params(module: nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


@lru_cache(maxsize=None)
def _analysis(name: str) -> Analysis:
    """Each zoo entry at its default input, analysed once per test session (analyses are immutable)."""
    model = build_model(name)
    return analyze(model.module, model.input_size, model_name=name)


@pytest.mark.parametrize("name", sorted(TORCHVISION))
def test_parameter_count_equals_torchvision(name: str) -> None:
    assert _params(build_model(name).module) == TORCHVISION[name][0]


@pytest.mark.parametrize("name", sorted(TORCHVISION))
def test_reference_accuracy_is_torchvisions(name: str) -> None:
    info = get_model_info(name)
    assert info.top1 == TORCHVISION[name][2]
    assert info.top1_source is not None and "torchvision" in info.top1_source


@pytest.mark.parametrize("name", sorted(TORCHVISION))
def test_macs_equal_torchvision_gflops_to_its_rounding(name: str) -> None:
    assert round(_analysis(name).totals.macs / 1e9, 3) == TORCHVISION[name][1]


def test_resnet50_macs_exactly() -> None:
    # Independently measured with torch's FlopCounterMode on meta (÷2), see the shared notes' measured-facts.md.
    assert _analysis("resnet50").totals.macs == 4_089_184_256


@pytest.mark.parametrize("name", sorted(PAPER_GMACS))
def test_paper_models_match_the_papers_flops_to_its_last_digit(name: str) -> None:
    gmacs = _analysis(name).totals.macs / 1e9
    assert abs(gmacs - PAPER_GMACS[name]) < 0.1


def test_plain18_is_resnet18_without_its_projection_shortcuts() -> None:
    plain, residual = build_model("plain18").module, build_model("resnet18").module
    projections = sum(_params(m.downsample) for m in residual.modules() if getattr(m, "downsample", None) is not None)
    assert projections == RESNET18_PROJECTION_PARAMS == 173_824
    assert _params(plain) == _params(residual) - projections == 11_515_688
    assert not any("downsample" in name for name, _ in plain.named_modules())
    assert set(plain.state_dict()) < set(residual.state_dict())


def test_plain34_is_resnet34_without_its_projection_shortcuts() -> None:
    # ResNet-34 has the same three projections as ResNet-18 (one per stage entry 2–4).
    assert _params(build_model("plain34").module) == TORCHVISION["resnet34"][0] - RESNET18_PROJECTION_PARAMS


def test_plain_macs_are_residual_macs_minus_the_projections() -> None:
    residual_analysis = _analysis("resnet18")
    projection_macs = sum(r.macs for r in residual_analysis.records if r.name.endswith(".downsample"))
    # 1×1 stride-2 convs: 28²·64·128 + 14²·128·256 + 7²·256·512
    assert projection_macs == 28 * 28 * 64 * 128 + 14 * 14 * 128 * 256 + 7 * 7 * 256 * 512
    assert _analysis("plain18").totals.macs == residual_analysis.totals.macs - projection_macs


def test_module_names_follow_torchvision() -> None:
    model = build_model("resnet50").module
    top = [name for name, _ in model.named_children()]
    stages = ["layer1", "layer2", "layer3", "layer4"]
    assert top == ["conv1", "bn1", "relu", "maxpool", *stages, "avgpool", "flatten", "fc"]
    block = [name for name, _ in model.layer2[0].named_children()]
    assert block == ["conv1", "bn1", "conv2", "bn2", "conv3", "bn3", "relu", "downsample"]
    keys = model.state_dict().keys()
    expected = ("layer1.0.downsample.0.weight", "layer1.0.downsample.1.running_var", "layer4.2.conv3.weight", "fc.bias")
    assert set(expected) <= set(keys)
    assert [len(getattr(model, f"layer{i}")) for i in range(1, 5)] == [3, 4, 6, 3]
    basic = [name for name, _ in build_model("resnet18").module.layer2[0].named_children()]
    assert basic == ["conv1", "bn1", "relu", "conv2", "bn2", "downsample"]


def test_v1_strides_the_first_1x1_and_v1_5_the_3x3() -> None:
    v1, v15 = build_model("resnet50_v1").module, build_model("resnet50").module
    assert v1.layer2[0].conv1.stride == (2, 2) and v1.layer2[0].conv2.stride == (1, 1)
    assert v15.layer2[0].conv1.stride == (1, 1) and v15.layer2[0].conv2.stride == (2, 2)
    assert _params(v1) == _params(v15)
    assert _analysis("resnet50_v1").totals.macs == 3_857_973_248 < _analysis("resnet50").totals.macs


def test_wide_and_grouped_bottleneck_widths() -> None:
    wide = build_model("wide_resnet50_2").module.layer4[0]
    assert (wide.conv1.out_channels, wide.conv3.out_channels) == (1024, 2048)  # 2048-1024-2048 vs ResNet-50's 512
    grouped = build_model("resnext50_32x4d").module.layer1[0].conv2
    assert (grouped.in_channels, grouped.groups) == (128, 32)  # 32 groups × 4 channels at planes = 64


def test_residual_block_keeps_its_shape_with_an_identity_shortcut() -> None:
    model = build_model("residual_block")
    assert isinstance(model.module, BasicBlock) and model.module.downsample is None
    analysis = analyze(model.module, model.input_size)
    assert analysis.records[0].output_shapes == ((1, 64, 56, 56),)
    assert analysis.totals.params == 2 * (3 * 3 * 64 * 64 + 2 * 64)
    assert analysis.totals.macs == 2 * 56 * 56 * 64 * 3 * 3 * 64


def test_residual_block_projection_uses_a_strided_1x1_ws() -> None:
    model = build_model("residual_block_projection")
    assert model.input_size == (64, 56, 56)
    projection = model.module.downsample[0]
    assert (projection.kernel_size, projection.stride, projection.out_channels) == ((1, 1), (2, 2), 128)
    analysis = analyze(model.module, model.input_size)
    assert analysis.records[0].output_shapes == ((1, 128, 28, 28),)
    assert analysis.record("downsample").output_shapes == ((1, 128, 28, 28),)
    conv1, conv2, ws = 3 * 3 * 64 * 128, 3 * 3 * 128 * 128, 64 * 128
    assert analysis.totals.params == conv1 + conv2 + ws + 3 * 2 * 128 == 230_144
    assert analysis.totals.macs == 28 * 28 * (conv1 + conv2 + ws)


def test_bottleneck_block_shrinks_to_64_and_restores_256() -> None:
    model = build_model("bottleneck_block")
    assert isinstance(model.module, Bottleneck)
    channels = [(c.in_channels, c.out_channels) for c in (model.module.conv1, model.module.conv2, model.module.conv3)]
    assert channels == [(256, 64), (64, 64), (64, 256)]
    analysis = analyze(model.module, model.input_size)
    assert analysis.records[0].output_shapes == ((1, 256, 56, 56),)
    assert analysis.totals.params == 256 * 64 + 9 * 64 * 64 + 64 * 256 + 2 * (64 + 64 + 256) == 70_400


def test_num_classes_resizes_only_the_classifier() -> None:
    model = build_model("resnet18", num_classes=10).module
    assert model.fc.out_features == 10
    assert _params(model) == TORCHVISION["resnet18"][0] - (512 + 1) * (1000 - 10)


def test_builds_on_meta_without_allocating() -> None:
    model = build_model("resnet152").module
    assert {p.device.type for p in model.parameters()} == {"meta"}


def test_unknown_and_invalid_options_fail_loudly() -> None:
    with pytest.raises(BuildOptionError, match="width_mult"):
        build_model("resnet50", width_mult=2)
    with pytest.raises(BuildOptionError, match="num_classes"):
        build_model("resnet18", num_classes=0)


def test_family_lists_every_resnet_entry_with_metadata() -> None:
    names = {info.name for info in list_models(family=Family.RESNET)}
    expected = {*TORCHVISION, "plain18", "plain34", "resnet50_v1"}
    expected |= {"residual_block", "residual_block_projection", "bottleneck_block"}
    assert expected <= names
    for name in expected:
        info = get_model_info(name)
        assert info.family is Family.RESNET and info.paper and info.description
    for name in (*TORCHVISION, "plain18", "plain34", "resnet50_v1"):
        assert get_model_info(name).input_size == (3, 224, 224)


@pytest.mark.parametrize("info", list_models(family=Family.RESNET), ids=lambda info: info.name)
def test_every_resnet_entry_analyses_with_no_uncounted_ops(info) -> None:
    analysis = _analysis(info.name)
    assert analysis.totals.uncounted_ops == 0 and analysis.uncounted == {}
    assert analysis.totals.params == _params(build_model(info.name).module)
    assert analysis.totals.macs > 0


def test_real_forward_on_cpu_gives_logits() -> None:
    model = build_model("resnet18", device="cpu", num_classes=7).module
    with torch.no_grad():
        assert model(torch.zeros(2, 3, 64, 64)).shape == (2, 7)
