"""The roofline lower bound: no layer can run faster than its FLOPs at peak compute or its bytes at peak bandwidth.

For each leaf layer, `bound = max(FLOPs / peak TFLOP/s, bytes moved / bandwidth)`, where bytes moved are the
weights read, the inputs read and the new output activations written (one pass each, nothing cached). The model's
bound is the sum over its leaves: layers run one after another, so this is the floor for layer-by-layer (unfused)
execution. A fused or compiled model keeps some activations on chip and may beat it; measured ÷ bound below 1 says so.
FLOPs are the MAC FLOPs (2 × MACs); element-wise work does not enter the compute term, only its memory traffic.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

import torch

from analyzers.devices import DevicePeak, Precision
from analyzers.numbers import product
from analyzers.records import Analysis, LayerRecord, OpCategory

__all__ = [
    "LayerBound", "Limit", "ModelBound", "element_bytes", "layer_bound", "layer_bytes_moved", "measured_over_bound",
    "model_bound", "ridge_point",
]


class Limit(enum.StrEnum):
    """Which roof a layer sits under: its bytes at peak bandwidth or its FLOPs at peak compute."""

    MEMORY = "memory"
    COMPUTE = "compute"


@dataclass(frozen=True)
class LayerBound:
    """One layer's roofline: its work, its traffic and the two times they imply (milliseconds)."""

    name: str
    type: str
    flops: int
    bytes_moved: int
    compute_ms: float  # flops at peak
    memory_ms: float  # bytes moved at peak bandwidth
    category: OpCategory | None = None  # of the ops the layer ran (colours the roofline chart)

    @property
    def bound_ms(self) -> float:
        return max(self.compute_ms, self.memory_ms)

    @property
    def arithmetic_intensity(self) -> float:
        """FLOPs per byte moved (0 for a layer that moves nothing)."""
        return self.flops / self.bytes_moved if self.bytes_moved else 0.0

    @property
    def limit(self) -> Limit:
        """MEMORY when moving the bytes takes longer than the arithmetic (a tie counts as compute)."""
        return Limit.MEMORY if self.memory_ms > self.compute_ms else Limit.COMPUTE

    @property
    def memory_bound(self) -> bool:
        return self.limit is Limit.MEMORY


@dataclass(frozen=True)
class ModelBound:
    """The whole model's roofline: the sum of its leaf layers' bounds."""

    model_name: str
    peak_tflops: float
    memory_gb_per_s: float
    layers: tuple[LayerBound, ...]

    @property
    def flops(self) -> int:
        return sum(layer.flops for layer in self.layers)

    @property
    def bytes_moved(self) -> int:
        return sum(layer.bytes_moved for layer in self.layers)

    @property
    def bound_ms(self) -> float:
        return sum(layer.bound_ms for layer in self.layers)

    @property
    def arithmetic_intensity(self) -> float:
        return self.flops / self.bytes_moved if self.bytes_moved else 0.0

    @property
    def ridge_point(self) -> float:
        """The intensity (FLOPs/byte) above which a layer is compute-bound on this device."""
        return ridge_point(self.peak_tflops, self.memory_gb_per_s)


def element_bytes(dtype: torch.dtype | Precision | str) -> int:
    """Bytes per element of a torch dtype (an analysis's) or a precision ("fp32", "bf16", …)."""
    if isinstance(dtype, torch.dtype):
        return dtype.itemsize
    try:
        return Precision(dtype).element_bytes
    except ValueError:
        raise ValueError(f"unknown precision {dtype!r}: expected a torch dtype or one of "
                         f"{', '.join(p.value for p in Precision)}") from None


def layer_bytes_moved(record: LayerRecord, bytes_per_element: int, scale: float = 1.0) -> int:
    """Weights + inputs + new output activations of one layer, in bytes.

    `param_bytes` and `activation_bytes` come from the record (the analysis dtype); inputs are its input shapes
    times `bytes_per_element`. Weights and inputs are read once per call (`input_shapes` describe one call);
    `activation_bytes` already covers every call. `scale` converts to another storage dtype (0.5: fp32 → bf16).
    """
    input_elements = sum(product(shape) for shape in record.input_shapes)
    calls = max(record.calls, 1)
    moved = calls * (record.param_bytes + input_elements * bytes_per_element) + record.activation_bytes
    return moved if scale == 1.0 else round(moved * scale)


def layer_bound(
    record: LayerRecord, peak_tflops: float, memory_gb_per_s: float, bytes_per_element: int, scale: float = 1.0
) -> LayerBound:
    """The roofline of one layer on a device with these peaks."""
    _check_positive(peak_tflops, memory_gb_per_s)
    moved = layer_bytes_moved(record, bytes_per_element, scale)
    return LayerBound(
        name=record.name,
        type=record.type,
        category=record.category,
        flops=record.flops,
        bytes_moved=moved,
        compute_ms=record.flops / (peak_tflops * 1e12) * 1e3,
        memory_ms=moved / (memory_gb_per_s * 1e9) * 1e3,
    )


def model_bound(analysis: Analysis, peak: DevicePeak, precision: Precision | str,
                *, in_precision_storage: bool = False) -> ModelBound:
    """The roofline of every leaf layer of `analysis` and their sum, against `peak` for `precision`.

    Bytes are those of the analysis dtype; with `in_precision_storage`, they are rescaled to the precision's
    storage (an fp32 analysis read as bf16 moves half the bytes), so one analysis serves every dtype.
    Raises ValueError when the peak lacks the figure for this precision or the bandwidth.
    """
    precision = Precision(precision)
    peak_tflops = peak.tflops(precision)
    if peak_tflops is None or peak.memory_gb_per_s is None:
        raise ValueError(f"no {precision.value} peak or bandwidth known for {peak.name!r}")
    per_element = element_bytes(analysis.dtype)
    scale = precision.element_bytes / per_element if in_precision_storage else 1.0
    layers = tuple(
        layer_bound(record, peak_tflops, peak.memory_gb_per_s, per_element, scale) for record in analysis.leaves()
    )
    return ModelBound(analysis.model_name, peak_tflops, peak.memory_gb_per_s, layers)


def ridge_point(peak_tflops: float, memory_gb_per_s: float) -> float:
    """FLOPs per byte at which compute time equals memory time."""
    _check_positive(peak_tflops, memory_gb_per_s)
    return peak_tflops * 1e12 / (memory_gb_per_s * 1e9)


def measured_over_bound(measured_ms: float, bound_ms: float) -> float:
    """How many times slower than its roofline bound a run was (1.0 = at the bound)."""
    if bound_ms <= 0:
        raise ValueError(f"the bound must be positive, got {bound_ms}")
    return measured_ms / bound_ms


def _check_positive(peak_tflops: float, memory_gb_per_s: float) -> None:
    if peak_tflops <= 0 or memory_gb_per_s <= 0:
        raise ValueError(f"peaks must be positive: {peak_tflops} TFLOP/s, {memory_gb_per_s} GB/s")
