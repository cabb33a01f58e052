"""The schemas of the result files beside the bench CSV (`analyzers.bench.schema`): `bench --train` rows, the
per-layer rows of `gradients --csv`, and the atlas's JSON lines. All are written by the one writer,
`analyzers.bench.results_file.ResultsFile`, which checks every row against these before writing it.
"""

from __future__ import annotations

from analyzers.bench.row_schema import Column, FileFormat, Kind, RowSchema
from analyzers.training.memory import Optimizer

__all__ = ["ATLAS_ROWS", "GRADIENT_ROWS", "TRAIN_BENCH_ROWS"]

# One timed training step per configuration (`bench --train`): measured beside the meta-device estimate.
TRAIN_BENCH_ROWS = RowSchema(
    "a training bench CSV",
    FileFormat.CSV,
    (
        Column("model", Kind.TEXT),
        Column("batch", Kind.INT, minimum=1),
        Column("input", Kind.TEXT),  # C×H×W as "3x224x224"
        Column("device", Kind.TEXT),  # as requested: cpu, cuda, cuda:1
        Column("device_name", Kind.TEXT),  # as reported: "NVIDIA H200", the CPU model
        Column("optimizer", Kind.TEXT, allowed=tuple(member.value for member in Optimizer)),
        Column("step_ms_p50", Kind.FLOAT, positive=True),
        Column("images_per_s", Kind.FLOAT, positive=True),
        Column("measured_peak_bytes", Kind.INT, required=False, minimum=0),  # CUDA allocator; blank on a CPU
        Column("estimated_peak_bytes", Kind.INT, minimum=0),  # analyze_training's peak
        Column("estimate_error", Kind.FLOAT, required=False),  # (estimate − measured) ÷ measured
        Column("estimated_saved_bytes", Kind.INT, minimum=0),  # activations saved for the backward pass
    ),
    key=("model", "batch", "input", "device", "device_name", "optimizer"),
)

# One row per weight layer of each model after one forward/backward at initialisation (`gradients --csv`); a model's
# rows are written together, and `layers` says how many it has, so a model cut short by a kill is recomputed.
GRADIENT_ROWS = RowSchema(
    "a gradients CSV",
    FileFormat.CSV,
    (
        Column("model", Kind.TEXT),
        Column("order", Kind.INT, minimum=0),  # weight layers in execution order, from 0
        Column("layer", Kind.TEXT),
        Column("type", Kind.TEXT),
        Column("params", Kind.INT, minimum=0),
        # ‖∂loss/∂W‖₂ and ‖W‖₂, every digit; an overflowed gradient is inf (a finding, not a bad row)
        Column("grad_norm", Kind.FLOAT, required=False, minimum=0, float_format="", finite=False),
        Column("weight_norm", Kind.FLOAT, required=False, minimum=0, float_format="", finite=False),
        Column("batch", Kind.INT, minimum=1),
        Column("seed", Kind.INT, minimum=0),
        Column("init", Kind.TEXT),
        Column("layers", Kind.INT, minimum=1),  # weight layers of the model: its rows are complete at this many
    ),
    key=("model", "batch", "seed", "init", "layers", "order"),  # `layers` in the key: a model's rows tell it complete
)

# One model of a catalogue analysed at its default input (`atlas`); a failure is a row too, with its reason.
ATLAS_ROWS = RowSchema(
    "an atlas JSON-lines file",
    FileFormat.JSON_LINES,
    (
        Column("catalogue", Kind.TEXT),
        Column("name", Kind.TEXT),
        Column("family", Kind.TEXT, required=False),
        Column("task", Kind.TEXT, required=False),
        Column("status", Kind.TEXT, allowed=("ok", "error", "timeout")),
        Column("error", Kind.TEXT, required=False),
        Column("inputs", Kind.TEXT, required=False),
        Column("seq_len", Kind.INT, required=False, minimum=1),  # hf configs: the sequence length asked for
        Column("params", Kind.INT, required=False, minimum=0),
        Column("macs", Kind.INT, required=False, minimum=0),
        Column("elementwise_ops", Kind.INT, required=False, minimum=0),
        Column("activation_bytes", Kind.INT, required=False, minimum=0),
        Column("activation_elements", Kind.INT, required=False, minimum=0),
        Column("weight_depth", Kind.INT, required=False, minimum=0),
        Column("uncounted_ops", Kind.INT, required=False, minimum=0),
        Column("uncounted", Kind.COUNTS),  # aten op → calls without a formula
        Column("measured_on", Kind.TEXT),  # "meta", or the device of a data-dependent run
        Column("published_params", Kind.INT, required=False, minimum=0),
        Column("published_gflops", Kind.FLOAT, required=False, minimum=0),
        Column("published_top1", Kind.FLOAT, required=False, minimum=0),
        Column("pretrained_tag", Kind.TEXT, required=False),
        Column("seconds", Kind.FLOAT, minimum=0),  # build + analysis, in the worker
    ),
    key=("catalogue", "name", "seq_len"),  # seq_len blank (None) for torchvision and timm, and in older files
)
