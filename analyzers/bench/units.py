"""Benchmark sweeps cut into units for an executor: one unit per configuration and GPU kind, its row written by the
driver (`analyzers.distributed`).

A GPU sweep is one task per configuration holding one whole GPU (`gpus=1`); `gpu_kinds` fans the same sweep out to
each kind (one unit per configuration per kind), each row labelled with the device it ran on. What the driver
cannot know before a unit runs is the exact device name a node reports ("NVIDIA H100 80GB HBM3"), so a unit counts
as done when the file holds a row of its configuration whose device name says its kind
(`gpu_kinds.names_kind`); without kinds, when it holds a row of its configuration on any device.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Sequence

import torch

from analyzers.bench.harness import (
    BenchConfig,
    CostCounter,
    ModelFactory,
    PeakLookup,
    bench_one,
    count_with_analyzer,
)
from analyzers.bench.result_schemas import TRAIN_BENCH_ROWS
from analyzers.bench.row_schema import Key
from analyzers.bench.schema import RESUME_KEY
from analyzers.devices import peak_for
from analyzers.distributed.gpu_kinds import names_kind
from analyzers.distributed.work import Row, WorkKey, WorkUnit, torch_version

__all__ = ["BenchJob", "TrainJob", "bench_task", "bench_units", "done_bench", "done_training", "train_task",
           "train_units"]


@dataclass(frozen=True)
class BenchJob:
    """One inference configuration to time, and on which kind of node."""

    config: BenchConfig
    model_factory: ModelFactory  # module-level, so a worker imports it by name
    device_peak: PeakLookup = peak_for
    counter: CostCounter | None = count_with_analyzer
    gpu_kind: str | None = None
    time_limit_s: float | None = None  # per configuration (count, build, warm-up, timing) and the peak probe


@dataclass(frozen=True)
class TrainJob:
    """One training step to time (`bench --train`), and on which kind of node."""

    config: BenchConfig
    model_factory: ModelFactory
    optimizer: str
    gpu_kind: str | None = None
    time_limit_s: float | None = None


def bench_task(job: BenchJob) -> Row:
    """A unit's row of the bench results CSV (its failure an error or oom row)."""
    result = bench_one(job.config, job.model_factory, counter=job.counter, device_peak=job.device_peak,
                       time_limit_s=job.time_limit_s, gpu_kind=job.gpu_kind)
    return asdict(result)


def train_task(job: TrainJob) -> Row:
    """A unit's row of the training bench CSV; a step that fails or runs past the time limit raises (no row, as
    `bench --train` on this machine: a rerun tries it again)."""
    from analyzers.bench.harness import describe_environment
    from analyzers.bench.train_harness import bench_training_step
    from analyzers.distributed.gpu_kinds import device_label
    from analyzers.time_limit import TimeLimitExceeded, time_limit

    c = job.config
    try:
        with time_limit(job.time_limit_s):
            result = bench_training_step(c.model, job.model_factory, c.input_size, c.batch, c.device, job.optimizer,
                                         iters=c.iters, warmup=c.warmup)
    except TimeLimitExceeded as exc:  # a BaseException: as a plain error, the worker lives on
        raise RuntimeError(f"stopped after {exc.seconds:g} s (--timeout)") from None
    return result.row(device_label(describe_environment(c.device).device_name, job.gpu_kind))


def _key(catalogue: str, config: BenchConfig, kind: str | None, variant: str) -> WorkKey:
    return WorkKey(catalogue, config.model, config.input_label, config.dtype.value, config.batch,
                   kind or torch.device(config.device).type, torch_version(), variant)


def _gpus(config: BenchConfig) -> int:
    return 1 if torch.device(config.device).type == "cuda" else 0


def bench_units(configs: Sequence[BenchConfig], model_factory: ModelFactory, *, gpu_kinds: Sequence[str] = (),
                device_peak: PeakLookup = peak_for, counter: CostCounter | None = count_with_analyzer,
                time_limit_s: float | None = None) -> list[WorkUnit[BenchJob]]:
    """One unit per configuration, per GPU kind when `gpu_kinds` is given."""
    units = []
    for kind in list(gpu_kinds) or [None]:
        for config in configs:
            variant = f"{config.memory_format.value}{' compiled' if config.compile else ''}"
            units.append(WorkUnit(_key("bench", config, kind, variant),
                                  BenchJob(config, model_factory, device_peak, counter, kind, time_limit_s), kind,
                                  _gpus(config)))
    return units


def train_units(configs: Sequence[BenchConfig], model_factory: ModelFactory, optimizer: str, *,
                gpu_kinds: Sequence[str] = (), time_limit_s: float | None = None) -> list[WorkUnit[TrainJob]]:
    """One training unit per configuration, per GPU kind when `gpu_kinds` is given."""
    return [WorkUnit(_key("bench-train", config, kind, optimizer),
                     TrainJob(config, model_factory, optimizer, kind, time_limit_s), kind, _gpus(config))
            for kind in list(gpu_kinds) or [None] for config in configs]


def _ran_on(device_name: object, kind: str | None) -> bool:
    return kind is None or names_kind(str(device_name), kind)


def _done(wanted: dict[str, object], kind: str | None, key_names: Sequence[str], present: set[Key]) -> bool:
    """Whether a key in `present` has the `wanted` values and a device name that says `kind`."""
    for key in present:
        values = dict(zip(key_names, key))
        if all(values[name] == value for name, value in wanted.items()) and _ran_on(values["device_name"], kind):
            return True
    return False


def done_bench(unit: WorkUnit[BenchJob], present: set[Key]) -> bool:
    """Whether the bench file holds a row of this unit's configuration on a device of its kind."""
    c = unit.payload.config
    wanted = {"model": c.model, "batch": c.batch, "input_size": c.input_label, "dtype": c.dtype.value,
              "memory_format": c.memory_format.value, "compile": c.compile, "device": c.device}
    return _done(wanted, unit.gpu_kind, RESUME_KEY, present)


def done_training(unit: WorkUnit[TrainJob], present: set[Key]) -> bool:
    """Whether the training file holds a row of this unit's configuration on a device of its kind."""
    c = unit.payload.config
    wanted = {"model": c.model, "batch": c.batch, "input": c.input_label, "device": c.device,
              "optimizer": unit.payload.optimizer}
    return _done(wanted, unit.gpu_kind, TRAIN_BENCH_ROWS.key, present)

