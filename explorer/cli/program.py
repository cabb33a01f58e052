"""`python -m explorer`: the program — one sub-command per module of this package, and the one place errors
become a line on stderr and an exit code."""

from __future__ import annotations

import argparse
import sys
from typing import Sequence

from analyzers.errors import UserError
from analyzers.safe_text import printable
from explorer.cli import atlas, bench, ensemble, gradients, listing, predict, report, summary, training
from explorer.cli.common import EXIT_INTERRUPTED, EXIT_USAGE, CliError, OneLineParser

__all__ = ["build_parser", "main"]


def build_parser() -> argparse.ArgumentParser:
    parser = OneLineParser(prog="python -m explorer",
                           description="Per-layer cost analysis of CNN architectures: params, MACs, memory, formulas.")
    commands = parser.add_subparsers(dest="command", parser_class=OneLineParser, metavar="COMMAND")
    listing.add_parser(commands)
    training.install(summary.add_parser(commands), training.run_summary)  # --train [--optimizer] [--freeze]…
    training.install(report.add_parser(commands), training.run_report)
    for command in (atlas, bench, gradients, ensemble, predict):
        command.add_parser(commands)
    return parser


def _command_names(parser: argparse.ArgumentParser) -> list[str]:
    """The subcommands, as registered (each command module adds its own)."""
    return [name for action in parser._subparsers._group_actions for name in action.choices]


def main(argv: Sequence[str] | None = None) -> int:
    from explorer.run_limits import Interrupted, ctrl_c_as_interrupted

    try:
        with ctrl_c_as_interrupted():
            parser = build_parser()
            args = parser.parse_args(argv)
            if not getattr(args, "command", None):
                raise CliError(f"give a command: {', '.join(_command_names(parser))} "
                               "(see `python -m explorer --help`)")
            _refuse_empty_values(args)
            return _run_command(args)
    except UserError as exc:  # CliError is one too
        print(f"error: {printable(str(exc))}", file=sys.stderr)  # one line, whatever user text it quotes
        return EXIT_USAGE
    except Interrupted:
        print("interrupted: stopped at Ctrl-C; rows already printed or written are kept", file=sys.stderr)
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        return 0


def _refuse_empty_values(args: argparse.Namespace) -> None:
    """`--csv ''` or `--input ''` would otherwise read as "not given" and be ignored without a word."""
    for dest, value in vars(args).items():
        values = value if isinstance(value, list) else [value]
        if any(isinstance(v, str) and not v.strip() for v in values):
            what = "the model name" if dest in ("name", "models", "members") else "--" + dest.replace("_", "-")
            raise CliError(f"{what} needs a value, got an empty string")


def _run_command(args: argparse.Namespace) -> int:
    """The command's own exit status; a KeyboardInterrupt, SystemExit or other BaseException that user code raised
    (GeneratorExit…) is a one-line error. An Exception that is not a user error is our bug: its traceback stays."""
    from explorer.run_limits import Interrupted

    try:
        return int(args.run(args) or 0)
    except (Interrupted, Exception):
        raise
    except SystemExit as exc:
        raise CliError(f"the model's code called sys.exit({exc.code!r}); a model must not end the program") from None
    except BaseException as exc:
        raise CliError(f"the model's code raised {type(exc).__name__}") from None
