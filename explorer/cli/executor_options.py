"""`--executor local|ray`, `--ray-address` and `--gpu-kinds`: where `atlas` and `bench` run their units.

`local` (the default) is worker processes on this machine, as before; `ray` joins the cluster at `--ray-address`
(or `RAY_ADDRESS`) or starts Ray on this machine. Ray is imported only when `ray` is asked for.
"""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING, Callable

from analyzers.distributed.executor import ExecutorKind, open_executor
from explorer.cli.common import CliError

if TYPE_CHECKING:
    from analyzers.distributed.executor import Executor
    from analyzers.distributed.sweep import SweepSummary

__all__ = ["add_executor_arguments", "executor_from", "gpu_kinds_from", "print_failures"]


def add_executor_arguments(parser: argparse.ArgumentParser, *, gpu_kinds: bool = False) -> None:
    parser.add_argument("--executor", choices=[kind.value for kind in ExecutorKind], default=ExecutorKind.LOCAL.value,
                        help="where the work runs: local (default: processes on this machine) or ray (a Ray cluster; "
                        "one task per unit, results written here)")
    parser.add_argument("--ray-address", metavar="HOST:PORT",
                        help="with --executor ray: the cluster to join (default: RAY_ADDRESS, else Ray is started "
                        "on this machine)")
    if gpu_kinds:
        parser.add_argument("--gpu-kinds", metavar="KINDS",
                            help="with --executor ray: run the sweep once on each of these accelerator types present "
                            "in the cluster (e.g. H100,H200,L4), each row labelled with the device it ran on; a kind "
                            "the cluster lacks is reported in one line")


def executor_from(args: argparse.Namespace, *, workers: int | None = None,
                  initializer: Callable[[], None] | None = None) -> Executor:
    """The executor the arguments ask for; a Ray-only option given without `--executor ray` is a CliError."""
    kind = ExecutorKind(args.executor)
    if kind is not ExecutorKind.RAY:
        for flag in ("ray_address", "gpu_kinds"):
            if getattr(args, flag, None):
                raise CliError(f"--{flag.replace('_', '-')} needs --executor ray")
    return open_executor(kind, workers=workers, ray_address=args.ray_address, initializer=initializer)


def gpu_kinds_from(args: argparse.Namespace) -> tuple[str, ...]:
    """The parsed `--gpu-kinds` (empty when not given)."""
    from analyzers.distributed.gpu_kinds import parse_gpu_kinds

    return parse_gpu_kinds(args.gpu_kinds) if getattr(args, "gpu_kinds", None) else ()


def print_failures(summary: SweepSummary, what: str) -> str:
    """The tail of a command's summary line: units that came back without a row, and retried tasks."""
    parts = []
    if summary.failed:
        parts.append(f"{len(summary.failed)} {what} not run (no row written; a rerun tries them again)")
    if summary.retried:
        parts.append(f"{summary.retried} task(s) retried after their worker or node died")
    return "; ".join(parts)
