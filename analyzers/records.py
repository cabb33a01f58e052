"""Per-layer cost records and the whole-model analysis: frozen dataclasses, one record per module.

Units are in the field names: `macs` are multiply–accumulates, `flops` = 2 × `macs`, `*_bytes` are bytes,
`elementwise_ops` counts the non-MAC arithmetic (norms, activations, pooling, adds) and is never mixed into MACs.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Iterator

Shape = tuple[int, ...]


class OpKind(str, enum.Enum):
    """What an aten op contributes: MACs, element-wise work, nothing (data movement), or unknown (uncounted)."""

    MAC = "mac"  # conv / linear / matmul / attention
    ELEMENTWISE = "elementwise"  # norms, activations, pooling, adds
    DATA = "data"  # views, copies, concat: zero arithmetic
    UNCOUNTED = "uncounted"  # no formula registered: reported, never silently zero


@dataclass(frozen=True)
class OpCost:
    """The cost of one aten op call, with the arithmetic written out with its numbers."""

    op: str  # aten overload name, e.g. "aten.convolution.default"
    kind: OpKind
    macs: int = 0
    elementwise_ops: int = 0
    formula: str = ""


@dataclass(frozen=True)
class LayerRecord:
    """One module of the model (or the functional ops a container runs itself), after one analysis.

    `macs`, `elementwise_ops`, the op counts and `activation_*` of a container include its children; parameters of a
    container are the unique parameters of its subtree. A leaf is a module without children, or the synthetic
    `<container>.(functional)` row holding the ops a container's own `forward` runs (e.g. a residual `x + identity`).
    """

    name: str  # qualified module name; "" is the whole model
    type: str  # module class name, or "functional"
    depth: int  # 0 for the model itself
    is_leaf: bool
    calls: int  # forward calls (a reused module runs more than once)
    input_shapes: tuple[Shape, ...]
    output_shapes: tuple[Shape, ...]
    params: int
    trainable_params: int
    param_bytes: int
    macs: int
    elementwise_ops: int
    activation_elements: int  # newly allocated output elements (in-place results and views are not new memory)
    activation_bytes: int
    formula: str  # MAC / element-wise arithmetic with the numbers substituted
    params_formula: str  # parameter arithmetic, e.g. "(5·5·192+1)·32 = 153,632"
    uncounted_ops: tuple[str, ...] = ()  # aten ops that ran here with no formula
    ops: tuple[OpCost, ...] = field(default=(), repr=False)  # this record's own op calls (leaves only)

    @property
    def flops(self) -> int:
        """FLOPs = 2 × MACs (one multiply and one add per MAC); element-wise work is separate."""
        return 2 * self.macs


@dataclass(frozen=True)
class Totals:
    """Whole-model totals: sums over leaf records only (parameters over unique tensors)."""

    params: int
    trainable_params: int
    param_bytes: int
    macs: int
    elementwise_ops: int
    activation_elements: int
    activation_bytes: int
    uncounted_ops: int  # number of op calls with no formula, over the whole model
    layers: int  # leaf records

    @property
    def flops(self) -> int:
        return 2 * self.macs


@dataclass(frozen=True)
class Analysis:
    """The result of `analyze`: every record in execution order (model first), plus totals."""

    model_name: str
    input_size: Shape  # without the batch dimension
    batch_size: int
    dtype: str
    records: tuple[LayerRecord, ...]
    totals: Totals

    def leaves(self) -> Iterator[LayerRecord]:
        return (r for r in self.records if r.is_leaf)

    def record(self, name: str) -> LayerRecord:
        for r in self.records:
            if r.name == name:
                return r
        raise KeyError(name)

    @property
    def uncounted(self) -> dict[str, tuple[str, ...]]:
        """Leaf name → the aten ops it ran that have no formula."""
        return {r.name: r.uncounted_ops for r in self.leaves() if r.uncounted_ops}

    @property
    def depth(self) -> int:
        return max((r.depth for r in self.records), default=0)
