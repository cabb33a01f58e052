"""One memory budget for the CPU work a user can trigger (a real forward/backward, a gradient probe, a
cross-check, a benchmark on the CPU, an atlas worker): estimate before allocating, and refuse with the largest
size that fits rather than grow until the machine swaps or the process is killed.

2 GiB is what one such job may take on the machines this project targets (a 2-core CI runner, a shared web
server, a laptop): several can run side by side and the app stays responsive. Work on the meta device allocates
nothing and is not bounded by it.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Callable, Iterable

from analyzers.errors import UserError

if TYPE_CHECKING:
    from analyzers.records import Analysis, InputDescription

__all__ = ["CPU_WORK_BUDGET_BYTES", "OverBudgetError", "forward_bytes", "inputs_bytes", "largest_that_fits",
           "refuse_over_budget"]

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
