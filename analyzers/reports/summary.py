"""Whole-model totals as a flat, JSON-ready dict: what `summary --json` prints (no pandas needed)."""

from __future__ import annotations

from typing import Any

from analyzers.numbers import ascii_shape
from analyzers.records import Analysis, AttentionGeometry

__all__ = ["summary_dict"]


def summary_dict(analysis: Analysis) -> dict[str, Any]:
    t = analysis.totals
    return {
        "name": analysis.model_name,
        "input": ascii_shape(analysis.input_size),
        "batch": analysis.batch_size,
        "dtype": analysis.dtype_name,
        "params": t.params,
        "active_params": t.active_params if t.active_params is not None else t.params,
        "trainable_params": t.trainable_params,
        "param_bytes": t.param_bytes,
        "macs": t.macs,
        **_causal_attention(analysis),
        "flops": t.flops,
        "elementwise_ops": t.elementwise_ops,
        "activation_elements": t.activation_elements,
        "activation_bytes": t.activation_bytes,
        "layers": t.layers,
        "weight_depth": t.weight_depth,
        "depth": analysis.depth,
        "uncounted_ops": t.uncounted_ops,
        "uncounted_by_layer": {name: list(ops) for name, ops in analysis.uncounted.items()},
        "inputs": [{"name": i.name, "shape": ascii_shape(i.shape), "dtype": i.dtype_name} for i in analysis.inputs],
        "measured_on": analysis.measured_on,
        "caveat": analysis.caveat,  # "data-dependent: measured on one random input", or None
    }


def _causal_attention(analysis: Analysis) -> dict[str, int]:
    """The attention ops that say `is_causal`: their dense MACs (counted in `macs`) and what a causal kernel
    computes of them; empty when none does."""
    dense = causal = 0
    for record in analysis.leaves():
        for op in record.ops:
            g = op.geometry
            if isinstance(g, AttentionGeometry) and g.causal:
                dense += op.macs
                causal += g.causal_macs
    return {"causal_attention_macs": dense, "causal_kernel_macs": causal} if dense else {}
