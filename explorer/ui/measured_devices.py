"""Devices the shipped benchmarks measured (the CPU of the machine that wrote them), as roofline peaks.

A results row with `peak_source = measured` stores the probe's matmul peak (`peak_tflops`) and copy bandwidth
(`memory_gb_per_s`) it measured on that machine: the device is those two figures from its latest such row. (Rows
written before the bandwidth had a column leave it blank and do not name a device.)
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from analyzers.devices import DevicePeak, PeakSource
from explorer.ui.bench_results import shipped_results

__all__ = ["measured_cpu_peaks"]


def _peaks(results: pd.DataFrame) -> tuple[DevicePeak, ...]:
    rows = results[(results["status"] == "ok") & (results["device"] == "cpu") & (results["dtype"] == "fp32")
                   & (results["peak_source"] == "measured") & results["peak_tflops"].notna()
                   & results["memory_gb_per_s"].notna()]  # fmt: skip
    peaks = []
    for device_name, part in rows.groupby("device_name", sort=True):
        latest = part.loc[pd.to_datetime(part["date"], format="ISO8601", utc=True).idxmax()]
        tflops, bandwidth = float(latest["peak_tflops"]), float(latest["memory_gb_per_s"])
        name = f"{device_name} CPU (measured here: {tflops:.3g} TFLOP/s fp32, {bandwidth:.3g} GB/s)"
        peaks.append(DevicePeak(name, tflops, None, None, None, bandwidth, PeakSource.MEASURED))
    return tuple(peaks)


@st.cache_resource(show_spinner=False, max_entries=4)
def _cached_peaks(signature: tuple[str, ...]) -> tuple[DevicePeak, ...]:
    loaded = shipped_results()
    return _peaks(loaded.results) if loaded.results is not None else ()


def measured_cpu_peaks() -> tuple[DevicePeak, ...]:
    """The CPUs of the shipped results with the fp32 peak and the bandwidth their probe measured."""
    loaded = shipped_results()
    return _cached_peaks(loaded.files)
