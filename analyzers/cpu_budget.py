"""A real run on the CPU (`analyze(..., device="cpu")`, the CLI's `--device cpu` and `--crosscheck fvcore`) is
estimated on the meta device first, and refused over the one memory budget (`analyzers/budget.py`) with the
largest batch or input size that fits, in the words of whoever asked (`--batch 98`, `batch_size=98`).

The estimate is `forward_bytes`: weights, inputs and every activation, from a meta-device analysis at the asked
batch and size (shapes alone: nothing is allocated, whatever the size). A forward that the meta device cannot run
(its work depends on its data: detection) is held to a lower bound, its weights and inputs.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Callable

from analyzers.budget import CPU_WORK_BUDGET_BYTES, forward_bytes, largest_that_fits, refuse_over_budget
from analyzers.errors import AnalysisError, DataDependentError
from analyzers.numbers import ascii_shape

if TYPE_CHECKING:
    from analyzers.records import Analysis

__all__ = ["CpuRun", "refuse_cpu_run_over_budget"]

Size = tuple[int, ...]


@dataclass(frozen=True)
class CpuRun:
    """One real run on the CPU, and how to analyse the same model on meta at another batch or input size."""

    what: str  # "resnet18 on the CPU", "the fvcore cross-check of resnet18"
    batch: int
    size: Size | None  # the one image's size without batch (C×H×W, C×T×H×W); None: other inputs
    analyze_at: Callable[[int, Size | None], Analysis]  # on the meta device
    weights_and_inputs_at: Callable[[int], int]  # bytes, for a forward the meta device cannot run
    bytes_per_estimated_byte: float = 1.0  # fvcore runs in float32 whatever --dtype the analysis assumed
    batch_text: Callable[[int], str] = "--batch {}".format  # how the caller asks for a batch
    size_text: Callable[[Size], str] = lambda size: f"--input {ascii_shape(size)}"  # … and for an input size


def refuse_cpu_run_over_budget(run: CpuRun, budget_bytes: int = CPU_WORK_BUDGET_BYTES) -> None:
    """Raise `OverBudgetError` (one line, with what fits) when `run` may need more than the budget."""

    def estimate(batch: int, size: Size | None) -> int:
        return math.ceil(forward_bytes(run.analyze_at(batch, size)) * run.bytes_per_estimated_byte)

    what = f"{run.what} at batch {run.batch}" + (f", input {ascii_shape(run.size)}," if run.size else "")
    try:
        needed = estimate(run.batch, run.size)
    except DataDependentError:  # no estimate of its activations: hold it to its weights and inputs
        needed = run.weights_and_inputs_at(run.batch)
        if needed > budget_bytes:
            most = largest_that_fits(run.weights_and_inputs_at, budget_bytes, most=run.batch - 1)
            refuse_over_budget(needed, f"{what}{'' if run.size else ','} for its weights and inputs alone,",
                               f"at most {run.batch_text(most)} fits" if most else "use a smaller input",
                               budget_bytes)
        return
    if needed > budget_bytes:
        refuse_over_budget(needed, what, _what_fits(run, estimate, needed, budget_bytes), budget_bytes)


def _what_fits(run: CpuRun, estimate: Callable[[int, Size | None], int], needed: int, budget_bytes: int) -> str:
    """The largest batch that fits; when not even batch 1 does, the largest input of the same shape."""
    at_one = estimate(1, run.size) if run.batch > 1 else needed
    if at_one <= budget_bytes:  # activations grow in proportion to the batch: solve, then check on meta
        per_item = (needed - at_one) / (run.batch - 1)
        batch = largest_that_fits(lambda n: math.ceil(at_one + per_item * (n - 1)), budget_bytes, most=run.batch - 1)
        while batch > 1 and estimate(batch, run.size) > budget_bytes:
            batch = batch * 9 // 10
        return f"at most {run.batch_text(batch)} fits"
    weights = math.ceil(run.analyze_at(1, run.size).totals.param_bytes * run.bytes_per_estimated_byte)
    if weights > budget_bytes:
        return f"its weights alone need about {weights / 2**30:.1f} GiB: count it on the meta device instead"
    if run.size is None:
        return "use smaller inputs"
    # activations grow with the area: scale the sides by the root of what is over, and again from the estimate at
    # the new size, until a step changes them by less than 0.1%
    best, scale, estimated = None, 1.0, at_one
    for _ in range(8):
        step = math.sqrt((budget_bytes - weights) / max(1, estimated - weights))
        if best is not None and abs(step - 1) < 0.001:
            break
        scale *= step
        size = _scaled(run.size, scale)
        if size is None:
            break
        try:
            estimated = estimate(1, size)
        except AnalysisError:  # too small for the network: nothing smaller fits either
            break
        if estimated <= budget_bytes and (best is None or math.prod(size) > math.prod(best)):
            best = size
    if best is not None:
        return f"at batch 1 at most {run.size_text(best)} fits"
    return "use a smaller input"


def _scaled(size: Size, scale: float) -> Size | None:
    """`size` with its spatial sides (the last two; the only one of a 1-d size) times `scale`; None below 1."""
    keep = max(1, len(size) - 2) if len(size) > 1 else 0
    sides = tuple(math.floor(d * scale) for d in size[keep:])
    return None if min(sides) < 1 else (*size[:keep], *sides)
