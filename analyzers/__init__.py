"""The cost engine: model-agnostic counting of shapes, parameters, MACs and memory on the meta device.

`from analyzers import analyze` is the entry point; it returns a typed tree of records (`Analysis`). Formula text
is rendered from the records by `analyzers.counting.formula_text`; reports (pandas) and the benchmark harness live in their
own modules so that a plain analysis never pays for importing pandas.
"""

from analyzers.counting.analyze import analyze
from analyzers.counting.inputs import InputSpec
from analyzers.errors import (
    AnalysisError,
    DataDependentError,
    InputMismatchError,
    InputSizeError,
    InputTooSmallError,
    ModelRunError,
    UserError,
)
from analyzers.records import (
    Analysis,
    ConvGeometry,
    LayerRecord,
    OpCategory,
    OpCost,
    OpKind,
    ReceptiveField,
    RecordKind,
    Totals,
)

__all__ = [
    "Analysis",
    "AnalysisError",
    "DataDependentError",
    "InputSpec",
    "ConvGeometry",
    "InputMismatchError",
    "InputSizeError",
    "InputTooSmallError",
    "LayerRecord",
    "ModelRunError",
    "OpCategory",
    "OpCost",
    "OpKind",
    "ReceptiveField",
    "RecordKind",
    "Totals",
    "UserError",
    "analyze",
]
