"""Tensor shapes as the analysis table stores them ("1x192x28x28") and as the seeds write them ("28×28×192").

PyTorch orders a feature map N×C×H×W; the seeds draw volumes H×W×C. The batch dimension is left out of the
label because it is the same for every layer (the page shows it once). This is the explorer's one home for
H×W×C text; it writes what the engine's `analyzers.numbers.volume` writes — except for token sequences: a
transformer's N×T×D activation is T tokens of width D, not a 1-d map of D positions with T channels, so it is
written "197 tokens × 768" wherever the model runs no 1-d convolution or pooling (whose N×C×L maps it would be).
"""

from __future__ import annotations

from collections.abc import Sequence

from analyzers.numbers import parse_dims, volume
from analyzers.records import Analysis

__all__ = [
    "Shape", "first_shape", "hwc", "hwc_text", "input_volume", "parse_shapes", "spatial_and_channels", "token_layout",
    "token_rows",
]

Shape = tuple[int, ...]


def parse_shapes(text: str) -> tuple[Shape, ...]:
    """'1x192x28x28; 1x16x28x28' → ((1, 192, 28, 28), (1, 16, 28, 28)); blanks and scalars are skipped."""
    shapes = (parse_dims(part) for part in str(text or "").split(";") if part.strip())
    return tuple(shape for shape in shapes if shape is not None)


def first_shape(text: str) -> Shape | None:
    shapes = parse_shapes(text)
    return shapes[0] if shapes else None


def token_layout(analysis: Analysis) -> bool:
    """True when the model's 3-d activations are token sequences (N×T×D): it runs no 1-d convolution or pooling."""
    for record in analysis.leaves():
        conv, pool = record.conv, record.pool
        if (conv is not None and len(conv.kernel) == 1) or (pool is not None and len(pool.window) == 1):
            return False
    return True


def token_rows(table) -> bool:
    """`token_layout` from a report table (its `category` and `input_shape` columns): no conv or pooling row
    reads a 3-d input."""
    if "category" not in table or "input_shape" not in table:
        return False
    windows = table["category"].isin(["conv", "pooling"])
    return not any(len(first_shape(text) or ()) == 3 for text in table.loc[windows, "input_shape"])


def hwc(shape: Shape | None, tokens: bool = False) -> str:
    """The seeds' label for one tensor without its batch dimension: N×C×H×W → 'H×W×C', N×F → 'F' (the engine's
    `analyzers.numbers.volume`, so the app and the reports write volumes alike); with `tokens`, N×T×D →
    'T tokens × D'."""
    if not shape:
        return ""
    if tokens and len(shape) == 3:
        return f"{shape[1]} tokens × {shape[2]}"
    return volume(shape)


def input_volume(input_size: Sequence[int]) -> str:
    """An input size as the models take it, C×H×W without the batch, written H×W×C: (3, 224, 224) → '224×224×3'."""
    return volume((1, *input_size))


def hwc_text(text: str, tokens: bool = False) -> str:
    """Every tensor of a shape string as H×W×C (or T tokens × D), joined by ' + ' (a concat's inputs)."""
    return " + ".join(hwc(s, tokens) for s in parse_shapes(text))


def spatial_and_channels(shape: Shape | None) -> tuple[int, int] | None:
    """(H·W, C) of a feature map, or None for a flat vector: the seeds' "H·W falls while C rises"."""
    if not shape or len(shape) != 4:
        return None
    _, c, h, w = shape
    return h * w, c
