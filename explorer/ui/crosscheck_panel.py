"""A button that cross-checks the counted MACs with fvcore's FlopCountAnalysis, on request only.

fvcore materialises real weights and runs the model (seconds and hundreds of MB for a large network), so it never
runs on its own, never for an input over `CrossCheckLimits` (checked against our own analysis before anything
runs), and only in a child process with a time and memory limit (`fvcore_job`); its answer is cached per request.
"""

from __future__ import annotations

import streamlit as st

from analyzers.reports.crosscheck import (
    CrossCheckLimits,
    FvcoreCrossCheck,
    crosscheck_from_counts,
    our_mac_count,
)
from explorer.ui.cached_analysis import ModelAnalysis, ModelRequest
from explorer.ui.fvcore_job import CrossCheckFailed, FvcoreJob, run_fvcore_job

__all__ = ["LIMITS", "crosscheck_panel"]

LIMITS = CrossCheckLimits()


@st.cache_resource(show_spinner=False, max_entries=32)
def _crosscheck(request: ModelRequest, _result: ModelAnalysis) -> FvcoreCrossCheck:
    totals = _result.analysis.totals
    job = FvcoreJob(request.name, request.input_size, request.batch_size, dict(request.options),
                    memory_bytes=4 * int(totals.params + totals.activation_elements))  # fp32, whatever the dtype
    return crosscheck_from_counts(run_fvcore_job(job), our_mac_count(_result.analysis))


def crosscheck_panel(request: ModelRequest, result: ModelAnalysis, *, key: str) -> None:
    st.subheader("Cross-check with fvcore")
    st.caption(
        "fvcore traces the real model with real weights: it takes seconds, so it runs only when asked, in a separate "
        f"process with a {LIMITS.max_memory_bytes >> 30} GiB and time limit, for inputs up to "
        f"{LIMITS.max_input_elements:,} elements (batch × C × H × W)."
    )
    if request.input_size is None or result.analysis.data_dependent:
        st.info("The check traces one batch of images through the model; this one "
                + ("decides its work from its data" if result.analysis.data_dependent
                   else "takes a list of images or a pair of frames")
                + ", so it is not offered.", icon=":material/block:")
        return
    refusal = LIMITS.refusal(request.input_size, request.batch_size, result.analysis)
    if not st.button("Run fvcore's FlopCountAnalysis", key=key, icon=":material/fact_check:", disabled=bool(refusal)):
        if refusal:
            st.info(refusal, icon=":material/block:")
        return
    try:
        with st.spinner("Running fvcore on real weights…"):
            check = _crosscheck(request, result)
    except CrossCheckFailed as exc:
        st.error(str(exc), icon=":material/error:")
        return
    left, right = st.columns(2)
    left.metric("Our conv/linear/matmul MACs", f"{check.our_macs:,}")
    right.metric(
        "fvcore conv/linear/matmul",
        f"{check.fvcore_macs:,}",
        delta="same count" if check.agrees else f"{check.fvcore_macs - check.our_macs:+,} vs ours",
        delta_color="off" if check.agrees else "inverse",
        delta_arrow="off" if check.agrees else "auto",
    )
    (st.success if check.agrees else st.warning)(check.explanation())
