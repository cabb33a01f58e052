"""Which model a command means and how it is analysed: a zoo name, `--spec FILE`, a library's catalogue name
(`torchvision:`, `timm:`, `hf:`) or a user's `package.module:factory`, and the arguments that choose it."""

from __future__ import annotations

import argparse
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from explorer.cli.common import DEFAULT_TIMEOUT_S, CliError, positive_int, timeout_seconds
from analyzers.counting.inputs import parse_input_size
from analyzers.safe_text import printable
from analyzers.cpu_budget import CpuRun, refuse_cpu_run_over_budget

__all__ = ["ResolvedModel", "add_model_arguments", "analyze_model", "refuse_crosscheck_over_budget", "resolve_model",
           "roofline_bound"]


@dataclass(frozen=True)
class ResolvedModel:
    name: str
    module: Any  # nn.Module (kept loose so this file imports no torch at parse time)
    input_size: tuple[int, ...] | None
    inputs: Any = None  # analyzers.counting.inputs.Inputs with batch 1, for models that take more than one image


def resolve_model(ref: str | None, spec: str | None, options: dict[str, Any],
                  input_override: tuple[int, ...] | None, build_device: str = "meta") -> ResolvedModel:
    """A zoo name, `--spec FILE`, `torchvision:NAME` / `timm:NAME`, or `package.module:factory` (user code).

    Sources and user factories are built under `torch.device(build_device)`: on meta by default, so a factory
    that asks for billions of parameters allocates nothing (the analysis runs on meta either way).
    """
    import torch

    if spec is not None and ref is not None:
        raise CliError(f"give a model name or --spec FILE, not both (got {ref!r} and --spec {spec!r})")
    if spec is not None:
        from explorer.spec import load_spec

        if options:
            raise CliError("--set applies to zoo models only; a spec file states its own sizes")
        with torch.device("meta"):
            built = load_spec(_read_spec_file(spec), default_name=printable(Path(spec).stem))
        return ResolvedModel(built.name, built.module, input_override or built.input_size)
    assert ref is not None
    if ref.partition(":")[0] in ("torchvision", "timm", "hf"):  # the libraries' catalogues: explorer.catalogue
        if options:
            raise CliError("--set applies to zoo models only")
        from explorer.catalogue import build, inputs_at

        built = build(ref)
        if built.input_size is not None and not isinstance(built.inputs, dict):  # one image or clip
            return ResolvedModel(built.ref, built.module, input_override or built.input_size)
        return ResolvedModel(built.ref, built.module, None, inputs_at(built, input_override))
    if ":" in ref:
        if options:
            raise CliError("--set applies to zoo models only")
        from explorer.sources import resolve_source

        with torch.device(build_device):
            sourced = resolve_source(ref)
        return ResolvedModel(sourced.name, sourced.module, input_override or sourced.input_size)
    from explorer.zoo import build_model

    built = build_model(ref, **options)
    return ResolvedModel(ref, built.module, input_override or built.input_size)


def _read_spec_file(path: str) -> str:
    """The file's text, or one line saying why not: not a regular file (a FIFO would block), too large for a spec,
    or not UTF-8 text."""
    from analyzers.user_files import read_text
    from explorer.spec import DEFAULT_LIMITS

    # UTF-8 takes at most 4 bytes a character: any larger file is over the limit
    return read_text(path, "a spec file", limit_bytes=4 * DEFAULT_LIMITS.max_chars)


def analyze_model(model: ResolvedModel, args: argparse.Namespace):
    """The analysis the command line asked for; a real run on the CPU is estimated on meta first and refused over
    the memory budget, with the largest batch or input that fits."""
    from analyzers import analyze
    from analyzers.devices import Precision

    from analyzers.counting.inputs import with_batch
    from explorer.cli.inputs import parse_input_options

    dtype = Precision(args.dtype).torch_dtype
    device = getattr(args, "device", "meta")
    given = parse_input_options(getattr(args, "inputs", None), parse_input_size).inputs
    if given is not None:
        if args.batch != 1:
            raise CliError("with NAME=DTYPE:SHAPE inputs the batch is in each shape; leave out --batch")
        run = _OnMeta(model, dtype, lambda batch, size: dict(inputs=given))
    elif model.inputs is not None:
        run = _OnMeta(model, dtype, lambda batch, size: dict(inputs=with_batch(model.inputs, batch)))
    elif model.input_size is None:
        raise CliError(f"{model.name}: give the input size with --input CxHxW")
    else:
        run = _OnMeta(model, dtype, lambda batch, size: dict(input_size=size, batch_size=batch), model.input_size)
    if device != "meta":
        refuse_cpu_run_over_budget(run.cpu_run(f"{model.name} on the CPU", args.batch if given is None else 1))
    return analyze(model.module, **run.call(args.batch, run.size), dtype=dtype, model_name=model.name, device=device)


def refuse_crosscheck_over_budget(model: ResolvedModel, args: argparse.Namespace) -> None:
    """fvcore runs a float32 copy of the model on one CPU input of `model.input_size` at `--batch`."""
    import torch
    from analyzers.devices import Precision

    dtype = Precision(args.dtype).torch_dtype
    run = _OnMeta(model, dtype, lambda batch, size: dict(input_size=size, batch_size=batch), model.input_size)
    scale = torch.float32.itemsize / dtype.itemsize
    refuse_cpu_run_over_budget(replace(run.cpu_run(f"the fvcore cross-check of {model.name}", args.batch),
                                       bytes_per_estimated_byte=scale))


@dataclass(frozen=True)
class _OnMeta:
    """How `analyze` is called for this model at a batch and size, and the same on meta for the estimate."""

    model: ResolvedModel
    dtype: Any
    call: Any  # (batch, size) -> analyze's keyword arguments for the inputs
    size: tuple[int, ...] | None = None

    def analyze(self, batch: int, size: tuple[int, ...] | None):
        from analyzers import analyze

        return analyze(self.model.module, **self.call(batch, size), dtype=self.dtype, model_name=self.model.name)

    def weights_and_inputs(self, batch: int) -> int:
        from analyzers.budget import inputs_bytes
        from analyzers.counting.inputs import InputSpec, as_call, describe

        call = self.call(batch, self.size)
        inputs = call["inputs"] if "inputs" in call else InputSpec((batch, *self.size))
        weights = sum(t.numel() for t in self.model.module.parameters()) * self.dtype.itemsize  # as `dtype`
        return weights + inputs_bytes(describe(*as_call(inputs), names=(), float_dtype=self.dtype))

    def cpu_run(self, what: str, batch: int) -> CpuRun:
        return CpuRun(what, batch, self.size, self.analyze, self.weights_and_inputs)


def roofline_bound(analysis: Any, args: argparse.Namespace):
    """The per-layer roofline on the spec-sheet device named by --roofline, or None without it."""
    if not args.roofline:
        return None
    from analyzers.devices import lookup_peak, spec_devices
    from analyzers.predict.roofline import model_bound

    peak = lookup_peak(args.roofline)
    if peak.tflops(args.dtype) is None or peak.memory_gb_per_s is None:
        known = ", ".join(device.name.removeprefix("NVIDIA ") for device in spec_devices())
        raise CliError(f"--roofline {args.roofline!r}: no spec-sheet peak for that device; known: {known}")
    return model_bound(analysis, peak, args.dtype)


def add_model_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("name", nargs="?", help="zoo name, torchvision:NAME, timm:NAME or package.module:factory")
    parser.add_argument("--spec", metavar="FILE", help="an architecture spec file instead of a name")
    from explorer.cli.inputs import InputAction

    parser.add_argument("--input", metavar="CxHxW", action=InputAction,
                        help="input size without batch, e.g. 3x224x224; or, repeated, named inputs with their dtype "
                        "and batch: --input input_ids=int64:1x128 --input attention_mask=int64:1x128")
    parser.add_argument("--device", choices=("meta", "cpu"), default="meta",
                        help="meta (default): count from shapes alone; cpu: run once on random data, for models "
                        "whose work depends on it (detection); every number is then labelled data-dependent")
    parser.add_argument("--batch", type=positive_int, default=1, help="batch size (default 1)")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                        help="zoo builder option, e.g. width_mult=0.75 (repeatable); `python -m explorer list` shows "
                        "each model's options and their ranges")
    parser.add_argument("--dtype", choices=("fp32", "tf32", "bf16", "fp16"), default="fp32",
                        help="storage dtype for bytes (counts do not change); default fp32")
    parser.add_argument("--roofline", metavar="DEVICE",
                        help="add the roofline lower bound per layer on a spec-sheet GPU, e.g. H200, A100 80GB, L4")
    parser.add_argument("--timeout", type=timeout_seconds, default=DEFAULT_TIMEOUT_S, metavar="SECONDS",
                        help=f"stop a model whose import, build or forward runs longer (default {DEFAULT_TIMEOUT_S}; "
                        "0: no limit)")
    parser.add_argument("--build-device", choices=("meta", "cpu"), default="meta",
                        help="device to build torchvision:, timm: and user factories on (default meta: no weights "
                        "allocated; cpu for a factory that needs real tensors while it builds)")
