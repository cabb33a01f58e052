"""The per-layer rows every layer chart plots: the analysis table's rows at a depth (leaves by default), in
execution order, with labels and colours."""

from __future__ import annotations

import html

import pandas as pd

from explorer.figures.shape_text import first_shape, hwc, token_rows
from explorer.figures.theme import CONTAINER_COLOR, CONTAINER_LABEL, category_color, layer_category

__all__ = [
    "MAX_NAMED_TICKS", "ancestors", "depth_rows", "display_name", "frontier", "hover_text", "layer_axis", "leaf_rows",
    "open_frontier", "shown_row",
]

MAX_NAMED_TICKS = 32  # beyond this many layers an axis shows positions, names move to the hover


def display_name(name: str) -> str:
    return name if name else "(model)"


def frontier(table: pd.DataFrame, depth: int) -> pd.DataFrame:
    """Rows at exactly `depth`, plus leaves above it: a partition of the model (every leaf counted once, inside
    its shown ancestor), so the rows add up to the totals. The table and the per-layer bars both show it."""
    if len(table) == 1:
        return table
    shallower_leaf = (table["depth"] < depth) & table["is_leaf"]
    return table[(table["depth"] >= 1) & ((table["depth"] == depth) | shallower_leaf)]


def ancestors(name: str) -> list[str]:
    """'layer1.0.conv1' → ['layer1', 'layer1.0'] (a functional record's container is its prefix too)."""
    parts = name.split(".")
    return [".".join(parts[:i]) for i in range(1, len(parts))]


def open_frontier(table: pd.DataFrame, expanded: frozenset[str]) -> pd.DataFrame:
    """The rows shown when the containers in `expanded` are open and every other one is collapsed: a partition
    of the model like `frontier` (each leaf counted once, in the outermost collapsed block holding it)."""
    if len(table) == 1:
        return table
    names = [str(n) for n in table["name"]]
    known = set(names)
    keep = [
        depth >= 1
        and all(a in expanded for a in ancestors(name) if a in known)
        and (bool(is_leaf) or name not in expanded)
        for name, depth, is_leaf in zip(names, table["depth"], table["is_leaf"])
    ]
    return table[keep]


def shown_row(names: list[str], layer: str | None) -> int | None:
    """The index in `names` of `layer` itself, else of the collapsed container that holds it."""
    if layer is None:
        return None
    if layer in names:
        return names.index(layer)
    for index, name in enumerate(names):
        if name and layer.startswith(name + "."):
            return index
    return None


def _with_labels(rows: pd.DataFrame, tokens: bool) -> pd.DataFrame:
    rows = rows.reset_index(drop=True)
    rows["position"] = range(1, len(rows) + 1)
    rows["label"] = [display_name(n) for n in rows["name"]]
    leaf = list(rows["is_leaf"]) if "is_leaf" in rows else [True] * len(rows)
    ops = list(rows["category"]) if "category" in rows else [""] * len(rows)  # what the layer's ops were
    rows["category"] = [layer_category(c).value if is_leaf else CONTAINER_LABEL for c, is_leaf in zip(ops, leaf)]
    rows["color"] = [category_color(c) if is_leaf else CONTAINER_COLOR for c, is_leaf in zip(ops, leaf)]
    rows["output_hwc"] = [hwc(first_shape(s), tokens) for s in rows["output_shape"]]
    return rows


def leaf_rows(table: pd.DataFrame) -> pd.DataFrame:
    """Leaf rows with `position` (1-based execution order), `label`, `category`, `color` and `output_hwc` added."""
    leaves = table[table["is_leaf"]].copy() if "is_leaf" in table else table.copy()
    return _with_labels(leaves, token_rows(table))


def depth_rows(table: pd.DataFrame, depth: int | None, expanded: frozenset[str] | None = None) -> pd.DataFrame:
    """The rows the layer table shows (collapsed containers are one row each) — with the blocks in `expanded`
    open, else at `depth` — labelled like `leaf_rows`; neither means every leaf."""
    if expanded is not None:
        return _with_labels(open_frontier(table, expanded).copy(), token_rows(table))
    return leaf_rows(table) if depth is None else _with_labels(frontier(table, depth).copy(), token_rows(table))


def hover_text(rows: pd.DataFrame) -> list[str]:
    """'conv1 · Conv2d<br>28×28×32' for each row (escaped: a spec's layers may carry a user's words)."""
    return [
        f"<b>{html.escape(label)}</b> · {html.escape(kind)}<br>{shape}"
        for label, kind, shape in zip(rows["label"], rows["type"], rows["output_hwc"])
    ]


def layer_axis(fig, rows: pd.DataFrame, *, axis: str = "x") -> None:
    """Name the ticks when there are few layers; otherwise number them and leave names to the hover."""
    update = fig.update_xaxes if axis == "x" else fig.update_yaxes
    if len(rows) <= MAX_NAMED_TICKS:
        update(tickmode="array", tickvals=list(rows["position"]), ticktext=list(rows["label"]), title_text="")
    else:
        update(title_text="layer (execution order)")
