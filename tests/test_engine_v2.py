"""Engine v2: the typed record tree, op categories and geometry, receptive fields, paper depth, custom formulas,
and the guarantees that an analysis is never silently wrong (tied weights, duplicates, the model left untouched)."""

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from analyzers import (
    ConvGeometry,
    ModelRunError,
    OpCategory,
    OpCost,
    RecordKind,
    analyze,
)
from analyzers.counting.formula_text import layer_formula, receptive_field_text
from explorer.zoo import build_model


def zoo(name: str):
    model = build_model(name)
    return analyze(model.module, model.input_size, model_name=name)


# ---------------------------------------------------------------- the tree


def test_records_form_a_tree_in_execution_order():
    a = zoo("resnet18")
    assert a.root.kind is RecordKind.CONTAINER and a.root.parent is None
    assert [r.name for r in a.walk()] == [r.name for r in a.records]
    for r in a.records:
        for child in a.children_of(r):
            assert child.parent == r.name and child.depth == r.depth + 1
        assert (r.kind is RecordKind.CONTAINER) == bool(r.children)
    block = a.record("layer1.0")
    # conv1 bn1 relu conv2 bn2, then the residual add the block's own forward runs
    assert [c.short_name or c.name for c in a.children_of(block)] == [
        "conv1", "bn1", "relu", "conv2", "bn2", "(functional)"]
    assert a.record("layer1.0.(functional)").kind is RecordKind.FUNCTIONAL


def test_containers_sum_their_leaves_only():
    a = zoo("resnet18")
    for r in a.records:
        if r.kind is RecordKind.CONTAINER:
            leaves = [x for x in a.walk(r) if x.is_leaf]
            assert r.macs == sum(x.macs for x in leaves)
            assert r.elementwise_ops == sum(x.elementwise_ops for x in leaves)


class Custom(nn.Module):
    """A class name that says nothing: the category must come from the ops it ran."""

    def __init__(self) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.empty(8, 4, 3, 3))

    def forward(self, x):
        return F.conv2d(x, self.weight, stride=2, padding=1, dilation=1)


def test_category_and_geometry_come_from_the_ops():
    a = analyze(nn.Sequential(Custom(), nn.ReLU()), (4, 10, 10))
    layer = a.record("0")
    assert layer.category is OpCategory.CONV
    assert layer.conv == ConvGeometry(kernel=(3, 3), stride=(2, 2), padding=(1, 1), dilation=(1, 1), groups=1,
                                      in_channels=4, out_channels=8, transposed=False, in_shape=(1, 4, 10, 10),
                                      out_shape=(1, 8, 5, 5), has_bias=False)
    assert a.record("1").category is OpCategory.ACTIVATION


class TwoProducts(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.w = nn.Parameter(torch.empty(6, 6))

    def forward(self, x):  # x: (N, 6)
        h = x @ self.w  # a parameter operand: a linear layer
        return h @ h.t()  # two activations: a matmul


def test_a_product_with_a_parameter_is_linear_and_one_of_activations_is_matmul():
    a = analyze(TwoProducts(), (6,), batch_size=4)
    categories = [op.category for r in a.leaves() for op in r.ops if op.macs]
    assert categories == [OpCategory.LINEAR, OpCategory.MATMUL]


# ---------------------------------------------------------------- receptive fields (course notes 004)


def stack(*layers: nn.Module):
    return analyze(nn.Sequential(*layers), (8, 32, 32))


def test_stacked_3x3_convs_see_3_then_5_then_7_pixels():
    a = stack(nn.Conv2d(8, 8, 3, padding=1), nn.Conv2d(8, 8, 3, padding=1), nn.Conv2d(8, 8, 3, padding=1))
    assert [a.record(str(i)).receptive_field.size for i in range(3)] == [(3, 3), (5, 5), (7, 7)]
    assert all(a.record(str(i)).receptive_field.jump == (1, 1) for i in range(3))
    # padding 1 keeps the first output's field centred on the first pixel
    assert a.record("2").receptive_field.start == (0, 0)


def test_three_3x3_equal_one_7x7_with_27_vs_49_c_squared_parameters():
    c = 8
    three = stack(*[nn.Conv2d(c, c, 3, bias=False) for _ in range(3)])
    one = stack(nn.Conv2d(c, c, 7, bias=False))
    assert three.root.receptive_field == one.root.receptive_field
    assert receptive_field_text(one.root.receptive_field) == "7"
    assert (three.totals.params, one.totals.params) == (27 * c * c, 49 * c * c)


def test_stride_and_pooling_multiply_the_jump():
    # conv 3×3 s2 p0: field 3, jump 2, start (3 − 1)/2 = 1
    # max pool 2 s2: field 3 + (2 − 1)·2 = 5, jump 4, start 1 + (1/2)·2 = 2
    # conv 3×3 p1: field 5 + 2·4 = 13, jump 4, start 2 + (1 − 1)·4 = 2
    a = stack(nn.Conv2d(8, 8, 3, stride=2), nn.MaxPool2d(2), nn.Conv2d(8, 8, 3, padding=1))
    fields = [a.record(str(i)).receptive_field for i in range(3)]
    assert [f.size[0] for f in fields] == [3, 5, 13]
    assert [f.jump[0] for f in fields] == [2, 4, 4]
    assert [f.start[0] for f in fields] == [1, 2, 2]


def test_dilation_widens_the_window():
    # effective kernel 2·(3 − 1) + 1 = 5
    assert stack(nn.Conv2d(8, 8, 3, dilation=2)).root.receptive_field.size == (5, 5)


def test_alexnet_fields_by_hand():
    # conv1 11 s4 → 11, jump 4; pool1 3 s2 → 11 + 2·4 = 19, jump 8; conv2 5 → 19 + 4·8 = 51; pool2 → 51 + 2·8 = 67,
    # jump 16; conv3..5 3×3 → 99, 131, 163; pool5 → 163 + 2·16 = 195, jump 32
    a = zoo("alexnet_2012")
    sizes = {name: a.record(name).receptive_field.size[0] for name in
             ("conv1", "pool1", "conv2", "pool2", "conv3", "conv4", "conv5", "pool5")}
    assert sizes == {"conv1": 11, "pool1": 19, "conv2": 51, "pool2": 67, "conv3": 99, "conv4": 131,
                     "conv5": 163, "pool5": 195}
    assert a.record("pool5").receptive_field.jump == (32, 32)
    assert a.record("fc6").receptive_field.covers_input


def test_vgg16_last_conv_sees_196_pixels_and_pool5_212():
    # 2·2 + 2·2 convs 3×3 at jumps 1, 2 → 1 + 2·2·1 + 1 + 2·2·2 + 2 = 16 after pool2 … (written per stage):
    # stage 1: 1 + 2 + 2 = 5, pool → 6 (jump 2); stage 2: 6 + 4 + 4 = 14, pool → 16 (jump 4);
    # stage 3: 16 + 3·8 = 40, pool → 44 (jump 8); stage 4: 44 + 3·16 = 92, pool → 100 (jump 16);
    # stage 5: 100 + 3·32 = 196, pool → 212 (jump 32)
    a = zoo("vgg16")
    assert a.record("features.28").receptive_field.size == (196, 196)
    assert a.record("features.30").receptive_field.size == (212, 212)


def test_branches_take_the_largest_field_over_their_paths():
    a = zoo("inception_module_naive")  # 1×1, 3×3, 5×5 and a 3×3 pool, concatenated
    assert [a.record(b).receptive_field.size[0] for b in ("branch1", "branch2", "branch3", "branch4")] == [1, 3, 5, 3]
    assert a.root.receptive_field.size == (5, 5)


def test_a_residual_block_sees_its_longest_path():
    a = zoo("resnet18")
    # stem: conv 7 s2 → 7 (jump 2); max pool 3 s2 → 7 + 2·2 = 11 (jump 4); layer1.0: two 3×3 → 11 + 8 + 8 = 27
    assert a.record("maxpool").receptive_field.size == (11, 11)
    assert a.record("layer1.0").receptive_field.size == (27, 27)


def test_global_pooling_and_a_flattened_linear_layer_cover_the_whole_input():
    a = zoo("resnet18")
    assert a.record("avgpool").receptive_field.covers_input
    assert receptive_field_text(a.record("fc").receptive_field) == "whole input"
    lenet = zoo("lenet5")
    assert lenet.record("fc1").receptive_field.covers_input


class ChannelsLastMLP(nn.Module):
    """ConvNeXt's pattern: permute to channels-last, a Linear over C, permute back: pointwise, field unchanged."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(8, 8, 7, padding=3, groups=8)
        self.fc = nn.Linear(8, 8)

    def forward(self, x):
        x = self.conv(x)
        return self.fc(x.permute(0, 2, 3, 1)).permute(0, 3, 1, 2)


def test_a_channels_last_linear_layer_keeps_the_field():
    a = analyze(ChannelsLastMLP(), (8, 16, 16))
    assert a.record("conv").receptive_field.size == (7, 7)
    assert a.record("fc").receptive_field.size == (7, 7)
    assert a.root.receptive_field.size == (7, 7)


def test_transposed_conv_halves_the_jump():
    a = stack(nn.Conv2d(8, 8, 2, stride=2), nn.ConvTranspose2d(8, 8, 2, stride=2))
    up = a.record("1").receptive_field
    assert up.jump == (1, 1)  # 2 after the stride-2 conv, halved by the stride-2 transposed conv


# ---------------------------------------------------------------- depth as the papers count it


@pytest.mark.parametrize("name, paper_layers", [
    ("vgg16", 16), ("vgg19", 19),  # Simonyan & Zisserman, Table 1: "16 weight layers", "19 weight layers"
    ("resnet18", 18), ("resnet34", 34), ("resnet50", 50), ("resnet101", 101), ("resnet152", 152),  # He et al. T1
    ("googlenet_2014", 22),  # Szegedy et al.: "22 layers deep when counting only layers with parameters"
    ("alexnet_2012", 8),  # Krizhevsky et al.: "five convolutional and three fully-connected"
    ("lenet5", 5),  # LeCun et al. 1998: C1, C3, C5, F6 and the output layer carry trainable weights
])
def test_weight_depth_is_the_papers_layer_count(name, paper_layers):
    a = zoo(name)
    assert a.totals.weight_depth == paper_layers
    assert a.totals.layers != paper_layers or name == "lenet5"  # leaf modules are a different count


def test_a_projection_shortcut_is_the_shorter_path():
    a = zoo("resnet50")
    block = a.record("layer2.0")  # 1×1, 3×3, 1×1 on the main path; one 1×1 projection on the shortcut
    before = a.record("layer1.2").weight_depth
    assert block.weight_depth == before + 3
    assert a.record("layer2.0.downsample").weight_depth == before + 1


# ---------------------------------------------------------------- never silently wrong


def test_tied_weights_on_a_cpu_model_count_once():
    layer = nn.Linear(8, 8)  # 8·8 + 8 = 72 parameters
    a = analyze(nn.Sequential(layer, nn.ReLU(), layer), (8,))
    assert a.totals.params == 72
    assert a.totals.macs == 2 * 8 * 8  # it runs twice


class RegisteredTwice(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.a = nn.Linear(8, 8)
        self.b = self.a  # the same module under a second name

    def forward(self, x):
        return self.a(x)


def test_a_module_registered_twice_is_one_record():
    a = analyze(RegisteredTwice(), (8,), batch_size=2)
    assert a.totals.params == 72
    assert a.totals.macs == 2 * 8 * 8
    assert [r.name for r in a.leaves()] == ["a"]


def test_same_numbers_whether_built_on_cpu_or_meta():
    on_cpu = build_model("mobilenet_v2", device="cpu").module
    on_meta = build_model("mobilenet_v2").module
    assert any(p.requires_grad for p in on_cpu.parameters())
    a, b = analyze(on_cpu, (3, 224, 224)), analyze(on_meta, (3, 224, 224))
    assert a.totals == b.totals
    # inference saves nothing for backward: no clones before in-place ops in either path
    assert not any("clone" in op.op for r in a.leaves() for op in r.ops)


class CachesThenFails(nn.Module):
    """Rewrites a plain tensor attribute and a list of tensors in forward (as torchvision's AnchorGenerator does)."""

    def __init__(self, fail: bool) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3)
        self.register_buffer("scale", torch.ones(4))
        self.anchors = [torch.zeros(2)]
        self.cache = torch.arange(3)
        self.fail = fail

    def forward(self, x):
        y = self.conv(x) * self.scale.view(1, -1, 1, 1)
        self.anchors = [a.to(y.device) for a in self.anchors]
        self.cache = y.new_zeros(3)
        self.seen = True
        if self.fail:
            torch.nonzero(y)  # no data-independent meta kernel
        return y


@pytest.mark.parametrize("fail", [False, True])
def test_the_model_is_left_exactly_as_it_was(fail):
    model = CachesThenFails(fail)
    model.train()
    before = {name: (t, t.clone()) for name, t in [*model.named_parameters(), *model.named_buffers()]}
    anchors, cache = model.anchors, model.cache
    if fail:
        with pytest.raises(ModelRunError):
            analyze(model, (3, 8, 8))
    else:
        analyze(model, (3, 8, 8))
    after = dict([*model.named_parameters(), *model.named_buffers()])
    assert after.keys() == before.keys()
    for name, (tensor, values) in before.items():
        assert after[name] is tensor and after[name].device.type == "cpu" and torch.equal(tensor, values)
    assert model.anchors is anchors and model.anchors[0].device.type == "cpu"
    assert model.cache is cache
    assert not hasattr(model, "seen")
    assert model.training and model.conv.training


# ---------------------------------------------------------------- custom formulas


def test_custom_formulas_override_and_add():
    aten = torch.ops.aten
    model = nn.Sequential(nn.Conv2d(3, 4, 3, bias=False), nn.ReLU())
    base = analyze(model, (3, 6, 6))
    relu_elements = 4 * 4 * 4

    def relu_costs_seven(func, args, kwargs, out):
        return OpCost(str(func), OpCategory.ACTIVATION, elementwise_ops=7 * out.numel(), label="relu",
                      per_element=7, shape=tuple(out.shape))

    custom = analyze(model, (3, 6, 6), formulas={aten.relu: relu_costs_seven})
    assert custom.totals.elementwise_ops == base.totals.elementwise_ops + 6 * relu_elements
    assert layer_formula(custom.record("1")) == f"relu: 7 ops · 4×4×4 = {7 * relu_elements} ops"

    as_macs = analyze(model, (3, 6, 6), formulas={aten.relu.default: lambda func, args, kwargs, out: 5})
    assert as_macs.totals.macs == base.totals.macs + 5
    assert as_macs.record("1").category is OpCategory.CUSTOM


def test_by_operator_sums_over_the_model():
    a = zoo("vgg16")
    calls, macs, _ = a.by_operator()["aten.convolution.default"]
    assert calls == 13
    assert macs + a.by_operator()["aten.addmm.default"][1] == a.totals.macs
