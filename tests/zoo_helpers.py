"""Helpers shared by the zoo tests: parameter counts straight from the module and per-module output shapes."""

from __future__ import annotations

import torch
from torch import nn

from explorer.zoo import build_model


def params(module: nn.Module, trainable_only: bool = False) -> int:
    return sum(p.numel() for p in module.parameters() if p.requires_grad or not trainable_only)


def output_shapes(name: str, **options: object) -> dict[str, tuple[int, ...]]:
    """Run the zoo model once on the meta device and return every named module's output shape (batch 1)."""
    model = build_model(name, **options)
    shapes: dict[str, tuple[int, ...]] = {}
    handles = [
        module.register_forward_hook(lambda _m, _i, out, key=key: shapes.__setitem__(key, tuple(out.shape)))
        for key, module in model.module.named_modules()
        if key
    ]
    model.module(torch.empty(1, *model.input_size, device="meta"))
    for handle in handles:
        handle.remove()
    return shapes
