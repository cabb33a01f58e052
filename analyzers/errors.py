"""Errors raised on purpose: each carries one line that says what was wrong and what is allowed.

`UserError` is the one base class of everything a user's input can cause, in the engine and in the explorer: the
CLI prints its message and exits 2, the app shows it as text. Anything else is a bug and keeps its traceback.
"""

__all__ = [
    "AnalysisError", "DataDependentError", "InputMismatchError", "InputSizeError", "InputTooSmallError",
    "ModelRunError", "UserError", "first_line",
]


class UserError(ValueError):
    """Base class: the user asked for something we cannot do; `str()` is a one-line message for the user."""


class AnalysisError(UserError):
    """The model or its input cannot be analysed."""


class InputSizeError(AnalysisError):
    """The input size is malformed, zero or negative."""


class InputTooSmallError(AnalysisError):
    """The input collapses to nothing inside the network; the message names the layer and shows the arithmetic."""


class InputMismatchError(AnalysisError):
    """An input does not fit a layer (e.g. wrong channel count): the message names the layer, what it expected and
    what it got, as PyTorch would refuse it."""


class ModelRunError(AnalysisError):
    """The model's forward failed on the meta device (an op that needs real data, a shape mismatch, …)."""


class DataDependentError(ModelRunError):
    """The forward needs real data (`nonzero`, boolean masks, `.item()`), which the meta device does not hold."""


def first_line(exc: BaseException, *, named: bool = False, limit: int | None = None) -> str:
    """The first non-blank line of an exception's message (its type name when it has none): errors are one line.

    `named` puts the type name in front (`"KeyError: 'x'"`), for an error that is not ours and whose message alone
    may say little; `limit` cuts the line to that many characters, the last one an ellipsis.
    """
    text = next((line.strip() for line in str(exc).splitlines() if line.strip()), "")
    if named or not text:
        text = f"{type(exc).__name__}: {text}" if text else type(exc).__name__
    return text if limit is None or len(text) <= limit else text[: limit - 1] + "…"
