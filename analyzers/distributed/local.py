"""The local executor: worker processes on this machine, as many as its cores and memory allow.

One process runs the units in the driver itself (no start-up cost); more are fresh interpreters (`spawn`: no torch
state forked mid-flight), each started once and fed one unit at a time, so a slow unit never holds back the others. Each row comes back
alone (a batch of one), written the moment it is done.
"""

from __future__ import annotations

import functools
import multiprocessing
from typing import Callable, Iterator, Sequence

from analyzers.budget import parallel_jobs
from analyzers.distributed.progress import SweepProgress
from analyzers.distributed.work import Outcome, OutcomeKind, Task, WorkUnit, execute

__all__ = ["LocalExecutor"]


class LocalExecutor:
    """Up to `workers` processes (default: as many as fit, `analyzers.budget.parallel_jobs`); `initializer` runs
    once in each before its first unit."""

    def __init__(self, workers: int | None = None, *, initializer: Callable[[], None] | None = None) -> None:
        self.jobs = parallel_jobs(workers)
        self.initializer = initializer

    def __enter__(self) -> LocalExecutor:
        return self

    def __exit__(self, *exc: object) -> None:
        pass

    def run(self, task: Task, units: Sequence[WorkUnit], progress: SweepProgress) -> Iterator[list[Outcome]]:
        workers = min(self.jobs.jobs, len(units) or 1)
        if workers == 1:
            if self.initializer is not None and units:
                self.initializer()
            for unit in units:
                yield [Outcome(unit, OutcomeKind.ROW, execute(task, unit))]
            return
        context = multiprocessing.get_context("spawn")
        with context.Pool(workers, initializer=self.initializer) as pool:
            run = functools.partial(_numbered, task)
            for index, row in pool.imap_unordered(run, enumerate(units), chunksize=1):
                yield [Outcome(units[index], OutcomeKind.ROW, row)]


def _numbered(task: Task, numbered: tuple[int, WorkUnit]) -> tuple[int, object]:
    index, unit = numbered
    return index, execute(task, unit)
