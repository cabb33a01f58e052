"""Transfer learning: freeze an ImageNet model up to a cut, train a new head, and see what the step then costs —
trainable parameters, backward MACs, step memory — and what precomputing the trunk's features would take on disk.

The course notes' example (001, "Transfer Learning"): a cat detector for Tigger, Misty or neither — a 3-class
softmax on a network trained on ImageNet, every earlier layer frozen; with a small training set, "pre-compute that
layer's activations … and save them to disk", then train only the head on them.
"""

from __future__ import annotations

import streamlit as st

from analyzers.errors import UserError
from analyzers.training.memory import Optimizer
from analyzers.training.freezing import IMAGENET_TRAIN_IMAGES, cost_after_cut, precomputed_feature_bytes, stage_names
from explorer.figures.training import forward_backward_bars, freezing_comparison
from explorer.ui.cached_analysis import ModelRequest, built_model
from explorer.ui.human import binary_bytes, compact, percent_change
from explorer.ui.model_picker import ZOO, default_size, pick_name
from explorer.ui.page_setup import show_user_error
from explorer.ui.plotly_chart import show_figure
from explorer.ui.training_view import (
    DEFAULT_OPTIMIZER,
    MAX_BATCH,
    OPTIMIZER_LABELS,
    training_analysis,
)
from explorer.ui.whole_number import entry_problems, whole_number_input
from explorer.zoo.registry import option_specs

SCOPE = "transfer"
MAX_CLASSES = 100_000
MAX_IMAGES = 10**10


@st.cache_resource(show_spinner=False, max_entries=32)
def _stages(request: ModelRequest) -> list[str]:
    return stage_names(built_model(request).module)


st.title("Transfer learning")
st.markdown("Freeze a pretrained network up to a cut and train only what comes after it: the notes' 3-class head "
            "(Tigger, Misty, neither) on an ImageNet model. Frozen layers compute no weight gradient, and before the "
            "first trainable layer autograd records nothing — no input gradients, no saved activations.")

with st.sidebar:
    picked = pick_name(SCOPE, address=False)
    name = picked.name
    has_classes = picked.source == ZOO and any(o.name == "num_classes" for o in option_specs(name))
    classes = whole_number_input("Classes of the new head", default=3, low=1, high=MAX_CLASSES,
                                 key=f"{SCOPE}_classes", disabled=not has_classes,
                                 help="3: Tigger, Misty or neither" if has_classes else
                                 "A library model keeps its own head here (its library's class count)")
    batch = whole_number_input("Batch", default=32, low=1, high=MAX_BATCH, key=f"{SCOPE}_batch",
                               help=f"Images per training step, 1 to {MAX_BATCH:,}")
    optimizer = st.selectbox("Optimizer", list(Optimizer), format_func=OPTIMIZER_LABELS.get,
                             index=list(Optimizer).index(DEFAULT_OPTIMIZER), key=f"{SCOPE}_optimizer")
    images = whole_number_input("Training images", default=IMAGENET_TRAIN_IMAGES, low=1, high=MAX_IMAGES,
                                key=f"{SCOPE}_images", help="default: ImageNet's 1,281,167")

problem = entry_problems(*([classes] if has_classes else []), batch, images)
if problem:  # never the old numbers beside a new entry
    st.error(problem, icon=":material/error:")
    st.stop()
options = {"num_classes": classes.value} if has_classes else {}
try:
    request = ModelRequest.of(name, default_size(picked, options), 1, **options)
    stages = _stages(request)
except UserError as exc:
    show_user_error(exc)
    st.stop()
if not stages:
    st.info("This model has no stages to cut at.")
    st.stop()

cut = st.select_slider("Freeze everything up to and including", options=stages, value=stages[-1],
                       key=f"{SCOPE}_{name}_cut",
                       help="stages: a `features` block each (MobileNet, EfficientNet, VGG) or the top-level blocks "
                       "(ResNet's layer1 … layer4, the stem freezing with layer1); the last one leaves only the head")

try:
    with st.spinner("Two training steps on the meta device (everything trained, and frozen at the cut)…"):
        full = training_analysis(request, batch.value, optimizer.value, "fp32", None)
        frozen = training_analysis(request, batch.value, optimizer.value, "fp32", cut)
except UserError as exc:
    show_user_error(exc)
    st.stop()


cols = st.columns(4)
cols[0].metric("Trainable params", compact(frozen.totals.trainable_params),
               percent_change(frozen.totals.trainable_params, full.totals.trainable_params), delta_color="inverse",
               help=f"{frozen.totals.trainable_params:,} of {full.totals.params:,}")
cols[1].metric("Backward MACs", compact(frozen.totals.backward_macs),
               percent_change(frozen.totals.backward_macs, full.totals.backward_macs), delta_color="inverse",
               help=f"{frozen.totals.backward_macs:,}; training everything: {full.totals.backward_macs:,}")
cols[2].metric("Step MACs", compact(frozen.totals.step_macs), percent_change(frozen.totals.step_macs, full.totals.step_macs),
               delta_color="inverse", help="forward + backward, per batch")
cols[3].metric("Peak step memory", binary_bytes(frozen.memory.peak_bytes),
               percent_change(frozen.memory.peak_bytes, full.memory.peak_bytes), delta_color="inverse",
               help=f"training everything: {binary_bytes(full.memory.peak_bytes)}")
show_figure(freezing_comparison(full, frozen), key=f"{SCOPE}_comparison")

st.subheader("Precomputing the features at the cut")
try:
    per_image, total = precomputed_feature_bytes(frozen.forward, cut, images.value)
    remaining = cost_after_cut(frozen, cut)
except UserError as exc:
    show_user_error(exc)
    st.stop()
shape = frozen.forward.record(cut).output_shapes[0][1:]
cols = st.columns(3)
cols[0].metric("Cached activation per image", binary_bytes(per_image),
               help=f"{' × '.join(map(str, shape))} values, fp32: {per_image:,} bytes")
cols[1].metric(f"On disk for {images.value:,} images", binary_bytes(total), help=f"{total:,} bytes")
cols[2].metric("Step MACs that remain", compact(remaining.step_macs),
               percent_change(remaining.step_macs, full.totals.step_macs), delta_color="inverse",
               help=f"forward {remaining.forward_macs:,} + backward {remaining.backward_macs:,} per batch of "
               f"{batch.value}: only the layers after the cut run, on the cached features")
st.caption("Every epoch then reads the cached features instead of running the frozen trunk; the trunk runs once, "
           "forward only, when the features are computed. Stored as fp32; fp16 halves the disk bytes.")

with st.expander("Per layer, frozen at the cut"):
    show_figure(forward_backward_bars(frozen.leaves()), key=f"{SCOPE}_bars")
