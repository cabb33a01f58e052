"""What every command shares: the one-line error, argument types, bounded work and safe output.

Every user error ends in one line on stderr and exit code 2; tracebacks are for our bugs only.
"""

from __future__ import annotations

import argparse
import math
import sys
from pathlib import Path
from typing import Any, Callable, Sequence, TypeVar

from analyzers.errors import UserError

__all__ = [
    "DEFAULT_TIMEOUT_S", "EXIT_INTERRUPTED", "EXIT_SOME_FAILED", "EXIT_USAGE", "CliError", "OneLineParser",
    "limited", "non_negative_int", "parse_options", "positive_int", "print_line", "timeout_seconds",
    "write_file",
]

T = TypeVar("T")

EXIT_USAGE = 2
EXIT_SOME_FAILED = 1  # summary --all: some models could not be analysed, the others were
EXIT_INTERRUPTED = 130  # 128 + SIGINT, as shells report a Ctrl-C
DEFAULT_TIMEOUT_S = 60


class CliError(UserError):
    """A user error the CLI reports as one line and exit code 2."""


class OneLineParser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # argparse prints usage over several lines; we print one
        command = self.prog.removeprefix("python -m explorer").strip()  # "" for the program itself
        raise CliError(f"{message} (see `python -m explorer {command + ' ' if command else ''}--help`)")


def positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}") from None
    if value <= 0:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {value}")
    return value


def timeout_seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not 0 <= value <= 86_400:
        raise argparse.ArgumentTypeError(f"expected seconds from 0 (no limit) to 86400, got {text!r}")
    return value


def non_negative_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer ≥ 0, got {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"expected an integer ≥ 0, got {value}")
    return value


def parse_options(pairs: Sequence[str]) -> dict[str, str]:
    """`--set width_mult=0.75 --set aux_logits=true` → {'width_mult': '0.75', 'aux_logits': 'true'}.

    Values stay text: the zoo checks each against the model's typed, bounded `Option` (`python -m explorer list`).
    """
    options: dict[str, str] = {}
    for pair in pairs:
        key, sep, raw = pair.partition("=")
        key = key.strip()
        if not sep or not key:
            raise CliError(f"--set takes KEY=VALUE, e.g. width_mult=0.75; got {pair!r}")
        if key in options:
            raise CliError(f"--set {key} is given twice")
        options[key] = raw.strip()
    return options


def limited(args: argparse.Namespace, name: str, work: Callable[[], T]) -> T:
    """`work()` stopped after `--timeout` seconds with a one-line error naming the model."""
    from explorer.run_limits import TimeLimitExceeded, time_limit

    try:
        with time_limit(args.timeout):
            return work()
    except TimeLimitExceeded as exc:
        raise CliError(f"{name}: stopped after {exc.seconds:g} s (--timeout); its import, build or forward did not "
                       "finish") from None


def print_line(text: str) -> None:
    """One write and a flush per line, so a Ctrl-C between lines never leaves half a line on stdout."""
    sys.stdout.write(text + "\n")
    sys.stdout.flush()


def write_file(path: str, writer: Any) -> None:
    """`writer(Path(path))`, with an OS error as one line. The writers go through `analyzers.user_files.write_text`,
    which refuses a directory, a FIFO or a device (as one line) before writing."""
    try:
        writer(Path(path))
    except OSError as exc:
        raise CliError(f"cannot write {path}: {exc.strerror or exc}") from None
