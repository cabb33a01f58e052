"""Tensor shapes as the analysis table stores them ("1x192x28x28") and as the seeds write them ("28×28×192").

PyTorch orders a feature map N×C×H×W; the seeds draw volumes H×W×C. The batch dimension is left out of the
label because it is the same for every layer (the page shows it once). This is the explorer's one home for
H×W×C text; it writes what the engine's `analyzers.numbers.volume` writes.
"""

from __future__ import annotations

from collections.abc import Sequence

from analyzers.numbers import parse_dims, volume

Shape = tuple[int, ...]


def parse_shapes(text: str) -> tuple[Shape, ...]:
    """'1x192x28x28; 1x16x28x28' → ((1, 192, 28, 28), (1, 16, 28, 28)); blanks and scalars are skipped."""
    shapes = (parse_dims(part) for part in str(text or "").split(";") if part.strip())
    return tuple(shape for shape in shapes if shape is not None)


def first_shape(text: str) -> Shape | None:
    shapes = parse_shapes(text)
    return shapes[0] if shapes else None


def hwc(shape: Shape | None) -> str:
    """The seeds' label for one tensor without its batch dimension: N×C×H×W → 'H×W×C', N×F → 'F' (the engine's
    `analyzers.numbers.volume`, so the app and the reports write volumes alike)."""
    return volume(shape) if shape else ""


def input_volume(input_size: Sequence[int]) -> str:
    """An input size as the models take it, C×H×W without the batch, written H×W×C: (3, 224, 224) → '224×224×3'."""
    return volume((1, *input_size))


def hwc_text(text: str) -> str:
    """Every tensor of a shape string as H×W×C, joined by ' + ' (a concat's inputs, a block's outputs)."""
    return " + ".join(hwc(s) for s in parse_shapes(text))


def spatial_and_channels(shape: Shape | None) -> tuple[int, int] | None:
    """(H·W, C) of a feature map, or None for a flat vector: the seeds' "H·W falls while C rises"."""
    if not shape or len(shape) != 4:
        return None
    _, c, h, w = shape
    return h * w, c
