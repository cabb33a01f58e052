"""Names beside the points of a small scatter chart, placed so that they neither overlap nor leave the plot.

Plotly draws a point's text at one of nine fixed positions and never moves it out of another label's way. We try
the positions in order of preference and keep the first whose estimated box (characters × a typical glyph
width, in pixels of the expected plot size) stays clear of the labels and markers placed before it and inside
the plot. A name with no free position is left to the hover (a dense cluster stays legible); axis ranges get
room for the outermost labels. Plotly pushes a name away from its marker by the marker's radius / 0.8 + 1 px, so
a bubble chart passes each marker's diameter: a name beside a big bubble sits farther out than beside a dot.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

__all__ = ["CHAR_PX", "LINE_PX", "MARKER_PX", "POSITIONS", "label_positions", "padded_range"]

CHAR_PX = 6.6  # an 11 px label's average glyph
LINE_PX = 14.0
MARKER_PX = 14.0
POSITIONS = ("top center", "bottom center", "middle right", "middle left", "top right", "top left",
             "bottom right", "bottom left")  # fmt: skip


@dataclass(frozen=True)
class _Box:
    x0: float
    y0: float
    x1: float
    y1: float

    def overlaps(self, other: _Box) -> bool:
        return self.x0 < other.x1 and other.x0 < self.x1 and self.y0 < other.y1 and other.y0 < self.y1


def _label_box(x: float, y: float, text: str, position: str, marker_px: float = MARKER_PX) -> _Box:
    width, height = CHAR_PX * len(text), LINE_PX
    gap = marker_px / 2 / 0.8 + 1.5  # Plotly's offset of a text from its marker's centre, plus a margin
    vertical, horizontal = position.split()
    if vertical == "top":
        y0 = y + gap
    elif vertical == "bottom":
        y0 = y - gap - height
    else:
        y0 = y - height / 2
    if horizontal == "center":
        x0 = x - width / 2
    elif horizontal == "right":
        x0 = x + (gap if vertical == "middle" else 0)
    else:
        x0 = x - width - (gap if vertical == "middle" else 0)
    return _Box(x0, y0, x0 + width, y0 + height)


def _scale(values: Sequence[float], log: bool) -> list[float]:
    return [math.log10(v) if log else float(v) for v in values]


def padded_range(values: Sequence[float], *, log: bool, fraction: float = 0.12) -> list[float]:
    """An axis range with `fraction` of the data's span (at least a factor 10 on a log axis) added each side,
    so labels at the extremes fit; log ranges are in log10 units as Plotly wants them."""
    scaled = _scale([v for v in values if v is not None and (v > 0 or not log)], log)
    low, high = min(scaled), max(scaled)
    span = max(high - low, 1.0 if log else abs(high) * 0.2 or 1.0)
    centre = (low + high) / 2
    low, high = min(low, centre - span / 2), max(high, centre + span / 2)
    return [low - fraction * span, high + fraction * span]


def label_positions(
    xs: Sequence[float],
    ys: Sequence[float],
    texts: Sequence[str],
    *,
    x_range: Sequence[float],
    y_range: Sequence[float],
    log_x: bool,
    log_y: bool,
    width_px: float = 520.0,
    height_px: float = 330.0,
    marker_px: Sequence[float] | None = None,
) -> list[str | None]:
    """A Plotly `textposition` per point: the first of POSITIONS whose label box is free and inside the plot, or
    None where every position clashes (show no name there). `marker_px`: each marker's diameter in pixels
    (MARKER_PX each when not given)."""
    def pixels(values: Sequence[float], log: bool, span: Sequence[float], size: float) -> list[float]:
        return [(v - span[0]) / (span[1] - span[0]) * size for v in _scale(values, log)]

    px, py = pixels(xs, log_x, x_range, width_px), pixels(ys, log_y, y_range, height_px)
    sizes = [float(s) for s in marker_px] if marker_px is not None else [MARKER_PX] * len(texts)
    taken = [_Box(x - s / 2, y - s / 2, x + s / 2, y + s / 2) for x, y, s in zip(px, py, sizes)]
    plot = _Box(0, 0, width_px, height_px)
    chosen: list[str | None] = [None] * len(texts)
    for index in sorted(range(len(texts)), key=lambda i: -py[i]):  # top points first: they have least room
        x, y, text = px[index], py[index], texts[index]
        fits = []
        for position in POSITIONS:
            box = _label_box(x, y, text, position, sizes[index])
            inside = box.x0 >= plot.x0 and box.x1 <= plot.x1 and box.y0 >= plot.y0 and box.y1 <= plot.y1
            clashes = sum(box.overlaps(other) for other in taken)
            fits.append((clashes + (0 if inside else 10), POSITIONS.index(position), position, box))
        clashes, _, position, box = min(fits)
        if clashes == 0:
            taken.append(box)
            chosen[index] = position
    return chosen
