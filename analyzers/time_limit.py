"""A time limit around work a user triggers (a model's build and forward, a benchmark configuration): the engine's
harnesses stop one configuration and go on with the next, the CLI stops a command, both with one line.

`TimeLimitExceeded` derives from BaseException, not Exception, so no `except Exception` on the way (the analyzer's,
the user's model's) swallows it.
"""

from __future__ import annotations

import contextlib
import signal
import threading
import time
from typing import Iterator

__all__ = ["TimeLimitExceeded", "time_limit"]


class TimeLimitExceeded(BaseException):
    """The work under `time_limit` ran past its seconds."""

    def __init__(self, seconds: float) -> None:
        super().__init__(seconds)
        self.seconds = seconds


@contextlib.contextmanager
def time_limit(seconds: float | None) -> Iterator[None]:
    """Raise `TimeLimitExceeded` in the main thread if the body runs longer than `seconds` (None or 0: no limit).

    Uses SIGALRM, so it stops Python code (a `while True:` forward, a timing loop), not a single C call that never
    returns; it is a no-op where there is no SIGALRM (Windows) or off the main thread. An enclosing limit is put back
    (with the time it has left) when the body ends, so limits nest.
    """
    usable = hasattr(signal, "setitimer") and threading.current_thread() is threading.main_thread()
    if not seconds or not usable:
        yield
        return

    def expire(signum: int, frame: object) -> None:
        raise TimeLimitExceeded(seconds)

    started = time.monotonic()
    previous = signal.signal(signal.SIGALRM, expire)
    outer_left, _ = signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
        if outer_left:  # the enclosing limit goes on, less the time this body took (at once if it is spent)
            signal.setitimer(signal.ITIMER_REAL, max(outer_left - (time.monotonic() - started), 1e-6))
