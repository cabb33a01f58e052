"""Where a sweep's units run: worker processes on this machine (`local`, the default) or a Ray cluster (`ray`).

Both take the same units and task function and hand the outcomes back to the driver as they finish, in any order;
the driver alone writes rows (through the one result-file writer). Ray is imported only by `RayExecutor`, so a
command that runs locally never pays for it.
"""

from __future__ import annotations

import enum
from typing import Callable, Iterator, Protocol, Sequence

from analyzers.distributed.progress import SweepProgress
from analyzers.distributed.work import Outcome, Task, WorkUnit

__all__ = ["Executor", "ExecutorKind", "open_executor"]


class ExecutorKind(str, enum.Enum):
    LOCAL = "local"
    RAY = "ray"


class Executor(Protocol):
    """Runs units and yields their outcomes in batches, each batch what came back together (the driver writes a
    batch with one write); used as a context manager (a cluster is joined and left)."""

    def __enter__(self) -> Executor: ...

    def __exit__(self, *exc: object) -> None: ...

    def run(self, task: Task, units: Sequence[WorkUnit], progress: SweepProgress) -> Iterator[list[Outcome]]: ...


def open_executor(kind: ExecutorKind, *, workers: int | None = None, ray_address: str | None = None,
                  initializer: Callable[[], None] | None = None) -> Executor:
    """The executor a command asked for: `workers` caps the processes (local) or the CPUs of a Ray started here;
    `ray_address` (or RAY_ADDRESS) names a running cluster to join instead."""
    if kind is ExecutorKind.RAY:
        from analyzers.distributed.ray_executor import RayExecutor

        return RayExecutor(ray_address, cpus=workers, initializer=initializer)
    from analyzers.distributed.local import LocalExecutor

    return LocalExecutor(workers, initializer=initializer)
