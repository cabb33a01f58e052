"""`analyze(model, input_size)`: run a model once on the meta device and return a typed tree of cost records.

The meta device carries shapes and dtypes but no data, so nothing is allocated and nothing is computed: a
VGG-16 (138M parameters) is analysed in milliseconds. The forward runs on a private copy of the module tree whose
parameters and buffers are stand-ins (`analyzers.counting.isolation`): meta aliases, or on the CPU copies of the
model's values (random ones for a model built on meta); shared weights stay tied.

An analysis is an inference pass (`torch.no_grad()`: nothing is kept for backward, wherever the model was built)
and leaves the model exactly as it found it, whether it succeeds or fails, whatever its forward does (counts calls
in a buffer, scales a weight in place, registers hooks, calls `self.to(…)`), and from any number of threads at
once; torch's random streams and the global module hooks are put back too.
"""

from __future__ import annotations

from dataclasses import dataclass
import math
import re
from typing import Any, Mapping, Sequence

import torch
from torch import nn
from torch.utils._pytree import tree_leaves

from analyzers.budget import inputs_bytes
from analyzers.counting.isolation import ModelCopy, StandIn, run_isolated
from analyzers.cpu_budget import CpuRun, refuse_cpu_run_over_budget
from analyzers.counting.mode import CountingMode, ModuleTracker
from analyzers.counting.tree import build_records, model_totals
from analyzers.errors import (AnalysisError, DataDependentError, InputMismatchError, InputSizeError, ModelRunError,
                              first_line)
from analyzers.counting.flow import ATTRIBUTE, Flow, input_flow
from analyzers.counting.formulas import Formula
from analyzers.counting.inputs import InputSpec, Inputs, as_call, check_fits, checked_size, describe, materialize, \
    positional_names, signature_text
from analyzers.records import Analysis, InputDescription

__all__ = ["CallInputs", "DEVICES", "analyze", "call_inputs"]


DEVICES = ("meta", "cpu")  # where the one forward runs: shapes alone, or real (random) data


def analyze(
    model: nn.Module,
    input_size: Sequence[int] | None = None,
    batch_size: int = 1,
    *,
    dtype: torch.dtype = torch.float32,
    inputs: Inputs | None = None,
    device: str = "meta",
    model_name: str | None = None,
    formulas: Mapping[Any, Formula] | None = None,
) -> Analysis:
    """Count parameters, MACs, element-wise ops and activation memory of one forward of `model`.

    The model runs once on the meta device (shapes, no data), as a private copy with stand-in weights: `model` is
    left exactly as it was found, whatever its forward does (see `analyzers.counting.isolation`).

    Args:
        model: any `nn.Module`; its weights may live on any device (they are replaced by stand-ins for the run).
        input_size: one input tensor's size without the batch dimension, e.g. `(3, 224, 224)`: 1 to 4 positive
            integers (`8.7` is refused, not cut to 8). Give this or `inputs`, not both.
        batch_size: the batch dimension put in front of `input_size`, a positive integer.
        dtype: the weights' and floating inputs' dtype (`torch.bfloat16`: memory in bf16); integer inputs keep
            their own.
        inputs: instead of `input_size`, every input with its batch and dtype (see `analyzers.counting.inputs`):
            `{"input_ids": InputSpec((1, 128), torch.int64)}` passes keyword arguments, a tuple positional ones,
            `([InputSpec((3, 320, 320))],)` a detection model's list of images.
        device: `"meta"` (the default), or `"cpu"` to run once on random data, for forwards that depend on their
            data (`nonzero`, boolean masks, `.item()`); the result is then labelled `data_dependent`.
        model_name: the name the analysis reports (default: the model's class name).
        formulas: op formulas to add or override, `{torch.ops.aten.op: fn(func, args, kwargs, out) → OpCost}`.

    Returns:
        An `Analysis`: one `LayerRecord` per module in execution order (containers sum their children), totals,
        and the inputs as described.

    Raises:
        AnalysisError: a subclass with a one-line message: `InputSizeError` for a bad size or input,
            `InputTooSmallError` where the input collapses inside the network (naming the layer and the arithmetic),
            `InputMismatchError` where it does not fit a layer, `ModelRunError` (`DataDependentError`) where the
            forward fails on the meta device; `AnalysisError` itself for a TorchScript module or a lazy module that
            has not taken its shapes.
    """
    if device != "meta" and device in DEVICES:
        _refuse_over_budget(model, input_size, batch_size, dtype, inputs, model_name, formulas)
    return run_isolated(lambda private_tables: _analyze(model, input_size, batch_size, dtype, inputs, device,
                                                        model_name, formulas, private_tables))


def _refuse_over_budget(model: nn.Module, input_size: Sequence[int] | None, batch_size: int, dtype: torch.dtype,
                        inputs: Inputs | None, model_name: str | None, formulas: Mapping[Any, Formula] | None
                        ) -> None:
    """A real run is counted on meta first, and refused over the CPU work budget with the largest batch_size or
    input_size that fits (`analyzers.cpu_budget`)."""
    def on_meta(batch: int, size: Sequence[int] | None) -> Analysis:
        return analyze(model, size if inputs is None else None, batch, dtype=dtype, inputs=inputs,
                       model_name=model_name, formulas=formulas)

    def weights_and_inputs(batch: int) -> int:
        described = call_inputs(model, input_size, batch, dtype, inputs, "meta", None).described
        float_bytes = (dtype if dtype.is_floating_point else torch.float32).itemsize
        return sum(p.numel() for p in model.parameters()) * float_bytes + inputs_bytes(described)

    size = tuple(input_size) if inputs is None and input_size is not None else None
    run = CpuRun(f"{model_name or type(model).__name__} on the CPU", batch_size if inputs is None else 1, size,
                 on_meta, weights_and_inputs, batch_text="batch_size={}".format,
                 size_text=lambda size: f"input_size={size}")
    refuse_cpu_run_over_budget(run)


def _analyze(model: nn.Module, input_size: Sequence[int] | None, batch_size: int, dtype: torch.dtype,
             inputs: Inputs | None, device: str, model_name: str | None, formulas: Mapping[Any, Formula] | None,
             private_tables: bool) -> Analysis:
    if not isinstance(model, nn.Module):
        raise AnalysisError(f"model must be a torch.nn.Module instance, got {type(model).__name__}"
                            + (" (a class: build it first)" if isinstance(model, type) else ""))
    if not isinstance(dtype, torch.dtype):
        raise InputSizeError(f"dtype must be a torch.dtype such as torch.float32, got {dtype!r}")
    if device not in DEVICES:
        raise InputSizeError(f"device must be one of {', '.join(DEVICES)}, got {device!r}")
    float_dtype = dtype if dtype.is_floating_point else torch.float32  # an int64 `dtype` never converts weights
    generator = torch.Generator().manual_seed(0) if device != "meta" else None
    call = call_inputs(model, input_size, batch_size, dtype, inputs, device, generator)
    call_args, call_kwargs, described = call.args, call.kwargs, call.described
    named_modules = list(model.named_modules())  # one traversal, shared by everything below
    custom = {getattr(k, "overloadpacket", k): f for k, f in formulas.items()} if formulas else None
    tracker = ModuleTracker(named_modules)
    copy = ModelCopy(named_modules, _stand_in_maker(float_dtype, device, generator), training=False,
                     private_tables=private_tables, alias_dtype=float_dtype if device == "meta" else None)
    try:
        tracker.track(copy.modules)
        mode = CountingMode(tracker, custom, weights={id(p) for p in copy.parameters},
                            state={id(t) for t in (*copy.parameters, *copy.buffers)})
        with torch.no_grad(), mode:
            copy.root(*call_args, **call_kwargs)
    except AnalysisError:
        raise
    except Exception as exc:  # the model's own failure: report where it happened, in one line
        current = tracker.current
        at_entry = current is None or current.order <= 1  # the model itself or the first module it ran
        raise _run_error(model, tracker.current_name, exc, device, at_entry) from exc
    finally:
        copy.release()
    records = build_records(model, named_modules, tracker, float_dtype)
    return Analysis(
        model_name=model_name or type(model).__name__,
        input_size=call.input_size,
        batch_size=call.batch_size,
        dtype=float_dtype,
        records=records,
        totals=model_totals(records, tracker.runs[id(model)].output_depth),
        inputs=described,
        measured_on=device,
    )


@dataclass(frozen=True)
class CallInputs:
    """The tensors a forward is called with (made from `InputSpec`s on the analysis device) and their
    descriptions, for the inference and the training analysis alike."""

    args: tuple
    kwargs: dict
    described: tuple[InputDescription, ...]

    @property
    def _listed(self) -> bool:
        return self.described[0].name.endswith("[0]")  # a list of images (detection): each without a batch dim

    @property
    def input_size(self) -> tuple[int, ...]:
        first = self.described[0]
        return first.shape if self._listed else first.shape[1:]

    @property
    def batch_size(self) -> int:
        first = self.described[0]
        if self._listed:
            return sum(1 for d in self.described if d.name.rpartition("[")[0] == first.name[:-3])
        return first.shape[0] if len(first.shape) > 1 else 1

    @property
    def tensors(self) -> list[torch.Tensor]:
        return [t for t in tree_leaves((self.args, self.kwargs)) if isinstance(t, torch.Tensor)]


def call_inputs(model: nn.Module, input_size: Sequence[int] | None, batch_size: int, dtype: torch.dtype,
                inputs: Inputs | None, device: str, generator: torch.Generator | None) -> CallInputs:
    """`input_size` and `batch_size` (one float tensor) or `inputs` (named, typed, nested) as the tensors the forward
    takes, each with its flow; refused in one line where the forward's signature cannot take them."""
    float_dtype = dtype if dtype.is_floating_point else torch.float32  # an int64 `dtype` never converts weights
    if inputs is None:
        if input_size is None:
            raise InputSizeError("give an input_size like (3, 224, 224) or inputs={name: InputSpec(shape, dtype)}")
        size = checked_size(input_size, batch_size)
        inputs = InputSpec((batch_size, *size), None if dtype.is_floating_point else dtype)
    elif input_size is not None:
        raise InputSizeError("give either input_size or inputs, not both")
    args, kwargs = as_call(inputs)
    described = tuple(describe(args, kwargs, positional_names(model), float_dtype))
    if not described:
        raise InputSizeError("inputs holds no InputSpec: give at least one input tensor")
    check_fits(model, args, kwargs)
    call_args = materialize(args, float_dtype, device, generator)
    call_kwargs = materialize(kwargs, float_dtype, device, generator)
    _attach_input_flows(call_args, call_kwargs)
    return CallInputs(call_args, call_kwargs, described)


def _attach_input_flows(args: Any, kwargs: Any) -> None:
    """Receptive fields start at float image inputs (C×H×W and up); token ids, masks and vectors only carry the
    weight depth."""
    for t in tree_leaves((args, kwargs)):
        if isinstance(t, torch.Tensor):
            image = t.is_floating_point() and t.dim() >= 3
            setattr(t, ATTRIBUTE, input_flow(t) if image else Flow(None, None, None, (), 0))


def _stand_in_maker(dtype: torch.dtype, device: str, generator: torch.Generator | None) -> StandIn:
    """The stand-in for a parameter or buffer that is not already a meta tensor in `dtype` (those `ModelCopy`
    aliases): a new tensor (`_stand_in`), `requires_grad` as the model's."""

    def stand_in(module: str, leaf: str, t: torch.Tensor, is_parameter: bool) -> torch.Tensor:
        copy = _stand_in(leaf, t, dtype, device, generator)
        if t.requires_grad:
            copy.requires_grad_(True)
        return copy

    return stand_in


def _stand_in(leaf: str, t: torch.Tensor, dtype: torch.dtype, device: str,
              generator: torch.Generator | None) -> torch.Tensor:
    kind = dtype if t.is_floating_point() else t.dtype
    if device == "meta":
        return torch.empty(t.shape, dtype=kind, device="meta")
    if not t.is_meta:
        return t.detach().to(device=device, dtype=kind, copy=True)  # never the model's own tensor
    if not t.is_floating_point():
        return torch.zeros(t.shape, dtype=kind, device=device)
    if leaf in ("running_var", "weight") and t.dim() <= 1:  # norms start as the identity: scale 1
        return torch.ones(t.shape, dtype=kind, device=device)
    if t.dim() <= 1:  # biases, running means, shifts
        return torch.zeros(t.shape, dtype=kind, device=device)
    fan_in = t[0].numel()  # weights: uniform in ±1/√fan_in, as nn.Linear and nn.Conv2d initialise
    values = (torch.rand(t.shape, generator=generator) * 2 - 1) / math.sqrt(fan_in)
    return values.to(device=device, dtype=kind)


_DATA_DEPENDENT_SIGNS = ("data-independent", "data-dependent", "cannot be called on meta", "out of meta tensor",
                         "_local_scalar_dense", "nonzero", "item()")


def _run_error(model: nn.Module, layer: str, exc: Exception, device: str, at_entry: bool) -> AnalysisError:
    """One line: where the forward failed and why; a data-dependent op on meta says how to run it on the CPU; a
    failure where the input enters (or a dtype complaint) names the forward's parameters."""
    where = layer or "model"
    text = first_line(exc)
    if device == "meta" and any(sign in str(exc) for sign in _DATA_DEPENDENT_SIGNS):
        op = re.search(r"(torch\.\w+\(\)|aten\.\w+|\.item\(\)|\.tolist\(\))", str(exc))
        why = op.group(1) if op else text[:80]
        return DataDependentError(
            f"{where}: the forward depends on its data ({why}), which the meta device does not hold; run it once on "
            "random data on the CPU: --device cpu, or analyze(..., device='cpu')")
    if at_entry or any(sign in text for sign in ("scalar type", "dtype", "Expected tensor for argument")):
        return InputMismatchError(f"{where}: forward failed on the {device} device: {text} (does the input fit "
                                  f"{signature_text(model)}?)")
    return ModelRunError(f"{where}: forward failed on the {device} device: {text}")
