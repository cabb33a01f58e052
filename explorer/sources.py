"""Models from outside the zoo, for the command line only: a user's factory, torchvision, timm.

Resolving `package.module:factory` imports and runs the user's code, which is why the web app never calls this
module. Every failure becomes a one-line `UserError` that says what to fix, including user code that raises
KeyboardInterrupt or calls sys.exit (a real Ctrl-C, `Interrupted`, passes through). Modules are built on whatever
`torch.device` context is active (the CLI uses meta), without pretrained weights.
"""

from __future__ import annotations

from analyzers.errors import UserError, first_line

import difflib
import importlib
import re
from dataclasses import dataclass
from types import ModuleType
from typing import Any, Callable

import torch
from torch import nn

from explorer.run_limits import Interrupted

from analyzers.counting.inputs import InputSize

_FACTORY_REF = re.compile(r"(?P<module>[A-Za-z_]\w*(?:\.[A-Za-z_]\w*)*):(?P<attr>[A-Za-z_]\w*(?:\.[A-Za-z_]\w*)*)")
_FORMS = "'package.module:factory', 'torchvision:NAME' or 'timm:NAME'"


@dataclass(frozen=True)
class SourcedModel:
    """A model built from a reference, with its default input when the source publishes one."""

    name: str  # the reference, e.g. "torchvision:resnet50"
    module: nn.Module
    input_size: InputSize | None  # None: the caller must be told the input (e.g. --input 3x224x224)


def resolve_source(ref: str) -> SourcedModel:
    """Build the model `ref` names: `package.module:factory`, `torchvision:NAME` or `timm:NAME`."""
    ref = ref.strip()
    source, _, name = ref.partition(":")
    if source in ("torchvision", "timm"):
        if not re.fullmatch(r"[A-Za-z0-9_.\-]+", name):
            raise UserError(f"'{ref}' needs a model name after '{source}:', e.g. '{source}:resnet50'")
        return _from_torchvision(name) if source == "torchvision" else _from_timm(name)
    match = _FACTORY_REF.fullmatch(ref)
    if match is None:
        raise UserError(f"'{ref}' is not a model reference; expected {_FORMS}")
    return _from_factory(ref, match["module"], match["attr"])


# --- user factories ------------------------------------------------------------------------------------------


def _from_factory(ref: str, module_name: str, attr_path: str) -> SourcedModel:
    module = _import_user_module(module_name)
    target: Any = module
    for depth, attr in enumerate(attr_path.split(".")):
        owner = ".".join([module_name, *attr_path.split(".")[:depth]])
        if not hasattr(target, attr):
            close = difflib.get_close_matches(attr, [a for a in dir(target) if not a.startswith("_")], n=1)
            hint = f"; did you mean '{close[0]}'?" if close else ""
            raise UserError(f"'{owner}' has no attribute '{attr}'{hint}")
        target = getattr(target, attr)
    if isinstance(target, nn.Module):  # an instance is fine as it is (calling it would run forward)
        return SourcedModel(ref, target, None)
    if not callable(target):
        raise UserError(f"'{ref}' is a {type(target).__name__}, not a factory; it must be a function or class")
    built = _call(ref, target)
    if not isinstance(built, nn.Module):
        raise UserError(f"'{ref}()' returned a {type(built).__name__}, not a torch.nn.Module")
    return SourcedModel(ref, built, None)


def _import_user_module(module_name: str) -> ModuleType:
    try:
        return importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        missing = exc.name or ""
        if module_name == missing or module_name.startswith(missing + "."):  # it, or a parent, is not there
            raise UserError(
                f"cannot import '{module_name}': no module named '{missing}' (run from the directory that "
                "contains it, or add that directory to PYTHONPATH)"
            ) from None
        raise UserError(f"importing '{module_name}' failed: {_failure(exc)}") from None
    except Interrupted:
        raise
    except (Exception, KeyboardInterrupt, SystemExit) as exc:  # the user's module raised while importing
        raise UserError(f"importing '{module_name}' failed: {_failure(exc)}") from None


def _call(ref: str, factory: Callable[[], Any]) -> Any:
    try:
        return factory()
    except TypeError as exc:
        raise UserError(
            f"calling '{ref}()' failed: {_failure(exc)}; the factory must work with no arguments"
        ) from None
    except Interrupted:  # a real Ctrl-C: the CLI stops with status 130
        raise
    except (Exception, KeyboardInterrupt, SystemExit) as exc:  # the user's code raised (or asked to exit)
        hint = ""
        if "meta" in str(exc) and torch.get_default_device().type == "meta":
            hint = " (it was built on the meta device, which holds no data; try --build-device cpu)"
        raise UserError(f"calling '{ref}()' failed: {_failure(exc)}{hint}") from None


def _failure(exc: BaseException) -> str:
    """What a user's code or a library did, in one line (`sys.exit` has no message of its own)."""
    if isinstance(exc, SystemExit):
        return f"it called sys.exit({exc.code!r})"
    return first_line(exc, named=True)


# --- other zoos ------------------------------------------------------------------------------------------------


def _import_optional(package: str) -> ModuleType:
    """Import torchvision / timm, or say plainly that it is not usable (they fail in more ways than ImportError)."""
    try:
        return importlib.import_module(package)
    except Exception as exc:
        raise UserError(
            f"{package} is not installed or not usable here ({_failure(exc)}); install a {package} build that "
            "matches your torch, or use a zoo model (`python -m explorer list`)"
        ) from None


def _unknown(source: str, name: str, known: list[str]) -> UserError:
    close = difflib.get_close_matches(name, known, n=3, cutoff=0.6)
    hint = f"; did you mean {', '.join(close)}?" if close else ""
    return UserError(f"{source} has no model '{name}'{hint}")


def _from_torchvision(name: str) -> SourcedModel:
    torchvision = _import_optional("torchvision")
    models = torchvision.models
    known = list(models.list_models())
    if name not in known:
        raise _unknown("torchvision", name, known)
    try:
        module = models.get_model(name, weights=None)
    except Exception as exc:
        raise UserError(f"building torchvision:{name} failed: {_failure(exc)}") from None
    return SourcedModel(f"torchvision:{name}", module, _torchvision_input(models, name))


def _torchvision_input(models: ModuleType, name: str) -> InputSize | None:
    """The crop size of the model's default weights' preprocessing (224 for most, 299 for Inception v3)."""
    try:
        transforms = models.get_model_weights(name).DEFAULT.transforms
        crop = transforms.keywords["crop_size"]
    except Exception:  # no weights or no crop size (e.g. detection models): let the caller ask for an input
        return None
    side = crop[0] if isinstance(crop, (list, tuple)) else crop
    return (3, int(side), int(side))


def _from_timm(name: str) -> SourcedModel:
    timm = _import_optional("timm")
    if not timm.is_model(name):
        raise _unknown("timm", name, list(timm.list_models()))
    try:
        module = timm.create_model(name, pretrained=False)
    except Exception as exc:
        raise UserError(f"building timm:{name} failed: {_failure(exc)}") from None
    config = getattr(module, "pretrained_cfg", None) or getattr(module, "default_cfg", None) or {}
    size = config.get("input_size")
    input_size = (int(size[0]), int(size[1]), int(size[2])) if size and len(size) == 3 else None
    return SourcedModel(f"timm:{name}", module, input_size)
