"""The architecture spec language: the examples reproduce their zoo twins, and every error says where and why."""

from __future__ import annotations

import pickle
import re

import pytest
import torch
from torch import nn

from analyzers import analyze
from explorer.spec import EXAMPLES, SYNTAX_HELP, SpecError, SpecLimits, load_spec, parse_spec
from explorer.spec.builder import Branches, Residual, build_spec
from explorer.spec.examples import ZOO_TWIN_OPTIONS, ZOO_TWINS
from explorer.spec.module_count import module_count
from explorer.spec.parser import Activation, Conv, Padding, PadMode, Pool, PoolKind
from explorer.zoo import build_model


def load_meta(text: str, **kwargs):
    with torch.device("meta"):
        return load_spec(text, **kwargs)


def error_of(text: str, **kwargs) -> str:
    with pytest.raises(SpecError) as caught:
        load_meta(text, **kwargs)
    return str(caught.value)


def mac_layers(analysis) -> list[tuple]:
    """Conv and linear leaves as (type, input, output, params, macs), sorted: comparable across naming and order."""
    rows = [
        (r.type, r.input_shapes, r.output_shapes, r.params, r.macs)
        for r in analysis.leaves()
        if r.type in ("Conv2d", "Linear")
    ]
    return sorted(rows)


# --- the examples and their zoo twins ------------------------------------------------------------------------


@pytest.mark.parametrize("example", list(EXAMPLES))
def test_example_reproduces_its_zoo_twin(example: str) -> None:
    model = load_meta(EXAMPLES[example])
    twin = build_model(ZOO_TWINS[example], **ZOO_TWIN_OPTIONS.get(example, {}))
    assert model.input_size == twin.input_size
    ours = analyze(model.module, model.input_size)
    theirs = analyze(twin.module, twin.input_size)
    assert ours.totals.params == theirs.totals.params
    assert ours.totals.macs == theirs.totals.macs
    assert mac_layers(ours) == mac_layers(theirs)
    assert ours.records[0].output_shapes == theirs.records[0].output_shapes
    # the builder's own tally (used for the limits) agrees with the analyzer
    built = build_spec(parse_spec(EXAMPLES[example]))
    assert (built.params, built.macs) == (ours.totals.params, ours.totals.macs)


@pytest.mark.parametrize(
    "example", ["AlexNet (2012)", "Inception module", "Residual block", "Residual block with projection",
                "Depthwise-separable block", "MobileNet v2 bottleneck", "FractalNet block"],
)  # fmt: skip
def test_example_element_wise_work_matches_too(example: str) -> None:
    # LeNet-5 and VGG-16 differ on purpose: the spec adds the notes' softmax, and the zoo's VGG has an adaptive pool
    model = load_meta(EXAMPLES[example])
    twin = build_model(ZOO_TWINS[example], **ZOO_TWIN_OPTIONS.get(example, {}))
    ours = analyze(model.module, model.input_size)
    theirs = analyze(twin.module, twin.input_size)
    assert ours.totals.elementwise_ops == theirs.totals.elementwise_ops


@pytest.mark.parametrize("example", ["Inception module", "Residual block", "Residual block with projection"])
def test_example_activation_memory_matches_torchvision_style_twins(example: str) -> None:
    # In-place ReLUs and residual adds, as in torchvision, allocate nothing new. (The zoo's MobileNet blocks use
    # out-of-place ReLU6 and adds, so their activation memory is not compared.)
    model = load_meta(EXAMPLES[example])
    twin = build_model(ZOO_TWINS[example], **ZOO_TWIN_OPTIONS.get(example, {}))
    ours = analyze(model.module, model.input_size)
    theirs = analyze(twin.module, twin.input_size)
    assert ours.totals.activation_elements == theirs.totals.activation_elements


def test_lenet5_numbers_by_hand() -> None:
    model = load_meta(EXAMPLES["LeNet-5"])
    analysis = analyze(model.module, model.input_size)
    # (5·5·1+1)·6 + (5·5·6+1)·16 + (400+1)·120 + (120+1)·84 + (84+1)·10 = 156 + 2,416 + 48,120 + 10,164 + 850
    assert analysis.totals.params == 156 + 2_416 + 48_120 + 10_164 + 850 == 61_706
    # 28·28·6·25 + 10·10·16·150 + 400·120 + 120·84 + 84·10
    assert analysis.totals.macs == 117_600 + 240_000 + 48_000 + 10_080 + 840 == 416_520
    assert model.input_size == (1, 32, 32)
    assert model.output_shape == (10,)
    assert model.name == "LeNet-5"
    twin = analyze(build_model("lenet5").module, (1, 32, 32))
    softmax = analysis.record("l11_softmax")  # the only layer the zoo's lenet5 leaves out
    assert analysis.totals.elementwise_ops == twin.totals.elementwise_ops + softmax.elementwise_ops
    assert analysis.totals.activation_elements == twin.totals.activation_elements + softmax.activation_elements == (
        28 * 28 * 6 + 14 * 14 * 6 + 10 * 10 * 16 + 5 * 5 * 16 + 120 + 84 + 10 + 10
    )  # conv, pool, conv, pool, fc, fc, fc, softmax outputs; the ReLUs work in place and flatten is a view


def test_inception_module_numbers_by_hand() -> None:
    model = load_meta(EXAMPLES["Inception module"])
    analysis = analyze(model.module, model.input_size)
    assert model.output_shape == (256, 28, 28)  # 64 + 128 + 32 + 32 channels
    weights = 192 * 64 + 192 * 96 + 96 * 9 * 128 + 192 * 16 + 16 * 25 * 32 + 192 * 32  # 163,328
    biases = 64 + 96 + 128 + 16 + 32 + 32
    assert analysis.totals.params == weights + biases == 163_696
    assert analysis.totals.macs == 28 * 28 * weights == 128_049_152
    branch = analysis.record("l4_branch")
    assert branch.type == "Branches"
    assert branch.output_shapes == ((1, 256, 28, 28),)
    assert analysis.record("l4_branch.path3.l12_conv").macs == 28 * 28 * 32 * 5 * 5 * 16  # the notes' 10.0M


def test_vgg16_parameters_match_torchvision() -> None:
    model = load_meta(EXAMPLES["VGG-16"])
    analysis = analyze(model.module, model.input_size)
    assert analysis.totals.params == 138_357_544  # torchvision VGG16_Weights.IMAGENET1K_V1 meta "num_params"
    assert analysis.totals.macs == 15_470_264_320  # torchvision's 15.47 GFLOPS (its "GFLOPS" are MACs)


# --- structure and naming -----------------------------------------------------------------------------------------


def test_children_are_named_after_their_lines() -> None:
    model = load_meta(EXAMPLES["LeNet-5"])
    assert [name for name, _ in model.module.named_children()] == [
        "l4_conv", "l4_relu", "l5_avgpool", "l6_conv", "l6_relu", "l7_avgpool", "l8_flatten",
        "l9_fc", "l9_relu", "l10_fc", "l10_relu", "l11_fc", "l11_softmax",
    ]  # fmt: skip
    assert isinstance(model.module.l4_relu, nn.ReLU)
    assert isinstance(model.module.l11_softmax, nn.Softmax) and model.module.l11_softmax.dim == 1


def test_repeat_expands_with_numbered_names() -> None:
    model = load_meta("input 16x16x3\nconv 8 3x3 same bn relu x2\nflatten\nfc 4 x2\n")
    names = [name for name, _ in model.module.named_children()]
    assert names == [
        "l2_conv_1", "l2_bn_1", "l2_relu_1", "l2_conv_2", "l2_bn_2", "l2_relu_2", "l3_flatten", "l4_fc_1", "l4_fc_2",
    ]  # fmt: skip
    assert model.module.l2_conv_1.in_channels == 3 and model.module.l2_conv_2.in_channels == 8
    assert model.module.l4_fc_1.in_features == 16 * 16 * 8 and model.module.l4_fc_2.in_features == 4


def test_blocks_become_branches_and_residual_modules() -> None:
    model = load_meta(EXAMPLES["Residual block with projection"])
    block = model.module.l4_residual
    assert isinstance(block, Residual)
    assert [n for n, _ in block.body.named_children()] == ["l5_conv", "l5_bn", "l5_relu", "l6_conv", "l6_bn"]
    assert [n for n, _ in block.shortcut.named_children()] == ["l8_conv", "l8_bn"]
    assert isinstance(block.activation, nn.ReLU)
    identity = load_meta(EXAMPLES["Residual block"]).module.l4_residual
    assert isinstance(identity.shortcut, nn.Identity)
    inception = load_meta(EXAMPLES["Inception module"]).module.l4_branch
    assert isinstance(inception, Branches)
    assert inception.path_names == ["path1", "path2", "path3", "path4"]


def test_in_place_layers_never_overwrite_a_shared_input() -> None:
    # a ReLU first in a path or a body would overwrite the block's input, which the other path / the shortcut reads
    text = "input 2x2x1\nbranch\n path\n  relu\n path\nconcat\nresidual\n relu\nadd\nrelu\n"
    model = load_spec(text)
    x = torch.tensor([[[[-1.0, 2.0], [3.0, -4.0]]]])
    kept = x.clone()
    out = model.module(x)
    assert torch.equal(x, kept)
    concatenated = torch.cat([x.relu(), x], dim=1)
    assert torch.equal(out, (concatenated.relu() + concatenated).relu())
    assert not model.module.l2_branch.path1.l4_relu.inplace
    assert not model.module.l7_residual.add_in_place  # the body ends in a ReLU, whose backward reads its output
    assert model.module.l10_relu.inplace  # the residual's sum is the block's own tensor


def test_in_place_where_torchvision_does() -> None:
    block = load_spec(EXAMPLES["Residual block"]).module.l4_residual
    assert block.add_in_place  # the body ends in batch norm
    assert block.body.l5_relu.inplace and block.activation.inplace
    x = torch.randn(1, 64, 56, 56)
    body = block.body
    expected = torch.relu(body(x) + x)
    assert torch.allclose(block(x), expected)


def test_empty_path_passes_its_input_through() -> None:
    model = load_meta("input 8x8x4\nbranch\n path\n  conv 6 1x1\n path\nconcat relu\n")
    assert model.output_shape == (10, 8, 8)
    assert isinstance(model.module.l2_branch.path2, nn.Identity)
    assert isinstance(model.module.l2_branch.activation, nn.ReLU)


def test_repeated_residual_blocks_and_nesting() -> None:
    text = """
input 32x32x16
residual x3
  branch
    path
      conv 8 3x3 same
    path
      conv 8 1x1
  concat
  bn
add relu
"""
    model = load_meta(text)
    assert [n for n, _ in model.module.named_children()] == ["l3_residual_1", "l3_residual_2", "l3_residual_3"]
    assert model.output_shape == (16, 32, 32)
    out = model.module(torch.empty(1, 16, 32, 32, device="meta"))
    assert out.shape == (1, 16, 32, 32)


def test_shapes_follow_pytorch_arithmetic() -> None:
    cases = {
        "input 227x227x3\nconv 96 11x11 s4": (96, 55, 55),  # (227 − 11)/4 + 1 = 55, the notes' AlexNet
        "input 55x55x96\nmaxpool 3 s2": (96, 27, 27),
        "input 28x28x192\nmaxpool 3x3 s1 same": (192, 28, 28),
        "input 28x28x8\nmaxpool 2": (8, 14, 14),  # stride defaults to the window
        "input 28x28x8\nconv 4 3x3 s2 same": (4, 14, 14),  # same: ⌈28/2⌉
        "input 28x28x8\nconv 4 3x3 d2 same": (4, 28, 28),
        "input 10x12x8\nconv 4 1x7 same": (4, 10, 12),
        "input 10x10x8\nconv 4 3x3 p2": (4, 12, 12),
        "input 7x7x8\nglobalavgpool": (8, 1, 1),
        "input 7x7x8\nglobalmaxpool\nflatten\nfc 3 bn tanh\ndropout\nbn\nsigmoid": (3,),
    }
    for text, expected in cases.items():
        model = load_meta(text)
        assert model.output_shape == expected, text
        out = model.module(torch.empty(1, *model.input_size, device="meta"))
        assert tuple(out.shape[1:]) == expected, text


def test_parser_returns_typed_layers() -> None:
    text = "input 32x32x3  # H×W×C\n\nCONV 16 3×3 s2 same g=2 nobias bn relu6 ×3\navgpool 2x2 s1 p1 tanh\n"
    spec = parse_spec(text)
    assert spec.input.height == 32 and spec.input.channels == 3
    conv, pool = spec.layers
    assert conv == Conv(
        line=3, filters=16, kernel=(3, 3), stride=2, padding=Padding(PadMode.SAME), groups=2, bias=False,
        batchnorm=True, activation=Activation.RELU6, repeat=3,
    )  # fmt: skip
    assert pool == Pool(line=4, kind=PoolKind.AVG, kernel=(2, 2), stride=(1, 1), padding=Padding(PadMode.EXPLICIT, 1),
                        activation=Activation.TANH)  # fmt: skip
    with pytest.raises(AttributeError):
        conv.filters = 3  # type: ignore[misc]  # frozen


def test_builds_on_the_active_device() -> None:
    model = load_meta("input 8x8x3\nconv 4 3x3\n")
    assert all(p.device.type == "meta" for p in model.module.parameters())
    on_cpu = load_spec("input 8x8x3\nconv 4 3x3\n")
    assert all(p.device.type == "cpu" for p in on_cpu.module.parameters())
    assert on_cpu.module(torch.zeros(1, 3, 8, 8)).shape == (1, 4, 6, 6)
    assert not on_cpu.module.training


def test_name_line_and_default_name() -> None:
    assert load_meta("input 8x8x3\nconv 4 3x3\n").name == "spec"
    assert load_meta("input 8x8x3\nconv 4 3x3\n", default_name="mine").name == "mine"
    assert load_meta("name My Net\ninput 8x8x3\nconv 4 3x3\n").name == "My Net"


def test_syntax_help_examples_build() -> None:
    blocks = re.findall(r"```\n(.*?)```", SYNTAX_HELP, re.S)
    assert len(blocks) == 2
    assert load_meta(blocks[0]).name == "LeNet-5"
    assert load_meta("input 56x56x64\n" + blocks[1]).output_shape == (128, 28, 28)


# --- errors: every class names its place and what was expected ----------------------------------------------------


def test_error_carries_line_and_column() -> None:
    with pytest.raises(SpecError) as caught:
        load_meta("input 32x32x1\n\nconv 5x5\n")
    error = caught.value
    assert isinstance(error, ValueError)
    assert (error.line, error.column) == (3, 6)
    assert error.message == "conv needs a filter count, e.g. 'conv 16 5x5'"
    assert str(pickle.loads(pickle.dumps(error))) == str(error)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        # unknown keyword
        ("input 32x32x1\ncnv 6 5x5\n", "line 2, column 1: unknown keyword 'cnv'; did you mean 'conv'?"),
        ("input 32x32x1\n  pool 2\n", "line 2, column 3: unknown keyword 'pool'; did you mean 'maxpool'?"),
        # missing filter count
        ("input 32x32x1\n\nconv 5x5\n", "line 3, column 6: conv needs a filter count, e.g. 'conv 16 5x5'"),
        ("input 32x32x1\nconv\n", "line 2, column 6: conv needs a filter count, e.g. 'conv 16 5x5'"),
        ("input 32x32x1\nfc\n", "line 2, column 4: fc needs an output size, e.g. 'fc 120'"),
        ("input 32x32x1\nmaxpool\n", "line 2, column 9: maxpool needs a window size, e.g. 'maxpool 2 s2'"),
        # kernels
        ("input 32x32x1\nconv 16\n", "line 2, column 9: conv needs a kernel size after the filter count, e.g. "
         "'conv 16 5x5'"),
        ("input 32x32x1\nconv 16 5x\n", "line 2, column 9: bad kernel size '5x'; write it as HxW, e.g. 'conv 16 5x5'"),
        ("input 32x32x1\nconv 16 5\n", "line 2, column 9: bad kernel size '5'; write it as HxW, e.g. 'conv 16 5x5'"),
        ("input 32x32x1\nconv 16 0x3\n", "line 2, column 9: kernel height must be at least 1, got 0"),
        ("input 32x32x1\navgpool 2x\n", "line 2, column 9: bad kernel size '2x'; write it as K or HxW, e.g. "
         "'avgpool 2 s2'"),
        ("input 32x32x1\nconv 3 3x3 5x5\n", "line 2, column 12: conv takes one size, got another '5x5'"),
        # options
        ("input 8x8x8\nconv 3 3x3 foo\n", "line 2, column 12: conv does not understand 'foo'; its options are sN, "
         "same|valid|pN, dN, groups=G, depthwise, nobias, bn, an activation (relu, relu6, tanh, sigmoid, silu, gelu, "
         "softmax), xN"),
        ("input 8x8x8\nconv 3 3x3 s1 s2\n", "line 2, column 15: stride is given twice"),
        ("input 8x8x8\nconv 3 3x3 s0\n", "line 2, column 12: stride must be at least 1, got 0"),
        ("input 8x8x8\nflatten relu\n", "line 2, column 9: flatten takes no options, got 'relu'"),
        ("input 8x8x8\nconv 8 3x3 depthwise g=8\n", "line 2, column 1: give either depthwise or groups=G, not both"),
        ("input 8x8x8\ndropout 1.5\n", "line 2, column 9: dropout needs a probability between 0 and 1, e.g. "
         "'dropout 0.5', got '1.5'"),
        # input line
        ("", "the spec is empty; start it with the input size, e.g. 'input 32x32x1' (H×W×C)"),
        ("# a comment\n\n   \n", "the spec is empty; start it with the input size, e.g. 'input 32x32x1' (H×W×C)"),
        ("conv 6 5x5\n", "line 1, column 1: the spec must start with the input size, e.g. 'input 32x32x1' (H×W×C), "
         "not 'conv'"),
        ("input 32x32\n", "line 1, column 7: input needs the size as HxWxC, e.g. 'input 32x32x1'"),
        ("input 8x8x1\ninput 8x8x1\n", "line 2, column 1: input is given twice (first on line 1)"),
        ("input 8x8x1\n", "line 1: the spec has no layers; add some after the input line, e.g. 'conv 16 3x3'"),
        # shapes
        ("input 8x8x1\nconv 4 3x3\nconv 4 3x3\n# 4×4\nconv 4 5x5\n", "line 5: 5×5 kernel larger than the 4×4 input"),
        ("input 2x2x1\nconv 6 5x5 p1\n", "line 2: 5×5 kernel larger than the 2×2 input padded to 4×4"),
        ("input 4x4x1\nconv 6 3x3 d3\n", "line 2: 3×3 kernel with dilation 3 (spanning 7×7) larger than the 4×4 "
         "input"),
        ("input 2x2x1\nmaxpool 3\n", "line 2: 3×3 pooling window larger than the 2×2 input"),
        ("input 8x8x8\nmaxpool 3 p2\n", "line 2: padding 2 is more than half the 3×3 pooling window"),
        ("input 8x8x8\nconv 3 2x2 same\n", "line 2: 'same' padding needs an odd kernel to centre it, got 2×2; use "
         "valid or pN"),
        ("input 8x8x8\nfc 10\n", "line 2: fc needs a flat input, but the input here is 8×8×8; add 'flatten' before "
         "it"),
        ("input 8x8x8\nflatten\nconv 3 1x1\n", "line 3: conv needs an H×W×C volume, but the input here is flat "
         "(512 features); put it before 'flatten' and 'fc'"),
        # groups
        ("input 8x8x6\nconv 8 3x3 groups=4\n", "line 2: groups=4 does not divide the 6 input channels"),
        ("input 8x8x8\nconv 6 3x3 g=4\n", "line 2: groups=4 does not divide the 6 filters"),
        ("input 8x8x8\nconv 6 3x3 depthwise\n", "line 2: a depthwise conv needs a filter count that is a multiple of "
         "its 8 input channels, got 6"),
        # blocks
        ("input 56x56x64\nresidual\n  conv 128 3x3 s2 same\nadd\n", "line 4: channel mismatch at the residual add: "
         "the body gives 28×28×128 but the input (identity shortcut) is 56×56×64; project it in a 'shortcut' "
         "section, e.g. 'conv 128 1x1 s2'"),
        ("input 56x56x64\nresidual\n conv 128 3x3 same\nshortcut\n conv 64 1x1\nadd\n", "line 6: channel mismatch at "
         "the residual add: the body gives 56×56×128 but the shortcut gives 56×56×64"),
        ("input 8x8x8\nresidual\n conv 8 3x3\nadd\n", "line 4: shape mismatch at the residual add: the body gives "
         "6×6×8 but the input (identity shortcut) is 8×8×8; project it in a 'shortcut' section, e.g. 'conv 8 1x1'"),
        ("input 8x8x8\nbranch\n path\n  conv 4 3x3\n path\n  conv 4 1x1\nconcat\n", "line 7: cannot concatenate paths "
         "of different heights and widths: path 1 gives 6×6×4, path 2 gives 8×8×4"),
        ("input 8x8x8\nbranch\n path\n  flatten\n path\nconcat\n", "line 6: cannot concatenate flat and H×W×C paths: "
         "path 1 gives 512 features, path 2 gives 8×8×8"),
        ("input 8x8x8\nbranch\n path\n  conv 4 1x1\n", "line 2, column 1: 'branch' is never closed; end it with "
         "'concat' or 'mean'"),
        ("input 8x8x8\nresidual\n  conv 8 1x1\n", "line 2, column 1: 'residual' is never closed; end it with 'add'"),
        ("input 8x8x8\nbranch\n path\n  conv 4 1x1\nadd\n", "line 5, column 1: 'add' belongs to a 'residual', but the "
         "innermost open block is the 'branch' from line 2; close it with 'concat' or 'mean' first"),
        ("input 8x8x8\nconcat\n", "line 2, column 1: 'concat' without an open 'branch'"),
        ("input 8x8x8\nmean\n", "line 2, column 1: 'mean' without an open 'branch'"),
        # mean joins
        ("input 8x8x8\nbranch\n path\n  conv 4 1x1\n path\n  conv 8 1x1\nmean\n", "line 7: cannot average paths of "
         "different shapes: path 1 gives 8×8×4, path 2 gives 8×8×8"),
        ("input 8x8x8\nbranch\n path\n  conv 8 3x3\n path\nmean\n", "line 6: cannot average paths of different "
         "shapes: path 1 gives 6×6×8, path 2 gives 8×8×8"),
        ("input 8x8x8\nbranch\n path\n  flatten\n path\n  conv 8 1x1\nmean\n", "line 7: cannot average paths of "
         "different shapes: path 1 gives 512 features, path 2 gives 8×8×8"),
        ("input 8x8x8\nbranch\n path\n  conv 8 1x1\nmean\n", "line 5: a mean join averages two or more paths; this "
         "branch has one"),
        # local response normalization
        ("input 8x8x8\nflatten\nlrn\n", "line 3: lrn needs an H×W×C volume, but the input here is flat (512 "
         "features); put it before 'flatten' and 'fc'"),
        ("input 8x8x8\nlrn 5 alpha=x\n", "line 2, column 7: alpha needs a number from 0 to 1e+06, e.g. "
         "'alpha=0.75', got 'alpha=x'"),
        ("input 8x8x8\nlrn beta=-1\n", "line 2, column 5: beta needs a number from 0 to 1e+06, e.g. 'beta=0.75', "
         "got 'beta=-1'"),
        ("input 8x8x8\nlrn k=1e999\n", "line 2, column 5: k needs a number from 0 to 1e+06, e.g. 'k=0.75', got "
         "'k=1e999'"),
        ("input 8x8x8\nlrn 0\n", "line 2, column 5: lrn size must be at least 1, got 0"),
        ("input 8x8x8\nlrn s2\n", "line 2, column 5: lrn does not understand 's2'; its options are alpha=A, beta=B, "
         "k=K"),
        ("input 8x8x8\nconv 8 1x1 alpha=1\n", "line 2, column 12: conv does not understand 'alpha=1'; its options "
         "are sN, same|valid|pN, dN, groups=G, depthwise, nobias, bn, an activation (relu, relu6, tanh, sigmoid, "
         "silu, gelu, softmax), xN"),
        ("input 8x8x8\nshortcut\n", "line 2, column 1: 'shortcut' without an open 'residual'"),
        ("input 8x8x8\nbranch\n conv 4 1x1\nconcat\n", "line 3, column 2: inside 'branch', start each sequence of "
         "layers with 'path'"),
        ("input 8x8x8\nbranch\nconcat\n", "line 3, column 1: the branch has no paths; start each with 'path'"),
        ("input 8x8x8\nresidual\nadd\n", "line 3, column 1: the residual needs at least one layer in its body before "
         "'add'"),
        ("input 8x8x8\nresidual\n conv 8 1x1\nshortcut\nshortcut\nadd\n", "line 5, column 1: the residual from line 2 "
         "already has a shortcut"),
    ],
)
def test_error_messages(text: str, message: str) -> None:
    assert error_of(text) == message


@pytest.mark.parametrize(
    ("text", "message"),
    [
        # one copy of the residual: the block, its body's Sequential, 20 × (conv + relu), the identity shortcut = 43
        # modules; after the root Sequential, 46 copies make 1 + 46·43 = 1,979; the 47th passes 2,000 at line 3
        ("input 8x8x8\nresidual x200\n conv 8 1x1 relu x20\nadd\n", "line 3: the model grows past 2,000 modules, the "
         "limit for a spec"),
        ("input 1024x1024x1024\nconv 1024 3x3 same\n", "line 2: the model grows past 1,000,000,000,000 "
         "multiply-accumulates here (9,895,604,649,984), the limit for a spec"),
        ("input 16x16x1\nflatten\nfc 65536\nfc 65536\n", "line 4: the model grows past 1,000,000,000 parameters here "
         "(4,311,875,584), the limit for a spec"),
        ("input 4096x4096x64\nconv 128 1x1\n", "line 2: this layer's output has 2,147,483,648 elements, over the "
         "limit of 1,073,741,824"),
        ("input 8x8x8\nconv 8 1x1 x1000\n", "line 2, column 12: repeat count 1,000 is over the limit of 256"),
        ("input 8x8x8\nconv 100000 1x1\n", "line 2, column 6: filter count 100,000 is over the limit of 65,536"),
        ("input 5000x8x8\n", "line 1, column 7: input height 5,000 is over the limit of 4,096"),
        ("input 4096x4096x65536\nbn\n", "line 1: the input has 1,099,511,627,776 elements, over the limit of "
         "1,073,741,824"),
        ("input 8x8x8\nconv 1" + "0" * 5000 + " 1x1\n", "line 2, column 6: filter count 100000000000… is too large"),
        ("input 8x8x8\n" + "residual\n" * 9 + "conv 8 1x1\n" + "add\n" * 9, "line 10, column 1: blocks are nested "
         "more than 8 deep, the limit"),
    ],
)
def test_limits(text: str, message: str) -> None:
    assert error_of(text) == message


# 5,055 characters: 256 residuals, each around a branch of 1,000 empty paths (each one an nn.Identity)
IDENTITY_BOMB = "input 1x1x1\nresidual x256\nbranch\n" + "path\n" * 1000 + "concat\nconv 1 1x1\nadd\n"


def test_empty_paths_count_against_the_module_limit_before_anything_is_built() -> None:
    # one residual copy: the block 1 + body Sequential 1 + (branch 1 + 1,000 Identity paths) + conv 1 + identity
    # shortcut 1 = 1,005 modules; 256 copies and the root make 257,281. Counted from the parsed tree, so the
    # builder never starts: the first copy fits (1 + 1,005), the second's branch passes 2,000 in its paths (line 3).
    assert len(IDENTITY_BOMB) == 5_055
    spec = parse_spec(IDENTITY_BOMB)
    assert module_count(spec) == 1 + 256 * 1_005
    calls = []
    original = nn.Identity.__init__
    nn.Identity.__init__ = lambda self, *a, **k: (calls.append(1), original(self, *a, **k))[1]
    try:
        assert error_of(IDENTITY_BOMB) == "line 3: the model grows past 2,000 modules, the limit for a spec"
    finally:
        nn.Identity.__init__ = original
    assert calls == []  # refused before the first module was made


@pytest.mark.parametrize(
    "text",
    [
        *EXAMPLES.values(),
        "input 8x8x4\nresidual x3\n conv 4 3x3 same bn relu x2\nadd relu\nbranch x2\n path\n path\n  conv 2 1x1 x3\n"
        "concat relu\nflatten\nfc 10 bn softmax\n",
        "input 8x8x4\nresidual\n residual x2\n  branch\n   path\n  concat\n  conv 4 1x1\n add\nshortcut\n maxpool 1\n"
        "add\n",
    ],
)
def test_module_count_is_what_the_builder_creates(text: str) -> None:
    assert module_count(parse_spec(text)) == len(list(load_meta(text).module.modules()))


def test_module_limit_is_exact() -> None:
    text = "input 8x8x1\nconv 1 1x1 relu x4\n"  # root + 4 × (conv + relu) = 9 modules
    assert load_meta(text, limits=SpecLimits(max_modules=9)).module is not None
    assert error_of(text, limits=SpecLimits(max_modules=8)) == "line 2: the model grows past 8 modules, the limit " \
        "for a spec"
    # a residual's closing activation is the last of its modules: it is the closer's line that passes the limit
    block = "input 8x8x1\nresidual\n conv 1 1x1\nadd relu\n"  # root, block, body Sequential, conv, Identity, relu
    assert error_of(block, limits=SpecLimits(max_modules=5)) == "line 4: the model grows past 5 modules, the limit " \
        "for a spec"
    assert error_of(block, limits=SpecLimits(max_modules=4)) == "line 2: the model grows past 4 modules, the limit " \
        "for a spec"


def test_text_size_limits() -> None:
    limits = SpecLimits(max_chars=100, max_lines=3)
    assert error_of("#" * 101, limits=limits) == "the spec has 101 characters, over the limit of 100"
    assert error_of("\n" * 4, limits=limits) == "the spec has 4 lines, over the limit of 3"


def test_limits_are_checked_before_allocating() -> None:
    # 65,536 × 65,536 float32 weights would need 16 GiB on the CPU; the limit stops it before nn.Linear exists
    text = "input 4x4x1\nflatten\nfc 16\nfc 65536\nfc 65536\n"
    assert error_of(text).startswith("line 5: the model grows past 1,000,000,000 parameters")
    with pytest.raises(SpecError):
        load_spec(text)  # on the CPU: fails fast instead of allocating


# --- line ends and control characters ------------------------------------------------------------------------------


@pytest.mark.parametrize("separator", ["\f", "\v", "\x1c", "\x1d", "\x1e", "\x85", "\u2028", "\u2029"])
def test_only_newlines_end_a_line_or_a_comment(separator: str) -> None:
    # str.splitlines() ends a line at each of these: the comment would stop early and 'conv 4 9x9' (too large for
    # 8×8) would become line 3. Here it stays inside line 2's comment, so the error is at the real line 3.
    text = f"input 8x8x1\nconv 2 3x3 # a comment{separator}conv 4 9x9\nconv 2 7x7\n"
    assert error_of(text) == "line 3: 7×7 kernel larger than the 6×6 input"


def test_crlf_and_a_missing_final_newline_read_the_same() -> None:
    assert error_of("input 8x8x1\r\nconv 2 3x3\r\nconv 2 7x7") == "line 3: 7×7 kernel larger than the 6×6 input"
    assert error_of("\n" * 3 + "input 1x1x1", limits=SpecLimits(max_lines=3)) == "the spec has 4 lines, over the " \
        "limit of 3"


@pytest.mark.parametrize("control", ["\x1b[31m", "\x07", "\x9b", "\u202e", "\x00"])
def test_a_name_with_control_characters_is_refused(control: str) -> None:
    assert error_of(f"name Le{control}Net\ninput 8x8x1\nconv 2 3x3\n") == (
        f"line 1, column 8: the name may not contain control characters, got U+{ord(control[0]):04X}"
    )


def test_control_characters_quoted_in_an_error_are_escaped() -> None:
    message = error_of("input 8x8x1\nconv 2 3x3 \x1b[2J\n")
    assert message == "line 2, column 12: conv does not understand '\\x1b[2J'; its options are sN, same|valid|pN, " \
        "dN, groups=G, depthwise, nobias, bn, an activation (relu, relu6, tanh, sigmoid, silu, gelu, softmax), xN"


# --- lrn and the mean join (issue 15) ------------------------------------------------------------------------------


def test_alexnet_2012_by_hand() -> None:
    analysis = analyze(load_meta(EXAMPLES["AlexNet (2012)"]).module, (3, 227, 227))
    # weights + biases: conv1 (11·11·3+1)·96, conv2 (5·5·96+1)·256, conv3 (3·3·256+1)·384, conv4 (3·3·384+1)·384,
    # conv5 (3·3·384+1)·256, fc6 (9,216+1)·4,096, fc7 (4,096+1)·4,096, fc8 (4,096+1)·1,000; LRN has no parameters
    assert analysis.totals.params == (34_944 + 614_656 + 885_120 + 1_327_488 + 884_992 + 37_752_832 + 16_781_312
                                      + 4_097_000) == 62_378_344
    # output positions × weights per output: 55²·96·363, 27²·256·2,400, 13²·384·2,304, 13²·384·3,456,
    # 13²·256·3,456, then 9,216·4,096, 4,096·4,096, 4,096·1,000
    assert analysis.totals.macs == (105_415_200 + 447_897_600 + 149_520_384 + 224_280_576 + 149_520_384
                                    + 37_748_736 + 16_777_216 + 4_096_000) == 1_135_256_096


def test_lrn_maps_the_paper_s_alpha_to_pytorch_s() -> None:
    # the paper divides by (k + α·Σa²)^β; PyTorch by (k + alpha/n · Σa²)^β, so alpha = α·n
    spec = parse_spec("input 8x8x16\nlrn\nlrn 3 alpha=2e-3 beta=0.5 k=1\n")
    assert [(layer.size, layer.alpha, layer.beta, layer.k) for layer in spec.layers] == [
        (5, 1e-4, 0.75, 2.0), (3, 2e-3, 0.5, 1.0)]
    default, custom = load_meta("input 8x8x16\nlrn\nlrn 3 alpha=2e-3 beta=0.5 k=1\n").module
    assert (default.size, default.alpha, default.beta, default.k) == (5, pytest.approx(5e-4), 0.75, 2.0)
    assert (custom.size, custom.alpha, custom.beta, custom.k) == (3, pytest.approx(6e-3), 0.5, 1.0)
    twin = build_model("alexnet_2012", device="meta").module.norm1
    assert (twin.size, twin.alpha, twin.beta, twin.k) == (default.size, pytest.approx(default.alpha), default.beta,
                                                          default.k)


def test_a_mean_join_averages_its_paths_element_wise() -> None:
    # path 1 passes x through, path 2 is a 1×1 conv whose one weight is 3: (x + 3x) / 2 = 2x, then the ReLU
    model = load_spec("input 2x2x1\nbranch\n path\n path\n  conv 1 1x1 nobias\nmean relu\n")
    branch = model.module[0]
    with torch.no_grad():
        branch.path2[0].weight.fill_(3.0)
    x = torch.tensor([[[[1.0, -2.0], [0.5, 4.0]]]])
    assert torch.equal(model.module(x), torch.relu(2 * x))
    assert model.output_shape == (1, 2, 2)


def test_the_mean_join_costs_what_the_zoo_s_fractalnet_join_costs() -> None:
    # three paths of 8×8×4: two additions and one division per element = 3 · 256 element-wise ops at the join
    model = load_meta("input 8x8x4\nbranch\n path\n path\n path\nmean\n")
    join = analyze(model.module, model.input_size).record("l2_branch")
    assert join.elementwise_ops == 3 * 8 * 8 * 4
    assert "mean" in SYNTAX_HELP and "lrn" in SYNTAX_HELP
