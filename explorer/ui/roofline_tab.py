"""The Roofline tab: pick a device and a precision, see which layers memory or compute would limit.

No GPU is needed: the bound comes from the counted FLOPs and bytes and the device's peaks — a datasheet GPU's,
or the CPU the shipped benchmarks ran on, with the figures measured there (`measured_devices`).
"""

from __future__ import annotations

import plotly.graph_objects as go
import streamlit as st

from analyzers.devices import DevicePeak, Precision, spec_devices
from analyzers.predict.roofline import model_bound
from explorer.figures.roofline_chart import roofline_chart
from explorer.ui.cached_analysis import ModelAnalysis
from explorer.ui.measured_devices import measured_cpu_peaks
from explorer.ui.plotly_chart import show_figure

__all__ = ["devices", "roofline_tab"]


def devices() -> dict[str, DevicePeak]:
    """Datasheet GPUs first, then the measured CPUs."""
    return {peak.name: peak for peak in (*spec_devices(), *measured_cpu_peaks())}


@st.cache_resource(show_spinner=False, max_entries=128)
def _figure(key: str, device: str, precision: str, _result: ModelAnalysis, _peak: DevicePeak) -> go.Figure:
    bound = model_bound(_result.analysis, _peak, precision, in_precision_storage=True)
    return roofline_chart(bound, device=device, precision=precision)


def roofline_tab(result: ModelAnalysis, *, scope: str) -> None:
    known = devices()
    left, right = st.columns(2)
    device = left.selectbox("Device (datasheet or measured peaks)", list(known), key=f"{scope}_roofline_device")
    peak = known[device]
    precisions = [p.value for p in Precision if peak.tflops(p) is not None]
    precision = right.selectbox("Precision", precisions, index=precisions.index("bf16") if "bf16" in precisions else 0,
                                key=f"{scope}_roofline_dtype",
                                help="Only the precisions this device has a peak figure for.")  # fmt: skip
    show_figure(_figure(result.key, device, precision, result, peak), key=f"{scope}_roofline_chart")
    st.caption("Each layer sits at its FLOPs ÷ bytes moved (weights, inputs and new outputs, in the chosen "
               "precision's storage) and at the best speed that allows; bigger dots do more MACs. A measured CPU's "
               "bandwidth is read back from the roofline bound its benchmark rows recorded.")
