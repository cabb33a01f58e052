"""A user's own model, for the command line only: `package.module:factory`.

Resolving it imports and runs the user's code, which is why the web app never calls this module. Every failure
becomes a one-line `UserError` that says what to fix, including user code that raises KeyboardInterrupt or calls
sys.exit (a real Ctrl-C, `Interrupted`, passes through). Modules are built on whatever `torch.device` context is
active (the CLI uses meta). The libraries' models (`torchvision:`, `timm:`, `hf:`) have one builder,
`explorer.catalogue.build`.
"""

from __future__ import annotations

import difflib
import importlib
import re
from dataclasses import dataclass
from types import ModuleType
from typing import Any, Callable

import torch
from torch import nn

from analyzers.counting.inputs import InputSize
from analyzers.errors import UserError, first_line
from explorer.run_limits import Interrupted

__all__ = ["SourcedModel", "resolve_source"]

_FACTORY_REF = re.compile(r"(?P<module>[A-Za-z_]\w*(?:\.[A-Za-z_]\w*)*):(?P<attr>[A-Za-z_]\w*(?:\.[A-Za-z_]\w*)*)")
_FORMS = "'package.module:factory', 'torchvision:NAME' or 'timm:NAME'"
_LIBRARIES = ("torchvision", "timm", "hf")


@dataclass(frozen=True)
class SourcedModel:
    """A user's model, built from its reference; the user gives its input (`--input 3x224x224`)."""

    name: str  # the reference, e.g. "mypackage.models:build"
    module: nn.Module
    input_size: InputSize | None = None  # a factory does not say its input: the CLI asks for --input


def resolve_source(ref: str) -> SourcedModel:
    """Build the model a user's `package.module:factory` reference names."""
    ref = ref.strip()
    source, _, name = ref.partition(":")
    if source in _LIBRARIES:
        if not re.fullmatch(r"[A-Za-z0-9_.\-]+", name):
            raise UserError(f"'{ref}' needs a model name after '{source}:', e.g. '{source}:resnet50'")
        raise UserError(f"'{ref}' is a library's model: explorer.catalogue.build builds it")
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
        return SourcedModel(ref, target)
    if not callable(target):
        raise UserError(f"'{ref}' is a {type(target).__name__}, not a factory; it must be a function or class")
    built = _call(ref, target)
    if not isinstance(built, nn.Module):
        raise UserError(f"'{ref}()' returned a {type(built).__name__}, not a torch.nn.Module")
    return SourcedModel(ref, built)


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
