"""The Ray executor: one Ray task per unit, on a cluster this run joins (`RAY_ADDRESS`, `--ray-address`) or on a
Ray it starts on this machine; Ray schedules, we only ask and collect.

What each task asks for: one CPU and, on a cluster it joins, one CPU work budget of memory (`analyzers.budget`, so
Ray never packs more units on a node than its memory holds; a Ray started here gets only as many CPUs as the memory
holds budgets), a whole GPU where the unit needs one, and a node of the unit's GPU kind where it names one. What the driver adds to Ray, and why:

- retries it can count: tasks are submitted with Ray's own retries off and resubmitted here when their worker or
  node dies (up to `retries` times), so the progress bar can say how many ran again; a task that *raised* is not
  retried (our tasks turn a model's failure into an error row, so an exception is a fault of the machinery);
- never waiting forever: units that no live node can run (a GPU kind the cluster lacks, a GPU sweep on CPU-only
  nodes, a kind whose last node died mid-run) are reported in one line per kind and come back without a row,
  where Ray would keep them pending;
- a bounded window of tasks in flight, so a 100,000-unit sweep does not hold 100,000 tasks in the cluster at once.

Every node must have the same checkout and requirements as the driver (same path on a shared filesystem or image;
`ray job submit --working-dir .` ships the code to a remote cluster); a node with another torch version returns no
rows (`TorchMismatchError`).
"""

from __future__ import annotations

import collections
import logging
import os
import socket
import time
from dataclasses import dataclass
from typing import Any, Callable, Iterator, Mapping, Sequence

from analyzers.budget import CPU_WORK_BUDGET_BYTES, parallel_jobs
from analyzers.distributed.gpu_kinds import kind_resource, kinds_in
from analyzers.distributed.progress import SweepProgress
from analyzers.distributed.work import Outcome, OutcomeKind, Task, TorchMismatchError, WorkUnit, execute
from analyzers.errors import UserError, first_line

__all__ = ["DEFAULT_RETRIES", "RayExecutor"]

DEFAULT_RETRIES = 3  # a unit whose worker dies a fourth time comes back without a row (a rerun tries it again)
LOCAL_OBJECT_STORE_BYTES = 100 * 2**20  # rows are small: Ray's default (30% of RAM) would only reserve memory
POLL_S = 1.0  # how long the driver waits for a result before it looks at the cluster again
CHECK_NODES_S = 5.0  # how often it checks that some live node can still run each waiting unit
CONNECT_S = 10.0  # how long a cluster's head may take to accept a connection


@dataclass(frozen=True)
class _Demand:
    """What a unit asks of a node; units with the same demand are scheduled, and reported, together."""

    gpu_kind: str | None
    gpus: int

    def resources(self, memory_bytes: int) -> dict[str, float]:
        wanted: dict[str, float] = {"CPU": 1.0, "memory": float(memory_bytes)} if memory_bytes else {"CPU": 1.0}
        if self.gpus:
            wanted["GPU"] = float(self.gpus)
        if self.gpu_kind:
            wanted.update(kind_resource(self.gpu_kind))
        return wanted

    def describe(self, memory_bytes: int) -> str:
        parts = [f"1 CPU, {memory_bytes / 2**30:g} GiB of memory" if memory_bytes else "1 CPU"]
        if self.gpus:
            parts.append(f"{self.gpus} GPU")
        return ", ".join(parts)


class RayExecutor:
    """Runs units as Ray tasks; see the module's docstring. `cpus` caps a Ray started here (default: what
    `parallel_jobs` allows); it is ignored when joining a cluster, whose nodes say their own CPUs. An address
    where nothing answers is a UserError at once."""

    def __init__(self, address: str | None = None, *, cpus: int | None = None,
                 initializer: Callable[[], None] | None = None, retries: int = DEFAULT_RETRIES,
                 task_memory_bytes: int = CPU_WORK_BUDGET_BYTES) -> None:
        self.address = address or os.environ.get("RAY_ADDRESS") or None
        if self.address:
            _check_reachable(self.address)  # now, before a result file is opened or anything is built
        self.cpus = cpus
        self.initializer = initializer
        self.retries = retries
        self.task_memory_bytes = task_memory_bytes
        self._ray: Any = None
        self._owned = False  # whether this executor called ray.init (and so must call ray.shutdown)

    # --- joining and leaving -------------------------------------------------------------------------------------

    def __enter__(self) -> RayExecutor:
        try:
            import ray
        except ImportError:
            raise UserError("--executor ray needs Ray: install the pinned requirements.txt (ray==2.60.0)") from None
        self._ray = ray
        if ray.is_initialized():  # a caller (a test, a notebook) already joined a cluster: use it, leave it as found
            return self
        quiet: dict[str, Any] = {"logging_level": logging.ERROR, "log_to_driver": False}
        try:
            if self.address:
                ray.init(address=self.address, **quiet)
            else:  # "local": a new Ray on this machine, never one a `ray start` left running here
                self.task_memory_bytes = 0  # its CPUs are already capped by memory (parallel_jobs)
                ray.init(address="local", num_cpus=parallel_jobs(self.cpus).jobs, include_dashboard=False,
                         object_store_memory=LOCAL_OBJECT_STORE_BYTES, **quiet)
        except Exception as exc:  # ConnectionError, a malformed address, a Ray that cannot start here
            where = f"join the Ray cluster at {self.address}" if self.address else "start Ray on this machine"
            raise UserError(f"cannot {where}: {first_line(exc, named=True, limit=300)}") from None
        self._owned = True
        return self

    def __exit__(self, *exc: object) -> None:
        if self._owned:
            self._ray.shutdown()
            self._owned = False

    # --- running ----------------------------------------------------------------------------------------------------

    def run(self, task: Task, units: Sequence[WorkUnit], progress: SweepProgress) -> Iterator[list[Outcome]]:
        ray = self._ray
        if ray is None:
            raise RuntimeError("use the RayExecutor in a `with` block")
        remote = ray.remote(_run_on_node)
        groups: dict[_Demand, list[WorkUnit]] = collections.defaultdict(list)
        for unit in units:
            groups[_Demand(unit.gpu_kind, unit.gpus)].append(unit)
        runnable = self._runnable(set(groups))
        for demand in [d for d in groups if d not in runnable]:
            yield self._unrunnable(demand, groups.pop(demand), progress)

        queue = collections.deque(unit for group in groups.values() for unit in group)
        pending: dict[Any, tuple[WorkUnit, int]] = {}  # ObjectRef → (unit, attempt)
        window = max(256, 4 * int(ray.cluster_resources().get("CPU", 1)))
        checked = time.monotonic()

        def submit(unit: WorkUnit, attempt: int) -> None:
            options: dict[str, Any] = dict(num_cpus=1, max_retries=0, retry_exceptions=False)
            if self.task_memory_bytes:
                options["memory"] = self.task_memory_bytes
            if unit.gpus:
                options["num_gpus"] = unit.gpus
            if unit.gpu_kind:
                options["resources"] = kind_resource(unit.gpu_kind)
            ref = remote.options(**options).remote(task, unit, self.initializer)
            pending[ref] = (unit, attempt)

        while queue or pending:
            while queue and len(pending) < window:
                submit(queue.popleft(), 1)
            ready, _ = ray.wait(list(pending), num_returns=1, timeout=POLL_S)
            if ready:
                ready, _ = ray.wait(list(pending), num_returns=len(pending), timeout=0)
            batch = []
            for ref in ready:
                unit, attempt = pending.pop(ref)
                outcome = self._collect(ref, unit, attempt)
                if outcome is None:  # its worker or node died: run it again
                    progress.retried()
                    submit(unit, attempt + 1)
                else:
                    batch.append(outcome)
            if batch:
                yield batch
            if time.monotonic() - checked > CHECK_NODES_S:
                checked = time.monotonic()
                for stranded in self._drop_stranded(queue, pending, progress):
                    yield stranded

    def _collect(self, ref: Any, unit: WorkUnit, attempt: int) -> Outcome | None:
        """The unit's outcome, or None when it should run again."""
        ray = self._ray
        try:
            row, where = ray.get(ref)
        except ray.exceptions.RayTaskError as exc:  # the task raised: a fault of the machinery, not retried
            cause = exc.cause if isinstance(getattr(exc, "cause", None), BaseException) else exc
            reason = str(cause) if isinstance(cause, TorchMismatchError) else first_line(cause, named=True, limit=300)
            return Outcome(unit, OutcomeKind.FAILED, reason=reason, attempts=attempt)
        except (ray.exceptions.TaskCancelledError, ray.exceptions.RuntimeEnvSetupError) as exc:
            return Outcome(unit, OutcomeKind.FAILED, reason=first_line(exc, named=True, limit=300), attempts=attempt)
        except ray.exceptions.RayError as exc:  # the worker or its node died (killed, out of memory, lost)
            if attempt <= self.retries:
                return None
            return Outcome(unit, OutcomeKind.FAILED, attempts=attempt,
                           reason=f"its worker died {attempt} times (last: {first_line(exc, named=True, limit=200)})")
        return Outcome(unit, OutcomeKind.ROW, row, attempts=attempt, where=where)

    # --- units no node can run -----------------------------------------------------------------------------------

    def _alive_resources(self) -> list[Mapping[str, float]]:
        return [node.get("Resources", {}) for node in self._ray.nodes() if node.get("Alive")]

    def _runnable(self, demands: set[_Demand]) -> set[_Demand]:
        nodes = self._alive_resources()
        return {d for d in demands if any(_fits(node, d.resources(self.task_memory_bytes)) for node in nodes)}

    def _unrunnable(self, demand: _Demand, units: list[WorkUnit], progress: SweepProgress,
                    lost: bool = False) -> list[Outcome]:
        """One line for a group of units no live node can run, then each as an outcome without a row."""
        nodes = self._alive_resources()
        present = kinds_in(nodes)
        needs = demand.describe(self.task_memory_bytes)
        if demand.gpu_kind and demand.gpu_kind not in present:
            kinds = ", ".join(sorted(present)) or "none"
            where = "node left in the cluster" if lost else "in the cluster"
            what = f"no {demand.gpu_kind} {where} (GPU kinds present: {kinds})"
        elif demand.gpu_kind:
            what = f"no {demand.gpu_kind} node {'left that has' if lost else 'has'} {needs}"
        else:
            what = f"no {'live node left' if lost else 'node of the cluster'} has {needs}"
        progress.note(f"{what}: {len(units)} unit(s) not run")
        return [Outcome(unit, OutcomeKind.FAILED, reason=what, announced=True) for unit in units]

    def _drop_stranded(self, queue: collections.deque, pending: dict[Any, tuple[WorkUnit, int]],
                       progress: SweepProgress) -> Iterator[list[Outcome]]:
        """Units waiting for a kind of node that is no longer in the cluster: cancel them, report them once."""
        waiting = {_Demand(u.gpu_kind, u.gpus) for u in queue} | {_Demand(u.gpu_kind, u.gpus) for u, _ in
                                                                   pending.values()}
        stranded = waiting - self._runnable(waiting)
        for demand in stranded:
            units = [u for u in queue if _Demand(u.gpu_kind, u.gpus) == demand]
            for unit in units:
                queue.remove(unit)
            for ref, (unit, _) in list(pending.items()):
                if _Demand(unit.gpu_kind, unit.gpus) == demand:
                    self._ray.cancel(ref, force=True)
                    del pending[ref]
                    units.append(unit)
            yield self._unrunnable(demand, units, progress, lost=True)


def _check_reachable(address: str, seconds: float = CONNECT_S) -> None:
    """Refuse, in one line and within seconds, an address where no head node answers: `ray.init` would retry it
    for about a quarter of an hour."""
    if address == "auto":  # Ray's own search for a cluster started on this machine
        return
    host, _, port = address.rpartition(":")
    if "://" in address or not host or not port.isdigit():
        raise UserError(f"Ray address {address!r} (--ray-address or RAY_ADDRESS): expected HOST:PORT of the "
                        "cluster's head node (e.g. 10.0.0.5:6379; ray:// needs Ray Client, which is not installed)")
    try:
        socket.create_connection((host, int(port)), timeout=seconds).close()
    except OSError as exc:
        raise UserError(f"cannot join the Ray cluster at {address}: nothing answers there within {seconds:g} s "
                        f"({exc.strerror or type(exc).__name__}); is its head node started (`ray start --head`)?") \
            from None


def _fits(node: Mapping[str, float], wanted: Mapping[str, float]) -> bool:
    return all(node.get(name, 0.0) >= amount for name, amount in wanted.items())


_initialised = False  # per worker process: the sweep's initializer has run here


def _run_on_node(task: Task, unit: WorkUnit, initializer: Callable[[], None] | None) -> tuple[Any, str]:
    """The Ray task: initialise this worker process once, run the unit, say which node ran it."""
    global _initialised
    import ray

    if initializer is not None and not _initialised:
        initializer()
        _initialised = True
    row = execute(task, unit)
    return row, ray.get_runtime_context().get_node_id()[:12]

