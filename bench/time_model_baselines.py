"""The baselines the time model is compared with, on the same samples and the same held-out splits.

- MACs-proportional: time = c x FLOPs, one constant per device fitted on the training split (least squares in log:
  c is the geometric mean of measured ÷ FLOPs); for a device never measured, c is fitted on the others as time x
  peak ÷ FLOPs and divided by the new device's datasheet peak.
- plain datasheet roofline: each kernel at max(FLOPs ÷ peak, bytes ÷ bandwidth), summed; nothing fitted.
- roofline x one constant: the same, times the geometric mean of measured ÷ roofline on the training split.
- RuntimeEstimator's rule (torch.distributed._tools.runtime_estimator, roofline mode): max(FLOPs ÷ (0.75 x peak),
  bytes ÷ bandwidth) per kernel, summed; nothing fitted.
- model-level additive fit (the project's earlier bar, measured-facts.md): time per sample = non-negative
  combination of per-kind totals per sample (dense conv, grouped conv, depthwise, linear, batched matmul and
  attention FLOPs, element-wise ops, bytes, kernels ÷ batch), least squares on relative error (Lawson–Hanson NNLS).
  For an unseen device the totals are divided by that device's peaks first.

All read the same kernels (`analyzers.predict.kernels`) as the time model, so the comparison is on equal inputs.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

from analyzers.predict.fit import FitSample
from analyzers.predict.kernels import KernelKind

RUNTIME_ESTIMATOR_FACTOR = 0.75


_MEMO: dict[tuple[str, int], object] = {}  # per (quantity, id(sample)): the samples live for the whole run


def _memo(name: str, sample: FitSample, compute):
    key = (name, id(sample))
    if key not in _MEMO:
        _MEMO[key] = (sample, compute())  # the sample is kept so its id is never reused
    return _MEMO[key][1]


def _scaled(sample: FitSample):
    return sample.kernels.scaled(sample.batch, sample.device.element_bytes / sample.element_bytes)


def flops(samples: Sequence[FitSample]) -> np.ndarray:
    return np.array([s.kernels.flops.sum() * s.batch for s in samples])


def roofline_ms(samples: Sequence[FitSample], compute_factor: float = 1.0) -> np.ndarray:
    """Σ max(FLOPs ÷ (factor x peak), bytes ÷ bandwidth) per sample, in ms."""
    return np.array([_memo(f"roofline{compute_factor}", s, lambda s=s: _roofline(s, compute_factor))
                     for s in samples])


def _roofline(s: FitSample, compute_factor: float) -> float:
    k = _scaled(s)
    compute = k.flops / (compute_factor * s.device.tensor_tflops * 1e9)
    memory = k.bytes / (s.device.memory_gb_per_s * 1e6)
    return float(np.maximum(compute, memory).sum())


def measured(samples: Sequence[FitSample]) -> np.ndarray:
    return np.array([s.measured_ms for s in samples])


def geometric_constant(predicted: np.ndarray, measured_ms: np.ndarray) -> float:
    """The constant c minimising Σ (log c·predicted − log measured)²."""
    return float(np.exp(np.mean(np.log(measured_ms) - np.log(predicted))))


class MacsProportional:
    """time = c x FLOPs ÷ peak (c per device when the device is in the training split)."""

    def fit(self, train: Sequence[FitSample]) -> "MacsProportional":
        peaks = np.array([s.device.tensor_tflops for s in train])
        self.c = geometric_constant(flops(train) / peaks, measured(train))
        return self

    def predict(self, test: Sequence[FitSample]) -> np.ndarray:
        peaks = np.array([s.device.tensor_tflops for s in test])
        return self.c * flops(test) / peaks


class ScaledRoofline:
    def fit(self, train: Sequence[FitSample]) -> "ScaledRoofline":
        self.c = geometric_constant(roofline_ms(train), measured(train))
        return self

    def predict(self, test: Sequence[FitSample]) -> np.ndarray:
        return self.c * roofline_ms(test)


_GROUPS = (
    (KernelKind.DENSE_CONV,), (KernelKind.GROUPED_CONV,), (KernelKind.DEPTHWISE_CONV,), (KernelKind.GEMM,),
    (KernelKind.BATCHED_MATMUL, KernelKind.ATTENTION),
)


def additive_features(samples: Sequence[FitSample]) -> np.ndarray:
    """Per sample and per sample of the batch: FLOPs per kind group ÷ matrix peak, element-wise ops ÷ vector peak,
    bytes ÷ bandwidth, kernels ÷ batch (so that one set of weights serves devices of different peaks)."""
    return np.array([_memo("additive", s, lambda s=s: _additive_row(s)) for s in samples])


def _additive_row(s: FitSample) -> list[float]:
    k = _scaled(s)
    d = s.device
    row = [k.flops[np.isin(k.kind, group)].sum() / d.tensor_tflops / s.batch for group in _GROUPS]
    row.append(k.vector_ops.sum() / d.vector_tflops / s.batch)
    row.append(k.bytes.sum() / d.memory_gb_per_s / s.batch)
    row.append(len(k) / s.batch)
    return row


class AdditiveFit:
    """Non-negative least squares of time per sample on per-kind totals, on relative error."""

    def fit(self, train: Sequence[FitSample]) -> "AdditiveFit":
        x = additive_features(train)
        y = measured(train) / np.array([s.batch for s in train])
        self.scale = np.maximum(x.max(axis=0), 1e-30)
        self.w = nnls((x / self.scale) / y[:, None], np.ones(len(y)))
        return self

    def predict(self, test: Sequence[FitSample]) -> np.ndarray:
        x = additive_features(test) / self.scale
        per_sample = x @ self.w
        return np.maximum(per_sample, 1e-12) * np.array([s.batch for s in test])


def nnls(a: np.ndarray, b: np.ndarray, max_iterations: int = 500) -> np.ndarray:
    """min ‖a x − b‖ subject to x ≥ 0 (Lawson and Hanson's active-set method)."""
    m, n = a.shape
    x = np.zeros(n)
    passive = np.zeros(n, bool)
    w = a.T @ (b - a @ x)
    for _ in range(max_iterations):
        if passive.all() or w[~passive].max(initial=-np.inf) <= 1e-12:
            break
        j = np.argmax(np.where(passive, -np.inf, w))
        passive[j] = True
        while True:
            z = np.zeros(n)
            z[passive] = np.linalg.lstsq(a[:, passive], b, rcond=None)[0]
            if (z[passive] > 0).all():
                x = z
                break
            mask = passive & (z <= 0)
            alpha = np.min(x[mask] / (x[mask] - z[mask]))
            x = x + alpha * (z - x)
            passive &= x > 1e-15
        w = a.T @ (b - a @ x)
    return x
