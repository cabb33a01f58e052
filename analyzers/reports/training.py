"""A training analysis as plain data: the summary dict, per-layer rows, CSV and JSON (no pandas: the CLI imports it).

Every key names its unit: `*_macs` multiply–accumulates, `*_ops` element-wise operations, `*_bytes` bytes.
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any

from analyzers.training.analyze import TrainingAnalysis, TrainingLayer
from analyzers.user_files import write_text

__all__ = ["ROW_FIELDS", "layer_row", "layer_rows", "to_csv", "to_json", "training_summary"]

ROW_FIELDS = (
    "name", "type", "depth", "params", "trainable_params", "forward_macs", "backward_input_macs",
    "backward_weight_macs", "backward_macs", "backward_to_forward", "forward_elementwise_ops",
    "backward_elementwise_ops", "saved_activation_bytes",
)


def training_summary(analysis: TrainingAnalysis) -> dict[str, Any]:
    """Whole-step totals: costs, the backward/forward ratio and the step's memory."""
    t, m = analysis.totals, analysis.memory
    ratio = t.backward_to_forward
    return {
        "model": analysis.forward.model_name,
        "input": "x".join(map(str, analysis.forward.input_size)),
        "batch": analysis.batch_size,
        "optimizer": analysis.optimizer.value,
        "optimizer_impl": m.optimizer_impl.value,
        "step_device": analysis.device,
        "precision": analysis.precision.value,
        "frozen_through": analysis.frozen_through,
        "params": t.params,
        "trainable_params": t.trainable_params,
        "frozen_params": analysis.frozen_params,
        "forward_macs": t.forward_macs,
        "backward_input_macs": t.backward_input_macs,
        "backward_weight_macs": t.backward_weight_macs,
        "backward_macs": t.backward_macs,
        "backward_to_forward": round(ratio, 4) if ratio is not None else None,
        "step_macs": t.step_macs,
        "forward_elementwise_ops": t.forward_elementwise_ops,
        "backward_elementwise_ops": t.backward_elementwise_ops,
        "backward_uncounted_ops": t.backward_uncounted_ops,
        "parameter_bytes": m.parameter_bytes,
        "buffer_bytes": m.buffer_bytes,
        "gradient_bytes": m.gradient_bytes,
        "optimizer_state_bytes": m.optimizer_state_bytes,
        "master_weight_bytes": m.master_weight_bytes,
        "input_bytes": m.input_bytes,
        "saved_activation_bytes": m.saved_activation_bytes,
        "saved_tensors": m.saved_tensors,
        "optimizer_step_bytes": m.optimizer_step_bytes,
        "peak_bytes": m.peak_bytes,
        "peak_phase": m.peak_phase.value,
        "peak_layer": m.peak_layer,
        "not_included": NOT_INCLUDED[analysis.device],
    }


# What lies below the aten ops a count sees, per device the step is told for: a caveat beside every peak.
NOT_INCLUDED = {
    "cuda": "the CUDA context, allocator rounding and caching, cuDNN/cuBLAS workspaces",
    "cpu": "oneDNN's convolution scratch (allocated inside aten's convolution ops; measured for the zoo by "
           "bench/cpu_step_memory.py)",
}


def layer_row(layer: TrainingLayer) -> dict[str, Any]:
    ratio = layer.backward_to_forward
    return {
        "name": layer.name, "type": layer.type, "depth": layer.depth, "params": layer.params,
        "trainable_params": layer.trainable_params, "forward_macs": layer.forward_macs,
        "backward_input_macs": layer.backward_input_macs, "backward_weight_macs": layer.backward_weight_macs,
        "backward_macs": layer.backward_macs, "backward_to_forward": round(ratio, 4) if ratio is not None else None,
        "forward_elementwise_ops": layer.forward_elementwise_ops,
        "backward_elementwise_ops": layer.backward_elementwise_ops,
        "saved_activation_bytes": layer.saved_activation_bytes,
    }


def layer_rows(analysis: TrainingAnalysis, depth: int | None = None) -> list[dict[str, Any]]:
    """Leaves (or, with `depth`, every record down to that depth, containers summing their subtree)."""
    if depth is None:
        return [layer_row(layer) for layer in analysis.leaves()]
    return [layer_row(layer) for layer in analysis.layers
            if layer.depth <= depth and (layer.depth == depth or layer.is_leaf) and layer.depth > 0]


def to_csv(analysis: TrainingAnalysis, path: Path | str | None = None, depth: int | None = None) -> str:
    """The per-layer training table as CSV text, also written to `path` when given."""
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=ROW_FIELDS)
    writer.writeheader()
    writer.writerows(layer_rows(analysis, depth))
    if path is not None:
        write_text(path, out.getvalue())
    return out.getvalue()


def to_json(analysis: TrainingAnalysis, path: Path | str | None = None, depth: int | None = None) -> str:
    """Totals, per-layer rows and the memory timeline as JSON text, also written to `path` when given."""
    timeline = [{"index": p.index, "phase": p.phase.value, "layer": p.layer, "live_bytes": p.live_bytes,
                 "peak_bytes": p.peak_bytes} for p in analysis.memory.timeline]
    data = {"totals": training_summary(analysis), "layers": layer_rows(analysis, depth), "timeline": timeline}
    text = json.dumps(data, ensure_ascii=False, indent=1)
    if path is not None:
        write_text(path, text)
    return text
