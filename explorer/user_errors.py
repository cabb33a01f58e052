"""What "the user asked for something we cannot do" means: reported in one line, never a traceback, by the CLI
(exit code 2) and the app (a friendly message). Every such error derives from `analyzers.errors.UserError`."""

from __future__ import annotations

from analyzers.errors import UserError


def USER_ERRORS() -> tuple[type[Exception], ...]:  # noqa: N802 - reads as a constant at the call site
    return (UserError,)
