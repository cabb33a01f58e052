"""The network drawn the way the seeds draw it: volumes as boxes labelled H×W×C, flowing left to right.

Layers that change the volume (conv, pooling, linear) are boxes whose height follows H (or the length of a
flat vector) and whose width follows C; shape-preserving layers (norms, activations, dropout) are small dots on
the path. An Inception-style container, whose children all read the same input and whose outputs are
concatenated, is drawn as parallel branches side by side; a residual block gets its shortcut as an arc over
the main path into a "+" (with the projection W_s on the arc when there is one). Containers deeper than
`depth` — or, block by block, every container not in `expanded` — is collapsed into one box, and a run of
identical collapsed blocks (same type, shapes, parameters and MACs: ResNet-50's layer3.1 … layer3.5) is folded
into one box marked ×N, as the seeds write `CONV64 ×2`. Every box and dot carries its layer name as
`customdata`, so a click selects the layer (Streamlit's plotly selection event); a selected layer inside a
collapsed block outlines that block.

A list of modules its owner calls by index (`nn.ModuleList`, FractalNet's columns) is never called itself: it
counts as run when anything inside it ran, and a list of such lists is drawn as parallel paths. A container's own
add is a residual join only when it comes last (its weight depth is its deepest child's); a ViT's positional
embedding, added before the blocks, is a dot in the sequence, not a shortcut around the network.

The drawing is always at one scale (one data unit is UNIT_PX pixels), so labels keep the room the layout gives
them; a deep network is kept readable by `drawn_blocks`, which closes the open blocks farthest from the selected
layer until at most MAX_ELEMENTS boxes and dots are drawn (ResNet-1202 has 3,608 leaves).

The structure is read from the typed analysis: the record tree (parent and children), each layer's kind, the
category of the ops it ran and their geometry (a conv's kernel, a pool's window), never from formula text or class
names. It is a drawing aid; the table holds the numbers.
"""

from __future__ import annotations

import html
import math
import weakref
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import plotly.graph_objects as go

from analyzers.numbers import dims
from analyzers.records import Analysis, LayerRecord, OpCategory, RecordKind
from explorer.figures.shape_text import hwc, token_layout
from explorer.figures.theme import (
    CATEGORY_COLORS,
    CONTAINER_COLOR,
    HIGHLIGHT,
    INK,
    MUTED,
    LayerCategory,
    layer_category,
    styled,
)

__all__ = [
    "BLOCK_COLOR", "CHAR_WIDTH", "DEFAULT_ELEMENTS", "DOT_WIDTH", "DrawnBlocks", "GAP", "GROUP_CHAR_WIDTH",
    "GROUP_LABEL_ROOM", "INPUT_COLOR", "LABEL_ROOM", "LEGEND_LABELS", "LEGEND_PER_ROW", "LEGEND_ROW_PX",
    "MARGIN_BOTTOM_PX", "MARGIN_SIDE_PX", "MARGIN_TOP_PX", "MAX_ELEMENTS", "MIN_WIDTH_PX", "ORPHAN_SLACK", "Opening",
    "REFERENCE_CHANNELS", "REFERENCE_FEATURES", "REFERENCE_SIDE", "ROW_WIDTH", "SHORTCUT_NAMES", "SYMBOL_UNITS",
    "UNIT_PX", "UNUSED_COLOR", "UNUSED_LABEL", "containers", "count_elements", "drawn_blocks", "drawn_count",
    "network_diagram", "opened_to_depth", "readable_depth",
]

SHORTCUT_NAMES = {"downsample", "shortcut", "projection", "proj", "skip", "w_s"}
GAP = 0.45  # between consecutive elements of a sequence
DOT_WIDTH = 0.3
SYMBOL_UNITS = 0.5  # a "+" or "⧺" join, 22 px
# One data unit is drawn UNIT_PX pixels wide on every model (the height follows the drawing), so labels of a
# fixed pixel size can be budgeted in data units, and a row of ROW_WIDTH units fits the diagram's column (three
# quarters of a wide-layout page, ~700 px; the selected layer's panel takes the rest).
UNIT_PX = 44
ROW_WIDTH = 15.5  # the top-level sequence wraps into a new row past this width
ORPHAN_SLACK = 1.1  # ... unless what is left fits within 10 % more (LeNet's last fc alone on a second row)
CHAR_WIDTH = 6.6 / UNIT_PX  # one character of an 11 px label
GROUP_CHAR_WIDTH = 7.4 / UNIT_PX  # one character of a block's 12 px name
LABEL_ROOM = 0.55  # above and below a box for its two labels
GROUP_LABEL_ROOM = 0.4  # above an expanded block (branches, residual) for its name
REFERENCE_SIDE = 224  # H of an ImageNet input: the tallest box (up to 1.2× for larger inputs)
REFERENCE_CHANNELS = 1024
REFERENCE_FEATURES = 4096  # a VGG fully connected layer
BLOCK_COLOR = CONTAINER_COLOR  # a collapsed container
INPUT_COLOR = "#cbd5e1"
UNUSED_COLOR = "#e5e7eb"  # a module the forward never called (Inception v3's AuxLogits in eval mode)
UNUSED_LABEL = "not run in this forward (calls = 0)"
LEGEND_LABELS = {BLOCK_COLOR: "block (collapsed)", UNUSED_COLOR: "not run (calls = 0)"}
MAX_ELEMENTS = 120  # boxes and dots drawn at once: about a dozen rows of the diagram
DEFAULT_ELEMENTS = 70  # the most a model's first view opens to (`readable_depth`)


# ---------------------------------------------------------------- the module tree, from the records


@dataclass
class _Node:
    name: str
    type: str
    depth: int
    is_leaf: bool
    input_shape: tuple[int, ...] | None
    output_shape: tuple[int, ...] | None
    category: LayerCategory = LayerCategory.OTHER
    kernel: tuple[int, ...] | None = None  # a conv's
    window: str | None = None  # a pooling window: "max pool 3×3"
    adds: bool = False  # a container's own ops include an addition (a residual shortcut)
    is_functional: bool = False
    calls: int = 1
    params: int = 0
    macs: int = 0
    weight_depth: int = 0
    order: int = 0  # position in the analysis's records
    shape_label: str = ""  # the output as the seeds write it (H×W×C, or T tokens × D)
    tokens: bool = False  # the output is a token sequence
    children: list[_Node] = field(default_factory=list)
    ran: bool = True  # called, or (a list called by index) something inside it was

    @property
    def short_name(self) -> str:
        return self.name.rsplit(".", 1)[-1] if self.name else "model"


def _category(record: LayerRecord) -> LayerCategory:
    """From the ops the layer ran; a pooling window across channels (local response normalisation) is a norm."""
    pool = record.pool
    if pool is not None and record.input_shapes and len(pool.window) == len(record.input_shapes[0]) - 1:
        return LayerCategory.NORM
    return layer_category(record.category)


def _node(analysis: Analysis, record: LayerRecord, order: dict[str, int], tokens: bool) -> _Node:
    pool = record.pool
    children = [_node(analysis, child, order, tokens) for child in analysis.children_of(record)]
    ran = record.calls != 0 or any(c.ran for c in children)
    input_shape = record.input_shapes[0] if record.input_shapes else None
    output_shape = record.output_shapes[0] if record.output_shapes else None
    if record.calls == 0 and ran:  # a list its owner indexes: its shapes are its first and last run child's
        inner = [c for c in children if c.ran]
        input_shape, output_shape = inner[0].input_shape, inner[-1].output_shape
    return _Node(
        name=record.name,
        type=record.type,
        depth=record.depth,
        is_leaf=record.is_leaf,
        input_shape=input_shape,
        output_shape=output_shape,
        category=_category(record),
        kernel=record.conv.kernel if record.conv is not None else None,
        window=f"{pool.reduce} pool {dims(pool.window)}" if pool is not None else None,
        adds=any(op.category is OpCategory.ELEMENTWISE and op.label in ("add", "sub") for op in record.ops),
        is_functional=record.kind is RecordKind.FUNCTIONAL,
        calls=record.calls,
        params=record.params,
        macs=record.macs,
        weight_depth=record.weight_depth,
        order=order[record.name],
        shape_label=hwc(output_shape, tokens),
        tokens=tokens and output_shape is not None and len(output_shape) == 3,
        children=children,
        ran=ran,
    )


_TREES: dict[int, tuple[weakref.ref, _Node]] = {}  # analysis id → (a weak reference to it, its tree)


def _build_tree(analysis: Analysis) -> _Node:
    """The module tree of `analysis`, built once per analysis (a 4,000-record tree takes ~15 ms; a click on a
    deep network must not pay it again)."""
    if not analysis.records:
        raise ValueError("the analysis has no records")
    kept = _TREES.get(id(analysis))
    if kept is not None and kept[0]() is analysis:
        return kept[1]
    order = {r.name: i for i, r in enumerate(analysis.records)}
    tree = _node(analysis, analysis.root, order, token_layout(analysis))
    for key in [k for k, (ref, _) in _TREES.items() if ref() is None]:
        del _TREES[key]
    _TREES[id(analysis)] = (weakref.ref(analysis), tree)
    return tree


def _channels(shape: tuple[int, ...] | None) -> int | None:
    return shape[1] if shape and len(shape) >= 2 else None


def _is_path_list(node: _Node) -> bool:
    """A list of lists its owner indexes (FractalNet's columns): neither it nor its children are ever called
    themselves, so each child is one path of modules the owner runs side by side."""
    paths = [c for c in node.children if c.ran]
    return node.calls == 0 and len(paths) >= 2 and all(c.calls == 0 and c.children for c in paths)


def _is_parallel(node: _Node) -> bool:
    """Inception-style: ≥ 2 children all reading the container's input, outputs concatenated along C."""
    branches = [c for c in node.children if not c.is_functional]
    if len(branches) < 2 or node.input_shape is None or node.output_shape is None:
        return False
    if any(b.input_shape != node.input_shape for b in branches):
        return False
    outs = [b.output_shape for b in branches]
    if any(o is None or len(o) != len(node.output_shape) or o[2:] != node.output_shape[2:] for o in outs):
        return False
    return sum(o[1] for o in outs) == node.output_shape[1]  # type: ignore[index]


def _chained_branches(node: _Node) -> list[list[_Node]] | None:
    """torchvision's Inception v3 modules hold each branch's convs as siblings (branch5x5_1, branch5x5_2, …), not
    in a Sequential: read in execution order, a child reading the container's input starts a branch and one reading
    the previous child's output continues it (a parameter-free module keeping the input's shape, a pool, feeds the
    next one rather than ending a branch of its own). They are branches when there are two or more, one is longer than a
    module, and their ends concatenate along C to the output (an input-wide pool done functionally, as in a grid
    reduction, may add the input's channels); otherwise None (drawn as a sequence)."""
    inp, out = node.input_shape, node.output_shape
    if inp is None or out is None or len(out) < 2:
        return None
    chains: list[list[_Node]] = []
    for child in _called(node.children):
        if child.is_functional:
            continue
        previous = chains[-1][-1] if chains else None
        feeds = previous is not None and child.input_shape == previous.output_shape
        if feeds and (child.input_shape != inp or previous.params == 0):  # a pool in front of its branch's conv
            chains[-1].append(child)
        elif child.input_shape == inp:
            chains.append([child])
        else:
            return None
    if len(chains) < 2 or all(len(chain) == 1 for chain in chains):
        return None
    ends = [chain[-1].output_shape for chain in chains]
    if any(e is None or len(e) != len(out) or e[2:] != out[2:] for e in ends):
        return None
    channels = sum(e[1] for e in ends)  # type: ignore[index]
    return chains if out[1] in (channels, channels + inp[1]) else None


def _is_residual(node: _Node) -> bool:
    """A block whose own forward adds something (the shortcut) to the main path's output: the add comes last, as
    deep (in weight layers) as the deepest child. An add before the children (a positional embedding) is not one."""
    adds = [c for c in node.children if c.is_functional and c.adds]
    others = [c for c in node.children if not c.is_functional and c.ran]
    if not adds or not others or len(node.children) < 2:
        return False
    return max(a.weight_depth for a in adds) >= max(c.weight_depth for c in others)


def _in_order(children: list[_Node]) -> list[_Node]:
    """Children as the forward ran them: a container's own ops (recorded after its modules) go before the first
    module deeper in weight layers than their output (a ViT's positional-embedding add before its blocks)."""
    own = [c for c in children if c.is_functional]
    if not own:
        return children
    ordered = [c for c in children if not c.is_functional]
    for op in own:
        at = next((i for i, c in enumerate(ordered) if c.weight_depth > op.weight_depth), len(ordered))
        ordered.insert(at, op)
    return ordered


def _shortcut_child(node: _Node) -> _Node | None:
    for child in node.children:  # a block may compute its shortcut before or after the main path
        if child.short_name.lower() in SHORTCUT_NAMES and child.input_shape == node.input_shape:
            return child
    return None


# ---------------------------------------------------------------- layout: elements with a size, placed later


@dataclass
class _Canvas:
    rects: list[tuple[float, float, float, float, str, str]] = field(default_factory=list)  # x0,y0,x1,y1,color,name
    dots: list[tuple[float, float, str, str]] = field(default_factory=list)  # x, y, color, name
    targets: list[tuple[float, float, str, float]] = field(default_factory=list)  # x, y, name, size (units)
    edges_x: list[float | None] = field(default_factory=list)
    edges_y: list[float | None] = field(default_factory=list)
    top_labels: list[tuple[float, float, str]] = field(default_factory=list)
    bottom_labels: list[tuple[float, float, str]] = field(default_factory=list)
    symbols: list[tuple[float, float, str]] = field(default_factory=list)  # "+", "concat"
    group_labels: list[tuple[float, float, str]] = field(default_factory=list)  # an expanded block's name
    hover: dict[str, str] = field(default_factory=dict)

    def edge(self, xs: list[float], ys: list[float]) -> None:
        self.edges_x += [*xs, None]
        self.edges_y += [*ys, None]


class _Element:
    width: float
    up: float  # extent above the centre line
    down: float  # extent below it

    def place(self, canvas: _Canvas, x: float, y: float) -> None:
        raise NotImplementedError


def _box_size(shape: tuple[int, ...] | None, tokens: bool = False) -> tuple[float, float]:
    """Width from C, height from H (or a flat vector's length), on one absolute scale for every model: a 28×28×192
    volume looks the same in the Inception module and in GoogLeNet. Square roots keep the seeds' picture (volumes
    shrink in H and grow in C) without tiny or huge boxes. T tokens of width D are drawn as a √T×√T map of D."""
    if not shape or len(shape) < 2:
        return 0.5, 0.8
    if tokens and len(shape) == 3:
        height = 0.45 + 2.55 * min(math.sqrt(math.sqrt(shape[1]) / REFERENCE_SIDE), 1.2)
        return 0.25 + 0.95 * min(math.sqrt(shape[2] / REFERENCE_CHANNELS), 1.3), height
    channels = shape[1]
    if len(shape) < 3:  # a flat vector: tall and thin, like the seeds' FC layers
        return 0.22, 0.45 + 2.55 * min(math.sqrt(channels / REFERENCE_FEATURES), 1.1)
    height = 0.45 + 2.55 * min(math.sqrt(shape[2] / REFERENCE_SIDE), 1.2)
    width = 0.25 + 0.95 * min(math.sqrt(channels / REFERENCE_CHANNELS), 1.3)
    return width, height


def _hover(node: _Node) -> str:
    shape = node.shape_label
    title = f"<b>{html.escape(node.name or '(model)')}</b> · {html.escape(node.type)}"
    if not node.ran:
        return f"{title}<br>never called by this forward: no cost counted"
    return f"{title}<br>out {shape}" if shape else title


class _Box(_Element):
    def __init__(self, node: _Node, *, label: str | None = None, repeats: int = 1) -> None:
        self.node = node
        self.repeats = repeats
        self.box_w, self.box_h = _box_size(node.output_shape, node.tokens)
        text = label if label is not None else _box_label(node)
        self.label = html.escape(f"{text} ×{repeats}" if repeats > 1 else text)
        self.shape_label = node.shape_label
        longest = max(len(self.label), len(self.shape_label))
        self.width = max(self.box_w, CHAR_WIDTH * longest)  # room for the labels, so neighbours never overlap
        self.up = self.down = self.box_h / 2 + LABEL_ROOM

    def place(self, canvas: _Canvas, x: float, y: float) -> None:
        color = CATEGORY_COLORS[self.node.category] if self.node.is_leaf else BLOCK_COLOR
        if self.node.name == "(input)":
            color = INPUT_COLOR
        if not self.node.ran:
            color = UNUSED_COLOR
        half = self.box_h / 2
        centre = x + self.width / 2
        left = centre - self.box_w / 2
        if self.node.ran:  # the path runs through the label room (the box covers it); none to an unrun module
            canvas.edge([x, x + self.width], [y, y])
        canvas.rects.append((left, y - half, left + self.box_w, y + half, color, self.node.name))
        canvas.targets.append((centre, y, self.node.name, min(self.box_w, self.box_h)))
        canvas.top_labels.append((centre, y + half + 0.08, self.label))
        canvas.bottom_labels.append((centre, y - half - 0.08, self.shape_label))
        hover = _hover(self.node)
        if self.repeats > 1:
            hover += f"<br>×{self.repeats}: {self.repeats} identical blocks in a row (the first is named)"
        canvas.hover[self.node.name] = hover


class _Dot(_Element):
    def __init__(self, node: _Node) -> None:
        self.node = node
        self.width = DOT_WIDTH
        self.up = self.down = 0.3

    def place(self, canvas: _Canvas, x: float, y: float) -> None:
        canvas.edge([x, x + DOT_WIDTH], [y, y])
        canvas.dots.append((x + DOT_WIDTH / 2, y, CATEGORY_COLORS[self.node.category], self.node.name))
        canvas.hover[self.node.name] = _hover(self.node)


class _Sequence(_Element):
    def __init__(self, items: list[_Element]) -> None:
        # A sequence inside a sequence is just more sequence: flattening lets the top level wrap into rows.
        self.items = [leaf for item in items for leaf in (item.items if isinstance(item, _Sequence) else [item])]
        items = self.items
        self.width = sum(i.width for i in items) + GAP * max(len(items) - 1, 0)
        self.up = max((i.up for i in items), default=0.3)
        self.down = max((i.down for i in items), default=0.3)

    def place(self, canvas: _Canvas, x: float, y: float) -> None:
        for index, item in enumerate(self.items):
            if index:
                canvas.edge([x - GAP, x], [y, y])
            item.place(canvas, x, y)
            x += item.width + GAP


def _group_label(node: _Node) -> str:
    """'inception3a', 'layer2.0' (a numbered block with its parent), or the model's class for the root."""
    if not node.name:
        return node.type
    parts = node.name.split(".")
    return ".".join(parts[-2:]) if parts[-1].isdigit() and len(parts) > 1 else node.short_name


class _Parallel(_Element):
    """Branches stacked vertically between a split point and a concat node, under "name → output volume"."""

    MARGIN = 0.6
    SPACING = 0.25

    def __init__(self, branches: list[_Element], node: _Node, symbol: str = "⧺") -> None:
        self.branches = branches
        self.node = node
        self.symbol = symbol  # "⧺" concatenation; "⋈" paths its owner joins itself (FractalNet's means)
        self.label = f"{_group_label(node)} → {node.shape_label}"  # e.g. "inception3a → 28×28×256"
        self.inner = max(b.width for b in branches) + 2 * self.MARGIN + DOT_WIDTH
        self.width = max(self.inner, GROUP_CHAR_WIDTH * len(self.label))  # wide enough for its label
        total = sum(b.up + b.down for b in branches) + self.SPACING * (len(branches) - 1)
        self.down = total / 2
        self.up = total / 2 + GROUP_LABEL_ROOM

    def place(self, canvas: _Canvas, x: float, y: float) -> None:
        top = y + self.up - GROUP_LABEL_ROOM
        canvas.group_labels.append((x + self.width / 2, top + 0.05, html.escape(self.label)))
        pad = (self.width - self.inner) / 2
        canvas.edge([x, x + pad], [y, y])
        split_x = x + pad
        join_x = split_x + self.inner - DOT_WIDTH / 2
        for branch in self.branches:
            centre = top - branch.up
            start = split_x + self.MARGIN
            canvas.edge([split_x, start - 0.15, start], [y, centre, centre])
            branch.place(canvas, start, centre)
            end = start + branch.width
            canvas.edge([end, join_x - 0.15, join_x], [centre, centre, y])
            top -= branch.up + branch.down + self.SPACING
        canvas.symbols.append((join_x, y, self.symbol))
        canvas.edge([join_x, x + self.width], [y, y])
        canvas.hover.setdefault(self.node.name, _hover(self.node))
        canvas.targets.append((join_x, y, self.node.name, SYMBOL_UNITS))


class _Residual(_Element):
    """The main path with the shortcut drawn as an arc above it, joining at a "+" node."""

    MARGIN = 0.35

    def __init__(self, body: _Element, shortcut: _Element | None, node: _Node) -> None:
        self.body = body
        self.shortcut = shortcut
        self.node = node
        self.label = _group_label(node)
        arc = self.shortcut.up + self.shortcut.down if self.shortcut else 0.0
        self.inner = body.width + 2 * self.MARGIN + DOT_WIDTH
        self.width = max(self.inner, GROUP_CHAR_WIDTH * len(self.label))
        self.up = body.up + 0.35 + arc + GROUP_LABEL_ROOM
        self.down = body.down

    def place(self, canvas: _Canvas, x: float, y: float) -> None:
        pad = (self.width - self.inner) / 2
        canvas.edge([x, x + pad], [y, y])
        left = x + pad
        start = left + self.MARGIN
        canvas.edge([left, start], [y, y])
        self.body.place(canvas, start, y)
        plus_x = left + self.inner - DOT_WIDTH / 2
        canvas.edge([start + self.body.width, plus_x], [y, y])
        canvas.edge([plus_x, x + self.width], [y, y])
        arc_y = y + self.body.up + 0.2 + (self.shortcut.down if self.shortcut else 0.0)
        if self.shortcut is None:
            canvas.edge([left + 0.1, left + 0.1, plus_x, plus_x], [y, arc_y, arc_y, y])
        else:
            mid = left + (self.inner - self.shortcut.width) / 2
            canvas.edge([left + 0.1, left + 0.1, mid], [y, arc_y, arc_y])
            self.shortcut.place(canvas, mid, arc_y)
            canvas.edge([mid + self.shortcut.width, plus_x, plus_x], [arc_y, arc_y, y])
        label_y = arc_y + (self.shortcut.up if self.shortcut else 0.0) + 0.05
        canvas.group_labels.append((x + self.width / 2, label_y, html.escape(self.label)))
        canvas.symbols.append((plus_x, y, "+"))
        canvas.hover.setdefault(self.node.name, _hover(self.node))
        canvas.targets.append((plus_x, y, self.node.name, SYMBOL_UNITS))


def _box_label(node: _Node) -> str:
    """'conv 5×5', 'max pool 3×3', 'fc', or the container's name: the seeds' way of naming an operation."""
    if not node.is_leaf:
        return _group_label(node)
    if node.kernel is not None and node.category is LayerCategory.CONV:
        return f"conv {dims(node.kernel)}"
    if node.window is not None and node.category is LayerCategory.POOL:
        return node.window
    if node.category is LayerCategory.LINEAR:
        return "fc"
    return node.type


def _is_dot(node: _Node) -> bool:
    if node.is_functional:
        return True
    if node.category in (LayerCategory.NORM, LayerCategory.ACTIVATION):
        return True
    return node.category is LayerCategory.OTHER and node.input_shape == node.output_shape


def _called(nodes: list[_Node]) -> list[_Node]:
    return [n for n in nodes if n.ran]


Opening = Callable[[_Node], bool]  # is this container drawn expanded?


def _signature(node: _Node) -> tuple:
    return (node.type, node.input_shape, node.output_shape, node.params, node.macs, len(node.children))


def _runs(children: list[_Node], is_open: Opening) -> Iterator[tuple[_Node, int]]:
    """Consecutive children as (first, length): a run of identical collapsed blocks is one ×N box."""
    index = 0
    while index < len(children):
        child = children[index]
        run = 1
        if child.children and not is_open(child):
            while (index + run < len(children) and not is_open(children[index + run])
                   and _signature(children[index + run]) == _signature(child)):  # fmt: skip
                run += 1
        yield child, run
        index += run


def _sequence(children: list[_Node], is_open: Opening) -> list[_Element]:
    """The elements of consecutive children, a run of identical collapsed blocks folded into one ×N box."""
    return [_Box(child, repeats=run) if run > 1 else _element(child, is_open) for child, run in _runs(children, is_open)]


def _parts(node: _Node, is_open: Opening) -> tuple[str, list[_Node], _Node | None]:
    """How an open container is drawn — "paths" (side by side, joined by its owner), "parallel" (concatenated
    branches), "residual" (a body and a shortcut) or "sequence" — with the children that make it up and its
    shortcut."""
    if _is_path_list(node):
        return "paths", _called(node.children), None
    if _is_parallel(node):
        return "parallel", [c for c in _called(node.children) if not c.is_functional], None
    if _is_residual(node):
        shortcut = _shortcut_child(node)
        return "residual", [c for c in _called(node.children) if c is not shortcut and not c.is_functional], shortcut
    if _chained_branches(node) is not None:
        return "chains", _called(node.children), None
    return "sequence", _in_order(_called(node.children)), None


def _element(node: _Node, is_open: Opening) -> _Element:
    if node.is_leaf:
        return _Dot(node) if _is_dot(node) else _Box(node)
    if not node.children or not is_open(node):
        return _Box(node)
    kind, parts, shortcut = _parts(node, is_open)
    if kind in ("paths", "parallel"):
        return _Parallel([_element(c, is_open) for c in parts], node, "⋈" if kind == "paths" else "⧺")
    if kind == "chains":
        return _Parallel([_Sequence(_sequence(chain, is_open)) for chain in _chained_branches(node) or []], node)
    if kind == "residual":
        body = _Sequence(_sequence(parts, is_open))
        return _Residual(body, _element(shortcut, is_open) if shortcut else None, node)
    return _Sequence(_sequence(parts, is_open))


def _count(node: _Node, is_open: Opening) -> int:
    """How many boxes, dots and joins `_element(node)` draws, without laying anything out."""
    if node.is_leaf or not node.children or not is_open(node):
        return 1
    kind, parts, shortcut = _parts(node, is_open)
    if kind in ("paths", "parallel"):
        return 1 + sum(_count(c, is_open) for c in parts)
    if kind == "chains":
        return 1 + sum(1 if run > 1 else _count(child, is_open)
                       for chain in _chained_branches(node) or [] for child, run in _runs(chain, is_open))
    inner = sum(1 if run > 1 else _count(child, is_open) for child, run in _runs(parts, is_open))
    if kind == "residual":
        return 1 + inner + (_count(shortcut, is_open) if shortcut else 0)
    return inner


def _never_called(node: _Node, is_open: Opening) -> list[_Node]:
    """The outermost modules the forward never called, inside the blocks drawn open (a collapsed block keeps
    its own), in execution order: drawn apart, greyed, off the path."""
    if not node.ran and node.name:
        return [node]
    if node.name and not is_open(node):
        return []
    return [found for child in node.children for found in _never_called(child, is_open)]


def _unused_boxes(root: _Node, is_open: Opening) -> list[_Box]:
    """The never-called modules as boxes named by their own name (a ViT's out_proj, not its 31-letter class),
    each run of identical ones folded into one ×N box (ViT-H's 32 out_proj are one)."""
    nodes = _never_called(root, is_open)
    boxes, index = [], 0
    while index < len(nodes):
        run = 1
        while index + run < len(nodes) and (nodes[index + run].short_name, _signature(nodes[index + run])) == (
                nodes[index].short_name, _signature(nodes[index])):
            run += 1
        boxes.append(_Box(nodes[index], label=nodes[index].short_name, repeats=run))
        index += run
    return boxes


def _root_open(is_open: Opening) -> Opening:
    return lambda node: not node.name or is_open(node)  # the model itself is always open


def _top_level(root: _Node, is_open: Opening) -> list[_Element]:
    """The input volume, then the root's elements, flattened into one wrappable sequence."""
    input_node = _Node("(input)", "input", 0, True, None, root.input_shape,
                       shape_label=hwc(root.input_shape, root.tokens))
    items: list[_Element] = [_Box(input_node, label="input")]
    element = _element(root, _root_open(is_open))
    items += element.items if isinstance(element, _Sequence) else [element]
    return items


def opened_to_depth(analysis: Analysis, depth: int) -> frozenset[str]:
    """The containers drawn expanded when every block shallower than `depth` is open."""
    return frozenset(r.name for r in analysis.records if not r.is_leaf and r.depth < depth)


def containers(analysis: Analysis) -> list[str]:
    """Every container that can be expanded or collapsed (the model itself excluded), in execution order."""
    return [r.name for r in analysis.records if not r.is_leaf and r.depth >= 1]


def drawn_count(analysis: Analysis, expanded: frozenset[str]) -> int:
    """How many boxes, dots and joins the diagram draws with the blocks in `expanded` open (plus the input)."""
    root = _build_tree(analysis)
    is_open: Opening = lambda node: node.name in expanded  # noqa: E731
    return 1 + _count(root, _root_open(is_open)) + len(_unused_boxes(root, is_open))


def count_elements(analysis: Analysis, depth: int) -> int:
    """How many boxes and dots the diagram draws at `depth` (to choose a readable default)."""
    return drawn_count(analysis, opened_to_depth(analysis, depth))


def readable_depth(analysis: Analysis, max_elements: int = DEFAULT_ELEMENTS) -> int:
    """The deepest expansion that stays readable (≤ `max_elements` boxes and dots), at least 1."""
    best = 1
    for depth in range(1, max(analysis.depth, 1) + 1):
        if count_elements(analysis, depth) > max_elements:
            break
        best = depth
    return best


@dataclass(frozen=True)
class DrawnBlocks:
    """The blocks a diagram draws open: the requested ones, less those closed to stay within the budget."""

    expanded: frozenset[str]
    requested: int  # open blocks asked for
    closed: int  # of those, closed to keep the drawing readable
    elements: int  # boxes, dots and joins drawn


def _common_parts(a: str, b: str) -> int:
    n = 0
    for x, y in zip(a.split("."), b.split(".")):
        if x != y:
            break
        n += 1
    return n


def drawn_blocks(analysis: Analysis, expanded: frozenset[str], selected: str | None = None,
                 max_elements: int = MAX_ELEMENTS) -> DrawnBlocks:
    """Level of detail: the open blocks the diagram can draw with at most `max_elements` boxes and dots.

    The blocks holding the selected layer always stay open (it must show); the other requested blocks are
    opened nearest the selection first (sharing the longest part of its name), shallow before deep, then nearest
    in execution order, while the drawing stays within the budget; the rest stay closed (and fold into ×N runs). Each block's
    cost is bounded from above without a layout (its children, plus two for a ×N run it splits), so choosing is
    linear in the blocks requested."""
    root = _build_tree(analysis)
    nodes: dict[str, _Node] = {}
    stack = [root]
    while stack:
        node = stack.pop()
        nodes[node.name] = node
        stack.extend(node.children)
    wanted = [nodes[name] for name in expanded if name in nodes and nodes[name].children and name]
    required: set[str] = set()
    if selected:
        parts = selected.split(".")
        required = {".".join(parts[:i]) for i in range(1, len(parts))} | ({selected} & set(expanded))
        required = {name for name in required if name in nodes and nodes[name].children}
    parent_of = {child.name: node for node in nodes.values() for child in node.children}
    chosen: set[str] = set()
    is_open: Opening = lambda node: not node.name or node.name in chosen  # noqa: E731
    total = drawn_count(analysis, frozenset())

    def cost(node: _Node) -> int:
        siblings = parent_of[node.name].children if node.name in parent_of else []
        i = next((k for k, c in enumerate(siblings) if c is node), -1)
        in_run = any(0 <= j < len(siblings) and _signature(siblings[j]) == _signature(node) and not is_open(siblings[j])
                     for j in (i - 1, i + 1))
        chosen.add(node.name)
        opened = _count(node, is_open)
        chosen.discard(node.name)
        return opened - 1 + (2 if in_run else 0)

    def visible(node: _Node) -> bool:
        parent = parent_of.get(node.name)
        return parent is None or not parent.name or parent.name in chosen

    for node in sorted((nodes[n] for n in required), key=lambda n: n.depth):  # the selection's way in: always open
        total += cost(node)
        chosen.add(node.name)
    focus = selected or ""
    around = nodes[focus].order if focus in nodes else 0
    for node in sorted(wanted, key=lambda n: (-_common_parts(n.name, focus), n.depth, abs(n.order - around))):
        if node.name in chosen or not visible(node):
            continue
        extra = cost(node)
        if total + extra > max_elements:
            continue
        total += extra
        chosen.add(node.name)
    kept = frozenset(chosen)
    return DrawnBlocks(kept, len(wanted), len([n for n in wanted if n.name not in kept]),
                       drawn_count(analysis, kept))


def _layout(analysis: Analysis, expanded: frozenset[str]) -> _Canvas:
    root = _build_tree(analysis)
    is_open: Opening = lambda node: node.name in expanded  # noqa: E731
    canvas = _Canvas()
    x, y = 0.0, 0.0
    row_up = row_down = 0.0
    rows: list[list[tuple[_Element, float]]] = [[]]
    items = _top_level(root, is_open)
    for index, item in enumerate(items):  # wrap the top level into rows
        rest = sum(i.width + GAP for i in items[index:]) - GAP
        orphans = x + rest <= ROW_WIDTH * ORPHAN_SLACK  # the last few would make a near-empty row: keep them here
        if rows[-1] and x + item.width > ROW_WIDTH and not orphans:
            rows.append([])
            x = 0.0
        rows[-1].append((item, x))
        x += item.width + GAP
    previous_end: tuple[float, float] | None = None
    row_bottom = 0.0
    for row in rows:
        row_up = max(i.up for i, _ in row)
        row_down = max(i.down for i, _ in row)
        bend = row_bottom - 0.2  # a wrap runs in the gap between two rows
        y -= row_up
        for index, (item, left) in enumerate(row):
            if previous_end is not None:
                px, py = previous_end
                if index == 0:  # wrap: down from the previous row's end and back to the left
                    canvas.edge([px, px + 0.2, px + 0.2, left - 0.2, left - 0.2, left], [py, py, bend, bend, y, y])
                else:
                    canvas.edge([px, left], [py, y])
            item.place(canvas, left, y)
            previous_end = (left + item.width, y)
        row_bottom = y - row_down
        y -= row_down + 0.4
    unused = _unused_boxes(root, is_open)
    if unused:  # rows of their own under the network, with no edge into the path, wrapped like the network
        y -= GROUP_LABEL_ROOM + max(b.up for b in unused)
        canvas.group_labels.append((GROUP_CHAR_WIDTH * len(UNUSED_LABEL) / 2, y + max(b.up for b in unused) + 0.05,
                                    UNUSED_LABEL))
        x = 0.0
        for box in unused:
            if x and x + box.width > ROW_WIDTH:
                x, y = 0.0, y - 2 * max(b.up for b in unused) - 0.4
            box.place(canvas, x, y)
            x += box.width + GAP
    return canvas


# ---------------------------------------------------------------- rendering


def _rect_path(rects: list[tuple[float, float, float, float, str, str]]) -> tuple[list, list]:
    xs: list[float | None] = []
    ys: list[float | None] = []
    for x0, y0, x1, y1, *_ in rects:
        xs += [x0, x1, x1, x0, x0, None]
        ys += [y0, y0, y1, y1, y0, None]
    return xs, ys


def _add_legend(fig: go.Figure, canvas: _Canvas) -> None:
    """A legend entry for every colour drawn (layer categories, collapsed blocks, modules never run), so the
    colours explain themselves."""
    colors = {r[4] for r in canvas.rects} | {d[2] for d in canvas.dots}
    labels = {color: category.value for category, color in CATEGORY_COLORS.items()}
    labels[CATEGORY_COLORS[LayerCategory.OTHER]] = "other (flatten, dropout, …)"
    labels.update(LEGEND_LABELS)
    for color, label in labels.items():
        if color in colors:
            fig.add_trace(
                go.Scatter(
                    x=[None],
                    y=[None],
                    mode="markers",
                    marker=dict(size=11, color=color, symbol="square", line=dict(color=MUTED, width=0.5)),
                    name=label,
                )
            )


def _drawn_as(canvas: _Canvas, layer: str | None) -> str | None:
    """The element that shows `layer`: itself, else the nearest collapsed (or folded) block holding it."""
    if layer is None:
        return None
    drawn = {r[5] for r in canvas.rects} | {d[3] for d in canvas.dots} | {t[2] for t in canvas.targets}
    name = layer
    while name not in drawn and "." in name:
        name = name.rsplit(".", 1)[0]
    return name if name in drawn else None


def network_diagram(
    analysis: Analysis,
    *,
    depth: int | None = None,
    expanded: frozenset[str] | None = None,
    selected: str | None = None,
) -> go.Figure:
    """The diagram of the analysed network; `selected` (a layer name) is outlined in the highlight colour.

    `expanded` names the containers drawn open (the rest are boxes); without it, every container shallower than
    `depth` (default: the deepest readable depth) is open. Pass the blocks `drawn_blocks` keeps for a deep network:
    this draws whatever it is given. Drawn at UNIT_PX pixels per unit, so every label has the room it was given."""
    if expanded is None:
        expanded = opened_to_depth(analysis, readable_depth(analysis) if depth is None else depth)
    canvas = _layout(analysis, frozenset(expanded))
    selected = _drawn_as(canvas, selected)
    fig = go.Figure()
    fig.add_trace(
        go.Scatter(
            x=canvas.edges_x,
            y=canvas.edges_y,
            mode="lines",
            line=dict(color="#c7ccd4", width=1.5),
            hoverinfo="skip",
            showlegend=False,
        )
    )
    by_color: dict[str, list] = {}
    for rect in canvas.rects:
        by_color.setdefault(rect[4], []).append(rect)
    for color, rects in by_color.items():
        xs, ys = _rect_path(rects)
        fig.add_trace(
            go.Scatter(
                x=xs,
                y=ys,
                mode="lines",
                fill="toself",
                fillcolor=color,
                opacity=0.85,
                line=dict(color=color, width=1),
                hoverinfo="skip",
                showlegend=False,
            )
        )
    chosen = [r for r in canvas.rects if r[5] == selected and selected is not None]
    if chosen:
        xs, ys = _rect_path(chosen)
        fig.add_trace(
            go.Scatter(
                x=xs, y=ys, mode="lines", line=dict(color=HIGHLIGHT, width=4), hoverinfo="skip", showlegend=False
            )
        )
    for labels, size, color, position in (
        (canvas.top_labels, 11, MUTED, "top center"),
        (canvas.bottom_labels, 11, INK, "bottom center"),
        (canvas.group_labels, 12, INK, "top center"),
    ):
        fig.add_trace(
            go.Scatter(
                x=[p[0] for p in labels],
                y=[p[1] for p in labels],
                text=[p[2] for p in labels],
                mode="text",
                textposition=position,
                textfont=dict(size=size, color=color),
                hoverinfo="skip",
                showlegend=False,
            )
        )
    if canvas.symbols:
        fig.add_trace(
            go.Scatter(
                x=[s[0] for s in canvas.symbols],
                y=[s[1] for s in canvas.symbols],
                text=[s[2] for s in canvas.symbols],
                mode="markers+text",
                marker=dict(size=22, color="white", line=dict(color=MUTED, width=1.5)),
                textfont=dict(size=13, color=INK),
                hoverinfo="skip",
                showlegend=False,
            )
        )
    # Click targets: transparent squares as large as the box they sit on (never over a neighbour), plus the
    # visible dots; both carry the layer name.
    targets = [(x, y, name, "rgba(0,0,0,0)", _target_px(size), 0) for x, y, name, size in canvas.targets]
    targets += [(x, y, name, color, 13, 3 if name == selected else 1.2) for x, y, color, name in canvas.dots]
    fig.add_trace(
        go.Scatter(
            x=[t[0] for t in targets],
            y=[t[1] for t in targets],
            mode="markers",
            marker=dict(
                size=[t[4] for t in targets],
                color=[t[3] for t in targets],
                symbol=["square" if t[3] == "rgba(0,0,0,0)" else "circle" for t in targets],
                line=dict(
                    color=[HIGHLIGHT if t[2] == selected else "white" for t in targets], width=[t[5] for t in targets]
                ),
            ),
            customdata=[t[2] for t in targets],
            hovertext=[canvas.hover.get(t[2], t[2]) for t in targets],
            hovertemplate="%{hovertext}<extra></extra>",
            unselected=dict(marker=dict(opacity=1)),
            showlegend=False,
            name="layers",
        )
    )
    _add_legend(fig, canvas)
    all_y = [v for v in canvas.edges_y if v is not None] + [r[1] for r in canvas.rects] + [r[3] for r in canvas.rects]
    all_x = [v for v in canvas.edges_x if v is not None] + [r[2] for r in canvas.rects]
    y_min, y_max = min(all_y, default=-1) - 0.9, max(all_y, default=1) + 0.9
    x_max = max(all_x, default=1) + 0.5
    fig.update_xaxes(visible=False, range=[-0.5, x_max], fixedrange=False)
    fig.update_yaxes(visible=False, range=[y_min, y_max], scaleanchor="x", scaleratio=1)
    legend_entries = sum(1 for trace in fig.data if trace.showlegend is not False)
    bottom = MARGIN_BOTTOM_PX + LEGEND_ROW_PX * math.ceil(legend_entries / LEGEND_PER_ROW)
    width = int(UNIT_PX * (x_max + 0.5) + 2 * MARGIN_SIDE_PX)
    height = int(max(240, UNIT_PX * (y_max - y_min) + MARGIN_TOP_PX + bottom))
    fig.update_layout(
        dragmode="pan",
        margin=dict(l=MARGIN_SIDE_PX, r=MARGIN_SIDE_PX, t=MARGIN_TOP_PX, b=bottom),
        hovermode="closest",
        clickmode="event+select",
        # the legend in the bottom margin, made for it (the toolbar sits top right); the title in the top one
        legend=dict(orientation="h", yref="container", yanchor="bottom", y=0, xanchor="left", x=0),
        width=max(width, MIN_WIDTH_PX),
    )
    styled(fig, title="Network diagram", height=height)
    fig.update_layout(title=dict(yref="container", y=1, yanchor="top", pad=dict(t=14)))
    return fig


MARGIN_TOP_PX = 48  # the title
MARGIN_BOTTOM_PX = 12
MARGIN_SIDE_PX = 10
MIN_WIDTH_PX = 360
LEGEND_ROW_PX = 22
LEGEND_PER_ROW = 3  # entries of a horizontal legend in one line of a ~700 px figure (long names: 3)


def _target_px(size_units: float) -> float:
    """A click target's side in pixels: its box's smaller side, at least 12 px (a thin fc layer stays clickable)."""
    return max(12.0, size_units * UNIT_PX)
