"""How many modules a parsed spec will create, counted from the tree before anything is built.

The builder's time and memory grow with the modules it creates, and a repeated block multiplies whatever is
inside it, so `residual x256` around a branch of a thousand empty paths asks for 257,024 modules in 5,055
characters. Counting first bounds the work before it starts. The count is every module `build_spec` makes,
containers included (the root Sequential, each block's Sequential or Identity): tests check it against
`len(list(module.modules()))`.
"""

from __future__ import annotations

from explorer.spec.errors import SpecError
from explorer.spec.parser import (
    ActivationLayer,
    BatchNorm,
    Branch,
    Conv,
    Dropout,
    Flatten,
    GlobalPool,
    Layer,
    Linear,
    LocalResponseNorm,
    Pool,
    Residual,
    Spec,
)

__all__ = ["check_module_count", "module_count", "one_copy", "section"]


def one_copy(layer: Layer) -> int:
    """Modules made by one repetition of `layer` (a block: the block, its sections and everything inside)."""
    match layer:
        case Conv() | Linear():
            return 1 + layer.batchnorm + (layer.activation is not None)
        case Pool():
            return 1 + (layer.activation is not None)
        case GlobalPool() | BatchNorm() | ActivationLayer() | Dropout() | Flatten() | LocalResponseNorm():
            return 1
        case Branch():
            return 1 + sum(section(path) for path in layer.paths) + (layer.activation is not None)
        case Residual():
            return 1 + section(layer.body) + section(layer.shortcut) + (layer.activation is not None)
    raise TypeError(f"not a layer spec: {layer!r}")  # unreachable for parser output


def _repeat(layer: Layer) -> int:
    return getattr(layer, "repeat", 1)  # lines without an `xN` option have no field for it


def section(layers: tuple[Layer, ...]) -> int:
    """A block's path, body or shortcut: an Identity when empty, else a Sequential around its layers."""
    return 1 + sum(_repeat(layer) * one_copy(layer) for layer in layers) if layers else 1


def module_count(spec: Spec) -> int:
    """Every module `build_spec(spec)` creates, the root Sequential included."""
    return section(spec.layers)


def check_module_count(spec: Spec, limit: int) -> None:
    """Raise a `SpecError` at the line where the expanded count first passes `limit`, before anything is built."""
    _first_line_over(spec.layers, used=1, limit=limit)  # 1: the root Sequential


def _first_line_over(layers: tuple[Layer, ...], used: int, limit: int) -> int:
    """Walk `layers` in build order from `used` modules; return the new total, or raise where it passes `limit`."""
    for layer in layers:
        copy = one_copy(layer)
        if used + _repeat(layer) * copy <= limit:
            used += _repeat(layer) * copy
            continue
        whole_copies = (limit - used) // copy  # the copies that still fit; the next one crosses the limit
        used += whole_copies * copy
        if isinstance(layer, (Branch, Residual)):
            _inside_block(layer, used, limit)
        raise SpecError(f"the model grows past {limit:,} modules, the limit for a spec", layer.line)
    return used


def _inside_block(block: Branch | Residual, used: int, limit: int) -> None:
    """Raise at the line inside one copy of `block` where the count passes `limit`.

    The block's own module and its sections' containers belong to the opening line, the activation after the
    add or concat to the closing one.
    """
    sections = block.paths if isinstance(block, Branch) else (block.body, block.shortcut)
    used += 1  # the block's own module
    line = block.end_line  # unless a section's container is the one that passes the limit
    for layers in sections:
        if used + 1 > limit:  # the section's Sequential or Identity
            line = block.line
            break
        used = _first_line_over(layers, used + 1, limit)
    raise SpecError(f"the model grows past {limit:,} modules, the limit for a spec", line)
