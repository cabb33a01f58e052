"""The driver of a sweep: skip what the result file holds, run the rest on an executor, write each row as it comes.

Only the driver writes, and only through the one writer (`analyzers.bench.results_file.ResultsFile`): a row is on
disk the moment its unit comes back, checked against the file's schema, once per key (a rerun, a concurrent run or a
retried task that did finish after all can never add a second copy). Rows that come back together (Ray hands over
every task finished since the last look) go in one write and one fsync, so at thousands of rows a second the
driver's disk does not set the pace. A unit that comes back without a row (its workers kept dying, no node can run
it) is reported and left out of the file, so the next run tries it again.
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
    rows: tuple[Row, ...] = field(default=(), repr=False)  # the rows written, in the order they came (keep_rows)
    nodes: dict[str, int] = field(default_factory=dict)  # rows that came back from each node (Ray's node id)


def row_status(row: Row) -> str:
    """A row's status text ("ok" for a schema without a status column: its failures are not rows)."""
    status = row.get("status", "ok")
    return str(status.value if isinstance(status, enum.Enum) else status)


def _checked(outcome: Outcome, results: ResultsFile) -> Outcome:
    """The outcome, or a failure when its row does not fit the file's schema (one unit's failure, not the end of
    the sweep)."""
    if outcome.kind is not OutcomeKind.ROW:
        return outcome
    try:
        results.schema.encode(outcome.row)
    except ResultsFileError as exc:
        return replace(outcome, kind=OutcomeKind.FAILED, row=None, reason=str(exc))
    return outcome


def _write(returned: list[Outcome], results: ResultsFile) -> list[Outcome]:
    """Write a batch's rows in one write; the outcomes whose rows this wrote (the others' keys were in the file:
    written meanwhile by another run, or a task that came back twice)."""
    if len(returned) <= 1:
        return [outcome for outcome in returned if results.append(outcome.row)]
    present, new = results.keys(), {}
    for outcome in returned:
        key = results.schema.key_of(outcome.row)
        if key not in present:
            new.setdefault(key, outcome)
    results.append_all(outcome.row for outcome in returned)
    return list(new.values())


def run_units(units: Sequence[WorkUnit], task: Task, executor: Executor, results: ResultsFile, *, done: Done,
              progress: bool = True, unit_name: str = "row", keep_rows: bool = False) -> SweepSummary:
    """Run every unit `done` does not find among the file's keys, on `executor`, writing rows to `results` as
    they come back (what comes back together, in one write).

    The executor is entered (a cluster joined, a local Ray started) only when something is left to do.
    `keep_rows` keeps the rows written in the summary (for a command that prints them; an atlas of 100,000 rows
    need not hold them all).
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
            for batch in executor.run(task, todo, bar):
                batch = [_checked(outcome, results) for outcome in batch]
                returned = [outcome for outcome in batch if outcome.kind is OutcomeKind.ROW]
                written = _write(returned, results)
                skipped += len(returned) - len(written)
                for outcome in written:
                    statuses[row_status(outcome.row)] += 1
                    if keep_rows:
                        rows.append(outcome.row)
                for outcome in batch:
                    if outcome.kind is OutcomeKind.ROW:
                        if outcome.where:
                            nodes[outcome.where] += 1
                        bar.finished(ok=row_status(outcome.row) == "ok")
                        continue
                    failed.append(outcome)
                    bar.finished(ok=False)
                    if not outcome.announced:
                        bar.note(f"failed: {outcome.unit.key.label}: {outcome.reason}; no row written")
            retried = bar.counts.retried
    return SweepSummary(sum(statuses.values()), skipped, dict(statuses), tuple(failed), retried,
                        time.perf_counter() - started, tuple(rows), dict(nodes))
