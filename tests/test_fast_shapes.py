"""The shape stand-ins (`analyzers.shapes.forward`) must agree with torch's own meta kernels on every zoo model."""

import subprocess
import sys
from pathlib import Path

import pytest

from analyzers import analyze
from analyzers.counting import mode as counting_mode
from explorer.zoo import build_model, list_models

ROOT = Path(__file__).parents[1]


@pytest.mark.parametrize("name", [m.name for m in list_models()])
def test_stand_ins_reproduce_torch_meta_kernels(name, monkeypatch):
    model = build_model(name)
    fast = analyze(model.module, model.input_size, 2)
    plans = getattr(counting_mode, "_SHARED_PLANS", {})  # per-op plans cached from the real table
    monkeypatch.setattr(counting_mode, "FAST_RESULTS", {})
    plans.clear()
    try:
        real = analyze(model.module, model.input_size, 2)
    finally:
        plans.clear()
    assert fast == real


def test_analysing_a_cnn_imports_neither_sympy_nor_dynamo():
    code = (
        "import sys; from analyzers import analyze; from explorer.zoo import build_model\n"
        "for name in ('resnet50', 'vgg16_bn', 'mobilenet_v2', 'efficientnet_b0', 'inception_v3', 'googlenet'):\n"
        "    m = build_model(name); analyze(m.module, m.input_size)\n"
        "print(sorted(k for k in ('sympy', 'torch._dynamo', 'pandas') if k in sys.modules))"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True)
    assert result.stdout.strip() == "[]"


# ---------------------------------------------------------------- inputs that do not fit, refused like torch

from collections import OrderedDict  # noqa: E402

import torch  # noqa: E402
from torch import nn  # noqa: E402

from analyzers.errors import InputMismatchError, InputTooSmallError  # noqa: E402
from analyzers.shapes.forward import FAST_RESULTS  # noqa: E402

aten = torch.ops.aten


def _named(**layers: nn.Module) -> nn.Module:
    return nn.Sequential(OrderedDict(layers))


@pytest.mark.parametrize("layer, input_size, message", [
    # VGG-16's first conv takes 3 channels: its weight is out × in/groups × k × k = 64×3×3×3.
    (nn.Conv2d(3, 64, 3, padding=1), (1, 224, 224),
     "features.0: expected an input with 3 channels (weight 64×3×3×3, groups 1), got 1"),
    # 4 groups of 2 input channels each: 2 × 4 = 8 expected.
    (nn.Conv2d(8, 16, 3, groups=4), (6, 9, 9),
     "features.0: expected an input with 8 channels (weight 16×2×3×3, groups 4), got 6"),
    # A transposed conv's weight is in × out/groups × k × k: its first dim is the input's channels.
    (nn.ConvTranspose2d(4, 2, 3), (3, 5, 5),
     "features.0: expected an input with 4 channels (transposed weight 4×2×3×3, groups 1), got 3"),
    (nn.Conv1d(2, 4, 3), (5, 9), "features.0: expected an input with 2 channels (weight 4×2×3, groups 1), got 5"),
])
def test_a_wrong_channel_count_is_refused_before_the_op(layer, input_size, message):
    with pytest.raises(InputMismatchError) as err:
        analyze(_named(features=_named(**{"0": layer})), input_size)
    assert str(err.value) == message


def test_ceil_mode_pooling_follows_torchs_output_size_rule():
    # Window 3, stride 2 on 2 pixels: floor mode (2 − 3)/2 + 1 < 1 is refused, but ceil mode gives
    # ⌈(2 − 3)/2⌉ + 1 = 0 + 1 = 1, and that window starts at 0, inside the input, so PyTorch keeps it: 1×1.
    analysis = analyze(_named(pool=nn.MaxPool2d(3, 2, ceil_mode=True)), (4, 2, 2))
    assert analysis.records[-1].output_shapes == ((1, 4, 1, 1),)
    with pytest.raises(InputTooSmallError, match=r"^pool: \(2 \+ 2·0 − 3\)/2 \+ 1 < 1"):
        analyze(_named(pool=nn.MaxPool2d(3, 2)), (4, 2, 2))
    # Window 5: ⌈(2 − 5)/2⌉ + 1 = −1 + 1 = 0 even in ceil mode.
    with pytest.raises(InputTooSmallError, match=r"^pool: ⌈\(2 \+ 2·0 − 5\)/2⌉ \+ 1 < 1"):
        analyze(_named(pool=nn.AvgPool2d(5, 2, ceil_mode=True)), (4, 2, 2))


class _SideArithmetic(nn.Module):
    """Index arithmetic on CPU tensors inside a forward, as timm's ConViT does: it needs real values."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        index = torch.arange(3)
        squared_distances = (index.view(1, -1) - index.view(-1, 1)) ** 2
        return x + squared_distances.sum().item()


def test_stand_ins_leave_cpu_operands_to_torch():
    cpu = torch.ones(2, 3)
    assert FAST_RESULTS[aten.add]((cpu, cpu), {}) is None
    assert FAST_RESULTS[aten.relu]((cpu,), {}) is None
    assert FAST_RESULTS[aten.cat](([cpu, torch.ones(2, 3, device="meta")],), {}) is None
    assert FAST_RESULTS[aten.add]((torch.ones(2, 3, device="meta"), 1.0), {}) is not None
    # (i − j)² over i, j ∈ {0, 1, 2}: 0 1 4 / 1 0 1 / 4 1 0, which sums to 12; .item() needs it on the CPU.
    analysis = analyze(_SideArithmetic(), (5,))
    assert analysis.records[0].output_shapes == ((1, 5),)
