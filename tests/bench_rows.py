"""Benchmark result rows for tests: the schema's columns with values derived from one latency, so a chart's
expected numbers can be computed from the inputs."""

from __future__ import annotations


def bench_row(model: str, batch: int, latency_ms: float, status: str = "ok", error_message: str | None = None) -> dict:
    done = status == "ok"
    flops = 2_000_000 * batch
    return {
        "model": model, "batch": batch, "input_size": "3x32x32", "dtype": "fp32", "memory_format": "nchw",
        "compile": False, "device": "cpu", "device_name": "test cpu", "status": status,
        "error_message": error_message,
        "latency_ms_p50": latency_ms if done else None, "latency_ms_p95": latency_ms * 1.1 if done else None,
        "latency_ms_min": latency_ms * 0.9 if done else None, "images_per_s": 1000 * batch / latency_ms if done else None,
        "peak_memory_bytes": None, "estimated_memory_bytes": 4_000_000, "memory_over_estimate": None, "flops": flops, "achieved_tflops": flops / (latency_ms / 1000) / 1e12 if done else None,
        "peak_tflops": 1.0, "memory_gb_per_s": 100.0, "peak_source": "spec", "pct_of_peak": 100 * flops / (latency_ms / 1000) / 1e12 if done else None,
        "roofline_ms": latency_ms / 4, "measured_over_roofline": 4.0 if done else None, "iters": 10, "warmup": 2,
        "driver": None, "torch_version": "2.13.0", "cuda_version": None, "cudnn_version": None,
        "date": "2026-01-01T00:00:00+00:00",
    }  # fmt: skip
