"""The typed result of an analysis: a tree of layer records, each holding its ops as data.

Units are in the field names: `macs` are multiply–accumulates, `flops` = 2 × `macs`, `*_bytes` are bytes,
`elementwise_ops` counts the non-MAC arithmetic (norms, activations, pooling, adds) and is never mixed into MACs.

Records carry structure (kinds, op categories, geometry, shapes as tuples, parent/children links); the words users
read are made from it in one place, `analyzers.counting.formula_text`, so figures and pages never parse text back.
"""

from __future__ import annotations

import enum
from dataclasses import MISSING, dataclass, field, fields
from functools import cached_property
from typing import Iterator, Union

import torch

__all__ = [
    "Analysis", "AttentionGeometry", "ConcatGeometry", "ConvGeometry", "DATA_DEPENDENT", "FusedGeometry", "Geometry",
    "GroupedMatmulGeometry", "InputDescription", "LayerRecord", "MatmulGeometry", "OpCategory", "OpCost", "OpKind",
    "ParamTensor", "PoolGeometry", "ReceptiveField", "RecordKind", "Shape", "Totals", "with_state",
]

Shape = tuple[int, ...]


class RecordKind(str, enum.Enum):
    """What a record stands for in the module tree."""

    MODULE = "module"  # a module without children: a leaf
    CONTAINER = "container"  # a module with children; its numbers are sums over its leaves
    FUNCTIONAL = "functional"  # the ops a container's own forward runs (a residual add, torch.cat): a leaf


class OpCategory(str, enum.Enum):
    """What an aten op does, as a user would name it."""

    CONV = "conv"
    LINEAR = "linear"  # a matrix product with a parameter operand (nn.Linear, a 1×1 projection written as matmul)
    MATMUL = "matmul"  # a matrix product of two activations
    ATTENTION = "attention"  # fused scaled-dot-product attention
    NORM = "norm"
    ACTIVATION = "activation"
    POOLING = "pooling"
    ELEMENTWISE = "elementwise"  # arithmetic, reductions, resampling, dropout
    DATA_MOVEMENT = "data movement"  # views, copies, concat: zero arithmetic
    CUSTOM = "custom"  # counted by a formula the caller passed to `analyze(formulas=…)`
    UNCOUNTED = "uncounted"  # no formula registered: reported, never silently zero


class OpKind(str, enum.Enum):
    """Which column an op's cost lands in: MACs, element-wise work, nothing (data movement), or unknown."""

    MAC = "mac"
    ELEMENTWISE = "elementwise"
    DATA = "data"
    UNCOUNTED = "uncounted"


_MAC_CATEGORIES = frozenset({OpCategory.CONV, OpCategory.LINEAR, OpCategory.MATMUL, OpCategory.ATTENTION})

# A leaf's category is the most telling of the ops it ran, in this order.
_CATEGORY_PRIORITY = (
    OpCategory.CONV, OpCategory.LINEAR, OpCategory.ATTENTION, OpCategory.MATMUL, OpCategory.NORM,
    OpCategory.POOLING, OpCategory.ACTIVATION, OpCategory.ELEMENTWISE, OpCategory.CUSTOM, OpCategory.UNCOUNTED,
    OpCategory.DATA_MOVEMENT,
)


# ---------------------------------------------------------------- op geometry


@dataclass(frozen=True)
class ConvGeometry:
    """A convolution as the aten op ran it: per spatial dim kernel, stride, padding, dilation; channels; groups."""

    kernel: Shape
    stride: Shape
    padding: Shape
    dilation: Shape
    groups: int
    in_channels: int
    out_channels: int
    transposed: bool
    in_shape: Shape
    out_shape: Shape
    has_bias: bool

    @property
    def batch(self) -> int:
        return self.in_shape[0]

    @property
    def in_per_group(self) -> int:
        return self.in_channels // self.groups

    @property
    def out_per_group(self) -> int:
        return self.out_channels // self.groups


@dataclass(frozen=True)
class MatmulGeometry:
    """`batch` independent products of a rows×inner and an inner×cols matrix."""

    rows: int
    inner: int
    cols: int
    batch: int = 1
    batched: bool = False  # a bmm (written with its batch even when it is 1)


@dataclass(frozen=True)
class GroupedMatmulGeometry:
    """A grouped matrix product (`aten._grouped_mm`: a mixture of experts' expert layers): `groups` products that
    share their weight shape, with one dimension cut into groups by an offsets tensor. `jagged` names that dimension
    ("rows": tokens × top-k spread over the experts; "inner": a weight gradient; "cols"; "" when every group is a
    full product, as bmm). The MACs are rows · inner · cols over all groups together (× groups when not jagged):
    the total does not depend on how the routing split the jagged dimension. `split_known` is False on meta, where
    the offsets hold no data and the whole operand is counted (every routed row)."""

    groups: int
    rows: int
    inner: int
    cols: int
    jagged: str
    split_known: bool


@dataclass(frozen=True)
class AttentionGeometry:
    """Scaled dot-product attention: QKᵀ (q_len×head_dim×kv_len) and AV (q_len×kv_len×v_dim) per head."""

    heads: int  # batch × heads
    q_len: int
    kv_len: int
    head_dim: int
    v_dim: int
    causal: bool = False  # the op says `is_causal`: a causal kernel skips the masked scores

    @property
    def scores_computed(self) -> int:
        """Scores per head a kernel computes: all q_len · kv_len, or with `causal` the lower triangle torch's
        `is_causal` masks with (top-left aligned, `ones(L, S).tril()`): query i sees min(i + 1, kv_len) keys."""
        if not self.causal:
            return self.q_len * self.kv_len
        full = min(self.q_len, self.kv_len)
        return full * (full + 1) // 2 + (self.q_len - full) * self.kv_len

    @property
    def causal_macs(self) -> int:
        """QKᵀ and AV over the scores a causal kernel computes (flash attention skips the masked blocks); the
        dense count stays the op's MACs, as the kernels' own FLOP counters report."""
        return self.heads * self.scores_computed * (self.head_dim + self.v_dim)


@dataclass(frozen=True)
class FusedGeometry:
    """A fused kernel that only a real device runs (oneDNN's LSTM layer, the CPU's fast-path multi-head attention
    and encoder layer), written as the matrix products of the ops it replaces, each with its name ("input",
    "QKᵀ", "out projection"): on meta the same module runs those ops one by one, and the counts agree."""

    kernel: str
    products: tuple[tuple[str, MatmulGeometry], ...]


@dataclass(frozen=True)
class PoolGeometry:
    """A pooling window (max or average) over the trailing spatial dims."""

    reduce: str  # "max" or "avg"
    window: Shape
    stride: Shape
    padding: Shape
    dilation: Shape
    out_shape: Shape


@dataclass(frozen=True)
class ConcatGeometry:
    parts: tuple[Shape, ...]
    out_shape: Shape


Geometry = Union[ConvGeometry, MatmulGeometry, GroupedMatmulGeometry, AttentionGeometry, FusedGeometry, PoolGeometry,
                 ConcatGeometry]


@dataclass(frozen=True)
class OpCost:
    """The cost of one aten op call, as numbers and geometry; `analyzers.counting.formula_text` writes it out in words.

    `label` is the name users know the op by ("batch norm", "max pool"); element-wise work is `per_element` ops
    over `shape` (plus `bias_adds` for a conv/linear bias), or a reduction over its input `shape`.
    """

    op: str  # aten overload name, e.g. "aten.convolution.default"
    category: OpCategory
    macs: int = 0
    elementwise_ops: int = 0
    label: str = ""
    per_element: int = 0
    shape: Shape = ()
    bias_adds: int = 0
    reduction: bool = False  # the element-wise count is one op per *input* element (mean, sum, adaptive pool)
    geometry: Geometry | None = None
    text: str = ""  # only for custom formulas, whose arithmetic we cannot write out ourselves

    @property
    def kind(self) -> OpKind:
        if self.category in _MAC_CATEGORIES:
            return OpKind.MAC
        if self.category is OpCategory.UNCOUNTED:
            return OpKind.UNCOUNTED
        if self.category is OpCategory.DATA_MOVEMENT:
            return OpKind.DATA
        if self.category is OpCategory.CUSTOM:
            return OpKind.MAC if self.macs else OpKind.ELEMENTWISE
        return OpKind.ELEMENTWISE


# ---------------------------------------------------------------- per-layer quantities


@dataclass(frozen=True)
class ReceptiveField:
    """Which input pixels one output position of a layer sees (per spatial dim, in input pixels).

    `size` is the field's extent, `jump` the distance in input pixels between neighbouring outputs (the effective
    stride), `start` the centre of the first output's field (the first input pixel's centre is 0; negative means
    it lies in the padding). `covers_input` means every output sees the whole input (global pooling, a fully
    connected layer after a flatten, attention over all positions); the other fields are then empty.
    """

    size: tuple[int, ...] = ()
    jump: tuple[float, ...] = ()  # exact for integer strides (and their halves); float for resampling
    start: tuple[float, ...] = ()
    covers_input: bool = False

    @property
    def is_square(self) -> bool:
        return len(set(self.size)) <= 1 and len(set(self.jump)) <= 1 and len(set(self.start)) <= 1


@dataclass(frozen=True)
class ParamTensor:
    name: str  # the module's own name for it: "weight", "bias"
    shape: Shape
    trainable: bool


@dataclass(frozen=True)
class LayerRecord:
    """One module of the model (or the functional ops a container runs itself), after one analysis.

    `macs`, `elementwise_ops`, the op counts and `activation_*` of a container are sums over its leaves; parameters
    of a container are the unique parameters of its subtree. Leaves are modules without children and the synthetic
    `<container>.(functional)` records holding the ops a container's own `forward` runs (e.g. `x + identity`).
    """

    name: str  # qualified module name; "" is the whole model
    type: str  # module class name, or "functional"
    kind: RecordKind
    depth: int  # 0 for the model itself
    parent: str | None  # the parent record's name; None for the model
    children: tuple[str, ...]  # child record names in execution order
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
    receptive_field: ReceptiveField | None  # None: the output is not a spatial map reached from the input
    weight_depth: int  # conv/linear layers on the longest input → this layer's output path (itself included)
    uncounted_ops: tuple[str, ...] = ()  # aten ops that ran here with no formula
    ops: tuple[OpCost, ...] = field(default=(), repr=False)  # this record's own op calls (leaves only)
    param_tensors: tuple[ParamTensor, ...] = field(default=(), repr=False)  # its own parameters (leaves only)
    leaf_macs: tuple[int, ...] = field(default=(), repr=False)  # containers: MACs of each leaf below, in order

    @classmethod
    def built(cls, values: dict[str, object]) -> "LayerRecord":
        """The same record as `LayerRecord(**values)`, without the frozen dataclass's one `object.__setattr__` per
        field (~6 µs a record; the analyzer builds one per module on every analysis). Every field without a default
        must be in `values`, and nothing else; given every field, `values` itself becomes the record's state."""
        if values.keys() == _LAYER_FIELDS:  # every field given: `values` itself becomes the record's state
            return with_state(cls, values, _LAYER_FIELDS)
        return with_state(cls, {**_LAYER_DEFAULTS, **values}, _LAYER_FIELDS)

    @property
    def is_leaf(self) -> bool:
        return self.kind is not RecordKind.CONTAINER

    @property
    def flops(self) -> int:
        """FLOPs = 2 × MACs (one multiply and one add per MAC); element-wise work is separate."""
        return 2 * self.macs

    @property
    def short_name(self) -> str:
        return self.name.rsplit(".", 1)[-1] if self.name else ""

    @cached_property
    def category(self) -> OpCategory | None:
        """The layer's category, from the ops it ran (so a user's own class names work); None for containers and
        layers that ran no op."""
        present = {op.category for op in self.ops}
        return next((c for c in _CATEGORY_PRIORITY if c in present), None)

    @cached_property
    def conv(self) -> ConvGeometry | None:
        """The geometry of the first convolution this layer ran, if any."""
        return next((op.geometry for op in self.ops if isinstance(op.geometry, ConvGeometry)), None)

    @cached_property
    def pool(self) -> PoolGeometry | None:
        return next((op.geometry for op in self.ops if isinstance(op.geometry, PoolGeometry)), None)


def with_state(cls: type, state: dict[str, object], names: frozenset[str]) -> object:
    """An instance of the frozen dataclass `cls` (no `__post_init__`, no slots) whose state is the dict `state`: what
    `cls(**state)` builds, without its one `object.__setattr__` per field, when `state` names every field (`names`)
    and nothing else; otherwise `cls(**state)` runs and names what is wrong. For the records an analysis builds by
    the hundred."""
    if state.keys() != names:
        return cls(**state)
    instance = object.__new__(cls)
    object.__setattr__(instance, "__dict__", state)
    return instance


_LAYER_DEFAULTS = {f.name: f.default for f in fields(LayerRecord) if f.default is not MISSING}
_LAYER_FIELDS = frozenset(f.name for f in fields(LayerRecord))


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
    weight_depth: int  # conv/linear layers on the longest input → output path: the "layers" papers count
    # The parameters one token uses: a mixture of experts' unrouted experts left out (= params for a dense model;
    # None where the totals were not built by an analysis).
    active_params: int | None = None

    @property
    def flops(self) -> int:
        return 2 * self.macs


@dataclass(frozen=True)
class InputDescription:
    """One input tensor of an analysis: its name (`x`, `input_ids`, `images[0]`), shape with batch, dtype."""

    name: str
    shape: Shape
    dtype: torch.dtype

    @property
    def dtype_name(self) -> str:
        return str(self.dtype).removeprefix("torch.")


DATA_DEPENDENT = "data-dependent: measured on one random input"


@dataclass(frozen=True)
class Analysis:
    """The result of `analyze`: every record in execution order (model first, each container before its
    children), plus totals. Walk it as a tree with `root`, `children_of` and `parent_of`."""

    model_name: str
    input_size: Shape  # without the batch dimension (of the first input when there are several)
    batch_size: int
    dtype: torch.dtype  # of the weights and float activations the analysis assumed
    records: tuple[LayerRecord, ...]
    totals: Totals
    inputs: tuple[InputDescription, ...] = ()  # every input tensor the forward was given
    measured_on: str = "meta"  # "meta": shapes alone; otherwise the device of one run on random data

    @property
    def dtype_name(self) -> str:
        """"float32", "bfloat16": the dtype as reports write it."""
        return str(self.dtype).removeprefix("torch.")

    @property
    def data_dependent(self) -> bool:
        """True when the numbers come from one run on random data (a model whose work depends on its input)."""
        return self.measured_on != "meta"

    @property
    def caveat(self) -> str | None:
        """The label every number of a data-dependent analysis carries; None for a meta-device analysis."""
        return DATA_DEPENDENT if self.data_dependent else None

    @cached_property
    def _by_name(self) -> dict[str, LayerRecord]:
        return {r.name: r for r in self.records}

    @property
    def root(self) -> LayerRecord:
        return self.records[0]

    def leaves(self) -> Iterator[LayerRecord]:
        return (r for r in self.records if r.is_leaf)

    def record(self, name: str) -> LayerRecord:
        return self._by_name[name]

    def children_of(self, record: LayerRecord) -> tuple[LayerRecord, ...]:
        return tuple(self._by_name[c] for c in record.children)

    def parent_of(self, record: LayerRecord) -> LayerRecord | None:
        return None if record.parent is None else self._by_name[record.parent]

    def walk(self, record: LayerRecord | None = None) -> Iterator[LayerRecord]:
        """Records of a subtree, depth first in execution order (the same order as `records`)."""
        start = record or self.root
        yield start
        for child in self.children_of(start):
            yield from self.walk(child)

    def by_operator(self) -> dict[str, tuple[int, int, int]]:
        """aten op → (calls, MACs, element-wise ops) over the whole model."""
        table: dict[str, list[int]] = {}
        for r in self.leaves():
            for op in r.ops:
                row = table.setdefault(op.op, [0, 0, 0])
                row[0] += 1
                row[1] += op.macs
                row[2] += op.elementwise_ops
        return {op: (calls, macs, ew) for op, (calls, macs, ew) in table.items()}

    @property
    def uncounted(self) -> dict[str, tuple[str, ...]]:
        """Leaf name → the aten ops it ran that have no formula."""
        return {r.name: r.uncounted_ops for r in self.leaves() if r.uncounted_ops}

    @property
    def depth(self) -> int:
        """The module tree's depth (nesting of containers), not the paper's layer count: see `weight_depth`."""
        return max((r.depth for r in self.records), default=0)
