"""The Training view of a model (zoo or library): one training step's MACs (forward vs backward per layer), its memory over
time, and the largest batch that fits a datasheet GPU. Shared by the Architecture page and the Transfer page.

Analyses are cached per (model, options, input, batch, optimizer, precision, freeze point): moving a widget back
costs nothing. The default optimizer is the CLI's (`--train` without `--optimizer`): plain SGD.
"""

from __future__ import annotations

import streamlit as st

from analyzers.devices import Datasheet, DeviceKind, capacity_bytes, datasheets
from analyzers.errors import UserError
from analyzers.training.analyze import TrainingAnalysis, analyze_training
from analyzers.reports.training import NOT_INCLUDED
from analyzers.training.memory import Optimizer, largest_batch
from explorer.figures.training import forward_backward_bars, memory_timeline
from explorer.ui.cached_analysis import ModelRequest, built_model
from explorer.ui.human import binary_bytes, compact
from explorer.ui.page_setup import show_user_error
from explorer.ui.plotly_chart import show_figure
from explorer.ui.whole_number import whole_number_input

__all__ = [
    "DEFAULT_OPTIMIZER", "MAX_BATCH", "OPTIMIZER_LABELS", "PRECISIONS", "largest_fitting_batch", "memory_breakdown",
    "step_metrics", "training_analysis", "training_view",
]

OPTIMIZER_LABELS = {Optimizer.SGD: "SGD", Optimizer.MOMENTUM: "SGD + momentum", Optimizer.ADAM: "Adam",
                    Optimizer.ADAMW: "AdamW"}
DEFAULT_OPTIMIZER = Optimizer.SGD  # the CLI's default too: one default, whichever way a step is costed
MAX_BATCH = 4096
PRECISIONS = {"fp32": "fp32", "bf16": "bf16 mixed (fp32 master weights)", "fp16": "fp16 mixed (fp32 master weights)"}


@st.cache_resource(show_spinner=False, max_entries=64)
def training_analysis(request: ModelRequest, batch: int, optimizer: str, precision: str,
                      freeze: str | None) -> TrainingAnalysis:
    built = built_model(request)
    if built.input_size is None:
        from explorer.catalogue import CatalogueError

        raise CatalogueError(f"{request.name} takes more than one image (a list of images or a pair of frames): "
                             "the training view costs models that take one image or clip")
    return analyze_training(built.module, built.input_size, batch, optimizer=optimizer, precision=precision,
                            freeze=freeze, model_name=request.name)


@st.cache_resource(show_spinner=False, max_entries=64)
def largest_fitting_batch(request: ModelRequest, optimizer: str, precision: str, freeze: str | None,
                          device: str) -> int:
    return largest_batch(
        lambda b: training_analysis(request, b, optimizer, precision, freeze).memory.peak_bytes,
        capacity_bytes(device))


def step_metrics(analysis: TrainingAnalysis) -> None:
    t, m = analysis.totals, analysis.memory
    ratio = t.backward_to_forward
    cols = st.columns(4)
    cols[0].metric("Trainable params", compact(t.trainable_params), help=f"{t.trainable_params:,} of {t.params:,}")
    cols[1].metric("Forward MACs", compact(t.forward_macs), help=f"{t.forward_macs:,}")
    cols[2].metric("Backward MACs", compact(t.backward_macs),
                   delta=f"{ratio:.2f}× forward" if ratio is not None else None, delta_color="off",
                   help=f"input gradients {t.backward_input_macs:,} + weight gradients {t.backward_weight_macs:,}")
    cols[3].metric("Peak step memory", binary_bytes(m.peak_bytes),
                   help=f"{m.peak_bytes:,} bytes, during the {m.peak_phase.value}"
                   + (f" of {m.peak_layer}" if m.peak_layer else ""))


def memory_breakdown(analysis: TrainingAnalysis) -> None:
    m = analysis.memory
    parts = [("parameters", m.parameter_bytes), ("buffers", m.buffer_bytes), ("gradients", m.gradient_bytes),
             ("optimizer state", m.optimizer_state_bytes), ("fp32 master weights", m.master_weight_bytes),
             ("input batch", m.input_bytes), ("saved for backward", m.saved_activation_bytes),
             ("optimizer step temporaries", m.optimizer_step_bytes)]
    st.markdown(" · ".join(f"**{label}** {binary_bytes(value)}" for label, value in parts if value))
    st.caption(f"Saved for backward: {m.saved_tensors:,} tensors as autograd keeps them (unique storages, "
               "parameters and buffers excluded). The peak is the highest live total over the forward, the backward "
               f"and the optimizer step ({analysis.optimizer.value}, {m.optimizer_impl.value} on "
               f"{analysis.device}); not included: {NOT_INCLUDED[analysis.device]}.")


def training_view(request: ModelRequest, *, scope: str) -> None:
    """Controls, metrics and charts of one training step of the chosen model."""
    cols = st.columns(4)
    batch = whole_number_input("Batch", default=max(request.batch_size, 32), low=1, high=MAX_BATCH,
                               key=f"{scope}_train_batch", container=cols[0],
                               help=f"Images per training step, 1 to {MAX_BATCH:,}")
    optimizer = cols[1].selectbox("Optimizer", list(Optimizer), format_func=OPTIMIZER_LABELS.get,
                                  index=list(Optimizer).index(DEFAULT_OPTIMIZER), key=f"{scope}_train_optimizer",
                                  help="Its state is part of the step's memory: none for SGD, one copy of the "
                                       "weights for momentum, two for Adam / AdamW")  # fmt: skip
    precision = cols[2].selectbox("Precision", list(PRECISIONS), format_func=PRECISIONS.get,
                                  key=f"{scope}_train_precision")
    gpus: dict[str, Datasheet] = {s.name: s for s in datasheets() if s.kind is DeviceKind.GPU}
    devices = list(gpus)
    device = cols[3].selectbox("GPU", devices, index=devices.index("NVIDIA A100 40GB"),
                               format_func=lambda d: f"{d.removeprefix('NVIDIA ')} ({gpus[d].memory_gib:g} GiB)",
                               key=f"{scope}_train_gpu")
    if batch.problem:
        st.error(batch.problem + ". Nothing is analysed until it is.", icon=":material/error:")
        return
    try:
        with st.spinner("Running forward and backward on the meta device…"):
            analysis = training_analysis(request, batch.value, optimizer.value, precision, None)
            fits = largest_fitting_batch(request, optimizer.value, precision, None, device)
    except UserError as exc:
        show_user_error(exc)
        return
    step_metrics(analysis)
    gpu = f"the {device.removeprefix('NVIDIA ')}'s {gpus[device].memory_gib:g} GiB"
    verdict = (f"Largest batch whose step fits in {gpu}: **{fits:,}**" if fits
               else f"Not even a batch of 1 fits in {gpu}.")
    st.markdown(verdict)
    memory_breakdown(analysis)
    log_scale = st.toggle("Log scale", value=False, key=f"{scope}_train_log")
    show_figure(forward_backward_bars(analysis.leaves(), log_scale=log_scale), key=f"{scope}_train_bars")
    show_figure(memory_timeline(analysis.memory, limit_bytes=capacity_bytes(device)), key=f"{scope}_train_memory")
    if analysis.totals.backward_uncounted_ops:
        st.warning(f"{analysis.totals.backward_uncounted_ops} backward op call(s) had no formula and are not in the "
                   "backward totals.", icon=":material/warning:")
