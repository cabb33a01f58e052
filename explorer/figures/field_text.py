"""Receptive fields as a reader needs them: never larger than the input they are drawn from.

The engine's arithmetic (`analyzers/counting/flow.py`) gives the theoretical field: ResNet-1202 on a 32×32 CIFAR
image reaches 1609 pixels, far past the image. What one output actually sees is that field clipped to the input;
both are worth knowing, so the clipped size is shown with the theoretical one beside it, labelled.
"""

from __future__ import annotations

from collections.abc import Sequence

from analyzers.numbers import parse_dims
from analyzers.records import Analysis

__all__ = ["clipped", "field_cell", "field_words", "input_sides"]


def input_sides(analysis: Analysis) -> tuple[int, ...]:
    """The spatial sides of the (first) input: (H, W) of C×H×W, () when the input is not an image or clip."""
    size = tuple(analysis.input_size)
    return tuple(int(d) for d in size[1:]) if len(size) >= 3 else ()


def _sizes(text: str) -> tuple[int, ...] | None:
    """'7' or '7×5' (the report's per-dim text) → the sizes; None for 'whole input', '' or anything else."""
    return parse_dims(str(text or "")) if text else None


def clipped(sizes: Sequence[int], sides: Sequence[int]) -> tuple[int, ...]:
    """Each dim's field at most that input side (a single size stands for every dim)."""
    if not sides:
        return tuple(sizes)
    per_dim = list(sizes) * len(sides) if len(sizes) == 1 else list(sizes)
    return tuple(min(s, side) for s, side in zip(per_dim, sides))


def _dims(values: Sequence[int]) -> str:
    return str(values[0]) if len(set(values)) == 1 else "×".join(map(str, values))


def field_cell(text: str, sides: Sequence[int]) -> str:
    """The table's cell: '11', 'whole input', or '32 (theoretical 1609)' past the input's size."""
    sizes = _sizes(text)
    if sizes is None:
        return str(text or "")
    seen = clipped(sizes, sides)
    if set(seen) <= set(sizes) and all(s in seen for s in sizes):
        return str(text)
    return f"{_dims(seen)} (theoretical {text})"


def field_words(text: str, jump: str, sides: Sequence[int]) -> str:
    """The panel's sentence: '11×11 input pixels, jump 4', 'the whole input', or — past the input's size —
    '32×32 input pixels (clipped to the 32×32 input; theoretical 1609×1609), jump 32'."""
    if not text:
        return "—"
    if text == "whole input":
        return "the whole input"
    sizes = _sizes(text)
    if sizes is None:
        return str(text)
    ndim = len(sides) or len(sizes)
    full = tuple(sizes) * ndim if len(sizes) == 1 else tuple(sizes)
    seen = clipped(full, sides)
    words = f"{'×'.join(map(str, seen))} input pixels"
    if seen != full:
        words += f" (clipped to the {'×'.join(map(str, sides))} input; theoretical {'×'.join(map(str, full))})"
    return words + (f", jump {jump}" if jump else "")
