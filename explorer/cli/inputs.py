"""`--input`: one CxHxW size (batch from --batch), or several NAME=DTYPE:SHAPE inputs with the batch in the shape.

`--input 3x224x224` keeps working; `--input input_ids=int64:1x128 --input attention_mask=int64:1x128` passes
keyword arguments to the forward, and unnamed `--input float32:1x3x64x64 --input float32:1x3x64x64` positional
ones (RAFT's two frames).
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from typing import Any, Callable, Sequence

from analyzers.errors import InputSizeError
from analyzers.counting.inputs import Inputs, parse_input_spec

__all__ = ["InputAction", "InputChoice", "parse_input_options"]


@dataclass(frozen=True)
class InputChoice:
    """What `--input` asked for: a size without batch, or inputs with their batch; both None: the default."""

    size: tuple[int, ...] | None = None
    inputs: Inputs | None = None


def _is_plain_size(text: str) -> bool:
    return "=" not in text and ":" not in text


def parse_input_options(values: Sequence[str] | None, parse_size: Callable[[str], tuple[int, ...]]) -> InputChoice:
    """`parse_size` reads a CxHxW size (the CLI's own parser, with its messages)."""
    if not values:
        return InputChoice()
    if len(values) == 1 and _is_plain_size(values[0]):
        return InputChoice(size=parse_size(values[0]))
    named, positional = {}, []
    for text in values:
        if _is_plain_size(text):
            text = f"float32:{text}"  # among several inputs a bare shape is a float tensor with its batch
        name, spec = parse_input_spec(text)
        if name is None:
            positional.append(spec)
        elif name in named:
            raise InputSizeError(f"--input {name} is given twice")
        else:
            named[name] = spec
    if positional and named:
        raise InputSizeError("name every --input (NAME=DTYPE:SHAPE) or none of them (positional inputs)")
    return InputChoice(inputs=named if named else tuple(positional))


class InputAction(argparse.Action):
    """Collects every `--input` in `inputs`; `input` keeps a lone plain CxHxW, as the single-size code reads it."""

    def __call__(self, parser: argparse.ArgumentParser, namespace: argparse.Namespace, values: Any,
                 option_string: str | None = None) -> None:
        texts = [*(getattr(namespace, "inputs", None) or []), str(values)]
        namespace.inputs = texts
        namespace.input = texts[0] if len(texts) == 1 and _is_plain_size(texts[0]) else None
