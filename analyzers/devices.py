"""What a device can do at best: spec-sheet dense peaks per precision and memory bandwidth, or a measured probe.

Achieved TFLOP/s only mean something against a ceiling. The table holds NVIDIA's published *dense* figures (the
datasheets print tensor-core numbers "with sparsity", i.e. doubled by 2:4 structured sparsity, which a CNN forward
never uses; we store half of those). GeForce cards are listed with FP32 accumulation, the mode PyTorch's fp16/bf16
matmuls and convolutions use (their FP16-accumulate figure is twice as high but not what PyTorch's kernels run).
A device not in the table gets a peak with every figure `None`: callers leave % of peak blank rather than guess.

The table (`datasheets()`) is the project's one home for device figures: peaks, bandwidth, memory capacity, SM count
and L2 size of the GPUs users have, each with its source, plus this machine's CPU as the bench measured it.
"""

from __future__ import annotations

import contextlib
import enum
import platform
import re
import time
from dataclasses import dataclass
from typing import Callable, Iterable, Iterator

import torch

__all__ = [
    "Datasheet", "DeviceKind", "DevicePeak", "GIB", "PeakSource", "Precision", "capacity_bytes", "datasheet",
    "datasheets", "device_name", "lookup_peak", "measure_peak", "peak_for", "spec_devices", "tf32_math", "unknown_peak",
]


class Precision(enum.StrEnum):
    """The arithmetic a benchmark runs in. TF32 is fp32 storage with tensor-core matmuls/convolutions (CUDA only)."""

    FP32 = "fp32"
    TF32 = "tf32"
    BF16 = "bf16"
    FP16 = "fp16"

    @property
    def torch_dtype(self) -> torch.dtype:
        """The storage dtype of weights and activations."""
        return {"fp32": torch.float32, "tf32": torch.float32, "bf16": torch.bfloat16, "fp16": torch.float16}[self.value]

    @property
    def element_bytes(self) -> int:
        return self.torch_dtype.itemsize


class PeakSource(enum.StrEnum):
    SPEC = "spec"  # vendor spec sheet
    MEASURED = "measured"  # `measure_peak` on this machine
    UNKNOWN = "unknown"  # not in the table and not measured


@dataclass(frozen=True)
class DevicePeak:
    """Dense peak throughput per precision (TFLOP/s, 1e12 FLOP/s) and memory bandwidth (GB/s, 1e9 bytes/s)."""

    name: str
    fp32_tflops: float | None
    tf32_tflops: float | None
    bf16_tflops: float | None
    fp16_tflops: float | None
    memory_gb_per_s: float | None
    source: PeakSource

    def tflops(self, precision: Precision | str) -> float | None:
        """The peak for `precision`, or None when unknown."""
        return getattr(self, f"{Precision(precision).value}_tflops")


def unknown_peak(name: str) -> DevicePeak:
    return DevicePeak(name, None, None, None, None, None, PeakSource.UNKNOWN)


class DeviceKind(enum.StrEnum):
    """How a device runs eager PyTorch: a GPU queues kernels asynchronously (the host's per-op work overlaps the
    previous kernels), a CPU runs each op on the calling thread (per-op work adds to the arithmetic)."""

    GPU = "gpu"
    CPU = "cpu"


@dataclass(frozen=True)
class Datasheet:
    """One row of the device table: what `--device` calls it, the names `torch.cuda.get_device_name()` gives it
    (`tokens`, matched as whole words), its dense peaks and bandwidth, memory capacity, SM count and L2 size."""

    key: str  # the short name users type: "rtx5090", "h100-sxm", "cpu"
    tokens: tuple[str, ...]  # the words a reported device name must contain; () never matches (the measured CPU)
    kind: DeviceKind
    peak: DevicePeak
    memory_gib: float | None  # capacity as the datasheet prints it, read as GiB (torch reports an A100 80GB as 80 GiB)
    sm_count: int | None = None  # streaming multiprocessors (GPUs)
    l2_mib: float | None = None  # last-level on-chip cache

    @property
    def name(self) -> str:
        return self.peak.name

    @property
    def memory_bytes(self) -> int | None:
        return round(self.memory_gib * GIB) if self.memory_gib is not None else None


GIB = 2**30


def _sheet(key: str, name: str, tokens: tuple[str, ...], fp32: float, tf32: float | None, bf16: float | None,
           fp16: float, gb_s: float, memory_gib: float, sm_count: int, l2_mib: float) -> Datasheet:
    peak = DevicePeak(name, fp32, tf32, bf16, fp16, gb_s, PeakSource.SPEC)
    return Datasheet(key, tokens, DeviceKind.GPU, peak, memory_gib, sm_count, l2_mib)


# Dense figures in TFLOP/s and GB/s; "sparse/2" marks a datasheet tensor-core figure printed with sparsity and halved
# here. fp16/bf16 are the tensor-core rates with FP32 accumulation (GeForce cards run those at half the FP16-accumulate
# rate; professional and data-centre cards at the full rate). fp32 is the CUDA-core (non-tensor) rate.
_DATASHEETS: tuple[Datasheet, ...] = (
    # NVIDIA H200 Tensor Core GPU datasheet (2024): compute as H100 SXM (FP32 67, TF32 989, BF16/FP16 1,979 sparse),
    # 141 GB HBM3e at 4.8 TB/s. Dense tensor figures as the Hopper whitepaper's H100 SXM5 table: 494.7 / 989.4;
    # 132 SMs and 50 MB L2 as the H100 SXM5 (same GH100 configuration).
    _sheet("h200", "NVIDIA H200 SXM", ("h200",), 66.9, 494.7, 989.4, 989.4, 4800, 141, 132, 50),
    # H200 datasheet, NVL column: FP32 60, TF32 835, BF16/FP16 1,671 (sparse/2), 141 GB at 4.8 TB/s.
    _sheet("h200-nvl", "NVIDIA H200 NVL", ("h200", "nvl"), 60.0, 417.5, 835.5, 835.5, 4800, 141, 132, 50),
    # NVIDIA H100 Tensor Core GPU Architecture whitepaper, table "H100 SXM5": 132 SMs, 50 MB L2, FP32 66.9, TF32
    # 494.7, BF16/FP16 989.4 dense; H100 datasheet: 80 GB HBM3 at 3.35 TB/s. Reported as "NVIDIA H100 80GB HBM3".
    _sheet("h100-sxm", "NVIDIA H100 SXM", ("h100",), 66.9, 494.7, 989.4, 989.4, 3350, 80, 132, 50),
    # H100 datasheet, PCIe column: FP32 51, TF32 756, BF16/FP16 1,513 (sparse/2), 80 GB at 2 TB/s; whitepaper:
    # H100 PCIe 114 SMs, 50 MB L2.
    _sheet("h100-pcie", "NVIDIA H100 PCIe", ("h100", "pcie"), 51.0, 378.0, 756.5, 756.5, 2000, 80, 114, 50),
    # H100 datasheet, NVL column: FP32 60, TF32 835, BF16/FP16 1,671 (sparse/2), 94 GB at 3.9 TB/s.
    _sheet("h100-nvl", "NVIDIA H100 NVL", ("h100", "nvl"), 60.0, 417.5, 835.5, 835.5, 3900, 94, 132, 50),
    # NVIDIA A100 Tensor Core GPU datasheet: FP32 19.5, TF32 156, BF16/FP16 312 dense; 80 GB HBM2e SXM 2,039 GB/s,
    # 80 GB PCIe 1,935 GB/s, 40 GB (SXM and PCIe) 1,555 GB/s. Ampere (GA100) whitepaper: 108 SMs, 40 MB L2.
    _sheet("a100-80gb", "NVIDIA A100 SXM 80GB", ("a100", "80gb"), 19.5, 156.0, 312.0, 312.0, 2039, 80, 108, 40),
    _sheet("a100-80gb-pcie", "NVIDIA A100 PCIe 80GB", ("a100", "80gb", "pcie"), 19.5, 156.0, 312.0, 312.0, 1935, 80,
           108, 40),
    _sheet("a100-40gb", "NVIDIA A100 40GB", ("a100", "40gb"), 19.5, 156.0, 312.0, 312.0, 1555, 40, 108, 40),
    # NVIDIA L4 datasheet: FP32 30.3, TF32 120, BF16/FP16 242 (sparse/2), 24 GB GDDR6 at 300 GB/s; Ada whitepaper
    # (AD104 as configured for L4): 58 SMs, 48 MB L2.
    _sheet("l4", "NVIDIA L4", ("l4",), 30.3, 60.0, 121.0, 121.0, 300, 24, 58, 48),
    # NVIDIA T4 datasheet: FP32 8.1, "mixed precision (FP16/FP32)" 65 (Turing has no sparsity: dense), 16 GB GDDR6
    # at 320 GB/s; Turing whitepaper (TU104 as configured for T4): 40 SMs, 4 MB L2. No TF32 or BF16 tensor cores.
    _sheet("t4", "NVIDIA T4", ("t4",), 8.1, None, None, 65.0, 320, 16, 40, 4),
    # NVIDIA Ampere GA102 GPU Architecture whitepaper, appendix "GeForce RTX 3090": 82 SMs, FP32 35.6, TF32 35.6,
    # FP16/BF16 with FP32 accumulate 71 dense (142 sparse); 24 GB GDDR6X at 936 GB/s; 6 MB L2.
    _sheet("rtx3090", "NVIDIA GeForce RTX 3090", ("rtx", "3090"), 35.6, 35.6, 71.0, 71.0, 936, 24, 82, 6),
    # NVIDIA Ada GPU Architecture whitepaper, appendix "GeForce RTX 4090": 128 SMs, FP32 82.6, TF32 82.6,
    # FP16/BF16 with FP32 accumulate 165.2 dense; 24 GB GDDR6X at 1,008 GB/s; 72 MB L2.
    _sheet("rtx4090", "NVIDIA GeForce RTX 4090", ("rtx", "4090"), 82.6, 82.6, 165.2, 165.2, 1008, 24, 128, 72),
    # NVIDIA RTX Blackwell GPU Architecture whitepaper, "GeForce RTX 5090": 170 SMs, FP32 104.8, TF32 104.8,
    # FP16/BF16 with FP32 accumulate 209.5 dense; 32 GB GDDR7 at 1,792 GB/s; 96 MB L2.
    _sheet("rtx5090", "NVIDIA GeForce RTX 5090", ("rtx", "5090"), 104.8, 104.8, 209.5, 209.5, 1792, 32, 170, 96),
    # NVIDIA RTX PRO 6000 Blackwell Workstation Edition datasheet: FP32 125 TFLOPS, 4,000 AI TOPS (FP4 with sparsity:
    # dense FP16/BF16 with FP32 accumulate is 1/8 of it, 500; the whitepaper's 503.8 = 188 SMs x 1,024 FLOP/clock x
    # 2.617 GHz), TF32 half of that; 96 GB GDDR7 at 1,792 GB/s; 188 SMs, 128 MB L2. Reported as "NVIDIA RTX PRO 6000
    # Blackwell Workstation Edition" (the Server Edition has the same configuration and the same figures).
    _sheet("pro6000", "NVIDIA RTX PRO 6000 Blackwell", ("rtx", "pro", "6000", "blackwell"), 125.0, 251.9, 503.8,
           503.8, 1792, 96, 188, 128),
    # NVIDIA RTX PRO 6000 Blackwell Max-Q Workstation Edition datasheet (300 W): FP32 110 TFLOPS, 3,511 AI TOPS
    # (FP4 sparse; dense FP16/BF16 1/8 of it, 438.9), TF32 half of that; same 188 SMs, 128 MB L2 and 96 GB GDDR7 at
    # 1,792 GB/s as the Workstation Edition, at lower clocks.
    _sheet("pro6000-maxq", "NVIDIA RTX PRO 6000 Blackwell Max-Q", ("rtx", "pro", "6000", "blackwell", "max", "q"),
           110.0, 219.4, 438.9, 438.9, 1792, 96, 188, 128),
    # This project's CPU (a 2-core "Intel(R) Xeon(R) Processor" virtual machine with AVX-512 and AMX, 2 MiB L2 per
    # core), measured by `measure_peak` with one thread (bench/measure_cpu_times.py, 2026-12-07, load 1.0): a
    # 2048x2048 fp32 matmul at 149.5 GFLOP/s and a 256 MiB copy at 15.9 GB/s. Measured, not a datasheet: on another
    # machine measure it (`explorer bench --peak measured`) and refit (`explorer predict --calibrate`).
    Datasheet("cpu", (), DeviceKind.CPU,
              DevicePeak("this CPU (Intel Xeon, 1 thread, measured)", 0.1495, None, None, None, 15.9,
                         PeakSource.MEASURED), memory_gib=None, l2_mib=2),
)

# Cut-down variants share a base name but run lower clocks or fewer SMs (e.g. "RTX 4090 Laptop GPU", "RTX 4090 D");
# for them the desktop figures would be wrong, so they stay unknown, unless a row names the variant itself (Max-Q).
_VARIANT_TOKENS = frozenset({"laptop", "mobile", "max", "d"})


def _tokens(device_name: str) -> frozenset[str]:
    return frozenset(t for t in re.split(r"[^a-z0-9]+", device_name.lower()) if t)


def datasheets() -> tuple[Datasheet, ...]:
    """Every row of the device table, GPUs first, then this machine's measured CPU."""
    return _DATASHEETS


def datasheet(key_or_name: str) -> Datasheet:
    """The row whose key ("rtx5090") or table name ("NVIDIA GeForce RTX 5090") is `key_or_name` (case-insensitive),
    else the row `lookup_peak` matches for a reported device name; KeyError names the keys when none does."""
    wanted = key_or_name.strip().lower()
    for sheet in _DATASHEETS:
        if wanted in (sheet.key, sheet.name.lower()):
            return sheet
    matched = _matching_sheet(key_or_name)
    if matched is None:
        raise KeyError(f"unknown device {key_or_name!r}; known: {', '.join(s.key for s in _DATASHEETS)}")
    return matched


def spec_devices() -> tuple[DevicePeak, ...]:
    """Every spec-sheet device in the table, for pickers that offer a roofline without a GPU at hand."""
    return tuple(sheet.peak for sheet in _DATASHEETS if sheet.peak.source is PeakSource.SPEC)


def capacity_bytes(device: str) -> int:
    """Memory capacity of a table device, by key or table name (KeyError when unknown or not published)."""
    sheet = datasheet(device)
    if sheet.memory_bytes is None:
        raise KeyError(f"{device!r} has no memory capacity in the table")
    return sheet.memory_bytes


def _matching_sheet(device_name: str) -> Datasheet | None:
    tokens = _tokens(device_name)
    matches = [s for s in _DATASHEETS if s.tokens and set(s.tokens) <= tokens]
    if not matches:
        return None
    best = max(matches, key=lambda sheet: len(sheet.tokens))
    if (tokens - set(best.tokens)) & _VARIANT_TOKENS:
        return None
    return best


def lookup_peak(device_name: str) -> DevicePeak:
    """The spec-sheet peak for a device name as `torch.cuda.get_device_name()` reports it, else an unknown peak.

    Matching is on whole tokens (so "GH200" is not an "H200", "L40S" not an "L4"); the most specific entry wins
    ("H100 PCIe" over "H100"). The returned peak keeps the table's model name and the reported name is not lost:
    callers record `device_name` separately.
    """
    sheet = _matching_sheet(device_name)
    return sheet.peak if sheet is not None else unknown_peak(device_name)


def device_name(device: torch.device | str) -> str:
    """A human name for the device: the GPU's marketing name, or the CPU model from /proc/cpuinfo."""
    device = torch.device(device)
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    if device.type == "cpu":
        return _cpu_name()
    return device.type


def _cpu_name() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as info:
            for line in info:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "cpu"


def peak_for(device: torch.device | str) -> DevicePeak:
    """The spec-sheet peak of `device`; CPUs are not in the table and come back unknown (measure them instead)."""
    name = device_name(device)
    if torch.device(device).type != "cuda":
        return unknown_peak(name)
    return lookup_peak(name)


# --- measured probe -------------------------------------------------------------------------------------------


def _matmul_seconds(device: torch.device, precision: Precision, size: int, repeats: int) -> float:
    """Best time of one size×size matmul; the operands are freed when this returns."""
    a = torch.randn(size, size, device=device, dtype=precision.torch_dtype)
    b = torch.randn_like(a)
    with tf32_math(device, enabled=precision is Precision.TF32):
        return _best_seconds(lambda: torch.mm(a, b), device, repeats)


def _matmul_size(device: torch.device, precision: Precision, largest: int, seconds_per_call: float) -> int:
    """The largest power of two (from 256, at most `largest`) whose matmul takes about `seconds_per_call` at most:
    double while the next size (8× the work) would still fit."""
    size = min(256, largest)
    while size * 2 <= largest and 8 * _matmul_seconds(device, precision, size, repeats=1) <= seconds_per_call:
        size *= 2
    return size


def _copy_seconds(device: torch.device, size_bytes: int, repeats: int) -> float:
    """Best time of one device-to-device copy of `size_bytes`."""
    source = torch.empty(size_bytes, dtype=torch.uint8, device=device)
    target = torch.empty_like(source)
    return _best_seconds(lambda: target.copy_(source), device, repeats)


def measure_peak(
    device: torch.device | str = "cuda",
    precisions: Iterable[Precision | str] = tuple(Precision),
    matmul_size: int = 8192,
    copy_bytes: int = 1 << 30,
    repeats: int = 10,
    seconds_per_call: float | None = None,
) -> DevicePeak:
    """Measure what this device actually sustains: a square matmul per precision and a device-to-device copy.

    A matmul of two n×n matrices is 2·n³ FLOPs. A copy of B bytes reads B and writes B, so it moves 2·B bytes
    (the convention of vendors' bandwidth figures). Each figure is the best of three timed batches of `repeats`,
    after one untimed call. TF32 is measured only on CUDA (elsewhere it is not a distinct mode) and left None.
    With `seconds_per_call`, each precision's matmul is the largest power of two up to `matmul_size` (from 256)
    whose call takes about that long at most: a precision the device runs slowly (fp16 on most CPUs, 100× slower
    than fp32) gets a smaller matrix instead of minutes.
    """
    device = torch.device(device)
    figures: dict[Precision, float | None] = {p: None for p in Precision}
    for precision in map(Precision, precisions):
        if precision is Precision.TF32 and device.type != "cuda":
            continue
        size = matmul_size if seconds_per_call is None else _matmul_size(device, precision, matmul_size,
                                                                          seconds_per_call)
        figures[precision] = 2 * size**3 / _matmul_seconds(device, precision, size, repeats) / 1e12
    copy_seconds = _copy_seconds(device, copy_bytes, repeats)
    return DevicePeak(
        name=device_name(device),
        fp32_tflops=figures[Precision.FP32],
        tf32_tflops=figures[Precision.TF32],
        bf16_tflops=figures[Precision.BF16],
        fp16_tflops=figures[Precision.FP16],
        memory_gb_per_s=2 * copy_bytes / copy_seconds / 1e9,
        source=PeakSource.MEASURED,
    )


def _synchronize(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def _best_seconds(op: Callable[[], object], device: torch.device, repeats: int) -> float:
    """Seconds per call of `op`: the fastest of three batches of `repeats` calls, after one warm-up call."""
    op()
    _synchronize(device)
    best = float("inf")
    for _ in range(3):
        start = time.perf_counter()
        for _ in range(repeats):
            op()
        _synchronize(device)
        best = min(best, (time.perf_counter() - start) / repeats)
    return best


@contextlib.contextmanager
def tf32_math(device: torch.device | str, enabled: bool) -> Iterator[None]:
    """TF32 tensor-core math on or off for CUDA matmuls and convolutions, restored on exit (a no-op elsewhere).

    PyTorch leaves cuDNN convolutions on TF32 by default, so an "fp32" run must turn it off explicitly.
    """
    if torch.device(device).type != "cuda":
        yield
        return
    saved = (torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32)
    torch.backends.cuda.matmul.allow_tf32 = enabled
    torch.backends.cudnn.allow_tf32 = enabled
    try:
        yield
    finally:
        torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32 = saved
