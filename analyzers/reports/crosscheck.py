"""Cross-check against fvcore's `FlopCountAnalysis`, on request: it needs real weights and real compute.

fvcore counts one "flop" per fused multiply-add, so its conv/linear/matmul numbers are MACs in our terms; it also
counts batch norm and a few pooling/upsampling ops into the same total. We split its total by operator so the
comparison is like for like (conv + linear + matmul) and the difference is explained, not just shown.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Sequence

import torch
from torch import nn

from analyzers.counting.isolation import process_state_kept
from analyzers.records import Analysis, OpKind

__all__ = [
    "CrossCheckLimits", "FVCORE_MAC_OPERATORS", "FvcoreCrossCheck", "crosscheck_from_counts", "fvcore_by_operator",
    "fvcore_crosscheck", "our_mac_count",
]

# fvcore operator names whose counts are multiply-accumulates (the rest are norms, pooling, upsampling…)
FVCORE_MAC_OPERATORS = frozenset({"conv", "linear", "addmm", "matmul", "bmm", "einsum", "mm", "baddbmm",
                                  "scaled_dot_product_attention"})


@dataclass(frozen=True)
class FvcoreCrossCheck:
    fvcore_total: int  # fvcore's whole total (its "flops" = our MACs, plus norms etc.)
    fvcore_macs: int  # conv + linear + matmul part of fvcore's total
    fvcore_other: dict[str, int]  # the rest, by fvcore operator name
    our_macs: int

    @property
    def agrees(self) -> bool:
        return self.fvcore_macs == self.our_macs

    def explanation(self) -> str:
        verdict = "equal" if self.agrees else f"differ by {self.fvcore_macs - self.our_macs:+,}"
        if self.fvcore_other:
            other = ", ".join(f"{op} {count:,}" for op, count in sorted(self.fvcore_other.items()))
            total = (f"fvcore total {self.fvcore_total:,} = conv/linear/matmul {self.fvcore_macs:,} plus {other} "
                     f"(norms and pooling, which we count as element-wise ops, not MACs). ")  # fmt: skip
        else:
            total = f"fvcore total {self.fvcore_total:,}, all of it conv/linear/matmul. "
        return (
            total + "fvcore counts a fused multiply-add as one flop, so its conv/linear/matmul part is MACs: "
            f"ours {self.our_macs:,} ({verdict})."
        )


@dataclass(frozen=True)
class CrossCheckLimits:
    """What a real run on the server's CPU may cost: the analysis predicts weights and activations before it runs."""

    max_input_elements: int = 4 * 3 * 512 * 512  # batch × C × H × W
    max_params: int = 200_000_000
    max_memory_bytes: int = 3 << 30  # weights + every activation, the analysis's upper bound
    max_macs: int = 200_000_000_000

    def refusal(self, input_size: Sequence[int], batch_size: int, analysis: Analysis) -> str | None:
        """Why this run is refused (one line, with the limit), or None when it may run."""
        elements = batch_size
        for d in input_size:
            elements *= int(d)
        totals = analysis.totals
        memory = totals.param_bytes + totals.activation_bytes
        checks = (
            (elements, self.max_input_elements, "input elements (batch × C × H × W)"),
            (totals.params, self.max_params, "parameters"),
            (memory, self.max_memory_bytes, "bytes of weights and activations"),
            (totals.macs, self.max_macs, "MACs"),
        )
        for value, limit, what in checks:
            if value > limit:
                return (f"The fvcore cross-check runs the real model on this server: {value:,} {what} is over its "
                        f"limit of {limit:,}. Use a smaller input or batch (the counts scale with them).")  # fmt: skip
        return None


def _real_copy(model: nn.Module) -> nn.Module:
    """A CPU copy in eval mode, never the model itself (fvcore runs its forward, which may change it); a meta model
    is materialised with zeroed storage, without running its initialisers."""
    real = copy.deepcopy(model)
    if any(t.is_meta for t in [*real.parameters(), *real.buffers()]):
        real = real.to_empty(device="cpu")
        with torch.no_grad():
            for t in [*real.parameters(), *real.buffers()]:
                t.zero_()
    return real.eval()


def fvcore_by_operator(model: nn.Module, input_size: Sequence[int], batch_size: int) -> dict[str, int]:
    """fvcore's count per operator name for one forward of a real (zero-weight) copy of `model`."""
    from fvcore.nn import FlopCountAnalysis  # optional and slow to use: imported on request only

    real = _real_copy(model)
    x = torch.zeros((batch_size, *input_size))
    with torch.no_grad(), process_state_kept():  # a forward that draws random numbers leaves torch's stream alone
        counter = FlopCountAnalysis(real, x)
        counter.unsupported_ops_warnings(False)
        counter.uncalled_modules_warnings(False)
        return {str(k): int(v) for k, v in counter.by_operator().items()}


def our_mac_count(analysis: Analysis) -> int:
    """Our conv/linear/matmul/attention MACs: the part fvcore's MAC operators count."""
    return sum(op.macs for r in analysis.leaves() for op in r.ops if op.kind is OpKind.MAC)


def crosscheck_from_counts(by_operator: dict[str, int], our_macs: int) -> FvcoreCrossCheck:
    macs = sum(v for k, v in by_operator.items() if k in FVCORE_MAC_OPERATORS)
    other = {k: int(v) for k, v in by_operator.items() if k not in FVCORE_MAC_OPERATORS and v}
    return FvcoreCrossCheck(fvcore_total=int(sum(by_operator.values())), fvcore_macs=int(macs), fvcore_other=other,
                            our_macs=our_macs)


def fvcore_crosscheck(model: nn.Module, input_size: Sequence[int], batch_size: int,
                      analysis: Analysis) -> FvcoreCrossCheck:
    """Run fvcore in this process (the CLI and the tests); the app runs it in a bounded subprocess instead."""
    return crosscheck_from_counts(fvcore_by_operator(model, input_size, batch_size), our_mac_count(analysis))
