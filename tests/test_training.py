"""The training-step analysis against reality: saved tensors of a real CPU run, FlopCounterMode's backward counts,
hand-derived grouped/depthwise/dilated/transposed conv backward MACs, freezing and step memory by hand."""

from __future__ import annotations

import pytest
import torch
import torchvision
from torch import nn
from torch.utils.flop_counter import FlopCounterMode
from torchvision.models.vision_transformer import EncoderBlock

from analyzers.errors import UserError
from analyzers.training.memory import Optimizer, OptimizerImpl, Phase
from analyzers.training.analyze import analyze_training
from analyzers.training.freezing import IMAGENET_TRAIN_IMAGES, freeze_point, precomputed_feature_bytes, stage_names
from explorer.zoo import build_model


def real_saved_bytes(model: nn.Module, x: torch.Tensor) -> tuple[int, int]:
    """What a real CPU training forward saves for backward: unique storages, parameters and buffers excluded (batch
    norm saves its running statistics: static memory, in the buffer column)."""
    params = {t.untyped_storage()._cdata for t in (*model.parameters(), *model.buffers())}
    storages: dict[int, int] = {}

    def pack(t: torch.Tensor) -> torch.Tensor:
        key = t.untyped_storage()._cdata
        if key not in params:
            storages.setdefault(key, t.untyped_storage().nbytes())
        return t

    model.train()
    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        model(x)
    return sum(storages.values()), len(storages)


def flop_counter_backward_macs(model: nn.Module, size: tuple[int, ...], batch: int) -> tuple[int, int]:
    """FlopCounterMode's (forward, backward) MACs on the meta device (its FLOPs ÷ 2)."""
    model = model.to("meta").train()
    with FlopCounterMode(display=False) as counter:
        y = model(torch.empty(batch, *size, device="meta"))
        forward = counter.get_total_flops()
        y.backward(torch.empty_like(y))
    return forward // 2, (counter.get_total_flops() - forward) // 2


# ---------------------------------------------------------------- saved activations: equal to a real CPU run


@pytest.mark.parametrize("name, make, size", [
    ("lenet5", lambda: build_model("lenet5", device="cpu").module, (1, 32, 32)),
    ("resnet18", torchvision.models.resnet18, (3, 64, 64)),
    ("mobilenet_v2", torchvision.models.mobilenet_v2, (3, 64, 64)),
    ("efficientnet_b0", torchvision.models.efficientnet_b0, (3, 64, 64)),
    ("vit_block", lambda: EncoderBlock(4, 64, 128, dropout=0.1, attention_dropout=0.1), (17, 64)),
])
def test_saved_activation_bytes_equal_a_real_cpu_run(name, make, size):
    torch.manual_seed(0)
    model = make()
    analysis = analyze_training(model, size, batch_size=2, device="cpu")  # the CPU's attention: math with dropout
    expected_bytes, expected_count = real_saved_bytes(model, torch.randn(2, *size))
    assert analysis.memory.saved_activation_bytes == expected_bytes
    assert analysis.memory.saved_tensors == expected_count
    # every saved byte is charged to some layer
    assert sum(layer.saved_activation_bytes for layer in analysis.leaves()) == expected_bytes


def test_saved_tensors_of_a_small_mlp_by_hand():
    """Linear(10→20) saves its input x (4×10 fp32 = 160 B; its weight is a parameter); ReLU saves its output
    (4×20×4 = 320 B); dropout, as PyTorch runs it off CUDA, multiplies by a float mask of bernoulli(1−p)/(1−p)
    and saves that mask (4×20×4 = 320 B; CUDA's fused kernel would save a 1-byte boolean mask); Linear(20→5)
    saves its input, the dropout output (320 B). Total 1,120 bytes in 4 storages, as the CPU run saves."""
    model = nn.Sequential(nn.Linear(10, 20), nn.ReLU(), nn.Dropout(0.5), nn.Linear(20, 5))
    analysis = analyze_training(model, (10,), batch_size=4)
    assert analysis.memory.saved_activation_bytes == 1120 == real_saved_bytes(model, torch.randn(4, 10))[0]
    assert analysis.memory.saved_tensors == 4
    assert [layer.saved_activation_bytes for layer in analysis.leaves()] == [160, 320, 320, 320]


def test_in_place_relu_shares_the_batch_norm_output():
    """BN (train) saves its input (the conv output, 1×8×4×4×4 = 512 B), its batch mean and inverse std (2 × 8×4 =
    64 B) and its running mean and variance, which are buffers: static memory, counted in buffer_bytes (2 × 32 B and
    the int64 batch counter, 72 B) and not again among the saved activations; the in-place ReLU saves its output,
    which *is* BN's output storage, so it counts once (512 B). The conv saves the input x (1×3×4×4×4 = 192 B)
    because its weight needs a gradient. Total 192 + 512 + 64 + 512 = 1,280 B."""
    model = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1, bias=False), nn.BatchNorm2d(8), nn.ReLU(inplace=True))
    analysis = analyze_training(model, (3, 4, 4), batch_size=1)
    assert analysis.memory.saved_activation_bytes == 1280 == real_saved_bytes(model, torch.randn(1, 3, 4, 4))[0]
    assert analysis.memory.buffer_bytes == 72 == sum(b.numel() * b.element_size() for b in model.buffers())


# ---------------------------------------------------------------- backward MACs


@pytest.mark.parametrize("make, size, recomputed", [
    (torchvision.models.resnet18, (3, 64, 64), 0),  # groups=1 convs and a linear layer
    (torchvision.models.vgg11, (3, 32, 32), 0),
    # linear on tokens and fused attention, whose backward recomputes QKᵀ (batch 2 · 4 heads · 17² · 16) where
    # FlopCounterMode, on meta, counts the math path's backward
    (lambda: EncoderBlock(4, 64, 128, 0.0, 0.0), (17, 64), 2 * 4 * 17 * 17 * 16),
])
def test_backward_macs_equal_flop_counter_mode_without_groups(make, size, recomputed):
    model = make()
    analysis = analyze_training(model, size, batch_size=2)
    forward, backward = flop_counter_backward_macs(model, size, 2)
    assert analysis.totals.forward_macs == forward
    assert analysis.totals.backward_macs == backward + recomputed


class _Matmul(nn.Module):
    """Two activations multiplied: both gradients are input gradients (no weight)."""

    def __init__(self) -> None:
        super().__init__()
        self.proj = nn.Linear(8, 8)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.proj(x)
        return h @ h.transpose(-1, -2)


def test_matmul_of_activations_is_input_gradient_and_matches_flop_counter():
    """proj on 2×5×8 tokens: forward 2·5·8·8 = 640 MACs; its backward: grad_input 640, grad_weight 640.
    h·hᵀ (bmm 2 × 5×8 @ 8×5 = 400 MACs): two gradient products of 400 each, both input gradients."""
    model = _Matmul()
    analysis = analyze_training(model, (5, 8), batch_size=2)
    assert analysis.totals.forward_macs == 640 + 400
    assert analysis.totals.backward_weight_macs == 640
    # proj's input x needs no gradient: only the bmm's two products
    assert analysis.totals.backward_input_macs == 800
    assert analysis.totals.backward_macs == flop_counter_backward_macs(model, (5, 8), 2)[1]


def test_depthwise_conv_backward_by_hand_and_where_flop_counter_differs():
    """A 1×1 conv 256→256 on 14×14 feeds a depthwise 3×3 (groups 256, padding 1), batch 1.
    Forward: 1×1: 14·14·256·256 = 12,845,056; depthwise: 14·14·256·9·1 = 451,584 MACs.
    Backward: the 1×1's input is the image (no gradient): its weight gradient only, 12,845,056. The depthwise
    computes grad_input and grad_weight, each its forward count: 2 × 451,584. Total 13,748,224.
    FlopCounterMode drops `groups` in the weight-gradient term: 14·14·256·256·9 = 115,605,504 instead of 451,584."""
    model = nn.Sequential(nn.Conv2d(256, 256, 1, bias=False), nn.Conv2d(256, 256, 3, padding=1, groups=256,
                                                                         bias=False))
    analysis = analyze_training(model, (256, 14, 14))
    depthwise = analysis.layer("1")
    assert depthwise.forward_macs == 451_584
    assert (depthwise.backward_input_macs, depthwise.backward_weight_macs) == (451_584, 451_584)
    assert analysis.layer("0").backward_input_macs == 0
    assert analysis.layer("0").backward_weight_macs == 12_845_056
    assert analysis.totals.backward_macs == 13_748_224
    _, counted = flop_counter_backward_macs(model, (256, 14, 14), 1)
    assert counted == 12_845_056 + 451_584 + 115_605_504
    assert counted - analysis.totals.backward_macs == 115_605_504 - 451_584


def test_grouped_dilated_and_transposed_conv_backward_by_hand():
    """Grouped 3×3 (64→128, groups 4, dilation 2, padding 2) on 8×8: forward 8·8·128·9·16 = 1,179,648 MACs;
    the dilation spreads the taps, it does not add any. A transposed 4×4 stride-2 conv 128→32 (groups 2) on that
    8×8 output: every input element is scattered through 16 taps × 16 output channels per group:
    8·8·128·16·16 = 2,097,152 MACs. Backward: each conv computes grad_input and grad_weight at its forward count,
    except the first, whose input is the image."""
    model = nn.Sequential(
        nn.Conv2d(64, 128, 3, padding=2, dilation=2, groups=4, bias=False),
        nn.ConvTranspose2d(128, 32, 4, stride=2, padding=1, groups=2, bias=False),
    )
    analysis = analyze_training(model, (64, 8, 8))
    grouped, transposed = analysis.layer("0"), analysis.layer("1")
    assert grouped.forward_macs == 1_179_648
    assert (grouped.backward_input_macs, grouped.backward_weight_macs) == (0, 1_179_648)
    assert transposed.forward_macs == 2_097_152
    assert (transposed.backward_input_macs, transposed.backward_weight_macs) == (2_097_152, 2_097_152)


def test_conv_bias_gradient_is_element_wise():
    """A bias's gradient sums grad_output over N, H, W: one op per grad_output element (1×4×6×6 = 144)."""
    model = nn.Conv2d(3, 4, 3, padding=1)
    analysis = analyze_training(model, (3, 6, 6))
    assert analysis.layer("").backward_elementwise_ops == 144
    assert analysis.totals.backward_weight_macs == 6 * 6 * 4 * 27


# ---------------------------------------------------------------- freezing


def test_freezing_resnet18_up_to_layer3():
    """Frozen through layer3: trainable = layer4 + fc. layer4.0.conv1's input comes from the frozen trunk, so it
    needs no input gradient; nothing before layer4 saves activations or runs a backward op."""
    model = torchvision.models.resnet18()
    full = analyze_training(model, (3, 64, 64))
    frozen = analyze_training(model, (3, 64, 64), freeze="layer3")
    trainable = sum(p.numel() for p in model.layer4.parameters()) + sum(p.numel() for p in model.fc.parameters())
    assert frozen.totals.trainable_params == trainable == 8_393_728 + 513_000
    assert frozen.frozen_params == full.totals.params - trainable
    first = frozen.layer("layer4.0.conv1")
    assert first.backward_input_macs == 0 and first.backward_weight_macs == first.forward_macs
    before = [layer for layer in frozen.leaves() if not layer.name.startswith(("layer4", "fc", "avgpool"))]
    assert all(layer.backward_macs == 0 and layer.saved_activation_bytes == 0 for layer in before)
    assert frozen.totals.backward_macs < full.totals.backward_macs
    assert frozen.memory.peak_bytes < full.memory.peak_bytes
    assert all(p.requires_grad for p in model.parameters())  # the model itself is untouched


def test_freeze_stages_of_a_staged_model():
    model = torchvision.models.resnet18()
    assert stage_names(model) == ["layer1", "layer2", "layer3", "layer4"]  # the stem freezes with layer1
    assert freeze_point(model, freeze_stages=2) == "layer2"
    head_only = analyze_training(model, (3, 64, 64), freeze_stages=4)
    assert head_only.totals.trainable_params == 512 * 1000 + 1000  # the notes' "train only the softmax"
    mobilenet = torchvision.models.mobilenet_v2()
    assert stage_names(mobilenet)[:2] == ["features.0", "features.1"]
    assert len(stage_names(mobilenet)) == 19  # features.0 … features.18 (the last 1×1 conv to 1280)
    trunk = analyze_training(mobilenet, (3, 32, 32), batch_size=2, freeze_stages=19)  # only the classifier trains
    assert trunk.frozen_through == "features.18"
    assert trunk.totals.trainable_params == 1280 * 1000 + 1000
    # batch 2: the classifier's weight gradient 2·1280·1000 MACs, and no input gradient anywhere
    assert (trunk.totals.backward_input_macs, trunk.totals.backward_weight_macs) == (0, 2 * 1280 * 1000)
    # one stage fewer: features.18 (1×1 conv 320→1280 + BN) trains too, 320·1280 + 2·1280 parameters
    assert analyze_training(mobilenet, (3, 32, 32), batch_size=2, freeze_stages=18).totals.trainable_params == (
        1280 * 1000 + 1000 + 320 * 1280 + 2 * 1280)


def test_bad_freeze_requests_are_one_line_user_errors():
    model = torchvision.models.resnet18()
    with pytest.raises(UserError, match="no module named 'layer9'"):
        analyze_training(model, (3, 32, 32), freeze="layer9")
    with pytest.raises(UserError, match="0 to"):
        analyze_training(model, (3, 32, 32), freeze_stages=99)
    with pytest.raises(UserError, match="unknown optimizer"):
        analyze_training(model, (3, 32, 32), optimizer="lbfgs")


def test_precomputed_features_of_the_notes_example():
    """A 3-class head on ResNet-50 with the trunk frozen: the cached activation at avgpool is 2048 fp32 values
    = 8,192 bytes per image, 8,192 × 1,281,167 = 10,495,120,064 bytes for ImageNet's training set."""
    model = torchvision.models.resnet50(num_classes=3)
    analysis = analyze_training(model, (3, 224, 224), freeze="avgpool")
    assert analysis.totals.trainable_params == 2048 * 3 + 3
    assert precomputed_feature_bytes(analysis.forward, "avgpool") == (8192, 8192 * IMAGENET_TRAIN_IMAGES)
    assert analysis.totals.backward_macs == 2048 * 3  # only the head's weight gradient


# ---------------------------------------------------------------- step memory


def test_static_step_memory_by_hand():
    """ResNet-18: 11,689,512 parameters in 62 tensors, 9,600 running-statistic elements in 20 batch norms (and their
    20 int64 counters). Adam keeps two fp32 moments (2 × 4 B each) and a float32 `step` per tensor; its foreach step
    (CUDA's default) one parameter-sized temporary; its for-loop (the CPU's) √v and √v/c of the largest tensor
    (512·512·3·3) while the previous one's denominator (a 512-element batch-norm bias) is still bound, plus the 12 B
    of the scalar it divides by. fp32 gradients 4 B each. Mixed fp16: parameters and gradients 2 B, fp32 master
    weights 4 B."""
    model = torchvision.models.resnet18()
    params = 11_689_512
    adam = analyze_training(model, (3, 64, 64), optimizer=Optimizer.ADAM)
    assert adam.memory.parameter_bytes == 4 * params
    assert adam.memory.buffer_bytes == 4 * 9_600 + 8 * 20
    assert adam.memory.gradient_bytes == 4 * params
    assert adam.memory.optimizer_state_bytes == 8 * params + 4 * 62
    assert adam.memory.optimizer_impl is OptimizerImpl.FOREACH
    assert adam.memory.optimizer_step_bytes == 4 * params
    on_cpu = analyze_training(model, (3, 64, 64), optimizer=Optimizer.ADAM, device="cpu").memory
    assert on_cpu.optimizer_impl is OptimizerImpl.FOR_LOOP
    assert on_cpu.optimizer_step_bytes == 4 * (512 + 2 * 512 * 512 * 3 * 3) + 12
    fused = analyze_training(model, (3, 64, 64), optimizer=Optimizer.ADAM, optimizer_impl="fused").memory
    assert fused.optimizer_step_bytes == 0
    assert adam.memory.input_bytes == 3 * 64 * 64 * 4
    momentum = analyze_training(model, (3, 64, 64), optimizer="momentum")
    assert momentum.memory.optimizer_state_bytes == 4 * params
    mixed = analyze_training(model, (3, 64, 64), optimizer="sgd", precision="fp16")
    assert (mixed.memory.parameter_bytes, mixed.memory.master_weight_bytes) == (2 * params, 4 * params)
    assert mixed.memory.gradient_bytes == 2 * params


def test_timeline_peak_covers_saved_activations_and_gradients():
    """At the start of the backward every saved tensor is live; by the end every parameter gradient is. The peak is
    at least the static bytes plus the larger of the two, and the timeline runs forward → backward → optimizer."""
    model = torchvision.models.resnet18()
    memory = analyze_training(model, (3, 64, 64), batch_size=4).memory
    assert memory.peak_bytes >= memory.static_bytes + max(memory.saved_activation_bytes, memory.gradient_bytes)
    phases = [p.phase for p in memory.timeline]
    assert phases[0] is Phase.FORWARD and phases[-1] is Phase.OPTIMIZER
    assert phases.index(Phase.BACKWARD) > phases.index(Phase.FORWARD)
    assert max(p.peak_bytes for p in memory.timeline) == memory.peak_bytes
    end_of_backward = [p for p in memory.timeline if p.phase is Phase.BACKWARD][-1]
    # after the backward: static + every parameter gradient + the output (a training loop holds it until the step
    # ends: 4 × 1,000 logits); the saved tensors and the output's gradient are freed
    assert end_of_backward.live_bytes == memory.static_bytes + memory.gradient_bytes + 4 * 1000 * 4


def test_model_left_as_found():
    model = torchvision.models.resnet18().eval()
    model.layer1.requires_grad_(False)
    before = {name: p for name, p in model.named_parameters()}
    analyze_training(model, (3, 64, 64), freeze="layer2")
    assert not model.training and not any(m.training for m in model.modules())
    assert all(p is before[name] for name, p in model.named_parameters())
    assert not any(p.requires_grad for p in model.layer1.parameters())
    assert all(p.requires_grad for p in model.layer2.parameters())


def test_a_training_analysis_imports_neither_sympy_nor_dynamo():
    """Torch's Python meta kernels and `torch.autograd.backward`'s seed checks import sympy (and some dynamo) on
    first use, ~1 s and ~60 MB in a fresh process: the stand-ins and the direct engine call keep a CLI `--train` out
    of that."""
    import subprocess
    import sys
    from pathlib import Path

    code = (
        "import sys; from analyzers.training.analyze import analyze_training; from explorer.zoo import build_model\n"
        "for name, batch in (('resnet50', 1), ('vgg16', 1), ('mobilenet_v2', 1), ('efficientnet_b0', 1),"
        " ('googlenet', 1), ('inception_v3', 2)):\n"
        "    m = build_model(name); analyze_training(m.module, m.input_size, batch)\n"
        "print(sorted(k for k in ('sympy', 'torch._dynamo', 'pandas') if k in sys.modules))"
    )
    root = Path(__file__).resolve().parents[1]
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=root, check=True)
    assert result.stdout.strip() == "[]"
