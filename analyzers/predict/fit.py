"""Fitting the time model's parameters to measured model times.

Each sample is one measured configuration: a model's kernels (at batch 1, in the analysis dtype), the batch, the
device it ran on and the measured milliseconds per batch. The fit minimises a robust (Huber) loss of
log(predicted ÷ measured) over the samples with Levenberg–Marquardt, on the logits of the efficiencies (each kept
in (0, 1)), the exposed share and the cache factor (both in (0, 1)), and the logs of the memory efficiency and
the overhead, with the exact
gradient of `analyzers.predict.time_model`'s formula. A weak pull towards the starting point (`RIDGE`) keeps a
parameter that no sample exercises (a kind of kernel the data lacks) where it started instead of wandering.

Nothing here is tuned per data set: the start (`START`), the Huber threshold (`HUBER`, 10 % in log terms) and the
ridge are fixed constants, chosen before any held-out evaluation.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Sequence

import numpy as np

from analyzers.devices import DeviceKind
from analyzers.predict.kernels import KernelKind
from analyzers.predict.time_model import (
    KINDS,
    DeviceDescription,
    KernelArrays,
    TimeParameters,
    cached,
    combined,
    compute_and_memory_ms,
)

__all__ = ["FitSample", "FitResult", "PackedSamples", "fit_parameters", "predict_samples", "START", "HUBER",
           "RIDGE"]

START = TimeParameters(efficiency=(0.5,) * KINDS, memory_efficiency=0.7, overhead_us=30.0, exposed=0.3,
                       cache_factor=0.5)
HUBER = 0.1  # residuals beyond ±10 % (in log) count linearly, not squared: a few odd rows do not steer the fit
RIDGE = 1e-6  # per parameter, on log scale: only holds still a parameter no sample exercises
_FITTED_KINDS = tuple(k for k in KernelKind if k is not KernelKind.COPY)  # copies do no arithmetic
_N = len(_FITTED_KINDS) + 4  # efficiencies, memory efficiency, overhead, exposed share, cache factor


@dataclass(frozen=True)
class FitSample:
    """One measured configuration: kernels at batch 1 in the analysis dtype (`element_bytes` wide)."""

    name: str
    group: str  # what a cross-validation holds out together (a timm family)
    kernels: KernelArrays
    element_bytes: int
    batch: int
    device: DeviceDescription
    measured_ms: float


@dataclass(frozen=True)
class FitResult:
    parameters: TimeParameters
    iterations: int
    loss: float
    samples: int


class _Packed:
    """Every sample's kernels at its batch and storage width, repeated kernels merged (with a count), the device
    peaks per kernel: the arrays one evaluation of the loss needs."""

    def __init__(self, samples: Sequence[FitSample]) -> None:
        if not samples:
            raise ValueError("nothing to fit: no samples")
        kinds = {s.device.kind for s in samples}
        if len(kinds) != 1:
            raise ValueError("a fit covers GPUs or CPUs, not both (their per-kernel overheads combine differently)")
        self.gpu = kinds.pop() is DeviceKind.GPU
        parts, owner, tensor, vector, bandwidth, cache, count = [], [], [], [], [], [], []
        for i, s in enumerate(samples):
            merged, repeats = _merged(s.kernels)
            scale = s.device.element_bytes / s.element_bytes
            parts.append(merged.scaled(s.batch, scale))
            n = len(merged)
            owner.append(np.full(n, i, np.int32))
            tensor.append(np.full(n, s.device.tensor_tflops))
            vector.append(np.full(n, s.device.vector_tflops))
            bandwidth.append(np.full(n, s.device.memory_gb_per_s))
            cache.append(np.full(n, s.device.cache_bytes))
            count.append(repeats)
        self.kernels = KernelArrays.concatenate(parts)
        self.owner = np.concatenate(owner)
        self.tensor = np.concatenate(tensor)
        self.vector = np.concatenate(vector)
        self.bandwidth = np.concatenate(bandwidth)
        self.cache = np.concatenate(cache)
        self.count = np.concatenate(count)
        self.measured = np.array([s.measured_ms for s in samples])
        self.samples = len(samples)
        self.launches = np.bincount(self.owner, weights=self.count, minlength=self.samples)  # kernels per sample
        self.kind_rows = [self.kernels.kind == kind for kind in _FITTED_KINDS]

    def subset(self, samples: Sequence[int]) -> "_Packed":
        """The same arrays for some of the samples (in the order given), without merging the kernels again."""
        chosen = np.asarray(samples, dtype=np.int64)
        position = np.full(self.samples, -1, np.int64)
        position[chosen] = np.arange(len(chosen))
        rows = position[self.owner] >= 0
        part = object.__new__(_Packed)
        part.gpu = self.gpu
        part.kernels = KernelArrays(*(getattr(self.kernels, name)[rows] for name in (
            "kind", "flops", "vector_ops", "activation_bytes", "weight_bytes", "alignment", "layer")))
        part.owner = position[self.owner[rows]].astype(np.int32)
        for name in ("tensor", "vector", "bandwidth", "cache", "count"):
            setattr(part, name, getattr(self, name)[rows])
        part.measured = self.measured[chosen]
        part.samples = len(chosen)
        part.launches = self.launches[chosen]
        part.kind_rows = [part.kernels.kind == kind for kind in _FITTED_KINDS]
        return part

    def totals(self, params: TimeParameters) -> np.ndarray:
        """Predicted milliseconds per sample."""
        compute, memory = compute_and_memory_ms(self.kernels, self.tensor, self.vector, self.bandwidth, params,
                                                self.cache)
        busy = combined(compute, memory, params.exposed)
        busy_total = np.bincount(self.owner, weights=busy * self.count, minlength=self.samples)
        launch_total = params.overhead_us / 1e3 * self.launches
        return np.maximum(busy_total, launch_total) if self.gpu else busy_total + launch_total

    def totals_and_jacobian(self, params: TimeParameters) -> tuple[np.ndarray, np.ndarray]:
        """Predicted ms per sample and d log(total) / d θ (samples × parameters)."""
        k = self.kernels
        compute, memory = compute_and_memory_ms(k, self.tensor, self.vector, self.bandwidth, params, self.cache)
        vector_part = k.vector_ops / (self.vector * 1e9 * params.efficiency[KernelKind.ELEMENTWISE])
        matrix_part = compute - vector_part
        exposed = params.exposed
        busy = combined(compute, memory, exposed)
        compute_longer = compute >= memory
        d_compute = np.where(compute_longer, 1.0, exposed)
        d_memory = np.where(compute_longer, exposed, 1.0)
        d_exposed = exposed * np.minimum(compute, memory)  # d busy / d log(exposed)
        busy_total = np.bincount(self.owner, weights=busy * self.count, minlength=self.samples)
        launch_total = params.overhead_us / 1e3 * self.launches
        if self.gpu:  # max(Σ busy, launches × overhead): one of the two moves the total
            through = (busy_total >= launch_total).astype(np.float64)
            totals = np.maximum(busy_total, launch_total)
        else:
            through = np.ones(self.samples)
            totals = busy_total + launch_total
        columns = []
        for i, rows in enumerate(self.kind_rows):  # e = 1 / (1 + exp(−θ)): d log e / dθ = 1 − e
            term = -matrix_part * rows
            if _FITTED_KINDS[i] is KernelKind.ELEMENTWISE:
                term = term - vector_part
            columns.append(term * d_compute * (1.0 - params.efficiency[_FITTED_KINDS[i]]))
        columns.append(-memory * d_memory)
        columns.append(None)  # the overhead: per sample, below
        columns.append(d_exposed * (1.0 - exposed))  # logit
        columns.append(memory * cached(k, self.cache) * d_memory * (1.0 - params.cache_factor))  # logit
        jacobian = np.empty((self.samples, _N))
        for j, column in enumerate(columns):
            if column is None:
                jacobian[:, j] = launch_total * (1.0 - through if self.gpu else 1.0)
            else:
                summed = np.bincount(self.owner, weights=column * self.count, minlength=self.samples)
                jacobian[:, j] = summed * through
        return totals, jacobian / totals[:, None]


def _merged(kernels: KernelArrays) -> tuple[KernelArrays, np.ndarray]:
    """Identical kernels (repeated blocks) as one row with a count: the fit's arrays shrink several-fold."""
    table = np.stack([kernels.kind.astype(np.float64), kernels.flops, kernels.vector_ops, kernels.activation_bytes,
                      kernels.weight_bytes, kernels.alignment], axis=1)
    unique, inverse, counts = np.unique(table, axis=0, return_inverse=True, return_counts=True)
    merged = KernelArrays(unique[:, 0].astype(np.int8), unique[:, 1], unique[:, 2], unique[:, 3], unique[:, 4],
                          unique[:, 5], np.zeros(len(unique), np.int32))
    return merged, counts.astype(np.float64)


def _to_vector(params: TimeParameters) -> np.ndarray:
    """θ: the logits of the shares that cannot exceed 1 (each efficiency: no kernel beats its peak; the exposed
    share: compute and memory at most add; the cache factor: the cache never slows memory down), the logs of the
    memory efficiency and the overhead."""
    return np.array([*(_logit(params.efficiency[k]) for k in _FITTED_KINDS), math.log(params.memory_efficiency),
                     math.log(max(params.overhead_us, 1e-6)), _logit(params.exposed), _logit(params.cache_factor)])


def _logit(share: float) -> float:
    share = min(max(share, 1e-9), 1 - 1e-9)
    return math.log(share / (1 - share))


def _share(theta: float) -> float:
    return 1.0 / (1.0 + math.exp(-theta))


def _from_vector(theta: np.ndarray, template: TimeParameters) -> TimeParameters:
    theta = np.clip(theta, -30.0, 30.0)  # a wild trial step stays a valid (if poor) parameter set
    efficiency = list(template.efficiency)
    for i, kind in enumerate(_FITTED_KINDS):
        efficiency[kind] = _share(theta[i])
    n = len(_FITTED_KINDS)
    return TimeParameters(tuple(efficiency), math.exp(theta[n]), math.exp(theta[n + 1]), _share(theta[n + 2]),
                          _share(theta[n + 3]))


def _huber(residuals: np.ndarray) -> tuple[float, np.ndarray]:
    """The Huber loss and its IRLS weights."""
    a = np.abs(residuals)
    loss = np.where(a <= HUBER, 0.5 * a**2, HUBER * (a - 0.5 * HUBER))
    weights = np.where(a <= HUBER, 1.0, HUBER / np.maximum(a, 1e-12))
    return float(loss.sum()), weights


class PackedSamples:
    """Samples packed once (their kernels merged and scaled), for fitting and predicting many subsets of them, as
    a cross-validation does."""

    def __init__(self, samples: Sequence[FitSample]) -> None:
        self.samples = list(samples)
        self._packed = _Packed(self.samples)

    def fit(self, indices: Sequence[int], start: TimeParameters = START, *, max_iterations: int = 100
            ) -> FitResult:
        return _fit(self._packed.subset(indices), start, max_iterations)

    def predict(self, indices: Sequence[int], params: TimeParameters) -> np.ndarray:
        return self._packed.subset(indices).totals(params)


def fit_parameters(samples: Sequence[FitSample], start: TimeParameters = START, *, max_iterations: int = 100,
                   ) -> FitResult:
    """The parameters that make the predicted times of `samples` closest to their measurements."""
    return _fit(_Packed(samples), start, max_iterations)


OVERHEAD_GRID_US = (1.0, 3.0, 10.0, 30.0, 100.0, 300.0)  # starting overheads tried (see `_fit`)


def _fit(packed: _Packed, start: TimeParameters, max_iterations: int) -> FitResult:
    """Levenberg–Marquardt from `start`, with its overhead replaced by the best of `OVERHEAD_GRID_US` and of its
    own: on a GPU the overhead moves the total only for samples whose launches outlast their kernels, so from a
    start where none does its gradient is zero and it would never move."""
    log_measured = np.log(packed.measured)

    def objective(t: np.ndarray) -> float:
        residuals = np.log(packed.totals(_from_vector(t, start))) - log_measured
        return _huber(residuals)[0] + 0.5 * RIDGE * float(((t - theta0) ** 2).sum())

    theta0 = _to_vector(start)
    overhead = len(_FITTED_KINDS) + 1
    candidates = [theta0] + [np.where(np.arange(_N) == overhead, math.log(us), theta0) for us in OVERHEAD_GRID_US]
    theta = min(candidates, key=objective).copy()
    loss = objective(theta)
    damping = 1e-2
    iterations = 0
    for iterations in range(1, max_iterations + 1):
        totals, jacobian = packed.totals_and_jacobian(_from_vector(theta, start))
        residuals = np.log(totals) - log_measured
        _, weights = _huber(residuals)
        a = jacobian.T @ (jacobian * weights[:, None]) + RIDGE * np.eye(_N)
        g = jacobian.T @ (weights * residuals) + RIDGE * (theta - theta0)
        improved = False
        for _ in range(12):
            step = np.linalg.solve(a + damping * np.diag(np.diag(a) + 1e-9), -g)
            candidate = theta + step
            candidate_loss = objective(candidate)
            if candidate_loss < loss:
                improved = True
                done = loss - candidate_loss < 1e-7 * max(loss, 1e-12) or np.abs(step).max() < 1e-6
                theta, loss = candidate, candidate_loss
                damping = max(damping / 3, 1e-9)
                break
            damping *= 4
        if not improved or done:
            break
    return FitResult(_from_vector(theta, start), iterations, loss, packed.samples)


def predict_samples(samples: Sequence[FitSample], params: TimeParameters) -> np.ndarray:
    """Predicted milliseconds per batch of each sample."""
    return _Packed(samples).totals(params)
