"""A button that cross-checks the counted MACs with fvcore's FlopCountAnalysis, on request only.

fvcore materialises real weights and runs the model (seconds and hundreds of MB for a large network), so it never
runs on its own; its answer is cached per model request.
"""

from __future__ import annotations

import streamlit as st

from analyzers.crosscheck import FvcoreCrossCheck, fvcore_crosscheck
from explorer.ui.cached_analysis import ModelAnalysis, ModelRequest
from explorer.zoo import build_model


@st.cache_resource(show_spinner=False, max_entries=32)
def _crosscheck(request: ModelRequest, _result: ModelAnalysis) -> FvcoreCrossCheck:
    model = build_model(request.name, device="meta", **dict(request.options))
    return fvcore_crosscheck(model.module, request.input_size, request.batch_size, _result.analysis)


def crosscheck_panel(request: ModelRequest, result: ModelAnalysis, *, key: str) -> None:
    st.subheader("Cross-check with fvcore")
    st.caption("fvcore traces the real model with real weights: it takes seconds, so it runs only when asked.")
    if not st.button("Run fvcore's FlopCountAnalysis", key=key, icon=":material/fact_check:"):
        return
    with st.spinner("Running fvcore on real weights…"):
        check = _crosscheck(request, result)
    left, right = st.columns(2)
    left.metric("Our conv/linear/matmul MACs", f"{check.our_macs:,}")
    right.metric("fvcore conv/linear/matmul", f"{check.fvcore_macs:,}",
                 delta="equal" if check.agrees else f"{check.fvcore_macs - check.our_macs:+,}",
                 delta_color="off" if check.agrees else "inverse")
    (st.success if check.agrees else st.warning)(check.explanation())
