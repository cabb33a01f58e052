"""Errors the analyzer raises on purpose: each carries one line that says what was wrong and what is allowed."""


class AnalysisError(ValueError):
    """Base class: the model or its input cannot be analysed; `str()` is a one-line message for the user."""


class InputSizeError(AnalysisError):
    """The input size is malformed, zero or negative."""


class InputTooSmallError(AnalysisError):
    """The input collapses to nothing inside the network; the message names the layer and shows the arithmetic."""


class ModelRunError(AnalysisError):
    """The model's forward failed on the meta device (an op that needs real data, a shape mismatch, …)."""
