"""Architectures written as text: a small line-based language in the course notes' notation (see `SYNTAX_HELP`).

`load_spec(text)` parses and builds in one step, raising only `SpecError`; no text is ever executed as code.
"""

from __future__ import annotations

from dataclasses import dataclass

from torch import nn

from analyzers.counting.inputs import InputSize  # channels, height, width (PyTorch's order; the spec writes H×W×C)
from explorer.spec.builder import build_spec
from explorer.spec.errors import SpecError
from explorer.spec.examples import EXAMPLES
from explorer.spec.limits import DEFAULT_LIMITS, SpecLimits
from explorer.spec.parser import SYNTAX_HELP, Spec, parse_spec



@dataclass(frozen=True)
class SpecModel:
    """A built spec: the module (in eval mode) and the input it was written for."""

    name: str
    module: nn.Module
    input_size: InputSize
    output_shape: tuple[int, ...]  # without the batch dimension, as inferred while building


def load_spec(text: str, *, default_name: str = "spec", limits: SpecLimits = DEFAULT_LIMITS) -> SpecModel:
    """Parse and build a spec on the active `torch.device` context; any problem is a `SpecError`.

    The name is the spec's own `name` line, else `default_name` (e.g. the file's stem).
    """
    spec = parse_spec(text, limits)
    built = build_spec(spec, limits)
    size = (spec.input.channels, spec.input.height, spec.input.width)
    return SpecModel(spec.name or default_name, built.module, size, built.output_shape)


__all__ = [
    "DEFAULT_LIMITS",
    "EXAMPLES",
    "SYNTAX_HELP",
    "Spec",
    "SpecError",
    "SpecLimits",
    "SpecModel",
    "build_spec",
    "load_spec",
    "parse_spec",
]
