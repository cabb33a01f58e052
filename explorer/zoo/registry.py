"""The zoo's registry: named model builders with the metadata users browse by.

Builders are registered with a decorator and looked up by name. A duplicate name fails at import time,
so two files can never silently shadow each other's model.
"""

from __future__ import annotations

from analyzers.errors import UserError
import difflib
import enum
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping

import torch
from torch import nn

from explorer.zoo.build_options import BuildOptionError, Bounds, Option, check_options, options_of

from analyzers.counting.inputs import InputSize  # channels, height, width (re-exported: zoo files import it from here)

__all__ = [
    "BuildOptionError", "Family", "InputSize", "ModelInfo", "UnknownModelError", "ZooModel", "build_model",
    "get_model_info", "list_models", "option_specs", "register_model",
]


class Family(str, enum.Enum):
    """Architecture families, in the order the seeds introduce them."""

    LENET = "LeNet-5"
    ALEXNET = "AlexNet"
    ZFNET = "ZFNet"
    VGG = "VGG"
    RESNET = "ResNet"
    FRACTALNET = "FractalNet"
    ONE_BY_ONE = "1×1 convolutions"
    INCEPTION = "Inception"
    MOBILENET = "MobileNet"
    EFFICIENTNET = "EfficientNet"
    SEED_BLOCK = "Seed examples"


class UnknownModelError(UserError):
    """Raised for a name that is not registered; the message suggests the closest names."""


@dataclass(frozen=True)
class ModelInfo:
    """One zoo entry: how to build it and what to tell a user about it."""

    name: str
    family: Family
    builder: Callable[..., nn.Module]
    input_size: InputSize
    paper: str  # "Authors, year" of the architecture's paper
    description: str  # our own words, after the seeds
    top1: float | None = None  # ImageNet top-1 (%) where torchvision publishes one
    top1_source: str | None = None
    input_size_fn: Callable[..., InputSize] | None = None  # default input for given options, e.g. EfficientNet(phi)
    options: tuple[Option, ...] = ()  # the builder's keyword options, typed and bounded, then `resolution`

    def default_input(self, **options: Any) -> InputSize:
        """Input size for these options: `resolution` overrides H and W, else the entry's own default."""
        options = check_options(self.name, self.options, options)
        resolution = options.get("resolution")
        if self.input_size_fn is not None:
            size = self.input_size_fn(**{k: v for k, v in options.items() if k != "resolution"})
        else:
            size = self.input_size
        if resolution is not None:
            return (size[0], int(resolution), int(resolution))
        return size


@dataclass(frozen=True)
class ZooModel:
    """A built model with the input it is meant for."""

    info: ModelInfo
    module: nn.Module
    input_size: InputSize
    options: dict[str, Any] = field(default_factory=dict)


_REGISTRY: dict[str, ModelInfo] = {}


def register_model(
    name: str,
    *,
    family: Family,
    input_size: InputSize,
    paper: str,
    description: str,
    top1: float | None = None,
    top1_source: str | None = None,
    input_size_fn: Callable[..., InputSize] | None = None,
    bounds: Mapping[str, Bounds] | None = None,
) -> Callable[[Callable[..., nn.Module]], Callable[..., nn.Module]]:
    """Register a builder under `name`. Builders take keyword-only options and return an `nn.Module`.

    Each option's type and default come from the builder's signature; its range from
    `build_options.STANDARD_BOUNDS`, or from `bounds` for an option of this builder's own.
    """

    def decorate(builder: Callable[..., nn.Module]) -> Callable[..., nn.Module]:
        if name in _REGISTRY:
            raise ValueError(f"model name {name!r} is registered twice")
        options = options_of(name, builder, bounds)
        _REGISTRY[name] = ModelInfo(
            name=name,
            family=family,
            builder=builder,
            input_size=input_size,
            paper=paper,
            description=description,
            top1=top1,
            top1_source=top1_source,
            input_size_fn=input_size_fn,
            options=options,
        )
        return builder

    return decorate


def list_models(family: Family | str | None = None, name_contains: str | None = None) -> list[ModelInfo]:
    """Registered entries in registration order, optionally filtered by family and by a name substring."""
    wanted = _parse_family(family) if family is not None else None
    needle = name_contains.lower() if name_contains else None
    return [
        info
        for info in _REGISTRY.values()
        if (wanted is None or info.family is wanted) and (needle is None or needle in info.name.lower())
    ]


def _parse_family(family: Family | str) -> Family:
    if isinstance(family, Family):
        return family
    for member in Family:
        if family.lower() in (member.name.lower(), member.value.lower()):
            return member
    allowed = ", ".join(m.name.lower() for m in Family)
    raise BuildOptionError(f"unknown family {family!r}; allowed: {allowed}")


def get_model_info(name: str) -> ModelInfo:
    """The entry for `name`, or an `UnknownModelError` that suggests the closest registered names."""
    try:
        return _REGISTRY[name]
    except KeyError:
        close = difflib.get_close_matches(name, list(_REGISTRY), n=3, cutoff=0.5)
        hint = f"; did you mean {', '.join(close)}?" if close else "; run `python -m explorer list` to see all names"
        raise UnknownModelError(f"unknown model {name!r}{hint}") from None


def option_specs(name: str) -> tuple[Option, ...]:
    """The options `name` takes, with kinds, defaults and ranges: what the CLI checks and the app's fields offer."""
    return get_model_info(name).options


def build_model(name: str, *, device: torch.device | str = "meta", **options: Any) -> ZooModel:
    """Build a zoo model, by default on the meta device (no weights allocated).

    `resolution` is understood for every model (it sets the default input's H and W); other options must be
    keyword-only parameters of the builder. Values may be text (`"0.75"`, `"true"`) or typed; each is checked
    against its `Option` before the builder runs.
    """
    info = get_model_info(name)
    options = check_options(name, info.options, options)
    builder_options = {k: v for k, v in options.items() if k != "resolution"}
    try:
        with torch.device(device):
            module = info.builder(**builder_options)
    except (TypeError, ValueError) as exc:
        raise BuildOptionError(f"{name}: {exc}") from None
    return ZooModel(info=info, module=module.eval(), input_size=info.default_input(**options), options=dict(options))
