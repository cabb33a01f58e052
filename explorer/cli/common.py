"""What every command shares: the one-line error, argument types, bounded work and safe output.

Every user error ends in one line on stderr and exit code 2; tracebacks are for our bugs only.
"""

from __future__ import annotations

import argparse
import contextlib
import math
import re
import sys
from typing import Callable, Sequence, TypeVar

from analyzers.errors import UserError
from analyzers.numbers import decimal_number, whole_number

__all__ = [
    "DEFAULT_TIMEOUT_S", "EXIT_INTERRUPTED", "EXIT_SOME_FAILED", "EXIT_USAGE", "CliError", "OneLineParser",
    "limited", "non_negative_int", "parse_options", "positive_int", "print_line", "seconds", "timeout_seconds",
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
    value = whole_number(text)
    if value is None or value <= 0:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {_as_typed(text)}")
    return value


def non_negative_int(text: str) -> int:
    value = whole_number(text)
    if value is None:
        raise argparse.ArgumentTypeError(f"expected an integer ≥ 0, got {_as_typed(text)}")
    return value


def timeout_seconds(text: str) -> float:
    value = decimal_number(text)
    value = math.nan if value is None else value
    if not 0 <= value <= 86_400:
        raise argparse.ArgumentTypeError(f"expected seconds from 0 (no limit) to 86400, got {text!r}")
    return value


def seconds(text: str) -> float:
    """A number of seconds in `float`'s notation, ASCII only (`float` also reads '٣' and '1_0'); the command holds
    it to its own range and names the flag when it refuses 'inf', 'nan' or '-5'."""
    if text.isascii() and "_" not in text:
        with contextlib.suppress(ValueError):
            return float(text)
    raise argparse.ArgumentTypeError(f"expected a number of seconds like 2.5, got {text!r}")


def _as_typed(text: str) -> str:
    """A number as the user typed it (`-1`); anything else quoted, so that spaces or look-alike digits show."""
    return text if re.fullmatch(r"-?[0-9]{1,20}", text) else repr(text)


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


def write_file(path: str, text: str) -> None:
    """Write a command's output file: a directory, a FIFO nobody reads, /dev/full, a missing folder or a name too
    long is one line (`analyzers.user_files.write_text`), never a hang."""
    from analyzers.user_files import write_text

    write_text(path, text)
