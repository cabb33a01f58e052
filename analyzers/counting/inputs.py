"""A model's inputs beyond one float tensor: several named tensors with their own dtypes, lists and dicts of them.

Why: text models take `input_ids` (int64) and an `attention_mask`, detection models a list of images, optical flow
two images. An `InputSpec` is the shape (batch included) and dtype of one tensor; `Inputs` nests them the way the
forward takes them: a mapping passes keyword arguments, a tuple passes positional arguments, and inside either a
list or dict is handed to the forward as that list or dict. Integer inputs keep their dtype; float inputs without
one take the analysis dtype, which is also the weights' (so int64 token ids never turn the weights into int64).
"""

from __future__ import annotations

import inspect
import re
import weakref
from dataclasses import dataclass
from typing import Any, Iterator, Mapping, Sequence, Union

import torch
from torch import nn

from analyzers.errors import InputMismatchError, InputSizeError
from analyzers.numbers import ascii_shape, parse_dims, whole_number
from analyzers.records import InputDescription

__all__ = [
    "DTYPES", "InputSize", "InputSpec", "Inputs", "MAX_ELEMENTS", "Shape", "as_call", "check_fits", "checked_size",
    "describe", "dtype_name", "forward_parameters", "materialize", "parse_dtype", "parse_input_size",
    "parse_input_spec", "positional_names", "signature_text", "with_batch",
]

Shape = tuple[int, ...]
InputSize = tuple[int, int, int]  # an image's channels, height, width: PyTorch's order, without the batch

# The dtype names accepted in text (`int64:1x128`), as torch spells them plus the usual short forms.
DTYPES: dict[str, torch.dtype] = {
    "float32": torch.float32, "fp32": torch.float32, "float": torch.float32,
    "float16": torch.float16, "fp16": torch.float16, "half": torch.float16,
    "bfloat16": torch.bfloat16, "bf16": torch.bfloat16, "float64": torch.float64,
    "int64": torch.int64, "long": torch.int64, "int32": torch.int32, "int": torch.int32,
    "int16": torch.int16, "int8": torch.int8, "uint8": torch.uint8, "bool": torch.bool,
}  # fmt: skip
MAX_ELEMENTS = 2**40  # beyond this even the index arithmetic of the meta kernels overflows
_NAME = re.compile(r"[A-Za-z_]\w*")


@dataclass(frozen=True)
class InputSpec:
    """One input tensor, for `analyze(model, inputs=…)`.

    Args:
        shape: its full shape, batch included, e.g. `(1, 128)`: positive integers (true integers or ASCII digit
            text; `8.7` is refused), at most 2**40 elements.
        dtype: its dtype, e.g. `torch.int64` for token ids; None (the default) takes the analysis' float dtype.

    Raises:
        InputSizeError: for a shape that is not positive whole numbers or is too large.
    """

    shape: Shape
    dtype: torch.dtype | None = None

    def __post_init__(self) -> None:
        shape = _whole_numbers(self.shape, f"an input shape must be integers like 1x128, got {self.shape!r}")
        if not shape or any(d <= 0 for d in shape):
            raise InputSizeError(f"input sizes must be positive, got {ascii_shape(shape) or 'an empty shape'}")
        _refuse_over_max(shape, "an input")
        object.__setattr__(self, "shape", shape)

    @property
    def is_integer(self) -> bool:
        return self.dtype is not None and not self.dtype.is_floating_point


Inputs = Union[InputSpec, Sequence["Inputs"], Mapping[str, "Inputs"]]


def dtype_name(dtype: torch.dtype) -> str:
    return str(dtype).removeprefix("torch.")


def parse_dtype(text: str) -> torch.dtype:
    key = text.strip().lower().removeprefix("torch.")
    if key not in DTYPES:
        raise InputSizeError(f"unknown dtype {text!r}; allowed: {', '.join(sorted(set(DTYPES)))}")
    return DTYPES[key]


def parse_input_spec(text: str) -> tuple[str | None, InputSpec]:
    """`input_ids=int64:1x128` → ("input_ids", InputSpec((1, 128), int64)); the name and the dtype are optional
    (`1x3x224x224`, `float16:1x3x224x224`); the shape includes the batch."""
    name, sep, rest = text.partition("=")
    if not sep:
        name, rest = "", text
    name = name.strip()
    if sep and not _NAME.fullmatch(name):
        raise InputSizeError(f"input name {name!r} is not a Python name (in {text!r}); write NAME=DTYPE:SHAPE")
    dtype_text, colon, shape_text = rest.rpartition(":")
    dtype = parse_dtype(dtype_text) if colon else None
    shape = parse_dims(shape_text.lower())
    if shape is None:
        raise InputSizeError(f"an input must look like NAME=DTYPE:SHAPE with the batch in the shape, e.g. "
                             f"input_ids=int64:1x128; got {text!r}")
    return (name or None), InputSpec(shape, dtype)


def parse_input_size(text: str, *, flag: str = "--input", dimensions: tuple[int, int] = (1, 4)) -> tuple[int, ...]:
    """'3x224x224' (also '3×224×224', '3,224,224', spaces around separators) → (3, 224, 224): the one reader of a
    size a user types, for every command, bench and the zoo.

    `dimensions` is the (fewest, most) sizes allowed: the analyzer takes 1 to 4, a benchmark's image input exactly
    3. Anything else is an `InputSizeError` whose one line names `flag` and the text given.
    """
    fewest, most = dimensions
    form = "CxHxW" if dimensions == (3, 3) else f"CxHxW ({fewest} to {most} sizes)"
    shown = repr(text) if len(text) <= 40 else repr(text[:37]) + "…"
    expected = f"{flag} {shown}: expected {form} with positive integers, e.g. 3x224x224"
    size = parse_dims(text)
    if size is None:
        raise InputSizeError(expected)
    if not fewest <= len(size) <= most:
        raise InputSizeError(f"{expected}; got {len(size)} size{'s' if len(size) > 1 else ''}")
    if min(size) < 1:
        raise InputSizeError(f"{expected}; got a 0")
    return size


def checked_size(input_size: Sequence[int], batch_size: int) -> tuple[int, ...]:
    """An API caller's `input_size` (without the batch) and `batch_size`, checked: 1 to 4 positive integers (8.7 is
    no size: `int()` would make it 8), a positive integer batch, at most `MAX_ELEMENTS` elements in all."""
    size = _whole_numbers(input_size, f"input size must be integers like 3x224x224, got {input_size!r}")
    if not 1 <= len(size) <= 4:
        raise InputSizeError(f"input size must have 1 to 4 dimensions (e.g. CxHxW), got {len(size)}")
    if any(d <= 0 for d in size):
        raise InputSizeError(f"input sizes must be positive, got {'x'.join(map(str, size))}")
    batch = whole_number(batch_size) if not isinstance(batch_size, str) else None
    if batch is None or batch <= 0:
        raise InputSizeError(f"batch size must be a positive integer, got {batch_size!r}")
    _refuse_over_max((batch, *size), "input")
    return size


def _whole_numbers(values: Any, message: str) -> tuple[int, ...]:
    """Every value a `whole_number`, or an `InputSizeError` with `message`."""
    try:
        numbers = tuple(whole_number(v) for v in values)
    except TypeError:  # not iterable
        raise InputSizeError(message) from None
    if any(v is None for v in numbers):
        raise InputSizeError(message)
    return numbers  # type: ignore[return-value]


def _refuse_over_max(shape: Shape, what: str) -> None:
    elements = 1
    for d in shape:
        elements *= d
    if elements > MAX_ELEMENTS:
        raise InputSizeError(f"{what} of {elements:,} elements is too large; at most {MAX_ELEMENTS:,}")


def as_call(inputs: Inputs) -> tuple[tuple[Any, ...], dict[str, Any]]:
    """Positional and keyword arguments from `inputs`: a mapping is keywords, a tuple positions, anything else
    one positional argument."""
    if isinstance(inputs, Mapping):
        return (), dict(inputs)
    if isinstance(inputs, tuple):
        return inputs, {}
    return (inputs,), {}


def describe(args: tuple[Any, ...], kwargs: Mapping[str, Any], names: Sequence[str],
             float_dtype: torch.dtype) -> list[InputDescription]:
    """Every InputSpec in the call, named after the forward's parameters (`images[0]`, `input_ids`)."""
    found: list[InputDescription] = []
    for i, value in enumerate(args):
        found.extend(_walk(value, names[i] if i < len(names) else f"arg{i}", float_dtype))
    for key, value in kwargs.items():
        found.extend(_walk(value, key, float_dtype))
    return found


def _walk(value: Any, name: str, float_dtype: torch.dtype) -> Iterator[InputDescription]:
    if isinstance(value, InputSpec):
        yield InputDescription(name, value.shape, value.dtype or float_dtype)
    elif isinstance(value, Mapping):
        for key, item in value.items():
            yield from _walk(item, f"{name}[{key!r}]", float_dtype)
    elif isinstance(value, (list, tuple)):
        for i, item in enumerate(value):
            yield from _walk(item, f"{name}[{i}]", float_dtype)
    else:
        raise InputSizeError(f"input {name} must be an InputSpec (or a list / dict of them), got "
                             f"{type(value).__name__}")


def materialize(value: Any, float_dtype: torch.dtype, device: str, generator: torch.Generator | None) -> Any:
    """The same structure with each InputSpec made a tensor: empty on meta; random on a real device (floats
    uniform in [0, 1) like a normalised image, integers 0 or 1: valid token ids and attention masks alike)."""
    if isinstance(value, InputSpec):
        dtype = value.dtype or float_dtype
        if device == "meta":
            return torch.empty(value.shape, dtype=dtype, device="meta")
        if dtype.is_floating_point:
            return torch.rand(value.shape, generator=generator).to(dtype)
        if dtype is torch.bool:
            return torch.ones(value.shape, dtype=torch.bool)
        return torch.randint(0, 2, value.shape, generator=generator, dtype=dtype)
    if isinstance(value, Mapping):
        return {k: materialize(v, float_dtype, device, generator) for k, v in value.items()}
    if isinstance(value, list):
        return [materialize(v, float_dtype, device, generator) for v in value]
    if isinstance(value, tuple):
        return tuple(materialize(v, float_dtype, device, generator) for v in value)
    raise InputSizeError(f"an input must be an InputSpec (or a list / dict of them), got {type(value).__name__}")


_SIGNATURES: "weakref.WeakKeyDictionary[Any, tuple[inspect.Parameter, ...]]" = weakref.WeakKeyDictionary()


def forward_parameters(model: nn.Module) -> list[inspect.Parameter]:
    """The forward's parameters as a caller sees them (no `self`); empty when torch hides the signature.
    Remembered per forward function: `inspect.signature` costs more than analysing a small network's ops."""
    forward = model.forward
    function = getattr(forward, "__func__", None)  # the class's function behind the bound method
    if function is not None and function in _SIGNATURES:
        return list(_SIGNATURES[function])
    try:
        params = tuple(inspect.signature(forward).parameters.values())
    except (TypeError, ValueError):
        params = ()
    if function is not None:
        _SIGNATURES[function] = params
    return list(params)


def signature_text(model: nn.Module, most: int = 8) -> str:
    """`forward(input_ids, attention_mask=None, …)`: what a user must match, in one short line."""
    shown = []
    for p in forward_parameters(model)[:most]:
        if p.kind is p.VAR_POSITIONAL:
            shown.append(f"*{p.name}")
        elif p.kind is p.VAR_KEYWORD:
            shown.append(f"**{p.name}")
        else:
            shown.append(p.name if p.default is p.empty else f"{p.name}=…")
    more = ", …" if len(forward_parameters(model)) > most else ""
    return f"{type(model).__name__}.forward({', '.join(shown)}{more})"


def check_fits(model: nn.Module, args: tuple[Any, ...], kwargs: Mapping[str, Any]) -> None:
    """Refuse, naming the forward's parameters, a call the forward's signature cannot take."""
    params = forward_parameters(model)
    if not params:
        return
    try:
        inspect.Signature(params).bind(*args, **kwargs)
    except TypeError as exc:
        given = [f"{len(args)} positional"] if args else []
        given += [f"{k}=" for k in kwargs]
        raise InputMismatchError(
            f"the inputs ({', '.join(given) or 'none'}) do not fit {signature_text(model)}: {exc}") from None


def positional_names(model: nn.Module) -> list[str]:
    return [p.name for p in forward_parameters(model) if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]


def with_batch(inputs: Inputs, batch: int) -> Inputs:
    """Default inputs (batch 1) for a batch of `batch`: each tensor's leading dim set, a list of images repeated."""
    if batch == 1:
        return inputs
    if isinstance(inputs, InputSpec):
        return InputSpec((batch, *inputs.shape[1:]), inputs.dtype)
    if isinstance(inputs, Mapping):
        return {k: with_batch(v, batch) for k, v in inputs.items()}
    if isinstance(inputs, list):  # one image per list entry, each without a batch dim
        return list(inputs) * batch
    if isinstance(inputs, tuple):
        return tuple(with_batch(v, batch) for v in inputs)
    raise InputSizeError(f"an input must be an InputSpec (or a list / dict of them), got {type(inputs).__name__}")
