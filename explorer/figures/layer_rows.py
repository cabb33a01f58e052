"""The per-layer rows every layer chart plots: leaves of the analysis table, in execution order, with labels."""

from __future__ import annotations

import html

import pandas as pd

from explorer.figures.shape_text import first_shape, hwc
from explorer.figures.theme import category_color, layer_category

MAX_NAMED_TICKS = 32  # beyond this many layers an axis shows positions, names move to the hover


def display_name(name: str) -> str:
    return name if name else "(model)"


def leaf_rows(table: pd.DataFrame) -> pd.DataFrame:
    """Leaf rows with `position` (1-based execution order), `label`, `category`, `color` and `output_hwc` added."""
    leaves = table[table["is_leaf"]].copy() if "is_leaf" in table else table.copy()
    leaves = leaves.reset_index(drop=True)
    leaves["position"] = range(1, len(leaves) + 1)
    leaves["label"] = [display_name(n) for n in leaves["name"]]
    leaves["category"] = [layer_category(t).value for t in leaves["type"]]
    leaves["color"] = [category_color(t) for t in leaves["type"]]
    leaves["output_hwc"] = [hwc(first_shape(s)) for s in leaves["output_shape"]]
    return leaves


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
