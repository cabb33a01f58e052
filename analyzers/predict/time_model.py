"""The time of one kernel on one device: a roofline with fitted efficiencies, a smooth corner and a per-kernel cost.

For each kernel (`analyzers.predict.kernels`):

    compute = FLOPs / (peak x efficiency[kind] x alignment)      tensor kinds: the precision's matrix peak
            + element-wise ops / (vector peak x efficiency[element-wise])   depthwise convs also on the vector peak
    memory  = bytes / (bandwidth x memory efficiency)            x cache factor when the kernel's bytes fit the
                                                                  device's last-level cache (L2): on-chip traffic
    busy    = max(compute, memory) + exposed x min(compute, memory)   exposed = 0: the plain roofline's max (the
                                                                  shorter term hidden under the longer); 1: they add
and a model's time is the sum over its kernels, except for what the host spends launching them (the per-kernel
overhead):

    GPU:  total = max(Σ busy, kernels x overhead)   the host queues kernels ahead of the GPU, so its launch work
                                                  is hidden unless it takes longer than the GPU's: then the GPU
                                                  waits, and the excess is shared out over the kernels
    CPU:  total = Σ busy + kernels x overhead       the same thread dispatches and computes

Each kernel is *bound* by whichever of compute, memory or its share of launch overhead is largest; layer times
are their kernels' and add up to the total. The parameters are a handful of numbers per device
(`TimeParameters`), fitted to measured model times (`analyzers.predict.fit`); the peaks and bandwidth come from the
datasheet (`analyzers.devices`), so a device never measured is predicted from its datasheet and the parameters of
the devices that were.

Kernels are held as numpy arrays (`KernelArrays`), so that one model or thousands (the fit) go through the same
arithmetic.
"""

from __future__ import annotations

import enum
import math
from dataclasses import dataclass
from functools import cached_property, lru_cache
from typing import Iterable, Sequence

import numpy as np

from analyzers.devices import Datasheet, DeviceKind, Precision
from analyzers.predict.kernels import KernelKind, LayerKernels, LayerWork

__all__ = ["Bound", "DeviceDescription", "TimeParameters", "KernelArrays", "KernelTimes", "kernel_times", "model_arrays",
           "compute_and_memory_ms", "combined"]


class Bound(enum.StrEnum):
    """What limits a kernel or a layer: its arithmetic, its bytes, or the fixed cost of launching it."""

    COMPUTE = "compute"
    MEMORY = "memory"
    OVERHEAD = "overhead"


@dataclass(frozen=True)
class DeviceDescription:
    """What the time model reads of a device: peaks for the chosen precision (TFLOP/s), bandwidth (GB/s), how it
    runs eager PyTorch, and the storage width of the precision."""

    name: str
    kind: DeviceKind
    tensor_tflops: float  # matrix arithmetic (tensor cores; the fp32 peak on a CPU or for fp32 on a GPU)
    vector_tflops: float  # element-wise and depthwise arithmetic: the fp32 (CUDA core / SIMD) peak
    memory_gb_per_s: float
    precision: Precision
    cache_bytes: float = 0.0  # last-level cache (L2); 0: unknown, nothing counts as cached

    @classmethod
    @lru_cache(maxsize=64)
    def from_datasheet(cls, sheet: Datasheet, precision: Precision | str) -> "DeviceDescription":
        """The description of a table device running `precision`; ValueError when the table has no peak for it.
        Remembered per (sheet, precision): both are immutable, and every prediction asks again."""
        precision = Precision(precision)
        peak = sheet.peak
        tensor, vector = peak.tflops(precision), peak.fp32_tflops
        if tensor is None or vector is None or peak.memory_gb_per_s is None:
            have = ", ".join(p.value for p in Precision if peak.tflops(p) is not None) or "none"
            raise ValueError(f"{sheet.key} has no {precision.value} peak (its datasheet gives: {have})")
        cache = sheet.l2_mib * 2**20 if sheet.l2_mib else 0.0
        return cls(sheet.name, sheet.kind, tensor, vector, peak.memory_gb_per_s, precision, cache)

    @property
    def element_bytes(self) -> int:
        return self.precision.element_bytes


KINDS = len(KernelKind)
MODEL_MEMO_LIMIT = 32  # models whose kernel arrays are remembered (tens of kB each)


@dataclass(frozen=True)
class TimeParameters:
    """The fitted constants: per kernel kind the share of its peak the arithmetic reaches (0 to 1), the share of
    the bandwidth memory traffic reaches, the per-kernel overhead (µs), how much of the shorter of compute and
    memory time is exposed rather than hidden under the longer (0: none, the roofline's max; 1: all, they add), and
    the factor on the memory time of a kernel whose bytes fit the last-level cache."""

    efficiency: tuple[float, ...]  # indexed by KernelKind; COPY's is unused (copies do no arithmetic)
    memory_efficiency: float
    overhead_us: float
    exposed: float
    cache_factor: float = 1.0

    def __post_init__(self) -> None:
        if len(self.efficiency) != KINDS:
            raise ValueError(f"need {KINDS} efficiencies (one per kernel kind), got {len(self.efficiency)}")
        values = (*self.efficiency, self.memory_efficiency, self.overhead_us, self.exposed, self.cache_factor)
        if not all(math.isfinite(value) for value in values):  # NaN passes every comparison below
            raise ValueError("every parameter must be a finite number")
        if not (min(self.efficiency) > 0 and max(self.efficiency) <= 1) or self.memory_efficiency <= 0 or (
                self.overhead_us < 0 or not 0 <= self.exposed <= 1 or not 0 < self.cache_factor <= 1):
            raise ValueError("efficiencies and the cache factor must be in (0, 1], the exposed share in [0, 1], the "
                             "memory efficiency positive and the overhead non-negative")

    @cached_property
    def efficiency_by_kind(self) -> np.ndarray:
        """`efficiency` as a (read-only) array, to index by an array of kernel kinds."""
        array = np.asarray(self.efficiency)
        array.flags.writeable = False
        return array

    def as_dict(self) -> dict[str, object]:
        return {"efficiency": {kind.name.lower(): round(self.efficiency[kind], 6) for kind in KernelKind},
                "memory_efficiency": round(self.memory_efficiency, 6), "overhead_us": round(self.overhead_us, 6),
                "exposed": round(self.exposed, 6), "cache_factor": round(self.cache_factor, 6)}

    @classmethod
    def from_dict(cls, values: dict[str, object]) -> "TimeParameters":
        efficiency = values["efficiency"]
        return cls(tuple(float(efficiency[kind.name.lower()]) for kind in KernelKind),
                   float(values["memory_efficiency"]), float(values["overhead_us"]), float(values["exposed"]),
                   float(values.get("cache_factor", 1.0)))


@dataclass(frozen=True)
class KernelArrays:
    """Kernels as columns: one row per kernel, `layer` the index of the layer it belongs to."""

    kind: np.ndarray  # int8, KernelKind
    flops: np.ndarray  # float64
    vector_ops: np.ndarray
    activation_bytes: np.ndarray
    weight_bytes: np.ndarray
    alignment: np.ndarray
    layer: np.ndarray  # int32

    @classmethod
    def from_layers(cls, layers: Sequence[LayerWork]) -> "KernelArrays":
        rows = [(k.kind, k.flops, k.vector_ops, k.activation_bytes, k.weight_bytes, k.alignment, i)
                for i, layer in enumerate(layers) for k in layer.kernels]
        if not rows:
            return cls.empty()
        kind, flops, vector, activation, weight, alignment, layer = zip(*rows)
        return cls(np.array(kind, np.int8), np.array(flops, np.float64), np.array(vector, np.float64),
                   np.array(activation, np.float64), np.array(weight, np.float64), np.array(alignment, np.float64),
                   np.array(layer, np.int32))

    @classmethod
    def from_tables(cls, tables: Sequence[np.ndarray]) -> "KernelArrays":
        """The kernels of layers given as their `LayerKernels.table`s (layer i: tables[i]); the same arrays as
        `from_layers`, by one concatenation instead of a Python row per kernel."""
        if not tables:
            return cls.empty()
        kind, flops, vector, activation, weight, alignment = np.concatenate(tables, axis=1)
        layer = np.repeat(np.arange(len(tables), dtype=np.int32), [t.shape[1] for t in tables])
        return cls(kind.astype(np.int8), flops, vector, activation, weight, alignment, layer)

    def read_only(self) -> "KernelArrays":
        """The same arrays, locked (to be shared)."""
        for name in _COLUMNS:
            getattr(self, name).flags.writeable = False
        return self

    @classmethod
    def empty(cls) -> "KernelArrays":
        f = np.zeros(0, np.float64)
        return cls(np.zeros(0, np.int8), f, f, f, f, f, np.zeros(0, np.int32))

    @classmethod
    def concatenate(cls, parts: Iterable["KernelArrays"]) -> "KernelArrays":
        parts = list(parts)
        if not parts:
            return cls.empty()
        return cls(*(np.concatenate([getattr(p, name) for p in parts]) for name in _COLUMNS))

    def __len__(self) -> int:
        return len(self.kind)

    def scaled(self, batch: float, bytes_scale: float = 1.0) -> "KernelArrays":
        """At `batch` samples (work and activations times the batch, weights once), in a storage `bytes_scale`
        times as wide as the analysis dtype."""
        return KernelArrays(self.kind, self.flops * batch, self.vector_ops * batch,
                            self.activation_bytes * (batch * bytes_scale), self.weight_bytes * bytes_scale,
                            self.alignment, self.layer)

    @property
    def bytes(self) -> np.ndarray:
        return self.activation_bytes + self.weight_bytes


@lru_cache(maxsize=MODEL_MEMO_LIMIT)
def model_arrays(layers: tuple[LayerKernels, ...]) -> KernelArrays:
    """The kernel arrays of a model's layers (layer i: layers[i]), remembered (read-only): a model predicted again
    (on another device, at another batch, or analysed again) reuses them; only the device's arithmetic is redone."""
    return KernelArrays.from_tables([layer.table for layer in layers]).read_only()


_COLUMNS = ("kind", "flops", "vector_ops", "activation_bytes", "weight_bytes", "alignment", "layer")

_TENSOR = np.zeros(KINDS, bool)
for _kind in (KernelKind.DENSE_CONV, KernelKind.GROUPED_CONV, KernelKind.GEMM, KernelKind.BATCHED_MATMUL,
              KernelKind.ATTENTION):
    _TENSOR[_kind] = True


@dataclass(frozen=True)
class KernelTimes:
    """Milliseconds per kernel: the compute and memory terms, the busy time they combine into, the time charged to
    the kernel (busy plus its share of launch overhead) and what bounds it."""

    compute_ms: np.ndarray
    memory_ms: np.ndarray
    busy_ms: np.ndarray
    kernel_overhead_ms: float  # every kernel's share of launch overhead (on a GPU: only the part not hidden)
    time_ms: np.ndarray  # busy + overhead: what the kernel adds to the total

    @cached_property
    def overhead_ms(self) -> np.ndarray:
        """`kernel_overhead_ms` per kernel."""
        return np.full_like(self.busy_ms, self.kernel_overhead_ms)

    @cached_property
    def bound(self) -> np.ndarray:
        """int8: 0 compute, 1 memory, 2 overhead (the order of `Bound`): the largest of the three terms."""
        bound = (self.memory_ms > self.compute_ms).astype(np.int8)
        bound[np.maximum(self.compute_ms, self.memory_ms) < self.kernel_overhead_ms] = 2
        return bound

    @property
    def total_ms(self) -> float:
        return float(self.time_ms.sum())


BOUNDS = tuple(Bound)


def compute_and_memory_ms(kernels: KernelArrays, tensor_tflops: np.ndarray | float,
                          vector_tflops: np.ndarray | float, memory_gb_per_s: np.ndarray | float,
                          params: TimeParameters, cache_bytes: np.ndarray | float = 0.0
                          ) -> tuple[np.ndarray, np.ndarray]:
    """The compute and memory terms of every kernel (ms); device figures may be per-kernel arrays (kernels of
    several devices in one fit)."""
    efficiency = params.efficiency_by_kind[kernels.kind]
    tensor = _TENSOR[kernels.kind]
    matrix_rate = np.where(tensor, tensor_tflops, vector_tflops) * 1e9 * efficiency  # FLOP per ms
    matrix_rate = matrix_rate * np.where(tensor, kernels.alignment, 1.0)
    vector_rate = vector_tflops * 1e9 * params.efficiency[KernelKind.ELEMENTWISE]
    compute = kernels.flops / matrix_rate + kernels.vector_ops / vector_rate
    memory = kernels.bytes / (memory_gb_per_s * 1e6 * params.memory_efficiency)  # bytes per ms
    memory = memory * np.where(cached(kernels, cache_bytes), params.cache_factor, 1.0)
    return compute, memory


def cached(kernels: KernelArrays, cache_bytes: np.ndarray | float) -> np.ndarray:
    """Kernels whose bytes fit the last-level cache."""
    return kernels.bytes <= cache_bytes


def kernel_times(kernels: KernelArrays, device: DeviceDescription, params: TimeParameters) -> KernelTimes:
    """Every kernel's predicted time on `device` (the kernels already at the batch and storage width to predict)."""
    compute, memory = compute_and_memory_ms(kernels, device.tensor_tflops, device.vector_tflops,
                                            device.memory_gb_per_s, params, device.cache_bytes)
    busy = combined(compute, memory, params.exposed)
    launch = params.overhead_us / 1e3
    if device.kind is DeviceKind.GPU:
        excess = max(0.0, launch * len(kernels) - float(busy.sum()))  # host time the GPU waits for
        overhead = excess / len(kernels) if len(kernels) else 0.0
    else:
        overhead = launch
    return KernelTimes(compute, memory, busy, overhead, busy + overhead)


def combined(compute: np.ndarray, memory: np.ndarray, exposed: float) -> np.ndarray:
    """The longer of the two terms plus the exposed share of the shorter."""
    return np.maximum(compute, memory) + exposed * np.minimum(compute, memory)
