"""The benchmark harness: time real models honestly and put the counted cost next to the measured time.

Method (the same on every row): eval mode under `torch.inference_mode()`, cuDNN autotuning on, untimed warm-up
(and an untimed first call that compiles, under `--compile`), then `iters` timed forward passes. On CUDA each
iteration sits between two CUDA events and the stream is synchronised once at the end, so the timing adds no host
sync to the loop; on CPU (where ops return when done) each iteration is timed with `perf_counter`.

Peak memory is the CUDA allocator's high-water mark over the timed iterations (weights, input, activations,
workspaces). On CPU it is left blank: the process's RSS high-water mark never goes down, so after the first config
it would only report the largest config so far, and a per-call RSS delta misses what malloc returns in between.

The harness never imports `explorer`: models come from a factory `(name, device) -> nn.Module` the caller passes
(called with the meta device for counting and with the real device for timing), and the counted cost comes from a
counter `(meta_module, config) -> Analysis`, by default `analyzers.counting.analyze`.
"""

from __future__ import annotations

import contextlib
import gc
import os
import subprocess
import sys
import time
import warnings
from dataclasses import asdict, dataclass, replace
from datetime import datetime, timezone
from typing import Callable, Iterable, Iterator

import numpy as np
import torch
from torch import nn
from tqdm import tqdm

from analyzers.bench.results_file import ResultsFile
from analyzers.bench.schema import BENCH_RESULTS, BenchStatus, ConfigKey, MemoryFormat
from analyzers.devices import DevicePeak, PeakSource, Precision, device_name, peak_for, tf32_math
from analyzers.errors import UserError, first_line
from analyzers.predict.roofline import measured_over_bound, model_bound
from analyzers.records import Analysis
from analyzers.time_limit import TimeLimitExceeded, time_limit

__all__ = [
    "BenchConfig", "BenchResult", "CostCounter", "Environment", "ModelFactory", "PeakLookup", "count_with_analyzer",
    "default_device", "describe_environment", "is_out_of_memory", "measure", "run_sweep", "time_iterations",
]

ModelFactory = Callable[[str, torch.device], nn.Module]
CostCounter = Callable[[nn.Module, "BenchConfig"], Analysis]
PeakLookup = Callable[[torch.device], DevicePeak]

from analyzers.shapes.layout import META  # noqa: E402  (the one meta device constant)


def default_device() -> str:
    """`cuda` when a GPU is usable, else `cpu`."""
    return "cuda" if torch.cuda.is_available() else "cpu"


@dataclass(frozen=True)
class BenchConfig:
    """One point of a sweep: which model, how it is fed, and how long it is timed."""

    model: str
    batch: int
    input_size: tuple[int, int, int]  # C, H, W
    dtype: Precision = Precision.FP32
    memory_format: MemoryFormat = MemoryFormat.NCHW
    compile: bool = False
    device: str = "cpu"
    iters: int = 50
    warmup: int = 10

    def __post_init__(self) -> None:
        object.__setattr__(self, "dtype", Precision(self.dtype))
        object.__setattr__(self, "memory_format", MemoryFormat(self.memory_format))
        object.__setattr__(self, "input_size", tuple(int(d) for d in self.input_size))
        if self.batch < 1:
            raise ValueError(f"batch must be at least 1, got {self.batch}")
        if len(self.input_size) != 3 or min(self.input_size) < 1:
            raise ValueError(f"input size must be three positive numbers C×H×W, got {self.input_size}")
        if self.iters < 1 or self.warmup < 0:
            raise ValueError(f"need iters ≥ 1 and warmup ≥ 0, got iters={self.iters}, warmup={self.warmup}")
        kind = torch.device(self.device).type
        if kind not in ("cpu", "cuda"):
            raise ValueError(f"device must be cpu or cuda, got {self.device!r}")
        if self.dtype is Precision.TF32 and kind != "cuda":
            raise ValueError("tf32 is a CUDA tensor-core mode; on cpu use fp32")

    @property
    def input_label(self) -> str:
        """The input as the CSV writes it: '3x224x224'."""
        return "x".join(str(d) for d in self.input_size)

    @property
    def torch_memory_format(self) -> torch.memory_format:
        return torch.channels_last if self.memory_format is MemoryFormat.CHANNELS_LAST else torch.contiguous_format


@dataclass(frozen=True)
class BenchResult:
    """One row of the results CSV (columns in `analyzers.bench.schema.COLUMNS` order)."""

    model: str
    batch: int
    input_size: str
    dtype: Precision
    memory_format: MemoryFormat
    compile: bool
    device: str
    device_name: str
    status: BenchStatus
    error_message: str | None  # the exception's type and first line, for status error
    latency_ms_p50: float | None
    latency_ms_p95: float | None
    latency_ms_min: float | None
    images_per_s: float | None
    peak_memory_bytes: int | None
    estimated_memory_bytes: int | None
    memory_over_estimate: float | None
    flops: int | None
    achieved_tflops: float | None
    peak_tflops: float | None
    memory_gb_per_s: float | None  # the bandwidth the roofline used: the spec sheet's or the measured copy's
    peak_source: PeakSource
    pct_of_peak: float | None
    roofline_ms: float | None
    measured_over_roofline: float | None
    iters: int
    warmup: int
    driver: str | None
    torch_version: str
    cuda_version: str | None
    cudnn_version: str | None
    date: str


@dataclass(frozen=True)
class Environment:
    """The software and hardware a row was measured on."""

    device_name: str
    driver: str | None
    torch_version: str
    cuda_version: str | None
    cudnn_version: str | None


def describe_environment(device: torch.device | str) -> Environment:
    device = torch.device(device)
    on_cuda = device.type == "cuda"
    cudnn = torch.backends.cudnn.version() if on_cuda else None
    return Environment(
        device_name=device_name(device),
        driver=_nvidia_driver() if on_cuda else None,
        torch_version=torch.__version__,
        cuda_version=torch.version.cuda,
        cudnn_version=str(cudnn) if cudnn else None,
    )


def _nvidia_driver() -> str | None:
    """The NVIDIA driver version (e.g. '550.54.15'); torch does not expose it, NVML or nvidia-smi do."""
    try:
        import pynvml

        pynvml.nvmlInit()
        version = pynvml.nvmlSystemGetDriverVersion()
        return version.decode() if isinstance(version, bytes) else str(version)
    except Exception:  # pynvml missing or NVML unavailable: fall back to nvidia-smi
        pass
    try:
        out = subprocess.run(
            ["nvidia-smi", "--query-gpu=driver_version", "--format=csv,noheader"],
            capture_output=True, text=True, timeout=10, check=True,
        )  # fmt: skip
        return out.stdout.strip().splitlines()[0] or None
    except (OSError, subprocess.SubprocessError, IndexError):
        return None


def count_with_analyzer(meta_model: nn.Module, config: BenchConfig) -> Analysis:
    """The analyzer's count of one forward at the config's batch, input and dtype (on the meta device)."""
    from analyzers.counting.analyze import analyze  # imported on first use: timing does not need it

    return analyze(
        meta_model,
        input_size=config.input_size,
        batch_size=config.batch,
        dtype=config.dtype.torch_dtype,
        model_name=config.model,
    )


# --- timing ----------------------------------------------------------------------------------------------------


def time_iterations(step: Callable[[], object], device: torch.device, iters: int) -> list[float]:
    """Milliseconds of each of `iters` calls of `step` (CUDA events on a GPU, perf_counter on CPU)."""
    if device.type == "cuda":
        starts = [torch.cuda.Event(enable_timing=True) for _ in range(iters)]
        ends = [torch.cuda.Event(enable_timing=True) for _ in range(iters)]
        for start, end in zip(starts, ends):
            start.record()
            step()
            end.record()
        torch.cuda.synchronize(device)
        return [start.elapsed_time(end) for start, end in zip(starts, ends)]
    latencies = []
    for _ in range(iters):
        start = time.perf_counter()
        step()
        latencies.append((time.perf_counter() - start) * 1e3)
    return latencies


@contextlib.contextmanager
def _cudnn_benchmark() -> Iterator[None]:
    saved = torch.backends.cudnn.benchmark
    torch.backends.cudnn.benchmark = True
    try:
        yield
    finally:
        torch.backends.cudnn.benchmark = saved


def _synchronize(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


@dataclass(frozen=True)
class _Measurement:
    latencies_ms: tuple[float, ...]
    peak_memory_bytes: int | None


def measure(config: BenchConfig, model_factory: ModelFactory) -> _Measurement:
    """Build the model on the device in the config's dtype and layout, warm it up, and time it."""
    device = torch.device(config.device)
    with torch.cuda.device(device) if device.type == "cuda" else contextlib.nullcontext():
        model = model_factory(config.model, device).eval()
        model = model.to(dtype=config.dtype.torch_dtype, memory_format=config.torch_memory_format)
        inputs = torch.randn(config.batch, *config.input_size, device=device, dtype=config.dtype.torch_dtype)
        inputs = inputs.contiguous(memory_format=config.torch_memory_format)
        if config.compile:
            torch._dynamo.reset()  # a fresh cache: recompiling per config would otherwise hit dynamo's limit
            model = torch.compile(model)
        with torch.inference_mode(), tf32_math(device, config.dtype is Precision.TF32), _cudnn_benchmark():
            if config.compile:
                model(inputs)  # compilation happens here, outside warm-up and timing
            for _ in range(config.warmup):
                model(inputs)
            _synchronize(device)
            if device.type == "cuda":
                torch.cuda.reset_peak_memory_stats(device)
            latencies = time_iterations(lambda: model(inputs), device, config.iters)
        peak = torch.cuda.max_memory_allocated(device) if device.type == "cuda" else None
    return _Measurement(tuple(latencies), peak)


# --- the sweep -------------------------------------------------------------------------------------------------


def run_sweep(
    configs: Iterable[BenchConfig],
    model_factory: ModelFactory,
    csv_path: str | os.PathLike[str],
    *,
    counter: CostCounter | None = count_with_analyzer,
    device_peak: PeakLookup = peak_for,
    progress: bool = True,
    time_limit_s: float | None = None,
) -> list[BenchResult]:
    """Measure every config not already in `csv_path`, appending each row to it as soon as it is done.

    An out-of-memory error becomes an `oom` row, any other exception an `error` row with its message, and the sweep goes on.
    FLOPs come from `counter` (None: leave FLOP columns blank); when counting fails the row is still timed and a
    warning says why its FLOP columns are blank. `device_peak` gives the ceiling for % of peak and the roofline
    (spec sheet by default; pass `lambda device: measured` to use a `measure_peak` result).
    Returns the rows this call wrote (rows already present are skipped, not returned).

    `time_limit_s` bounds each configuration (counting, build, warm-up, timing) and the device's peak probe: a
    configuration over it is an `error` row saying so (the sweep goes on), a probe over it a `UserError`.

    The file is checked before anything is measured (a `ResultsFileError` when it cannot be
    used). Several sweeps may share it: each re-reads it before a config and under its lock before writing, so
    every configuration is written once (two sweeps that start the same config at the same moment both measure
    it, and only the first row is kept). A torn last line left by a killed run is dropped, with a line on stderr.
    """
    configs = list(configs)
    environments: dict[str, Environment] = {}
    peaks: dict[str, DevicePeak] = {}
    analyses: dict[tuple[object, ...], Analysis | None] = {}
    results: list[BenchResult] = []
    with ResultsFile(csv_path, BENCH_RESULTS) as results_file, tqdm(
        total=len(configs), desc="bench", unit="config", file=sys.stderr, disable=not progress
    ) as bar:
        for config in configs:
            if config.device not in environments:
                environments[config.device] = describe_environment(config.device)
                peaks[config.device] = _probe_peak(device_peak, config.device, time_limit_s)
            environment, peak = environments[config.device], peaks[config.device]
            bar.set_postfix_str(f"{config.model} batch {config.batch}")
            key = _key(config, environment)
            if asdict(key) in results_file:  # re-read each time: another sweep may have finished it meanwhile
                bar.update(1)
                continue
            count_key = (config.model, config.batch, config.input_size, config.dtype)
            try:
                with time_limit(time_limit_s):
                    if counter is not None and count_key not in analyses:
                        analyses[count_key] = _count(counter, model_factory, config)
                    result = _run_one(config, model_factory, analyses.get(count_key), peak, environment)
            except TimeLimitExceeded as exc:
                result = _row(config, environment, peak, BenchStatus.ERROR, analysis=analyses.get(count_key),
                              error_message=f"stopped after {exc.seconds:g} s (the time limit per configuration)")
            _free_memory(config, failed=result.status is not BenchStatus.OK)
            if results_file.append(asdict(result)):  # False: a concurrent sweep wrote this config first
                results.append(result)
            bar.update(1)
    return results


def _probe_peak(device_peak: PeakLookup, device: str, time_limit_s: float | None) -> DevicePeak:
    try:
        with time_limit(time_limit_s):
            return device_peak(torch.device(device))
    except TimeLimitExceeded as exc:
        raise UserError(f"measuring the peak of {device} took over {exc.seconds:g} s (the time limit); use the "
                        "spec sheet's peak or a longer limit") from None


def bench_one(
    config: BenchConfig,
    model_factory: ModelFactory,
    *,
    counter: CostCounter | None = count_with_analyzer,
    device_peak: PeakLookup = peak_for,
    time_limit_s: float | None = None,
    gpu_kind: str | None = None,
) -> BenchResult:
    """One configuration measured in this process, on its own: what a cluster worker runs for one unit.

    The same steps as one turn of `run_sweep` (the environment, the device's peak, the count, the timing, each
    bounded by `time_limit_s`; any failure a row), with the peak looked up once per process and device.
    `gpu_kind` is the kind of node the unit was scheduled on: the row's `device_name` says it where the device's
    own name does not (`analyzers.distributed.gpu_kinds.device_label`).
    """
    from analyzers.distributed.gpu_kinds import device_label

    environment = describe_environment(config.device)
    environment = replace(environment, device_name=device_label(environment.device_name, gpu_kind))
    peak_key = (config.device, config.dtype, getattr(device_peak, "__qualname__", repr(device_peak)))
    if peak_key not in _PEAKS:
        _PEAKS[peak_key] = _probe_peak(device_peak, config.device, time_limit_s)
    peak, analysis = _PEAKS[peak_key], None
    try:
        with time_limit(time_limit_s):
            analysis = _count(counter, model_factory, config) if counter is not None else None
            result = _run_one(config, model_factory, analysis, peak, environment)
    except TimeLimitExceeded as exc:
        result = _row(config, environment, peak, BenchStatus.ERROR, analysis=analysis,
                      error_message=f"stopped after {exc.seconds:g} s (the time limit per configuration)")
    _free_memory(config, failed=result.status is not BenchStatus.OK)
    return result


_PEAKS: dict[tuple[object, ...], DevicePeak] = {}  # per process: a measured probe takes seconds, once is enough


def _key(config: BenchConfig, environment: Environment) -> ConfigKey:
    return ConfigKey(
        model=config.model,
        batch=config.batch,
        input_size=config.input_label,
        dtype=config.dtype,
        memory_format=config.memory_format,
        compile=config.compile,
        device=config.device,
        device_name=environment.device_name,
    )


def _count(counter: CostCounter, model_factory: ModelFactory, config: BenchConfig) -> Analysis | None:
    try:
        return counter(model_factory(config.model, META), config)
    except Exception as exc:
        warnings.warn(f"{config.model}: counting FLOPs failed, FLOP columns left blank: "
                      f"{first_line(exc, named=True, limit=200)}", stacklevel=3)
        return None


def _run_one(
    config: BenchConfig,
    model_factory: ModelFactory,
    analysis: Analysis | None,
    peak: DevicePeak,
    environment: Environment,
) -> BenchResult:
    """Measure one config and turn the outcome, success or failure, into a row (a failed row keeps the count)."""
    try:
        measurement = measure(config, model_factory)
    except Exception as exc:
        if is_out_of_memory(exc):
            return _row(config, environment, peak, BenchStatus.OOM, analysis=analysis)
        return _row(config, environment, peak, BenchStatus.ERROR, analysis=analysis,
                    error_message=first_line(exc, named=True, limit=200))
    return _row(config, environment, peak, BenchStatus.OK, measurement, analysis)


def _row(
    config: BenchConfig,
    environment: Environment,
    peak: DevicePeak,
    status: BenchStatus,
    measurement: _Measurement | None = None,
    analysis: Analysis | None = None,
    error_message: str | None = None,
) -> BenchResult:
    p50 = p95 = fastest = images_per_s = achieved = pct = roofline_ms = over = None
    flops = analysis.totals.flops if analysis is not None else None
    # An upper bound for inference: weights plus every activation alive at once (eager frees most of them early).
    estimate = analysis.totals.param_bytes + analysis.totals.activation_bytes if analysis is not None else None
    peak_memory = measurement.peak_memory_bytes if measurement is not None else None
    peak_tflops = peak.tflops(config.dtype)
    if measurement is not None:
        p50, p95 = (float(v) for v in np.percentile(measurement.latencies_ms, [50, 95]))
        fastest = min(measurement.latencies_ms)
        images_per_s = config.batch / (p50 / 1e3)
        if flops is not None:
            achieved = flops / (p50 / 1e3) / 1e12
            if peak_tflops is not None:
                pct = 100 * achieved / peak_tflops
        if analysis is not None and peak_tflops is not None and peak.memory_gb_per_s is not None:
            roofline_ms = model_bound(analysis, peak, config.dtype).bound_ms
            over = measured_over_bound(p50, roofline_ms) if roofline_ms > 0 else None
    return BenchResult(
        **asdict(_key(config, environment)),  # the fields that identify the configuration, as the resume key has them
        status=status,
        error_message=error_message,
        latency_ms_p50=p50,
        latency_ms_p95=p95,
        latency_ms_min=fastest,
        images_per_s=images_per_s,
        peak_memory_bytes=peak_memory,
        estimated_memory_bytes=estimate,
        memory_over_estimate=peak_memory / estimate if peak_memory and estimate else None,
        flops=flops,
        achieved_tflops=achieved,
        peak_tflops=peak_tflops,
        memory_gb_per_s=peak.memory_gb_per_s,
        peak_source=peak.source,
        pct_of_peak=pct,
        roofline_ms=roofline_ms,
        measured_over_roofline=over,
        iters=config.iters,
        warmup=config.warmup,
        driver=environment.driver,
        torch_version=environment.torch_version,
        cuda_version=environment.cuda_version,
        cudnn_version=environment.cudnn_version,
        date=datetime.now(timezone.utc).isoformat(timespec="seconds"),
    )


# How the CPU allocator words a failed allocation: c10's DefaultCPUAllocator raises a RuntimeError (Linux: "can't
# allocate memory", Windows: "not enough memory"), not torch.OutOfMemoryError, which only CUDA raises.
_CPU_ALLOCATION_FAILURES = ("DefaultCPUAllocator: can't allocate memory", "DefaultCPUAllocator: not enough memory")


def is_out_of_memory(exc: BaseException) -> bool:
    """Whether a failed run ran out of memory, on a GPU (torch.OutOfMemoryError), in Python (MemoryError) or in
    the CPU allocator (a RuntimeError naming DefaultCPUAllocator)."""
    if isinstance(exc, (torch.OutOfMemoryError, MemoryError)):
        return True
    return isinstance(exc, RuntimeError) and any(text in str(exc) for text in _CPU_ALLOCATION_FAILURES)


def _free_memory(config: BenchConfig, failed: bool) -> None:
    """Drop what the last config left behind (its model, compiled graphs, cached CUDA blocks) before the next.

    A successful eager CPU config is freed by reference counting when `measure` returns; a failure leaves
    traceback cycles that hold the model, compiled graphs hold more, and on CUDA the next config needs the memory
    back now, so those pay for a full collection (~0.1 s).
    """
    on_cuda = torch.device(config.device).type == "cuda"
    if config.compile:
        torch._dynamo.reset()
    if failed or config.compile or on_cuda:
        gc.collect()
    if on_cuda:
        torch.cuda.empty_cache()


