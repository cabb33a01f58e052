"""The cost engine: model-agnostic counting of shapes, parameters, MACs and memory on the meta device.

`from analyzers import analyze` is the entry point; reports (pandas) and the benchmark harness live in their own
modules so that a plain analysis never pays for importing pandas.
"""

from analyzers.analyze import analyze
from analyzers.errors import AnalysisError, InputSizeError, InputTooSmallError, ModelRunError
from analyzers.records import Analysis, LayerRecord, OpCost, OpKind, Totals

__all__ = [
    "Analysis",
    "AnalysisError",
    "InputSizeError",
    "InputTooSmallError",
    "LayerRecord",
    "ModelRunError",
    "OpCost",
    "OpKind",
    "Totals",
    "analyze",
]
