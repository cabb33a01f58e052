"""Stopping a command cleanly: a time limit around user code, and a real Ctrl-C told apart from user code's own
KeyboardInterrupt or sys.exit.

A user's factory or forward may loop forever, or raise KeyboardInterrupt / SystemExit on purpose; without these the
CLI would hang, or exit silently with whatever status the user's code chose. Both stop-signals derive from
BaseException, not Exception, so no `except Exception` on the way (the analyzer's, the user's) swallows them. The time
limit itself lives in `analyzers.time_limit`, where the engine's harnesses use it too.
"""

from __future__ import annotations

import contextlib
import signal
import threading
from typing import Iterator

from analyzers.time_limit import TimeLimitExceeded, time_limit

__all__ = ["Interrupted", "TimeLimitExceeded", "ctrl_c_as_interrupted", "time_limit"]


class Interrupted(KeyboardInterrupt):
    """SIGINT arrived (Ctrl-C): the command stops, keeping what it finished, with exit status 130."""


def _on_sigint(signum: int, frame: object) -> None:
    raise Interrupted()


@contextlib.contextmanager
def ctrl_c_as_interrupted() -> Iterator[None]:
    """While inside, SIGINT raises `Interrupted` (a KeyboardInterrupt that user code did not raise itself)."""
    if threading.current_thread() is not threading.main_thread():
        yield  # signal handlers can only be set from the main thread (e.g. under a test runner's worker)
        return
    previous = signal.signal(signal.SIGINT, _on_sigint)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
