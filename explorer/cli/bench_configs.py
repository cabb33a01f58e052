"""What a `bench` command line asks for: its configurations (models, batches, input, dtype, layout, device, counts,
each value checked in one line), the model each names built on a device, and the peak it is measured against.
Shared by the local sweep (`explorer.cli.bench`) and the cluster sweep (`explorer.cli.bench_cluster`)."""

from __future__ import annotations

import argparse
import math
import re
from pathlib import Path
from typing import Callable

import torch
from torch import nn

from analyzers.bench.harness import BenchConfig, default_device
from analyzers.bench.schema import MemoryFormat
from analyzers.devices import DevicePeak, Precision, measure_peak
from analyzers.errors import first_line
from analyzers.numbers import whole_number
from explorer.cli.common import CliError

__all__ = ["CPU_PROBE_SECONDS_PER_CALL", "FALLBACK_INPUT", "LIBRARY_PREFIXES", "MAX_COUNT", "build_configs",
           "build_for_bench", "default_input_size", "measured_peak", "parse_batches", "parse_input_size",
           "train_results_path"]

LIBRARY_PREFIXES = ("torchvision:", "timm:")  # built by explorer.catalogue, as `summary` builds them
CPU_PROBE_SECONDS_PER_CALL = 0.25
FALLBACK_INPUT = (3, 224, 224)  # ImageNet's eval crop, for a library model that does not say its own image size


def measured_peak(precision: Precision) -> Callable[[torch.device], DevicePeak]:
    """A peak lookup that probes the device once: a square matmul in the sweep's dtype and a device copy.

    Sizes are scaled to the device so the probe takes seconds: 8192² on a GPU; on a CPU up to 2048², smaller where
    a call would take over a quarter of a second (fp16 and bf16 on CPUs without half-precision units).
    """

    def probe(device: torch.device) -> DevicePeak:
        cpu = device.type == "cpu"
        return measure_peak(device, precisions=(precision,), matmul_size=2048 if cpu else 8192,
                            copy_bytes=(256 << 20) if cpu else (1 << 30), repeats=3 if cpu else 10,
                            seconds_per_call=CPU_PROBE_SECONDS_PER_CALL if cpu else None)

    return probe


def build_configs(args: argparse.Namespace, device: str | None = None) -> list[BenchConfig]:
    """Every (model, batch) configuration the arguments ask for, validated; `device` (already checked, e.g. for a
    cluster whose GPUs this machine lacks) instead of `--device` checked against this machine."""
    batches = parse_batches(args.batch)
    precision = _parse_precision(args.dtype, "--dtype")
    device = device or _parse_device(args.device)
    iters = _parse_count(args.iters, "--iters", minimum=1)
    warmup = _parse_count(args.warmup, "--warmup", minimum=0)
    explicit_input = parse_input_size(args.input) if args.input is not None else None
    if precision is Precision.TF32 and torch.device(device).type != "cuda":
        raise CliError("--dtype tf32 is a CUDA tensor-core mode; on cpu use fp32")
    memory_format = MemoryFormat.CHANNELS_LAST if args.channels_last else MemoryFormat.NCHW
    configs = []
    for name in args.models:
        input_size = explicit_input or default_input_size(name)
        for batch in batches:
            if torch.device(device).type == "cpu":
                _refuse_input_over_budget(batch, input_size, precision)
            configs.append(
                BenchConfig(
                    model=name,
                    batch=batch,
                    input_size=input_size,
                    dtype=precision,
                    memory_format=memory_format,
                    compile=args.compile,
                    device=device,
                    iters=iters,
                    warmup=warmup,
                )
            )
    return configs


def _refuse_input_over_budget(batch: int, input_size: tuple[int, int, int], precision: Precision) -> None:
    """A CPU run allocates its input before anything else: one over the budget for CPU work is refused before the
    sweep starts (the model's own estimate comes later, per row; a 3x20000x20000 input alone is 4.5 GiB)."""
    from analyzers.budget import CPU_WORK_BUDGET_BYTES, refuse_over_budget

    per_image = math.prod(input_size) * precision.torch_dtype.itemsize
    most = CPU_WORK_BUDGET_BYTES // per_image
    refuse_over_budget(batch * per_image, f"--batch {batch} of --input {'x'.join(map(str, input_size))} on the CPU: "
                       "the input tensor alone", f"at most --batch {most} fits" if most else "use a smaller --input")


def parse_batches(text: str) -> list[int]:
    """'1,32,256' → [1, 32, 256]; each a positive integer a results file can hold, no repeats."""
    batches = [whole_number(p.strip()) for p in text.split(",")]
    if any(b is None or not 1 <= b <= MAX_COUNT for b in batches):
        raise CliError(f"--batch {text!r}: expected positive integers up to {MAX_COUNT:,} separated by commas, e.g. "
                       "1,32,256")
    return list(dict.fromkeys(batches))  # type: ignore[arg-type]


MAX_COUNT = 2**63 - 1  # batches and iterations are 64-bit integers in a results file


def parse_input_size(text: str) -> tuple[int, int, int]:
    """'3x224x224' → (3, 224, 224): the shared parser (analyzers.counting.inputs), held to the three sizes of an image."""
    from analyzers.counting.inputs import parse_input_size as parse

    c, h, w = parse(text, dimensions=(3, 3))
    return (c, h, w)


def default_input_size(name: str) -> tuple[int, int, int]:
    """The input a model is meant for; a `UserError` for a name that does not resolve."""
    if name.startswith(LIBRARY_PREFIXES):
        size = _library_model(name, torch.device("meta")).input_size
        return (size[0], size[1], size[2]) if size is not None and len(size) == 3 else FALLBACK_INPUT
    from explorer.zoo import get_model_info

    return get_model_info(name).default_input()


def build_for_bench(name: str, device: torch.device) -> nn.Module:
    """The model factory the harness calls: real random-init weights on `device` (or meta, for counting)."""
    if name.startswith(LIBRARY_PREFIXES):
        return _library_model(name, device).module
    from explorer.zoo import build_model

    return build_model(name, device=device).module


def _library_model(ref: str, device: torch.device):
    """The catalogue's model (the architecture its default weights describe), on `device`."""
    from explorer.catalogue import build

    try:
        return build(ref, device=device)
    except Exception as exc:  # a missing package, an unknown name: all are the user's input to fix
        raise CliError(f"{ref}: {first_line(exc)}") from None


def _parse_precision(text: str, flag: str) -> Precision:
    try:
        return Precision(text.lower())
    except ValueError:
        allowed = " | ".join(member.value for member in Precision)
        raise CliError(f"{flag} {text!r}: expected one of {allowed}") from None


def _parse_device(text: str | None) -> str:
    if text is None:
        return default_device()
    if not re.fullmatch(r"cpu|cuda(:[0-9]{1,3})?", text):
        raise CliError(f"--device {text!r}: expected cuda or cpu")
    if text.startswith("cuda") and not torch.cuda.is_available():
        raise CliError("--device cuda: CUDA is not available on this machine; use --device cpu")
    if text.startswith("cuda:") and int(text.split(":")[1]) >= torch.cuda.device_count():
        raise CliError(f"--device {text}: this machine has {torch.cuda.device_count()} CUDA device(s)")
    return text


def _parse_count(text: str, flag: str, minimum: int) -> int:
    value = whole_number(str(text).strip())
    if value is None or not minimum <= value <= MAX_COUNT:
        raise CliError(f"{flag} {text!r}: expected an integer from {minimum} to {MAX_COUNT:,}")
    return value


def train_results_path(csv_path: str) -> Path:
    """`bench_results.csv` → `bench_results_train.csv`: training rows have their own schema and file."""
    path = Path(csv_path)
    return path.with_name(f"{path.stem}_train{path.suffix or '.csv'}")
