"""The time model's arithmetic on hand-made layers: kernels from ops, times from kernels, layers from times.

Every expected number is derived by hand in the comments (shapes → MACs → bytes → milliseconds), not taken from
the code under test.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn
from torch.nn import functional as F

from analyzers import analyze
from analyzers.devices import DeviceKind, Precision
from analyzers.predict.fit import FitSample, fit_parameters, predict_samples
from analyzers.predict.kernels import KernelKind, model_work
from analyzers.predict.time_model import (
    DeviceDescription,
    KernelArrays,
    TimeParameters,
    kernel_times,
)

GPU = DeviceDescription("hand-made GPU", DeviceKind.GPU, tensor_tflops=1.0, vector_tflops=0.5, memory_gb_per_s=100.0,
                        precision=Precision.FP32)
CPU = DeviceDescription("hand-made CPU", DeviceKind.CPU, tensor_tflops=1.0, vector_tflops=0.5, memory_gb_per_s=100.0,
                        precision=Precision.FP32)
PARAMS = TimeParameters(efficiency=(0.5,) * 8, memory_efficiency=0.8, overhead_us=2.0, exposed=0.5)


def kernels_of(module: nn.Module, size: tuple[int, ...], batch: int = 1):
    return model_work(analyze(module, size, batch))


def test_conv_kernel_work_by_hand():
    # Conv 3→16, 3×3, padding 1, on 3×8×8: out 16×8×8 = 1,024 elements; MACs 1,024 · 3·3·3 = 27,648, FLOPs 55,296.
    # Bytes (fp32): input 3·64 = 192 and output 1,024 elements → 4,864 B; weights 16·3·3·3 = 432 → 1,728 B.
    # Channels fill tiles of 8: 3 of 8 input channels, 16 of 16 output channels → alignment 0.375.
    # The bias is its own element-wise kernel: 1,024 adds, reading and writing the output (8,192 B).
    (layer,) = kernels_of(nn.Conv2d(3, 16, 3, padding=1), (3, 8, 8))
    conv, bias = layer.kernels
    assert (conv.kind, conv.flops, conv.vector_ops, conv.activation_bytes, conv.weight_bytes, conv.alignment) == (
        KernelKind.DENSE_CONV, 55_296, 0, 4_864, 1_728, 0.375)
    assert (bias.kind, bias.vector_ops, bias.activation_bytes, bias.weight_bytes) == (
        KernelKind.ELEMENTWISE, 1_024, 8_192, 0)


def test_depthwise_grouped_and_linear_kinds():
    # Depthwise 8→8, groups 8 (one input channel per group); grouped 8→8, groups 2 (4 per group: alignment
    # (4/8)·(4/8) = 0.25); linear 8→12 on 5 rows: GEMM, FLOPs 2·5·8·12 = 960, activation bytes (5·8 + 5·12)·4 =
    # 400, weights 8·12·4 = 384 (plus bias adds 60, which addmm does in the same kernel), alignment (8/8)·(12/16).
    work = kernels_of(nn.Conv2d(8, 8, 3, groups=8, bias=False), (8, 6, 6))[0].kernels
    assert [k.kind for k in work] == [KernelKind.DEPTHWISE_CONV]
    grouped = kernels_of(nn.Conv2d(8, 8, 1, groups=2, bias=False), (8, 6, 6))[0].kernels[0]
    assert (grouped.kind, grouped.alignment) == (KernelKind.GROUPED_CONV, 0.25)
    (linear,) = kernels_of(nn.Linear(8, 12), (5, 8))[0].kernels
    assert (linear.kind, linear.flops, linear.activation_bytes, linear.weight_bytes, linear.alignment) == (
        KernelKind.GEMM, 960, 400, 384, 0.75)


class _Attention(nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        q = k = v = x.unflatten(-1, (2, 8)).transpose(1, 2)  # batch 1, 2 heads, 4 tokens, head dim 8
        return F.scaled_dot_product_attention(q, k, v)


def test_sdpa_math_path_becomes_one_fused_attention_kernel():
    # On meta SDPA runs its math (scalings, QKᵀ, safe softmax, AV); a GPU or CPU runs one kernel. For 2 heads of
    # 4 tokens and head dim 8: MACs 2·4·4·(8 + 8) = 512 → 1,024 FLOPs; bytes q + k + v + out = 4 · (2·4·8) · 4 B
    # = 1,024; softmax work 3 ops · 2·4·4 scores = 96.
    (layer,) = [w for w in kernels_of(_Attention(), (4, 16)) if w.kernels]
    attention = [k for k in layer.kernels if k.kind is KernelKind.ATTENTION]
    assert len(attention) == 1 and not any(k.kind is KernelKind.BATCHED_MATMUL for k in layer.kernels)
    assert (attention[0].flops, attention[0].activation_bytes, attention[0].vector_ops) == (1_024, 1_024, 96)
    unfused = model_work(analyze(_Attention(), (4, 16)), fused_attention=False)
    kinds = [k.kind for w in unfused for k in w.kernels]
    assert kinds.count(KernelKind.BATCHED_MATMUL) == 2 and KernelKind.ATTENTION not in kinds


def test_batch_one_work_scales_exactly_to_any_batch():
    net = nn.Sequential(nn.Conv2d(3, 8, 3), nn.BatchNorm2d(8), nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten(),
                        nn.Linear(8, 10))
    one = KernelArrays.from_layers(kernels_of(net, (3, 12, 12), 1))
    four = KernelArrays.from_layers(kernels_of(net, (3, 12, 12), 4))
    scaled = one.scaled(4)
    for column in ("kind", "flops", "vector_ops", "activation_bytes", "weight_bytes", "alignment"):
        assert np.array_equal(getattr(scaled, column), getattr(four, column)), column


def test_kernel_time_by_hand():
    # The conv above: compute 55,296 FLOP ÷ (1e12 · 0.5 · 0.375) = 2.94912e-7 s; memory 6,592 B ÷ (100e9 · 0.8)
    # = 8.24e-8 s; busy = max + 0.5 · min (half the shorter term exposed). The bias kernel: 1,024 ops ÷
    # (0.5e12 · 0.5) = 4.096e-9 s of compute, 8,192 B ÷ 8e10 = 1.024e-7 s of memory.
    # On the CPU each kernel adds the 2 µs overhead. On the GPU the host's 2 × 2 µs of launches take longer than
    # the two kernels' busy time, so the total is 4 µs and each kernel carries half the excess: overhead-bound.
    (layer,) = kernels_of(nn.Conv2d(3, 16, 3, padding=1), (3, 8, 8))
    arrays = KernelArrays.from_layers([layer])
    c, m = 2.94912e-7 * 1e3, 8.24e-8 * 1e3
    busy = c + 0.5 * m
    bias_busy = 1.024e-7 * 1e3 + 0.5 * 4.096e-9 * 1e3
    gpu = kernel_times(arrays, GPU, PARAMS)
    assert gpu.compute_ms[0] == pytest.approx(c, rel=1e-12) and gpu.memory_ms[0] == pytest.approx(m, rel=1e-12)
    assert gpu.busy_ms[0] == pytest.approx(busy, rel=1e-12) and gpu.busy_ms[1] == pytest.approx(bias_busy, rel=1e-12)
    assert gpu.total_ms == pytest.approx(0.004, rel=1e-12)
    excess = (0.004 - busy - bias_busy) / 2
    assert gpu.time_ms[0] == pytest.approx(busy + excess, rel=1e-12)
    assert list(gpu.bound) == [2, 2]  # overhead
    cpu = kernel_times(arrays, CPU, PARAMS)
    assert cpu.time_ms[0] == pytest.approx(busy + 0.002, rel=1e-12)
    assert cpu.time_ms[1] == pytest.approx(bias_busy + 0.002, rel=1e-12)
    fast = TimeParameters(efficiency=(0.5,) * 8, memory_efficiency=0.8, overhead_us=0.0, exposed=0.5)
    quick = kernel_times(arrays, GPU, fast)
    assert list(quick.bound) == [0, 1] and quick.total_ms == pytest.approx(busy + bias_busy, rel=1e-12)


def test_nothing_exposed_is_the_plain_roofline():
    (layer,) = kernels_of(nn.Conv2d(3, 16, 3, padding=1), (3, 8, 8))
    arrays = KernelArrays.from_layers([layer])
    sharp = TimeParameters(efficiency=(1.0,) * 8, memory_efficiency=1.0, overhead_us=0.0, exposed=0.0)
    times = kernel_times(arrays, GPU, sharp)
    # max(55,296 ÷ (1e12 · 0.375), 6,592 ÷ 1e11) s = 1.47456e-7 s
    assert times.time_ms[0] == pytest.approx(1.47456e-4, rel=1e-12)


def test_fit_recovers_the_parameters_that_made_the_data():
    # Samples timed by the model itself with known parameters: the fit must find them again (from its default
    # start), which checks the gradient and the optimiser, not the physics. Kernels span small to large, and every
    # third sample is ten thousand times smaller (its launches outlast its kernels, as a tiny model's do), so that
    # every parameter shapes some totals.
    rng = np.random.default_rng(0)
    truth = TimeParameters(efficiency=(0.6, 0.3, 0.08, 0.8, 0.5, 0.4, 0.05, 0.5), memory_efficiency=0.75,
                           overhead_us=4.0, exposed=0.3)
    samples = []
    for i in range(150):
        n = int(rng.integers(20, 60))
        kind = rng.choice([0, 1, 2, 3, 4, 5, 6, 7], size=n).astype(np.int8)
        tensor = np.isin(kind, [0, 1, 2, 3, 4, 5])
        size = 1e-4 if i % 3 == 0 else 1.0
        arrays = KernelArrays(kind, np.where(tensor, size * 10 ** rng.uniform(3, 9, n), 0.0),
                              np.where(kind == 6, size * 10 ** rng.uniform(3, 7, n), 0.0),
                              size * 10 ** rng.uniform(2, 7, n), np.where(kind <= 3, size * 10 ** rng.uniform(3, 6, n),
                                                                         0.0),
                              rng.uniform(0.3, 1.0, n), np.zeros(n, np.int32))
        sample = FitSample(f"s{i}", "g", arrays, 4, int(rng.integers(1, 64)), GPU, 1.0)
        measured = predict_samples([sample], truth)[0]
        samples.append(FitSample(f"s{i}", "g", arrays, 4, sample.batch, GPU, measured))
    fitted = fit_parameters(samples, max_iterations=200).parameters
    assert np.allclose(fitted.efficiency[:7], truth.efficiency[:7], rtol=2e-2)
    assert fitted.memory_efficiency == pytest.approx(0.75, rel=2e-2)
    assert fitted.overhead_us == pytest.approx(4.0, rel=2e-2)
    assert fitted.exposed == pytest.approx(0.3, rel=2e-2)


@pytest.mark.parametrize("field", ["low", "high", "median_abs_error", "within_25"])
def test_an_error_interval_with_nan_or_out_of_range_is_refused(field):
    # NaN passes every comparison, so a calibrated file's NaN would otherwise print "within nan–nan ms"
    from analyzers.predict.parameters import ErrorInterval

    values = {"low": 0.8, "high": 1.2, "median_abs_error": 0.1, "within_10": 0.5, "within_25": 0.9, "samples": 4,
              "basis": "test"}
    assert ErrorInterval.from_dict(values).low == 0.8
    for bad in (float("nan"), float("inf"), -0.5):
        with pytest.raises(ValueError):
            ErrorInterval.from_dict({**values, field: bad})


def test_time_parameters_refuse_nan():
    with pytest.raises(ValueError, match="finite"):
        TimeParameters((0.5,) * len(KernelKind), 0.5, float("nan"), 0.5)


@pytest.mark.parametrize(("device", "precision", "batch", "message"), [
    ("nope", None, None, "unknown device 'nope'; known: h200, "),
    (None, None, None, "device must be a table key such as 'rtx5090' or a Datasheet, got NoneType"),
    ("cpu", "fp16", None, "cpu has no fp16 peak (its datasheet gives: fp32)"),
    ("cpu", "int8", None, "precision 'int8': expected one of fp32, tf32, bf16, fp16"),
    ("rtx5090", None, 0, "batch must be a whole number of at least 1, got 0"),
    ("rtx5090", None, 1.5, "batch must be a whole number of at least 1, got 1.5"),
    ("rtx5090", None, True, "batch must be a whole number of at least 1, got True"),
])
def test_predict_refuses_what_it_cannot_use_in_one_line(device, precision, batch, message):
    # was: KeyError, ValueError or AttributeError tracebacks, and batch 0 or 1.5 predicted
    from analyzers.predict.prediction import PredictionError, predict

    analysis = analyze(nn.Sequential(nn.Conv2d(3, 8, 3)), (3, 8, 8))
    with pytest.raises(PredictionError) as caught:
        predict(analysis, device, precision, batch=batch)
    assert str(caught.value).startswith(message) and "\n" not in str(caught.value)


def test_predict_takes_numpy_batches_and_refuses_a_non_analysis():
    from analyzers.predict.prediction import PredictionError, predict

    analysis = analyze(nn.Sequential(nn.Conv2d(3, 8, 3)), (3, 8, 8))
    assert predict(analysis, "rtx5090", batch=np.int64(4)).batch == 4
    with pytest.raises(PredictionError, match="takes the Analysis that analyze"):
        predict(None, "cpu")
