"""The one error a spec can raise, so callers (CLI, app, fuzz test) need to catch exactly one thing."""

from __future__ import annotations

from analyzers.errors import UserError
from analyzers.safe_text import printable

__all__ = ["SpecError"]


class SpecError(UserError):
    """A spec that cannot be read or built, with the place to look and what was expected there.

    `line` and `column` are 1-based; `column` is None for errors about a whole line (shapes, limits),
    and both are None for errors about the whole text (e.g. an empty spec). Control characters that the message
    quotes from the text are shown as escapes, so the message stays one line and cannot drive a terminal.
    """

    def __init__(self, message: str, line: int | None = None, column: int | None = None) -> None:
        message = printable(message)
        super().__init__(message, line, column)  # all three in args, so the error pickles and compares
        self.message = message
        self.line = line
        self.column = column

    def __str__(self) -> str:
        if self.line is None:
            return self.message
        if self.column is None:
            return f"line {self.line}: {self.message}"
        return f"line {self.line}, column {self.column}: {self.message}"
