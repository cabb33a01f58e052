"""The Roofline tab: pick a spec-sheet GPU and a precision, see which layers memory or compute would limit.

No GPU is needed: the bound comes from the counted FLOPs and bytes and the device's datasheet peaks.
"""

from __future__ import annotations

import plotly.graph_objects as go
import streamlit as st

from analyzers.devices import Precision, spec_devices
from analyzers.roofline import model_bound
from explorer.figures.roofline_chart import roofline_chart
from explorer.ui.cached_analysis import ModelAnalysis
from explorer.ui.plotly_chart import show_figure

DEVICES = {peak.name: peak for peak in spec_devices()}


@st.cache_resource(show_spinner=False, max_entries=128)
def _figure(key: str, device: str, precision: str, _result: ModelAnalysis) -> go.Figure:
    bound = model_bound(_result.analysis, DEVICES[device], precision, in_precision_storage=True)
    return roofline_chart(bound, device=device, precision=precision)


def roofline_tab(result: ModelAnalysis, *, scope: str) -> None:
    left, right = st.columns(2)
    device = left.selectbox("Device (datasheet peaks)", list(DEVICES), key=f"{scope}_roofline_device")
    precision = right.selectbox("Precision", [p.value for p in Precision], index=2, key=f"{scope}_roofline_dtype")
    show_figure(_figure(result.key, device, precision, result), key=f"{scope}_roofline_chart")
    st.caption("Each layer sits at its FLOPs ÷ bytes moved (weights, inputs and new outputs, in the chosen "
               "precision's storage) and at the best speed that allows; bigger dots do more MACs.")
