"""Devices the shipped benchmarks measured (the CPU of the machine that wrote them), as roofline peaks.

A results row stores the measured matmul peak (`peak_tflops`, `peak_source = measured`) and the roofline bound
the harness computed with the measured copy bandwidth (`roofline_ms`), but not the bandwidth itself. The bound
falls as bandwidth rises, so we recover the bandwidth by bisection: the one at which our own bound for that
row's model, input and batch equals the recorded `roofline_ms`. We use the row where memory weighs most (the
largest bound over compute-only time); where every row is compute-bound the bandwidth cannot be read back and
the device is left out.
"""

from __future__ import annotations

import math

import pandas as pd
import streamlit as st

from analyzers import analyze
from analyzers.devices import DevicePeak, PeakSource
from analyzers.numbers import parse_dims
from analyzers.predict.roofline import model_bound
from explorer.ui.bench_results import shipped_results
from explorer.zoo import build_model, list_models

MEMORY_WEIGHT = 1.2  # a row whose bound exceeds its compute time by this factor has a readable bandwidth


def _bandwidth_for(row, peak_tflops: float) -> float | None:
    """The bandwidth (GB/s) at which our bound for `row` equals its recorded roofline_ms, to 0.1 %."""
    size = parse_dims(str(row.input_size))
    if size is None:
        return None
    model = build_model(str(row.model), device="meta")
    analysis = analyze(model.module, size, int(row.batch))

    def bound(gb_per_s: float) -> float:
        peak = DevicePeak("probe", peak_tflops, None, None, None, gb_per_s, PeakSource.MEASURED)
        return model_bound(analysis, peak, "fp32").bound_ms

    low, high = 0.01, 100_000.0
    if not bound(high) <= float(row.roofline_ms) <= bound(low):
        return None
    while high / low > 1.001:
        middle = math.sqrt(low * high)
        low, high = (middle, high) if bound(middle) > float(row.roofline_ms) else (low, middle)
    return math.sqrt(low * high)


def _peaks(results: pd.DataFrame) -> tuple[DevicePeak, ...]:
    known = {m.name for m in list_models()}
    rows = results[(results["status"] == "ok") & (results["device"] == "cpu") & (results["dtype"] == "fp32")
                   & (results["peak_source"] == "measured") & results["roofline_ms"].notna()
                   & results["model"].isin(known)]  # fmt: skip
    peaks = []
    for device_name, part in rows.groupby("device_name"):
        peak_tflops = float(part["peak_tflops"].median())
        weight = part["roofline_ms"] / (part["flops"] / (peak_tflops * 1e12) * 1e3)
        row = part.loc[weight.idxmax()]
        if weight.max() < MEMORY_WEIGHT:
            continue
        bandwidth = _bandwidth_for(row, peak_tflops)
        if bandwidth is not None:
            name = f"{device_name} CPU (measured here: {peak_tflops:.3g} TFLOP/s fp32, {bandwidth:.3g} GB/s)"
            peaks.append(DevicePeak(name, peak_tflops, None, None, None, bandwidth, PeakSource.MEASURED))
    return tuple(peaks)


@st.cache_resource(show_spinner=False, max_entries=4)
def _cached_peaks(signature: tuple[str, ...]) -> tuple[DevicePeak, ...]:
    loaded = shipped_results()
    return _peaks(loaded.results) if loaded.results is not None else ()


def measured_cpu_peaks() -> tuple[DevicePeak, ...]:
    """The CPUs of the shipped results with their measured fp32 peak and the bandwidth read back from them."""
    loaded = shipped_results()
    return _cached_peaks(loaded.files)
