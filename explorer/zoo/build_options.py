"""Typed, bounded builder options: each one's kind and default come from the builder's signature, its range from
a declaration beside it, and every value from the CLI (text) or the app (typed) is checked here, in one place.

Why bounds: a builder runs whatever numbers it is given, and some grow the model exponentially (EfficientNet's φ
scales depth by 1.2^φ: φ = 100 ran for minutes and took gigabytes). Each maximum below keeps the largest model an
option set can build on the meta device to well under a second and a few megabytes of module objects:

| option | range | why this bound |
|---|---|---|
| `resolution` | 1–2,048 | input H and W; 2,048² is beyond any classification crop (EfficientNet-B7 uses 600) |
| `num_classes` | 1–100,000 | classifier outputs; ImageNet-21k has 21,841 classes |
| `width_mult` | 0.05–4 | channel multiplier α; the papers use 0.25–1.4 |
| `phi` | 0–7 | EfficientNet's compound coefficient; B7 is about φ = 7 (φ = 100 asks for 8·10⁷× B0's depth) |
| `aux_logits` | true / false | Inception's auxiliary heads |
| `dropout` | 0–1 | a probability |

A builder with another numeric or text option declares its range or choices (`register_model(..., bounds={...})`);
one without is fixed at its default, and the registry's tests fail until it is declared.
"""

from __future__ import annotations

import enum
import inspect
import math
import types
import typing
from dataclasses import dataclass
from typing import Any, Callable, Mapping

from analyzers.errors import UserError
from analyzers.numbers import decimal_number, whole_number

__all__ = [
    "Bounds", "BuildOptionError", "MAX_RESOLUTION", "Option", "OptionKind", "RESOLUTION", "STANDARD_BOUNDS",
    "check_options", "options_of",
]


class BuildOptionError(UserError):
    """Raised for a builder option the model does not take, or a value outside what it accepts."""


class OptionKind(str, enum.Enum):
    BOOL = "bool"
    INT = "int"
    FLOAT = "float"
    CHOICE = "choice"


@dataclass(frozen=True)
class Bounds:
    """What a builder's signature cannot say about one option: its range and a line of help."""

    help: str
    minimum: float | None = None
    maximum: float | None = None
    choices: tuple[str, ...] = ()  # for a text option


@dataclass(frozen=True)
class Option:
    """One keyword a model accepts, with everything needed to check a value and to draw a field for it."""

    name: str
    kind: OptionKind | None  # None: declared without a type or range, so it cannot be set (see `options_of`)
    default: Any  # None for `resolution`: the model's own input size
    help: str
    minimum: float | None = None
    maximum: float | None = None
    choices: tuple[str, ...] = ()

    def allowed(self) -> str:
        """The values allowed, in words, e.g. 'a number from 0 to 7'."""
        if self.kind is None:
            return f"left at its default ({self.default!r}): it has no declared range"
        if self.kind is OptionKind.BOOL:
            return "true or false"
        if self.kind is OptionKind.CHOICE:
            return "one of " + ", ".join(self.choices)
        what = "a whole number" if self.kind is OptionKind.INT else "a number"
        return f"{what} from {_number(self.minimum)} to {_number(self.maximum)}"

    def summary(self) -> str:
        """Compact form for listings: `phi=0..7`, `aux_logits=true|false`."""
        if self.kind is None:
            return f"{self.name}={self.default!r} (fixed)"
        if self.kind is OptionKind.BOOL:
            return f"{self.name}=true|false"
        if self.kind is OptionKind.CHOICE:
            return f"{self.name}={'|'.join(self.choices)}"
        return f"{self.name}={_number(self.minimum)}..{_number(self.maximum)}"

    def check(self, value: object) -> bool | int | float | str:
        """`value` (text from the command line, or already typed) as this option's type, or a `BuildOptionError`."""
        if self.kind is None:
            raise BuildOptionError(f"{self.name} cannot be set: it must be {self.allowed()}")
        parsed = self._parse(value)
        if parsed is None:
            raise BuildOptionError(f"{self.name} must be {self.allowed()}, got {_shown(value)}")
        if self.kind in (OptionKind.INT, OptionKind.FLOAT):
            assert self.minimum is not None and self.maximum is not None
            if not self.minimum <= parsed <= self.maximum:  # type: ignore[operator]
                raise BuildOptionError(f"{self.name} must be {self.allowed()}, got {_shown(value)}")
        return parsed

    def _parse(self, value: object) -> bool | int | float | str | None:
        """The typed value, or None when `value` is not of this option's kind at all."""
        text = value.strip().lower() if isinstance(value, str) else None
        if self.kind is OptionKind.BOOL:
            if isinstance(value, bool):
                return value
            return {"true": True, "false": False}.get(text) if text is not None else None
        if self.kind is OptionKind.CHOICE:
            return next((choice for choice in self.choices if choice.lower() == text), None)
        if isinstance(value, bool):  # True is an int to Python, not a width to us
            return None
        if self.kind is OptionKind.INT:
            return value if isinstance(value, int) else whole_number(text) if text is not None else None
        if isinstance(value, (int, float)):
            number: float | None = float(value)
        else:
            number = decimal_number(text) if text is not None else None
        return number if number is not None and math.isfinite(number) else None


def _number(value: float | None) -> str:
    return f"{value:,g}" if isinstance(value, float) and not value.is_integer() else f"{int(value or 0):,}"


def _shown(value: object) -> str:
    """A user's value quoted for a one-line message: escaped (no control characters) and cut short."""
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "…"


# Ranges for the option names the zoo's builders share; a builder may declare its own with `bounds=`.
STANDARD_BOUNDS: dict[str, Bounds] = {
    "num_classes": Bounds("classifier outputs", 1, 100_000),
    "width_mult": Bounds("channel multiplier α (1 = the paper's width)", 0.05, 4.0),
    "phi": Bounds("EfficientNet compound coefficient φ (0 = B0)", 0.0, 7.0),
    "aux_logits": Bounds("add the auxiliary classifier heads"),
    "dropout": Bounds("dropout probability", 0.0, 1.0),
}
MAX_RESOLUTION = 2_048
RESOLUTION = Option(
    "resolution", OptionKind.INT, None, "input height and width (default: the model's)", 1, MAX_RESOLUTION
)


def options_of(
    model: str, builder: Callable[..., Any], bounds: Mapping[str, Bounds] | None = None
) -> tuple[Option, ...]:
    """The builder's keyword-only parameters as `Option`s, then `resolution`.

    A parameter without a usable type hint or a declared range becomes a *fixed* option (kind None): it keeps its
    default and any value for it is refused. The registry's tests fail on every fixed option, so a new builder
    cannot ship one unnoticed, while the zoo still imports for everyone else.
    """
    hints = typing.get_type_hints(builder)
    declared = {**STANDARD_BOUNDS, **(bounds or {})}
    options = []
    for parameter in inspect.signature(builder).parameters.values():
        if parameter.kind is not inspect.Parameter.KEYWORD_ONLY:
            continue
        name = parameter.name
        kind, choices = _kind(hints.get(name, type(parameter.default)))
        bound = declared.get(name, Bounds(""))
        choices = choices or bound.choices
        numeric = kind in (OptionKind.INT, OptionKind.FLOAT)
        unbounded = numeric and (bound.minimum is None or bound.maximum is None)
        if unbounded or (kind is OptionKind.CHOICE and not choices):
            kind = None
        options.append(Option(name, kind, parameter.default, bound.help, bound.minimum, bound.maximum, choices))
    return (*options, RESOLUTION)


def _kind(annotation: Any) -> tuple[OptionKind | None, tuple[str, ...]]:
    """The option's kind from its type hint (`X | None` as X: None is the builder's own default)."""
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        rest = [a for a in typing.get_args(annotation) if a is not type(None)]
        annotation = rest[0] if len(rest) == 1 else None
    if annotation is str:
        return OptionKind.CHOICE, ()  # the choices are declared with its bounds
    if annotation is bool:
        return OptionKind.BOOL, ()
    if annotation is int:
        return OptionKind.INT, ()
    if annotation is float:
        return OptionKind.FLOAT, ()
    if typing.get_origin(annotation) is typing.Literal and all(isinstance(a, str) for a in typing.get_args(annotation)):
        return OptionKind.CHOICE, typing.get_args(annotation)
    return None, ()


def check_options(model: str, options: tuple[Option, ...], values: Mapping[str, object]) -> dict[str, Any]:
    """Every value typed and in range, or one `BuildOptionError` naming the model, the option and what is allowed."""
    by_name = {option.name: option for option in options}
    unknown = sorted(set(values) - set(by_name))
    if unknown:
        shown = ", ".join(_shown(name) if not name.isidentifier() else name for name in unknown)
        raise BuildOptionError(f"{model} does not take option(s) {shown}; allowed: {', '.join(sorted(by_name))}")
    checked = {}
    for name, value in values.items():
        try:
            checked[name] = by_name[name].check(value)
        except BuildOptionError as exc:
            raise BuildOptionError(f"{model}: {exc}") from None
    return checked
