"""The exception types that mean "the user asked for something we cannot do": reported in one line, never a
traceback, by the CLI (exit code 2) and the app (a friendly message)."""

from __future__ import annotations


def USER_ERRORS() -> tuple[type[Exception], ...]:  # noqa: N802 - reads as a constant at the call site
    """Imported lazily: the optional parts (spec language, sources, benchmark schema) may be absent."""
    from analyzers.errors import AnalysisError
    from explorer.zoo.registry import BuildOptionError, UnknownModelError

    errors: list[type[Exception]] = [AnalysisError, UnknownModelError, BuildOptionError]
    for module, name in (("explorer.spec", "SpecError"), ("explorer.sources", "SourceError"),
                         ("analyzers.bench_schema", "BenchSchemaError")):
        try:
            errors.append(getattr(__import__(module, fromlist=[name]), name))
        except (ImportError, AttributeError):
            continue
    return tuple(errors)
