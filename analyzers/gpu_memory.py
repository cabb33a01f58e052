"""Memory capacity of the spec-sheet GPUs (`analyzers.devices`), and the largest training batch that fits one.

Capacities are the datasheets' figures (H200 141 GB, H100 80/94 GB, A100 80/40 GB, L4 24 GB, RTX 4090 24 GB,
RTX 5090 32 GB), read as GiB as `torch.cuda.get_device_properties().total_memory` reports an A100 80GB (80 GiB). A
program gets somewhat less: the CUDA context and cuDNN/cuBLAS workspaces take a few hundred MiB, the caching
allocator rounds blocks; `usable_fraction` leaves room for that.
"""

from __future__ import annotations

from typing import Callable

GIB = 2**30

CAPACITY_GIB: dict[str, int] = {
    "NVIDIA H200 SXM": 141,
    "NVIDIA H200 NVL": 141,
    "NVIDIA H100 SXM": 80,
    "NVIDIA H100 PCIe": 80,
    "NVIDIA H100 NVL": 94,
    "NVIDIA A100 SXM 80GB": 80,
    "NVIDIA A100 PCIe 80GB": 80,
    "NVIDIA A100 40GB": 40,
    "NVIDIA L4": 24,
    "NVIDIA GeForce RTX 4090": 24,
    "NVIDIA GeForce RTX 5090": 32,
}


def capacity_bytes(device: str) -> int:
    return CAPACITY_GIB[device] * GIB


def largest_batch(peak_at: Callable[[int], int], memory_bytes: int, *, max_batch: int = 1 << 16) -> int:
    """The largest batch b with peak_at(b) ≤ memory_bytes (0 if not even one fits).

    A step's peak is the largest of several moments' live bytes, each growing linearly with the batch, so it is
    convex in b: the line through b = 1 and 2 gives an upper estimate, and each check at the estimate refits the
    line through b = 1 and that point (now from above) until the answer fits and b + 1 does not."""
    known: dict[int, int] = {}

    def measured(b: int) -> int:
        if b not in known:
            known[b] = raw_peak_at(b)
        return known[b]

    raw_peak_at, peak_at = peak_at, measured
    p1 = peak_at(1)
    if p1 > memory_bytes:
        return 0
    slope = peak_at(2) - p1
    if slope <= 0:
        return max_batch
    b = min(max_batch, 1 + (memory_bytes - p1) // slope)
    for _ in range(8):
        peak = peak_at(b)
        if peak <= memory_bytes:
            if b >= max_batch or peak_at(b + 1) > memory_bytes:
                return b
            b = min(max_batch, b + max(1, (memory_bytes - peak) // slope))
            continue
        slope = max(1, (peak - p1) // (b - 1))
        b = max(1, min(b - 1, 1 + (memory_bytes - p1) // slope))
    while b > 1 and peak_at(b) > memory_bytes:  # never answer a batch that does not fit
        b -= 1
    return b
