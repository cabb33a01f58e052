"""Stopping a command cleanly: a time limit around user code, and a real Ctrl-C told apart from user code's own
KeyboardInterrupt or sys.exit.

A user's factory or forward may loop forever, or raise KeyboardInterrupt / SystemExit on purpose; without these the
CLI would hang, or exit silently with whatever status the user's code chose. Both stop-signals below derive from
BaseException, not Exception, so no `except Exception` on the way (the analyzer's, the user's) swallows them.
"""

from __future__ import annotations

import contextlib
import signal
import threading
from typing import Iterator


class Interrupted(KeyboardInterrupt):
    """SIGINT arrived (Ctrl-C): the command stops, keeping what it finished, with exit status 130."""


class TimeLimitExceeded(BaseException):
    """The work under `time_limit` ran past its seconds."""

    def __init__(self, seconds: float) -> None:
        super().__init__(seconds)
        self.seconds = seconds


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


@contextlib.contextmanager
def time_limit(seconds: float | None) -> Iterator[None]:
    """Raise `TimeLimitExceeded` in the main thread if the body runs longer than `seconds` (None or 0: no limit).

    Uses SIGALRM, so it stops Python code (a `while True:` forward), not a single C call that never returns; it is
    a no-op where there is no SIGALRM (Windows) or off the main thread.
    """
    usable = hasattr(signal, "setitimer") and threading.current_thread() is threading.main_thread()
    if not seconds or not usable:
        yield
        return

    def expire(signum: int, frame: object) -> None:
        raise TimeLimitExceeded(seconds)

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
