"""The benchmark results CSV: its columns and their types, appending rows as they finish, and loading a file back.

One schema serves the harness (which writes, through `analyzers.bench.results_file`), the resume logic (which reads
the `ConfigKey` of finished rows) and the app (which loads a file a user uploads): a file that does not fit is
rejected with one line naming the column and line. pandas is imported only by `load_results`, so the
command-line path does not pay for it.
"""

from __future__ import annotations

import enum
import io
import math
import os
import re
from dataclasses import dataclass, fields
from datetime import datetime
from typing import TYPE_CHECKING, Mapping

from analyzers.devices import PeakSource, Precision
from analyzers.errors import UserError

if TYPE_CHECKING:
    import pandas


class BenchSchemaError(UserError):
    """A results CSV does not match the schema; `str()` is one line saying which column (and line) is wrong."""


class MemoryFormat(enum.StrEnum):
    """The activation layout a benchmark feeds the model."""

    NCHW = "nchw"  # torch.contiguous_format
    CHANNELS_LAST = "channels_last"  # NHWC in memory, what tensor-core convolutions prefer


class BenchStatus(enum.StrEnum):
    """How a configuration ended; an error's one-line reason is in the row's `error_message`."""

    OK = "ok"
    OOM = "oom"  # out of memory: CUDA, the CPU allocator or Python
    ERROR = "error"  # anything else

    @staticmethod
    def parse(text: str) -> tuple[BenchStatus, str | None]:
        """The status and error message of a status cell; files written before `error_message` existed put the
        message in the status itself ("error: RuntimeError: …"), which maps to ERROR and that message."""
        text = text.strip()
        if text.startswith(LEGACY_ERROR_PREFIX):
            return BenchStatus.ERROR, text.removeprefix(LEGACY_ERROR_PREFIX).strip() or None
        return BenchStatus(text), None


LEGACY_ERROR_PREFIX = "error:"


class Kind(enum.Enum):
    TEXT = "text"
    INT = "integer"
    FLOAT = "number"
    BOOL = "true/false"


_TRUE = {"true", "1", "yes"}
_FALSE = {"false", "0", "no"}
INPUT_SIZE_PATTERN = re.compile(r"\d+x\d+x\d+")


INT64_RANGE = range(-(2**63), 2**63)  # what a pandas Int64 column (and any sane count of bytes or FLOPs) holds
_INTEGER = re.compile(r"[+-]?[0-9]+")
_SHORT_INTEGER = r"[+-]?[0-9]{1,18}"  # certainly inside INT64_RANGE


@dataclass(frozen=True)
class Column:
    """One CSV column: its type, whether it may be blank, and the values, pattern or range it allows."""

    name: str
    kind: Kind
    required: bool = True
    allowed: tuple[str, ...] = ()
    pattern: re.Pattern[str] | None = None
    iso_date: bool = False
    minimum: float | None = None  # numbers: the smallest value allowed
    positive: bool = False  # numbers: must be above zero (a latency, a peak)

    def parse(self, text: str) -> object:
        """The Python value of a cell, None for a blank optional cell; ValueError says what is wrong with it."""
        text = text.strip()
        if not text:
            if self.required:
                raise ValueError("is blank")
            return None
        if self.kind is Kind.INT:
            if not _INTEGER.fullmatch(text):
                raise ValueError(f"{text!r} is not an integer")
            value = int(text)
            if value not in INT64_RANGE:
                raise ValueError(f"{text} is out of range: integers here must fit in 64 bits (|n| < 2**63)")
            return self._check_range(value, text)
        if self.kind is Kind.FLOAT:
            try:
                value = float(text)
            except ValueError:
                raise ValueError(f"{text!r} is not a number") from None
            if math.isnan(value):
                return None
            if math.isinf(value):
                raise ValueError(f"{text!r} is not a finite number")
            return self._check_range(value, text)
        if self.kind is Kind.BOOL:
            if text.lower() in _TRUE:
                return True
            if text.lower() in _FALSE:
                return False
            raise ValueError(f"{text!r} is not true/false")
        if self.allowed and text not in self.allowed:
            raise ValueError(f"{text!r} is not one of {', '.join(self.allowed)}")
        if self.pattern is not None and not self.pattern.fullmatch(text):
            raise ValueError(f"{text!r} does not match {self.pattern.pattern}")
        if self.iso_date and not _is_iso_date(text):
            raise ValueError(f"{text!r} is not an ISO 8601 date")
        return text

    def _check_range(self, value: float, text: str) -> float:
        if self.positive and not value > 0:
            raise ValueError(f"{text} is not above zero")
        if self.minimum is not None and value < self.minimum:
            raise ValueError(f"{text} is below the smallest allowed value, {self.minimum:g}")
        return value

    def parse_cells(self, cells: pandas.Series) -> pandas.Series:
        """The whole column at once, the fast path for big uploads: vectorised checks accept the usual cells and
        every other cell goes through `parse`, which gives its value or the exact message (with its line)."""
        text = cells.str.strip()
        values, accepted = self._parse_vectorised(text)
        if not accepted.all():
            values = values.astype(object)
            for index in accepted.index[~accepted.to_numpy()]:
                try:
                    values[index] = self.parse(text[index])
                except ValueError as exc:
                    raise BenchSchemaError(f"column {self.name!r}, line {index + 2}: {exc}") from None
        return values.astype(_pandas_dtype(self.kind)) if self.kind is not Kind.TEXT else values

    def _parse_vectorised(self, text: pandas.Series) -> tuple[pandas.Series, pandas.Series]:
        """(values, accepted): the parsed column and which cells the vectorised checks vouch for."""

        blank = text == ""
        accepted_blank = blank & (not self.required)
        if self.kind is Kind.INT:
            fits = text.str.fullmatch(_SHORT_INTEGER)
            values = _numbers(text.where(fits, "0"), "int64").astype("Int64").where(fits)
            return values, (fits & self._in_range(values)) | accepted_blank
        if self.kind is Kind.FLOAT:
            values = _numbers(text.where(~blank, "nan"), "float64")
            finite = values.notna() & (values.abs() != math.inf)
            return values, (finite & self._in_range(values)) | accepted_blank
        if self.kind is Kind.BOOL:
            lower = text.str.lower()
            return lower.isin(_TRUE), lower.isin(_TRUE | _FALSE)
        accepted = ~blank
        if self.allowed:
            accepted &= text.isin(self.allowed)
        if self.pattern is not None:
            accepted &= text.str.fullmatch(self.pattern.pattern)
        if self.iso_date:
            valid = {value: _is_iso_date(value) for value in text.unique()}
            accepted &= text.map(valid).astype(bool)
        return text.where(~blank), accepted | accepted_blank

    def _in_range(self, values: pandas.Series) -> pandas.Series:
        within = values.notna()
        if self.positive:
            within &= values > 0
        if self.minimum is not None:
            within &= values >= self.minimum
        return within.fillna(False).astype(bool)

    def format(self, value: object) -> str:
        """The cell text for a Python value (None → blank)."""
        if value is None:
            return ""
        if isinstance(value, enum.Enum):
            return str(value.value)
        if self.kind is Kind.BOOL:
            return "true" if value else "false"
        if self.kind is Kind.FLOAT:
            return format(float(value), ".7g")
        return " ".join(str(value).split()) if self.kind is Kind.TEXT else str(value)  # a row is one line


def _numbers(text: pandas.Series, dtype: str) -> pandas.Series:
    """Text to numbers: one cast when every cell is a number (the usual case), else per cell, NaN where not."""
    import pandas as pd

    try:
        return text.astype(dtype)
    except (ValueError, TypeError, OverflowError):
        return pd.to_numeric(text, errors="coerce")


def _is_iso_date(text: str) -> bool:
    try:
        datetime.fromisoformat(text)
    except ValueError:
        return False
    return True


def _values(enum_type: type[enum.Enum]) -> tuple[str, ...]:
    return tuple(str(member.value) for member in enum_type)


COLUMNS: tuple[Column, ...] = (
    Column("model", Kind.TEXT),
    Column("batch", Kind.INT, minimum=1),
    Column("input_size", Kind.TEXT, pattern=INPUT_SIZE_PATTERN),  # CxHxW, e.g. 3x224x224
    Column("dtype", Kind.TEXT, allowed=_values(Precision)),
    Column("memory_format", Kind.TEXT, allowed=_values(MemoryFormat)),
    Column("compile", Kind.BOOL),
    Column("device", Kind.TEXT),  # as requested: cpu, cuda, cuda:1
    Column("device_name", Kind.TEXT),  # as reported: "NVIDIA H200", the CPU model
    Column("status", Kind.TEXT, allowed=_values(BenchStatus)),  # older files: "error: <message>", see BenchStatus
    Column("error_message", Kind.TEXT, required=False),  # why a row with status error failed, one line
    Column("latency_ms_p50", Kind.FLOAT, required=False, positive=True),
    Column("latency_ms_p95", Kind.FLOAT, required=False, positive=True),
    Column("latency_ms_min", Kind.FLOAT, required=False, positive=True),
    Column("images_per_s", Kind.FLOAT, required=False, positive=True),  # batch / p50
    Column("peak_memory_bytes", Kind.INT, required=False, minimum=0),  # CUDA allocator high-water mark; blank on CPU
    Column("estimated_memory_bytes", Kind.INT, required=False, minimum=0),  # analyzer: weights + all activations
    Column("memory_over_estimate", Kind.FLOAT, required=False, minimum=0),  # peak_memory_bytes / estimated
    Column("flops", Kind.INT, required=False, minimum=0),  # counted FLOPs of one forward at this batch (2 × MACs)
    Column("achieved_tflops", Kind.FLOAT, required=False, minimum=0),  # flops / p50
    Column("peak_tflops", Kind.FLOAT, required=False, positive=True),  # the device's peak for this dtype
    Column("peak_source", Kind.TEXT, allowed=_values(PeakSource)),
    Column("pct_of_peak", Kind.FLOAT, required=False, minimum=0),
    Column("roofline_ms", Kind.FLOAT, required=False, minimum=0),  # layer-by-layer lower bound, analyzers.predict.roofline
    Column("measured_over_roofline", Kind.FLOAT, required=False, minimum=0),  # p50 / roofline_ms
    Column("iters", Kind.INT, minimum=1),
    Column("warmup", Kind.INT, minimum=0),
    Column("driver", Kind.TEXT, required=False),  # NVIDIA driver version; blank on CPU
    Column("torch_version", Kind.TEXT),
    Column("cuda_version", Kind.TEXT, required=False),
    Column("cudnn_version", Kind.TEXT, required=False),
    Column("date", Kind.TEXT, iso_date=True),  # when the row finished, UTC
)
COLUMN_NAMES: tuple[str, ...] = tuple(column.name for column in COLUMNS)
ADDED_LATER: tuple[str, ...] = ("error_message", "estimated_memory_bytes", "memory_over_estimate")
_BY_NAME = {column.name: column for column in COLUMNS}

_OK_REQUIRES = ("latency_ms_p50", "latency_ms_p95", "latency_ms_min", "images_per_s")  # a row with status ok has these


@dataclass(frozen=True)
class ConfigKey:
    """What identifies a configuration: a row with the same values is not measured again.

    Iterations and warm-up are how a row was measured, not which configuration it is, so they are not part of it.
    """

    model: str
    batch: int
    input_size: str  # CxHxW, as the CSV writes it
    dtype: Precision
    memory_format: MemoryFormat
    compile: bool
    device: str
    device_name: str

    @classmethod
    def from_cells(cls, cells: Mapping[str, str]) -> ConfigKey:
        """The key of a CSV row given as its cell text; ValueError names the column that does not parse."""
        values = {}
        for name in RESUME_KEY:
            try:
                values[name] = _BY_NAME[name].parse(cells[name])
            except ValueError as exc:
                raise ValueError(f"column {name!r}: {exc}") from None
        values["dtype"] = Precision(values["dtype"])
        values["memory_format"] = MemoryFormat(values["memory_format"])
        return cls(**values)


RESUME_KEY: tuple[str, ...] = tuple(field.name for field in fields(ConfigKey))


def format_row(values: Mapping[str, object]) -> list[str]:
    """The cells of one row (Python values keyed by column name), in column order; a row must have every column."""
    missing = [name for name in COLUMN_NAMES if name not in values]
    if missing:
        raise BenchSchemaError(f"row lacks column(s): {', '.join(missing)}")
    return [_BY_NAME[name].format(values[name]) for name in COLUMN_NAMES]


def header_problem(header: list[str]) -> str | None:
    """Why a file's header is not this schema's (None when it is): appending to it would mislabel the columns."""
    if tuple(header) == COLUMN_NAMES:
        return None
    missing = [name for name in COLUMN_NAMES if name not in header]
    return f"missing column(s) {', '.join(missing)}" if missing else "columns in another order or extra columns"


# --- loading for analysis -------------------------------------------------------------------------------------


def load_results(source: str | os.PathLike[str] | io.IOBase | bytes) -> pandas.DataFrame:
    """Read and validate a results CSV (a path, an open file, or raw bytes as a browser upload gives them).

    Returns one row per configuration with typed columns (nullable integers, floats, booleans, text); columns
    beyond the schema are kept as text. Raises BenchSchemaError with one line naming the first problem: a file
    with no rows, a cell of the wrong type or range (negative, infinite, beyond 64 bits), an ok row without its
    measurements, or a configuration that appears twice.
    """
    import pandas as pd

    if isinstance(source, bytes):
        source = io.BytesIO(source)
    try:
        raw = pd.read_csv(source, dtype=str, keep_default_na=False)
    except pd.errors.EmptyDataError:
        raise BenchSchemaError(f"the CSV is empty: expected a header with {', '.join(COLUMN_NAMES[:3])}, …") from None
    except (pd.errors.ParserError, UnicodeDecodeError) as exc:
        raise BenchSchemaError(f"not a readable CSV: {_first_line(exc)}") from None
    missing = [name for name in COLUMN_NAMES if name not in raw.columns and name not in ADDED_LATER]
    if missing:
        raise BenchSchemaError(f"missing column(s): {', '.join(missing)}")
    if raw.empty:
        raise BenchSchemaError("the CSV has a header but no rows: nothing was measured in it")
    raw = raw.reset_index(drop=True)
    for name in ADDED_LATER:  # a file written before these columns existed reads them as blank
        if name not in raw.columns:
            raw[name] = ""
    _split_legacy_errors(raw)
    frame = pd.DataFrame({column.name: column.parse_cells(raw[column.name]) for column in COLUMNS})
    _check_ok_rows(frame)
    _check_unique_configurations(frame)
    extras = [name for name in raw.columns if name not in _BY_NAME]
    return pd.concat([frame, raw[extras]], axis=1) if extras else frame


def _split_legacy_errors(raw: pandas.DataFrame) -> None:
    """Rows of older files say "error: <message>" in `status`: move the message to `error_message`."""
    status = raw["status"].str.strip()
    legacy = status.str.startswith(LEGACY_ERROR_PREFIX)
    if not legacy.any():
        return
    messages = status.str.removeprefix(LEGACY_ERROR_PREFIX).str.strip()
    blank = raw["error_message"].str.strip() == ""
    raw.loc[legacy & blank, "error_message"] = messages[legacy & blank]
    raw.loc[legacy, "status"] = str(BenchStatus.ERROR)


def _check_ok_rows(frame: pandas.DataFrame) -> None:
    ok = (frame["status"] == BenchStatus.OK).to_numpy()
    for name in _OK_REQUIRES:
        blank = ok & frame[name].isna().to_numpy()
        if blank.any():
            line = int(blank.argmax()) + 2
            raise BenchSchemaError(f"column {name!r}, line {line}: is blank in a row with status ok")


def _check_unique_configurations(frame: pandas.DataFrame) -> None:
    """Each configuration once: a repeat is a merged or re-run file, and charts would silently count it twice."""
    keys = frame[list(RESUME_KEY)].astype(str)
    repeats = keys.duplicated(keep="first").to_numpy()
    if not repeats.any():
        return
    second = int(repeats.argmax())
    first = int((keys == keys.iloc[second]).all(axis=1).to_numpy().argmax())
    row = frame.iloc[second]
    setting = f"{row['model']}, batch {row['batch']}, {row['dtype']}, {row['memory_format']}"
    setting += ", compiled" if row["compile"] else ""
    raise BenchSchemaError(
        f"line {second + 2} repeats the configuration of line {first + 2} ({setting}, {row['device_name']}); "
        f"each configuration may appear once ({int(repeats.sum()):,} repeated row(s))"
    )


def _pandas_dtype(kind: Kind) -> str | None:
    return {Kind.INT: "Int64", Kind.FLOAT: "float64", Kind.BOOL: "bool", Kind.TEXT: None}[kind]


def _first_line(exc: BaseException) -> str:
    return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
