"""One memory budget for the CPU work a user can trigger (a real forward/backward, a gradient probe, a
cross-check, a benchmark on the CPU, an atlas worker): estimate before allocating, and refuse with the largest
size that fits rather than grow until the machine swaps or the process is killed.

2 GiB is what one such job may take on the machines this project targets (a 2-core CI runner, a shared web
server, a laptop): several can run side by side and the app stays responsive. Work on the meta device allocates
nothing and is not bounded by it.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from typing import TYPE_CHECKING, Callable, Iterable

from analyzers.errors import UserError

if TYPE_CHECKING:
    from analyzers.records import Analysis, InputDescription

__all__ = ["CPU_WORK_BUDGET_BYTES", "OverBudgetError", "ParallelJobs", "forward_bytes", "inputs_bytes",
           "largest_that_fits", "parallel_jobs", "refuse_over_budget"]

CPU_WORK_BUDGET_BYTES = 2 * 2**30


class OverBudgetError(UserError):
    """The work would need more memory than the budget; the message says how much, and what would fit."""


def largest_that_fits(bytes_at: Callable[[int], int], budget_bytes: int = CPU_WORK_BUDGET_BYTES,
                      most: int = 1 << 20) -> int:
    """The largest n in 1..most with `bytes_at(n) <= budget_bytes` (0 when even 1 does not fit), for an estimate
    that grows with n (a batch, a side length): a doubling search, then bisection."""
    if bytes_at(1) > budget_bytes:
        return 0
    low, high = 1, 2
    while high <= most and bytes_at(high) <= budget_bytes:
        low, high = high, high * 2
    high = min(high, most + 1)
    while high - low > 1:
        middle = (low + high) // 2
        if bytes_at(middle) <= budget_bytes:
            low = middle
        else:
            high = middle
    return low


def refuse_over_budget(estimate_bytes: int, what: str, fits: str, budget_bytes: int = CPU_WORK_BUDGET_BYTES) -> None:
    """Raise `OverBudgetError` when `estimate_bytes` exceeds the budget: "`what` needs ~N GiB of memory, over the
    2 GiB budget for CPU work; `fits`" (e.g. "at most --batch 12 fits")."""
    if estimate_bytes > budget_bytes:
        raise OverBudgetError(f"{what} needs about {estimate_bytes / 2**30:.1f} GiB of memory, over the "
                              f"{budget_bytes / 2**30:g} GiB budget for CPU work; {fits}")


def inputs_bytes(inputs: Iterable[InputDescription]) -> int:
    """The bytes of the input tensors themselves."""
    return sum(math.prod(i.shape) * i.dtype.itemsize for i in inputs)


def forward_bytes(analysis: Analysis) -> int:
    """What one real forward of the analysed model may hold, from shapes alone: weights, inputs and every
    activation. An upper bound (a forward frees most activations as it goes: resnet18 at batch 64 estimates
    1.4 GB, and its peak RSS grew 0.36 GB over batch 1), so what it lets through fits."""
    totals = analysis.totals
    return totals.param_bytes + totals.activation_bytes + inputs_bytes(analysis.inputs)


@dataclass(frozen=True)
class ParallelJobs:
    """How many budget-sized jobs run side by side, and why no more (for the note a capped request prints)."""

    jobs: int
    cores: int
    available_bytes: int | None  # the kernel's MemAvailable; None where it cannot be read

    @property
    def reason(self) -> str:
        memory = (f", {self.available_bytes / 2**30:.1f} GiB of memory available (each job may take "
                  f"{CPU_WORK_BUDGET_BYTES / 2**30:g} GiB)" if self.available_bytes is not None else "")
        return f"{self.cores} core(s){memory}"


def parallel_jobs(requested: int | None = None, budget_bytes: int = CPU_WORK_BUDGET_BYTES) -> ParallelJobs:
    """At most `requested` jobs (default: as many as fit), no more than the cores this process may run on, nor than
    the available memory holds at one budget each; always at least one."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    available = _available_memory_bytes()
    fit = cores if available is None else min(cores, available // budget_bytes)
    return ParallelJobs(max(1, min(requested or fit, fit)), cores, available)


def _available_memory_bytes() -> int | None:
    """MemAvailable from /proc/meminfo (what can be allocated without swapping), None elsewhere."""
    try:
        with open("/proc/meminfo", encoding="ascii") as info:
            for line in info:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return None
