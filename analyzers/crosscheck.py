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

from analyzers.records import Analysis, OpKind

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
        other = ", ".join(f"{op} {count:,}" for op, count in sorted(self.fvcore_other.items())) or "nothing else"
        verdict = "equal" if self.agrees else f"differ by {self.fvcore_macs - self.our_macs:+,}"
        return (
            f"fvcore total {self.fvcore_total:,} = conv/linear/matmul {self.fvcore_macs:,} + {other}. "
            f"fvcore counts a fused multiply-add as one flop, so its conv/linear/matmul part is MACs: "
            f"ours {self.our_macs:,} ({verdict}). Its extra terms are norms/pooling that we count as element-wise ops."
        )


def _real_copy(model: nn.Module) -> nn.Module:
    """A CPU copy with (zeroed) real storage; a meta model is materialised without running its initialisers."""
    if any(t.is_meta for t in [*model.parameters(), *model.buffers()]):
        real = copy.deepcopy(model).to_empty(device="cpu")
        with torch.no_grad():
            for t in [*real.parameters(), *real.buffers()]:
                t.zero_()
        return real.eval()
    return model.eval()


def fvcore_crosscheck(model: nn.Module, input_size: Sequence[int], batch_size: int,
                      analysis: Analysis) -> FvcoreCrossCheck:
    from fvcore.nn import FlopCountAnalysis  # optional and slow to use: imported on request only

    real = _real_copy(model)
    x = torch.zeros((batch_size, *input_size))
    with torch.no_grad():
        counter = FlopCountAnalysis(real, x)
        counter.unsupported_ops_warnings(False)
        counter.uncalled_modules_warnings(False)
        by_operator = dict(counter.by_operator())
    macs = sum(v for k, v in by_operator.items() if k in FVCORE_MAC_OPERATORS)
    other = {k: int(v) for k, v in by_operator.items() if k not in FVCORE_MAC_OPERATORS and v}
    our_macs = sum(op.macs for r in analysis.leaves() for op in r.ops if op.kind is OpKind.MAC)
    return FvcoreCrossCheck(fvcore_total=int(sum(by_operator.values())), fvcore_macs=int(macs), fvcore_other=other,
                            our_macs=our_macs)
