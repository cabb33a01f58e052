"""A model's predicted time on a device, layer by layer: what each layer costs and what bounds it.

`predict(analysis, device)` turns an analysis (or `predict_training` a training analysis) into kernels, times them
with the device's fitted parameters (`analyzers.predict.parameters`) and adds them up per layer. Every number here
is a prediction, and carries the error interval measured on models the fit never saw (`ErrorInterval`), so
nothing downstream can show it as a measurement.
"""

from __future__ import annotations

import numbers
from dataclasses import dataclass, field, fields
from functools import cached_property
from typing import Protocol, Sequence

import numpy as np

from analyzers.devices import Datasheet, Precision
from analyzers.errors import UserError
from analyzers.predict.kernels import LayerWork, layer_kernels
from analyzers.predict.parameters import DeviceModel, ErrorInterval, device_model
from analyzers.predict.time_model import (
    BOUNDS,
    Bound,
    DeviceDescription,
    KernelArrays,
    KernelTimes,
    kernel_times,
    model_arrays,
)
from analyzers.records import Analysis, OpCategory, with_state
from analyzers.safe_text import printable

__all__ = ["LayerTime", "LayerSums", "Prediction", "PredictionError", "predict", "predict_training", "predict_work"]


@dataclass(frozen=True)
class LayerTime:
    """One leaf layer's predicted milliseconds, split into its kernels' compute, memory and overhead terms."""

    name: str
    type: str
    category: OpCategory | None
    macs: int
    kernels: int
    compute_ms: float  # the kernels' arithmetic at the fitted efficiencies
    memory_ms: float  # their bytes at the fitted share of the bandwidth
    overhead_ms: float  # the layer's share of launch overhead (on a GPU, only what the kernels do not hide)
    time_ms: float  # predicted
    bound: Bound | None  # what most of the layer's time waits on; None for a layer that launches nothing

    @property
    def predicted(self) -> bool:
        return True


_LAYER_TIME_FIELDS = frozenset(f.name for f in fields(LayerTime))


@dataclass(frozen=True)
class LayerSums:
    """Per-layer sums of the kernel times, one plain-number list per column (layer i at index i)."""

    kernels: list[int]
    compute_ms: list[float]
    memory_ms: list[float]
    overhead_ms: list[float]
    time_ms: Sequence[float]
    bound: list[int]  # index into BOUNDS of the bound holding most of the layer's time


class NamedLayer(Protocol):
    """What a layer row takes from the layer it describes (a leaf `LayerRecord` or a `LayerWork`)."""

    name: str
    type: str
    category: OpCategory | None
    macs: int


@dataclass(frozen=True)
class Prediction:
    """The predicted time of one forward (or training step) of `batch` samples on `device`. The totals read the
    per-layer times; the per-layer detail (terms, bounds, rows) is added up from the kernels' times on first use."""

    model_name: str
    device: DeviceDescription
    device_key: str
    batch: int
    training: bool
    interval: ErrorInterval  # how far measured times fell from predictions on held-out models
    parameters_from: str  # which fit the parameters come from, in words
    sources: Sequence[NamedLayer] = field(repr=False)  # the layers, in order
    layer_time_ms: tuple[float, ...] = field(repr=False)  # each layer's predicted time: its kernels' times, in order
    kernel_times: KernelTimes = field(repr=False, compare=False)  # per kernel
    kernel_layer: np.ndarray = field(repr=False, compare=False)  # the index of each kernel's layer in `sources`

    @cached_property
    def sums(self) -> LayerSums:
        count, layer, times = len(self.sources), self.kernel_layer, self.kernel_times
        compute, memory, overhead = (np.bincount(layer, weights=values, minlength=count).tolist()
                                     for values in (times.compute_ms, times.memory_ms, times.overhead_ms))
        # the bound holding most of each layer's time: its kernels' times summed per (layer, bound)
        by_bound = np.bincount(layer * len(BOUNDS) + times.bound, weights=times.time_ms,
                               minlength=count * len(BOUNDS)).reshape(count, len(BOUNDS))
        return LayerSums(np.bincount(layer, minlength=count).tolist(), compute, memory, overhead,
                         self.layer_time_ms, by_bound.argmax(axis=1).tolist())

    @cached_property
    def layers(self) -> tuple[LayerTime, ...]:
        """One row per layer (built by `with_state`: one per layer, hundreds in a model)."""
        s = self.sums
        return tuple(
            with_state(LayerTime, dict(name=w.name, type=w.type, category=w.category, macs=w.macs, kernels=n,
                                       compute_ms=compute, memory_ms=memory, overhead_ms=overhead, time_ms=total,
                                       bound=BOUNDS[bound] if n else None), _LAYER_TIME_FIELDS)
            for w, n, compute, memory, overhead, total, bound in zip(
                self.sources, s.kernels, s.compute_ms, s.memory_ms, s.overhead_ms, s.time_ms, s.bound))

    @property
    def total_ms(self) -> float:
        return sum(self.layer_time_ms)

    @property
    def throughput(self) -> float:
        """Samples per second, predicted."""
        return self.batch / (self.total_ms / 1e3) if self.total_ms > 0 else float("inf")

    @property
    def bound_shares(self) -> dict[Bound, float]:
        """Share of the predicted time in layers bound by compute, memory and overhead."""
        total = self.total_ms or 1.0
        s = self.sums
        return {b: sum(t for n, t, bound in zip(s.kernels, s.time_ms, s.bound) if n and BOUNDS[bound] is b) / total
                for b in Bound}

    @property
    def kernels(self) -> int:
        return len(self.kernel_layer)


class PredictionError(UserError):
    """A device, precision or batch that a prediction cannot use; `str()` is one line saying what is allowed."""


def _chosen(device: str | Datasheet, model: DeviceModel | None, *, training: bool) -> DeviceModel:
    if model is not None:
        return model
    if not isinstance(device, (str, Datasheet)):
        raise PredictionError(f"device must be a table key such as 'rtx5090' or a Datasheet, got "
                              f"{type(device).__name__}")
    try:
        return device_model(device, training=training)
    except KeyError as exc:  # an unknown device, or one without fitted parameters
        raise PredictionError(printable(str(exc).strip("'\""))) from None


def _precision(precision: Precision | str | None, chosen: DeviceModel) -> Precision:
    if precision is None:
        return chosen.default_precision
    try:
        return Precision(precision)
    except ValueError:
        raise PredictionError(f"precision {printable(repr(precision))}: expected one of "
                              f"{', '.join(p.value for p in Precision)}") from None


def predict(analysis: Analysis, device: str | Datasheet, precision: Precision | str | None = None,
            *, batch: int | None = None, model: DeviceModel | None = None) -> Prediction:
    """Predict one forward of `analysis` (any dtype) on a table device (key or row) in `precision` (default: bf16
    on a GPU, fp16 on one without bf16, fp32 on a CPU), at the analysis's batch or at `batch` (the work per sample is
    exactly linear in the batch, the weights are read once). `model` replaces the shipped parameters (a calibration)."""
    if not isinstance(analysis, Analysis):
        raise PredictionError(f"predict takes the Analysis that analyze() returns, got {type(analysis).__name__}")
    chosen = _chosen(device, model, training=False)
    precision = _precision(precision, chosen)
    fused = chosen.software.fused_attention
    autocast = chosen.software.autocast and precision in (Precision.FP16, Precision.BF16)
    element = analysis.dtype.itemsize
    leaves = tuple(analysis.leaves())
    arrays = model_arrays(tuple([layer_kernels(r.ops, r.activation_bytes, bool(r.param_tensors), element, fused,
                                               autocast) for r in leaves]))
    return _timed(leaves, arrays, element, analysis.model_name, analysis.batch_size, chosen, precision,
                  training=False, batch=batch)


def predict_training(training, device: str | Datasheet, precision: Precision | str | None = None,
                     *, model: DeviceModel | None = None) -> Prediction:
    """Predict one training step (forward, backward, optimizer) of a `TrainingAnalysis`."""
    from analyzers.predict.training_kernels import training_work
    from analyzers.training.analyze import TrainingAnalysis

    if not isinstance(training, TrainingAnalysis):
        raise PredictionError(f"predict_training takes the TrainingAnalysis that analyze_training() returns, got "
                              f"{type(training).__name__}")
    chosen = _chosen(device, model, training=True)
    precision = _precision(precision, chosen)
    work = training_work(training, fused_attention=chosen.software.fused_attention,
                         foreach_optimizer=chosen.software.foreach_optimizer,
                         autocast=chosen.software.autocast and precision in (Precision.FP16, Precision.BF16))
    forward = training.forward
    return predict_work(work, forward.dtype.itemsize, forward.model_name, forward.batch_size, chosen, precision,
                        training=True)


def predict_work(work: Sequence[LayerWork], element_bytes: int, model_name: str, analysed_batch: int,
                 chosen: DeviceModel, precision: Precision, *, training: bool, batch: int | None = None
                 ) -> Prediction:
    """Time the kernels of `work` (at `analysed_batch`, stored `element_bytes` wide) on the chosen device model, at
    `batch` (default: the analysed batch)."""
    return _timed(work, KernelArrays.from_layers(work), element_bytes, model_name, analysed_batch, chosen, precision,
                  training=training, batch=batch)


def _timed(layers: Sequence[NamedLayer], arrays: KernelArrays, element_bytes: int, model_name: str,
           analysed_batch: int, chosen: DeviceModel, precision: Precision, *, training: bool, batch: int | None
           ) -> Prediction:
    """Time `arrays` (the kernels of `layers`, at `analysed_batch`, stored `element_bytes` wide) at `batch` and add
    their times up per layer."""
    if batch is not None and (isinstance(batch, bool) or not isinstance(batch, numbers.Integral) or batch < 1):
        raise PredictionError(f"batch must be a whole number of at least 1, got {batch!r}")
    try:
        description = chosen.description(precision)
    except ValueError as exc:  # no peak for that precision in the device's datasheet
        raise PredictionError(str(exc)) from None
    batch = int(batch) if batch is not None else analysed_batch  # a numpy integer too
    arrays = arrays.scaled(batch / analysed_batch, description.element_bytes / element_bytes)
    times = kernel_times(arrays, description, chosen.parameters)
    # plain Python numbers: indexing numpy arrays element by element costs more than the rest
    layer_time_ms = tuple(np.bincount(arrays.layer, weights=times.time_ms, minlength=len(layers)).tolist())
    return Prediction(model_name, description, chosen.key, batch, training, chosen.interval, chosen.fitted_on,
                      layers, layer_time_ms, times, arrays.layer)
