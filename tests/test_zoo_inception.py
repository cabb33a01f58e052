"""The Inception family: the seeds' modules, GoogLeNet (torchvision's and the 2014 paper's) and Inception v3."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from analyzers import analyze
from explorer.zoo import Family, build_model, get_model_info
from explorer.zoo.inception import GOOGLENET_MODULES, AuxOutputs
from tests.zoo_helpers import output_shapes, params

INCEPTION_MODELS = ("inception_module_naive", "inception_module", "googlenet", "googlenet_2014", "inception_v3")

# torchvision's published `num_params`, `_ops` (GFLOPS = conv + linear GMACs at the eval crop) and ImageNet "acc@1":
# GoogLeNet_Weights.IMAGENET1K_V1 in torchvision/models/googlenet.py (aux heads dropped, as the weights ship) and
# Inception_V3_Weights.IMAGENET1K_V1 in torchvision/models/inception.py (aux head included in num_params).
TORCHVISION = {
    "googlenet": (6_624_904, 1.498, 69.778),
    "inception_v3": (27_161_264, 5.713, 77.294),
}


def aux_head_params(in_channels: int, classes: int = 1000, conv_extra: int = 128) -> int:
    """A GoogLeNet side classifier: 1×1 conv to 128 (+ BN or bias), fc 2048 → 1024, fc 1024 → classes."""
    return in_channels * 128 + conv_extra + (2048 + 1) * 1024 + (1024 + 1) * classes


@pytest.mark.parametrize("name", INCEPTION_MODELS)
def test_every_entry_has_metadata_and_analyses_with_no_uncounted_ops(name: str) -> None:
    info = get_model_info(name)
    assert info.family is Family.INCEPTION
    assert "Szegedy" in info.paper and len(info.description) > 80
    if name in TORCHVISION:
        assert info.top1 == TORCHVISION[name][2] and "torchvision" in (info.top1_source or "")
    else:
        assert info.top1 is None
    model = build_model(name)
    analysis = analyze(model.module, model.input_size, model_name=name)
    assert analysis.totals.uncounted_ops == 0, analysis.uncounted
    assert analysis.totals.params == params(model.module)


@pytest.mark.parametrize("name", sorted(TORCHVISION))
def test_torchvision_parameter_counts_are_exact(name: str) -> None:
    assert params(build_model(name).module) == TORCHVISION[name][0]


@pytest.mark.parametrize("name", sorted(TORCHVISION))
def test_torchvision_macs_match_published_gflops(name: str) -> None:
    model = build_model(name)
    macs = analyze(model.module, model.input_size).totals.macs
    assert round(macs / 1e9, 3) == TORCHVISION[name][1]


# The seeds' modules ----------------------------------------------------------------------------------------------


def test_inception_module_outputs_28x28x256_from_its_four_branches() -> None:
    shapes = output_shapes("inception_module")
    branch_outputs = [shapes[key][1:] for key in ("branch1", "branch2", "branch3", "branch4")]
    assert branch_outputs == [(64, 28, 28), (128, 28, 28), (32, 28, 28), (32, 28, 28)]
    assert shapes["branch2.0"][1] == 96 and shapes["branch3.0"][1] == 16  # the 1×1 bottlenecks
    assert shapes["branch4.0"][1:] == (192, 28, 28)  # the same-padded pool keeps all 192 channels
    model = build_model("inception_module")
    assert model.module(torch.empty(1, *model.input_size, device="meta")).shape == (1, 256, 28, 28)


def test_bottleneck_cuts_the_5x5_cost_to_about_a_tenth_as_the_seeds_compute() -> None:
    naive = build_model("inception_module_naive")
    bottleneck = build_model("inception_module")
    naive_5x5 = analyze(naive.module, naive.input_size).record("branch3").macs
    bottleneck_5x5 = analyze(bottleneck.module, bottleneck.input_size).record("branch3").macs
    assert naive_5x5 == 28 * 28 * 32 * 5 * 5 * 192  # ≈ 120M
    assert bottleneck_5x5 == 28 * 28 * 16 * 192 + 28 * 28 * 32 * 5 * 5 * 16  # 2.4M + 10.0M ≈ 12.4M
    assert round(naive_5x5 / 1e6) == 120 and round(bottleneck_5x5 / 1e5) == 124


def test_naive_module_stacks_the_pool_output_unchanged() -> None:
    shapes = output_shapes("inception_module_naive")
    assert [shapes[f"branch{i}"][1] for i in range(1, 5)] == [64, 128, 32, 192]
    model = build_model("inception_module_naive")
    assert model.module(torch.empty(1, *model.input_size, device="meta")).shape == (1, 416, 28, 28)


def test_inception_module_is_googlenet_module_3a() -> None:
    seed_module = build_model("inception_module").module
    paper_3a = build_model("googlenet_2014").module.inception3a
    assert params(seed_module) == params(paper_3a)
    assert [tuple(p.shape) for p in seed_module.parameters()] == [tuple(p.shape) for p in paper_3a.parameters()]


# GoogLeNet -------------------------------------------------------------------------------------------------------

# Szegedy et al. 2014, Table 1: each module's output size at 224×224.
GOOGLENET_OUTPUTS = {
    "inception3a": (256, 28),
    "inception3b": (480, 28),
    "inception4a": (512, 14),
    "inception4b": (512, 14),
    "inception4c": (512, 14),
    "inception4d": (528, 14),
    "inception4e": (832, 14),
    "inception5a": (832, 7),
    "inception5b": (1024, 7),
}


@pytest.mark.parametrize("name", ["googlenet", "googlenet_2014"])
def test_googlenet_module_outputs_follow_table_one(name: str) -> None:
    shapes = output_shapes(name)
    assert {key: (shapes[key][1], shapes[key][3]) for key in GOOGLENET_OUTPUTS} == GOOGLENET_OUTPUTS
    assert {key: spec.out_channels for key, spec in GOOGLENET_MODULES.items()} == {
        key: channels for key, (channels, _) in GOOGLENET_OUTPUTS.items()
    }
    assert shapes["conv1"][1:] == (64, 112, 112) and shapes["maxpool2"][1:] == (192, 28, 28)
    assert shapes["fc"] == (1, 1000)


def test_torchvision_googlenet_quirks() -> None:
    model = build_model("googlenet").module
    assert model.inception3a.branch3[1].conv.kernel_size == (3, 3)  # the "5×5" branch (pytorch/vision#906)
    convs = [m for m in model.modules() if isinstance(m, nn.Conv2d)]
    assert all(c.bias is None for c in convs)
    assert sum(isinstance(m, nn.BatchNorm2d) for m in model.modules()) == len(convs)
    assert all(bn.eps == 0.001 for bn in model.modules() if isinstance(bn, nn.BatchNorm2d))
    assert not hasattr(model, "aux1") and not any(isinstance(m, nn.LocalResponseNorm) for m in model.modules())


def test_torchvision_googlenet_aux_logits_adds_two_heads() -> None:
    with_aux = build_model("googlenet", aux_logits=True).module
    extra = aux_head_params(512, conv_extra=2 * 128) + aux_head_params(528, conv_extra=2 * 128)  # BN: 2 per channel
    assert params(with_aux) == TORCHVISION["googlenet"][0] + extra
    assert isinstance(with_aux.aux1, nn.Module) and isinstance(with_aux.aux2, nn.Module)


def test_googlenet_2014_is_the_papers_network() -> None:
    model = build_model("googlenet_2014").module
    assert all(m.branch3[1].conv.kernel_size == (5, 5) for key, m in model.named_children() if key in GOOGLENET_MODULES)
    convs = [m for m in model.modules() if isinstance(m, nn.Conv2d)]
    assert all(c.bias is not None for c in convs)
    assert not any(isinstance(m, nn.BatchNorm2d) for m in model.modules())
    assert sum(isinstance(m, nn.LocalResponseNorm) for m in model.modules()) == 2
    assert model.dropout.p == 0.4 and model.maxpool4.kernel_size == 3
    without_aux = build_model("googlenet_2014", aux_logits=False).module
    assert params(model) - params(without_aux) == aux_head_params(512) + aux_head_params(528)


def test_googlenet_2014_aux_heads_run_only_in_training() -> None:
    model = build_model("googlenet_2014").module
    x = torch.empty(2, 3, 224, 224, device="meta")
    assert isinstance(model(x), torch.Tensor)  # build_model returns eval mode
    outputs = model.train()(x)
    assert isinstance(outputs, AuxOutputs)
    assert outputs.logits.shape == (2, 1000) and [a.shape for a in outputs.aux_logits] == [(2, 1000), (2, 1000)]


def test_aux_heads_add_parameters_but_no_inference_macs() -> None:
    with_aux = build_model("googlenet", aux_logits=True)
    without = build_model("googlenet")
    with_aux_macs = analyze(with_aux.module, with_aux.input_size).totals.macs
    assert with_aux_macs == analyze(without.module, without.input_size).totals.macs


# Inception v3 ----------------------------------------------------------------------------------------------------


def test_inception_v3_shapes_follow_torchvision() -> None:
    shapes = output_shapes("inception_v3")
    expected = {
        "Conv2d_1a_3x3": (32, 149),
        "Conv2d_2a_3x3": (32, 147),
        "maxpool1": (64, 73),
        "Conv2d_4a_3x3": (192, 71),
        "maxpool2": (192, 35),
        "Mixed_5b": (256, 35),
        "Mixed_5d": (288, 35),
        "Mixed_6a": (768, 17),
        "Mixed_6e": (768, 17),
        "Mixed_7a": (1280, 8),
        "Mixed_7c": (2048, 8),
    }
    assert {key: (shapes[key][1], shapes[key][3]) for key in expected} == expected
    assert shapes["fc"] == (1, 1000)


def test_inception_v3_counts_its_aux_head_and_returns_a_tensor_in_eval() -> None:
    model = build_model("inception_v3").module
    aux = model.AuxLogits
    # 1×1 conv 768 → 128 and 5×5 conv 128 → 768 (no bias, BN 2 per channel), then fc 768 → 1000.
    assert params(aux) == 768 * 128 + 2 * 128 + 5 * 5 * 128 * 768 + 2 * 768 + (768 + 1) * 1000
    assert params(build_model("inception_v3", aux_logits=False).module) == TORCHVISION["inception_v3"][0] - params(aux)
    x = torch.empty(2, 3, 299, 299, device="meta")
    assert isinstance(model(x), torch.Tensor)
    outputs = model.train()(x)
    assert isinstance(outputs, AuxOutputs) and [a.shape for a in outputs.aux_logits] == [(2, 1000)]


def test_inception_v3_keeps_torchvision_parameter_names() -> None:
    names = {name for name, _ in build_model("inception_v3").module.named_parameters()}
    for expected in (
        "Conv2d_1a_3x3.conv.weight",
        "Conv2d_1a_3x3.bn.bias",
        "Mixed_5b.branch5x5_2.conv.weight",
        "Mixed_6b.branch7x7dbl_5.bn.weight",
        "Mixed_7b.branch3x3_2a.conv.weight",
        "Mixed_7c.branch_pool.conv.weight",
        "AuxLogits.conv1.conv.weight",
        "AuxLogits.fc.weight",
        "fc.bias",
    ):
        assert expected in names
