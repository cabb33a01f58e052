"""The classic networks of the zoo: LeNet-5, AlexNet, ZFNet, VGG and the 1×1-convolution entries.

Exact counts of torchvision-named entries are checked against torchvision's published weight metadata; the
historical variants against their papers' layer arithmetic; shapes against the seeds' worked sequences.
"""

from __future__ import annotations

import re

import pytest
import torch
from torch import nn

from analyzers import analyze
from explorer.zoo import Family, build_model, get_model_info
from explorer.zoo.lenet import C3_CONNECTIONS
from tests.zoo_helpers import output_shapes, params

CLASSIC_MODELS = (
    "lenet5",
    "lenet5_1998",
    "alexnet",
    "alexnet_2012",
    "alexnet_2012_2gpu",
    "zfnet",
    "vgg11",
    "vgg11_bn",
    "vgg13",
    "vgg13_bn",
    "vgg16",
    "vgg16_bn",
    "vgg19",
    "vgg19_bn",
    "conv1x1_28x28x192_to_32",
    "nin",
)

# torchvision's published numbers: `num_params`, `_ops` (GFLOPS, i.e. conv + linear GMACs at 224) and ImageNet
# "acc@1" from the `*_Weights.IMAGENET1K_V1` meta in torchvision/models/alexnet.py and torchvision/models/vgg.py.
TORCHVISION = {
    "alexnet": (61_100_840, 0.714, 56.522),
    "vgg11": (132_863_336, 7.609, 69.020),
    "vgg11_bn": (132_868_840, 7.609, 70.370),
    "vgg13": (133_047_848, 11.308, 69.928),
    "vgg13_bn": (133_053_736, 11.308, 71.586),
    "vgg16": (138_357_544, 15.47, 71.592),
    "vgg16_bn": (138_365_992, 15.47, 73.360),
    "vgg19": (143_667_240, 19.632, 72.376),
    "vgg19_bn": (143_678_248, 19.632, 74.218),
}


def conv_params(k: int, c_in: int, c_out: int, groups: int = 1) -> int:
    return (k * k * c_in // groups + 1) * c_out


def spatial(shapes: dict[str, tuple[int, ...]], *names: str) -> list[int]:
    return [shapes[name][-1] for name in names]


def expected_family(name: str) -> Family:
    prefixes = {"lenet": Family.LENET, "alexnet": Family.ALEXNET, "zfnet": Family.ZFNET, "vgg": Family.VGG}
    return next((family for prefix, family in prefixes.items() if name.startswith(prefix)), Family.ONE_BY_ONE)


@pytest.mark.parametrize("name", CLASSIC_MODELS)
def test_every_entry_has_metadata_and_builds_on_meta(name: str) -> None:
    info = get_model_info(name)
    assert info.family is expected_family(name)
    assert re.fullmatch(r".+, (19|20)\d\d", info.paper), info.paper  # "Authors, year"
    assert len(info.description) > 80
    model = build_model(name)
    assert next(model.module.parameters()).device.type == "meta"
    assert model.input_size == info.input_size
    if name in TORCHVISION:
        assert info.top1 == TORCHVISION[name][2]
        assert info.top1_source and "torchvision" in info.top1_source
    else:
        assert info.top1 is None


@pytest.mark.parametrize("name", CLASSIC_MODELS)
def test_every_entry_analyses_with_no_uncounted_ops(name: str) -> None:
    model = build_model(name)
    analysis = analyze(model.module, model.input_size, model_name=name)
    assert analysis.totals.uncounted_ops == 0, analysis.uncounted
    assert analysis.totals.params == params(model.module)
    assert analysis.totals.macs > 0


@pytest.mark.parametrize("name", sorted(TORCHVISION))
def test_torchvision_parameter_counts_are_exact(name: str) -> None:
    assert params(build_model(name).module) == TORCHVISION[name][0]


@pytest.mark.parametrize("name", sorted(TORCHVISION))
def test_torchvision_macs_match_published_gflops(name: str) -> None:
    model = build_model(name)
    macs = analyze(model.module, model.input_size).totals.macs
    assert round(macs / 1e9, 3) == TORCHVISION[name][1]


@pytest.mark.parametrize("name", ["alexnet", "vgg16", "lenet5", "nin"])
def test_num_classes_option_resizes_the_output(name: str) -> None:
    model = build_model(name, num_classes=7)
    out = model.module(torch.empty(2, *model.input_size, device="meta"))
    assert tuple(out.shape) == (2, 7)


# LeNet-5 ---------------------------------------------------------------------------------------------------------


def test_lenet5_follows_the_seeds_shapes_and_about_60k_parameters() -> None:
    shapes = output_shapes("lenet5")
    assert spatial(shapes, "conv1", "pool1", "conv2", "pool2") == [28, 14, 10, 5]  # 32 → 28 → 14 → 10 → 5
    assert [shapes[n][1] for n in ("conv1", "conv2")] == [6, 16]
    assert shapes["flatten"] == (1, 400)  # 5·5·16
    assert [shapes[n][1] for n in ("fc1", "fc2", "fc3")] == [120, 84, 10]
    total = params(build_model("lenet5").module)
    assert total == conv_params(5, 1, 6) + conv_params(5, 6, 16) + 401 * 120 + 121 * 84 + 85 * 10 == 61_706
    assert abs(total - 60_000) / 60_000 < 0.05  # the seeds: "about 60,000 parameters"


def test_lenet5_1998_trainable_parameters_per_layer_are_the_papers() -> None:
    model = build_model("lenet5_1998").module
    # LeCun et al. 1998, Section II.B: C1 156, S2 12, C3 1,516, S4 32, C5 48,120, F6 10,164 trainable parameters.
    expected = {"c1": 156, "s2": 12, "c3": 1_516, "s4": 32, "c5": 48_120, "f6": 10_164, "output": 0}
    assert {name: params(getattr(model, name), trainable_only=True) for name in expected} == expected
    assert params(model, trainable_only=True) == 60_000
    assert params(model.output) == 84 * 10  # the RBF centres: parameters, but fixed
    assert not any(p.requires_grad for p in model.output.parameters())


def test_lenet5_1998_shapes_and_the_papers_connection_counts() -> None:
    shapes = output_shapes("lenet5_1998")
    assert spatial(shapes, "c1", "s2", "c3", "s4", "c5") == [28, 14, 10, 5, 1]
    assert [shapes[n][1] for n in ("c1", "s2", "c3", "s4", "c5")] == [6, 6, 16, 16, 120]
    assert shapes["f6"] == (1, 84) and shapes["output"] == (1, 10)
    model = build_model("lenet5_1998")
    analysis = analyze(model.module, model.input_size)
    # The paper counts connections: one per multiply plus one per bias, i.e. MACs + output elements.
    connections = {
        name: analysis.record(name).macs + shapes[name][1] * shapes[name][2] * shapes[name][3] for name in ("c1", "c3")
    }
    assert connections == {"c1": 122_304, "c3": 151_600}


def test_lenet5_1998_c3_follows_table_one() -> None:
    assert sorted(len(inputs) for inputs in C3_CONNECTIONS) == [3] * 6 + [4] * 9 + [6]
    assert sum(len(inputs) for inputs in C3_CONNECTIONS) == 60  # the X marks of Table I
    # Perturb one S2 map at a time (real weights, CPU): exactly the C3 maps that list it must change.
    c3 = build_model("lenet5_1998", device="cpu").module.c3
    torch.manual_seed(0)
    x = torch.randn(1, 6, 14, 14)
    with torch.no_grad():
        base = c3(x)
        for source in range(6):
            nudged = x.clone()
            nudged[:, source] += 1.0
            changed = (c3(nudged) - base).abs().amax(dim=(0, 2, 3)) > 0
            readers = [i for i, inputs in enumerate(C3_CONNECTIONS) if source in inputs]
            assert changed.nonzero().flatten().tolist() == readers


# AlexNet ---------------------------------------------------------------------------------------------------------


def test_alexnet_2012_follows_the_seeds_shapes() -> None:
    shapes = output_shapes("alexnet_2012")
    assert shapes["conv1"] == (1, 96, 55, 55)  # (227 − 11)/4 + 1 = 55
    assert spatial(shapes, "pool1", "conv2", "pool2", "conv3", "conv4", "conv5", "pool5") == [27, 27, 13, 13, 13, 13, 6]
    assert [shapes[n][1] for n in ("conv2", "conv3", "conv4", "conv5")] == [256, 384, 384, 256]
    assert shapes["flatten"] == (1, 9216)  # 6·6·256
    assert [shapes[n][1] for n in ("fc6", "fc7", "fc8")] == [4096, 4096, 1000]
    model = build_model("alexnet_2012").module
    assert sum(isinstance(m, nn.LocalResponseNorm) for m in model.modules()) == 2


def test_alexnet_parameter_counts_match_the_paper_arithmetic_and_the_seeds_60m() -> None:
    fc = (9216 + 1) * 4096 + (4096 + 1) * 4096 + (4096 + 1) * 1000
    one_gpu = conv_params(11, 3, 96) + conv_params(5, 96, 256) + conv_params(3, 256, 384)
    one_gpu += conv_params(3, 384, 384) + conv_params(3, 384, 256) + fc
    two_gpu = conv_params(11, 3, 96) + conv_params(5, 96, 256, groups=2) + conv_params(3, 256, 384)
    two_gpu += conv_params(3, 384, 384, groups=2) + conv_params(3, 384, 256, groups=2) + fc
    assert params(build_model("alexnet_2012").module) == one_gpu == 62_378_344
    assert params(build_model("alexnet_2012_2gpu").module) == two_gpu == 60_965_224
    for name in ("alexnet", "alexnet_2012", "alexnet_2012_2gpu"):
        assert abs(params(build_model(name).module) - 60e6) / 60e6 < 0.05  # the seeds: "about 60 million"


def test_alexnet_2012_2gpu_splits_only_where_the_towers_do_not_talk() -> None:
    model = build_model("alexnet_2012_2gpu").module
    groups = {name: m.groups for name, m in model.named_modules() if isinstance(m, nn.Conv2d)}
    assert groups == {"conv1": 1, "conv2": 2, "conv3": 1, "conv4": 2, "conv5": 2}
    assert output_shapes("alexnet_2012_2gpu")["flatten"] == (1, 9216)


def test_torchvision_alexnet_layers() -> None:
    shapes = output_shapes("alexnet")
    assert shapes["features.0"] == (1, 64, 55, 55)
    assert shapes["avgpool"] == (1, 256, 6, 6)
    assert shapes["classifier.6"] == (1, 1000)
    model = build_model("alexnet").module
    assert sum(isinstance(m, nn.Dropout) for m in model.classifier) == 2
    assert not any(isinstance(m, nn.LocalResponseNorm) for m in model.modules())


# ZFNet -----------------------------------------------------------------------------------------------------------


def test_zfnet_first_layer_and_wide_middle_layers() -> None:
    model = build_model("zfnet").module
    assert model.conv1.kernel_size == (7, 7) and model.conv1.stride == (2, 2) and model.conv1.out_channels == 96
    assert [getattr(model, n).out_channels for n in ("conv3", "conv4", "conv5")] == [512, 1024, 512]  # notes 004
    shapes = output_shapes("zfnet")
    # Zeiler & Fergus 2013, Figure 3: 224 → 110 → 55 → 26 → 13 → 6.
    assert spatial(shapes, "conv1", "pool1", "conv2", "pool2", "conv5", "pool5") == [110, 55, 26, 13, 13, 6]
    assert shapes["flatten"] == (1, 6 * 6 * 512)


# VGG -------------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("depth", "convs"), [(11, 8), (13, 10), (16, 13), (19, 16)])
@pytest.mark.parametrize("batch_norm", [False, True])
def test_vgg_depths_and_seed_shapes(depth: int, convs: int, batch_norm: bool) -> None:
    name = f"vgg{depth}" + ("_bn" if batch_norm else "")
    model = build_model(name).module
    conv_layers = [m for m in model.modules() if isinstance(m, nn.Conv2d)]
    linear_layers = [m for m in model.modules() if isinstance(m, nn.Linear)]
    assert len(conv_layers) == convs and len(conv_layers) + len(linear_layers) == depth
    assert all(c.kernel_size == (3, 3) and c.stride == (1, 1) and c.padding == (1, 1) for c in conv_layers)
    assert sum(isinstance(m, nn.BatchNorm2d) for m in model.modules()) == (convs if batch_norm else 0)
    shapes = output_shapes(name)
    pools = [key for key, m in model.features.named_children() if isinstance(m, nn.MaxPool2d)]
    assert [shapes[f"features.{key}"][1:] for key in pools] == [
        (64, 112, 112),
        (128, 56, 56),
        (256, 28, 28),
        (512, 14, 14),
        (512, 7, 7),
    ]  # the seeds: 224 → 112 → 56 → 28 → 14 → 7 while channels double to 512
    assert shapes["flatten"] == (1, 25088)


def test_vgg16_has_about_138m_parameters_as_the_seeds_say() -> None:
    assert abs(params(build_model("vgg16").module) - 138e6) / 138e6 < 0.01


# 1×1 convolutions ------------------------------------------------------------------------------------------------


def test_conv1x1_shrinks_channels_as_the_seeds_show() -> None:
    shapes = output_shapes("conv1x1_28x28x192_to_32")
    assert shapes["relu"] == (1, 32, 28, 28)
    model = build_model("conv1x1_28x28x192_to_32")
    assert params(model.module) == 192 * 32
    assert analyze(model.module, model.input_size).totals.macs == 28 * 28 * 32 * 192


def test_nin_is_mlpconv_blocks_with_global_average_pooling() -> None:
    model = build_model("nin").module
    assert not any(isinstance(m, nn.Linear) for m in model.modules())
    one_by_one = [m for m in model.modules() if isinstance(m, nn.Conv2d) and m.kernel_size == (1, 1)]
    assert len(one_by_one) == 8  # two per mlpconv block
    shapes = output_shapes("nin")
    assert spatial(shapes, "block1", "pool1", "pool2", "pool3", "block4", "global_pool") == [54, 26, 12, 5, 5, 1]
    assert shapes["block4"][1] == 1000 and shapes["flatten"] == (1, 1000)
    blocks = [(11, 3, 96), (5, 96, 256), (3, 256, 384), (3, 384, 1024)]
    expected = sum(conv_params(k, c_in, c) + 2 * conv_params(1, c, c) for k, c_in, c in blocks)
    expected -= conv_params(1, 1024, 1024) - conv_params(1, 1024, 1000)  # the last 1×1 emits one map per class
    assert params(model) == expected
