"""Tensor shapes as the analysis table stores them ("1x192x28x28") and as the seeds write them ("28×28×192").

PyTorch orders a feature map N×C×H×W; the seeds draw volumes H×W×C. The batch dimension is left out of the
label because it is the same for every layer (the page shows it once).
"""

from __future__ import annotations

Shape = tuple[int, ...]


def parse_shapes(text: str) -> tuple[Shape, ...]:
    """'1x192x28x28; 1x16x28x28' → ((1, 192, 28, 28), (1, 16, 28, 28)); blanks and scalars are skipped."""
    shapes: list[Shape] = []
    for part in str(text or "").split(";"):
        part = part.strip()
        if not part:
            continue
        try:
            shapes.append(tuple(int(d) for d in part.split("x")))
        except ValueError:
            continue
    return tuple(shapes)


def first_shape(text: str) -> Shape | None:
    shapes = parse_shapes(text)
    return shapes[0] if shapes else None


def hwc(shape: Shape | None) -> str:
    """The seeds' label for one tensor without its batch dimension: N×C×H×W → 'H×W×C', N×F → 'F'."""
    if not shape:
        return ""
    dims = shape[1:]
    if len(dims) == 3:  # C, H, W
        c, h, w = dims
        return f"{h}×{w}×{c}"
    if len(dims) == 2:  # C, L (1-d feature maps)
        c, length = dims
        return f"{length}×{c}"
    return "×".join(str(d) for d in dims) or "1"


def hwc_text(text: str) -> str:
    """Every tensor of a shape string as H×W×C, joined by ' + ' (a concat's inputs, a block's outputs)."""
    return " + ".join(hwc(s) for s in parse_shapes(text))


def spatial_and_channels(shape: Shape | None) -> tuple[int, int] | None:
    """(H·W, C) of a feature map, or None for a flat vector: the seeds' "H·W falls while C rises"."""
    if not shape or len(shape) != 4:
        return None
    _, c, h, w = shape
    return h * w, c
