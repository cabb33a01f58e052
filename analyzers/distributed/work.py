"""A unit of work and what comes back from it: the one shape every sweep (atlas, bench, bench --train) is cut into.

Why keyed: a sweep is rerun after a crash, a lost node or a Ctrl-C, and its units may run twice (a retried task whose
first attempt finished unseen). A unit's key says which configuration it is (catalogue, model, input, dtype, batch,
device kind, torch version), so the driver can skip what the result file already holds and the one writer can drop a
second copy. A unit runs a task function (module-level, so that a worker process or a Ray node imports it by name)
on a picklable payload and returns one row (column → value) for the sweep's result schema.
"""

from __future__ import annotations

import enum
import importlib.metadata
from dataclasses import dataclass, field
from typing import Any, Callable, Generic, Mapping, TypeVar

__all__ = ["Outcome", "OutcomeKind", "Task", "TorchMismatchError", "WorkKey", "WorkUnit", "execute", "torch_version"]

Payload = TypeVar("Payload")
Row = Mapping[str, Any]
Task = Callable[[Any], Row]  # payload → one row of the sweep's schema; never raises for a model's own failure


def torch_version() -> str:
    """The installed torch's version, read without importing torch (a driver that only schedules need not)."""
    try:
        return importlib.metadata.version("torch")
    except importlib.metadata.PackageNotFoundError:
        return "none"


@dataclass(frozen=True, order=True)
class WorkKey:
    """Which configuration a unit is: the same key is the same work, wherever and however often it runs."""

    catalogue: str  # "torchvision", "timm", "hf", "bench", "bench-train"
    model: str
    input: str  # "default", "3x224x224", "seq 128"
    dtype: str
    batch: int
    device_kind: str  # "meta", "cpu", "cuda", or a GPU kind such as "H100"
    torch_version: str
    variant: str = ""  # what else a sweep fixes for all its units: "channels_last compiled", "adamw"

    @property
    def label(self) -> str:
        """A short name for messages: "torchvision:resnet18", "bench:resnet18 3x224x224 fp32 batch 8 on H100"."""
        text = f"{self.catalogue}:{self.model}"
        if self.catalogue.startswith("bench"):
            text += f" {self.input} {self.dtype} batch {self.batch} on {self.device_kind}"
        elif self.input != "default":
            text += f" ({self.input})"
        return text


@dataclass(frozen=True)
class WorkUnit(Generic[Payload]):
    """One task to run: its key, what the task function receives, and what it needs of the machine."""

    key: WorkKey
    payload: Payload
    gpu_kind: str | None = None  # run only on a node of this accelerator type (Ray's `accelerator_type`)
    gpus: int = 0  # whole GPUs the task holds while it runs


class OutcomeKind(enum.Enum):
    ROW = "row"  # the task returned its row (which may itself record the model's failure: an error row)
    FAILED = "failed"  # no row: the machinery failed (workers died past the retries, no node can run it…)


@dataclass(frozen=True)
class Outcome:
    """What came back for one unit: its row, or why there is none (then a rerun tries it again)."""

    unit: WorkUnit
    kind: OutcomeKind
    row: Row | None = None
    reason: str = ""
    attempts: int = 1
    where: str = field(default="", compare=False)  # the node it ran on, where known
    announced: bool = False  # the executor already told the user why (one line for many units)


class TorchMismatchError(RuntimeError):
    """A node's torch differs from the driver's: its counts and timings would not compare with the others'."""


def execute(task: Task, unit: WorkUnit) -> Row:
    """Run one unit where it was scheduled: refuse a torch other than the driver's, then run the task."""
    here = torch_version()
    if here != unit.key.torch_version:
        raise TorchMismatchError(f"this node has torch {here}, the driver {unit.key.torch_version}: install the same "
                                 "requirements on every node")
    return task(unit.payload)
