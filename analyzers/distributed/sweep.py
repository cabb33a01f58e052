"""The driver of a sweep: skip what the result file holds, run the rest on an executor, write each row as it comes.

Only the driver writes, and only through the one writer (`analyzers.bench.results_file.ResultsFile`): a row is on
disk the moment its unit comes back, checked against the file's schema, once per key (a rerun, a concurrent run or a
retried task that did finish after all can never add a second copy). A unit that comes back without a row (its
workers kept dying, no node can run it) is reported and left out of the file, so the next run tries it again.
"""

from __future__ import annotations

import enum
import time
from collections import Counter
from dataclasses import dataclass, field, replace
from typing import Callable, Sequence

from analyzers.bench.results_file import ResultsFile, ResultsFileError
from analyzers.bench.row_schema import Key
from analyzers.distributed.executor import Executor
from analyzers.distributed.progress import SweepProgress
from analyzers.distributed.work import Outcome, OutcomeKind, Row, Task, WorkUnit

__all__ = ["SweepSummary", "row_status", "run_units"]

Done = Callable[[WorkUnit, set[Key]], bool]  # whether the file's keys (at the start) already hold this unit


@dataclass(frozen=True)
class SweepSummary:
    written: int  # rows this run wrote
    skipped: int  # units already in the file (at the start, or written by another run meanwhile)
    statuses: dict[str, int]  # of the rows written: ok, error, timeout, oom…
    failed: tuple[Outcome, ...]  # units that came back without a row
    retried: int  # tasks run again after their worker or node died
    seconds: float
    rows: tuple[Row, ...] = field(default=(), repr=False)  # the rows written, in the order they came
    nodes: dict[str, int] = field(default_factory=dict)  # rows that came back from each node (Ray's node id)


def row_status(row: Row) -> str:
    """A row's status text ("ok" for a schema without a status column: its failures are not rows)."""
    status = row.get("status", "ok")
    return str(status.value if isinstance(status, enum.Enum) else status)


def _schema_problem(outcome: Outcome, results: ResultsFile) -> str | None:
    """Why a returned row does not fit the file's schema (then it is one unit's failure, not the sweep's end)."""
    if outcome.kind is not OutcomeKind.ROW:
        return None
    try:
        results.schema.encode(outcome.row)
    except ResultsFileError as exc:
        return str(exc)
    return None


def run_units(units: Sequence[WorkUnit], task: Task, executor: Executor, results: ResultsFile, *, done: Done,
              progress: bool = True, unit_name: str = "row") -> SweepSummary:
    """Run every unit `done` does not find among the file's keys, on `executor`, writing rows to `results`.

    The executor is entered (a cluster joined, a local Ray started) only when something is left to do.
    """
    started = time.perf_counter()
    unique = list({unit.key: unit for unit in units}.values())
    present = results.keys()
    todo = [unit for unit in unique if not done(unit, present)]
    skipped = len(unique) - len(todo)
    statuses: Counter[str] = Counter()
    failed: list[Outcome] = []
    rows: list[Row] = []
    nodes: Counter[str] = Counter()
    retried = 0
    if todo:
        with SweepProgress(len(todo), enabled=progress, unit=unit_name) as bar, executor:
            for outcome in executor.run(task, todo, bar):
                problem = _schema_problem(outcome, results)
                if problem:
                    outcome = replace(outcome, kind=OutcomeKind.FAILED, row=None, reason=problem)
                if outcome.kind is OutcomeKind.ROW:
                    status = row_status(outcome.row)
                    if outcome.where:
                        nodes[outcome.where] += 1
                    if results.append(outcome.row):
                        statuses[status] += 1
                        rows.append(outcome.row)
                    else:
                        skipped += 1
                    bar.finished(ok=status == "ok")
                else:
                    failed.append(outcome)
                    bar.finished(ok=False)
                    if not outcome.announced:
                        bar.note(f"failed: {outcome.unit.key.label}: {outcome.reason}; no row written")
            retried = bar.counts.retried
    return SweepSummary(sum(statuses.values()), skipped, dict(statuses), tuple(failed), retried,
                        time.perf_counter() - started, tuple(rows), dict(nodes))
