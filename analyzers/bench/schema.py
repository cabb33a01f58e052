"""The benchmark results CSV: its columns and their types, its resume key, and loading a file back for analysis.

One schema (`BENCH_RESULTS`) serves the harness (which writes through `analyzers.bench.results_file`, the one
writer), the resume logic (the `ConfigKey` of finished rows) and the app (which loads a file a user uploads): a file
that does not fit is rejected with one line naming the column and line. pandas is imported only by `load_results`,
so the command-line path does not pay for it.
"""

from __future__ import annotations

import csv
import enum
import io
import os
import re
from dataclasses import dataclass, fields
from typing import TYPE_CHECKING

from analyzers.bench.row_schema import Column, FileFormat, Kind, ResultsFileError, RowSchema
from analyzers.devices import PeakSource, Precision
from analyzers.errors import first_line
from analyzers.user_files import MAX_INPUT_BYTES, UnusableFileError, check_text, read_text

if TYPE_CHECKING:
    import pandas

__all__ = [
    "ADDED_LATER", "BENCH_RESULTS", "BenchStatus", "COLUMNS", "COLUMN_NAMES", "ConfigKey", "INPUT_SIZE_PATTERN",
    "LEGACY_ERROR_PREFIX", "MAX_EXTRA_COLUMNS", "MemoryFormat", "RESUME_KEY", "load_results",
]


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


INPUT_SIZE_PATTERN = re.compile(r"[0-9]+x[0-9]+x[0-9]+")  # ASCII digits: `\d` takes every script's


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
    Column("memory_gb_per_s", Kind.FLOAT, required=False, positive=True),  # the device's memory bandwidth, same source
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
ADDED_LATER: tuple[str, ...] = ("error_message", "estimated_memory_bytes", "memory_over_estimate", "memory_gb_per_s")
MAX_EXTRA_COLUMNS = 64  # columns beyond the schema a loaded file may carry (kept as text)
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


RESUME_KEY: tuple[str, ...] = tuple(field.name for field in fields(ConfigKey))

BENCH_RESULTS = RowSchema("a bench results CSV", FileFormat.CSV, COLUMNS, RESUME_KEY)


# --- loading for analysis -------------------------------------------------------------------------------------


def load_results(source: str | os.PathLike[str] | io.IOBase | bytes) -> pandas.DataFrame:
    """Read and validate a results CSV (a path, an open file, or raw bytes as a browser upload gives them).

    Returns one row per configuration with typed columns (nullable integers, floats, booleans, text); columns
    beyond the schema are kept as text. Raises ResultsFileError with one line naming the first problem: a path
    that is not a regular file, a file over `MAX_INPUT_BYTES`, binary or not UTF-8, a header without the schema's
    columns or with too many, a file with no rows, a cell of the wrong type or range (negative, infinite, beyond 64
    bits), an ok row without its measurements, or a configuration that appears twice. The header is checked before
    any row is parsed, so a file that cannot be ours costs milliseconds.
    """
    import pandas as pd

    text = _results_text(source)
    _check_header(text[: text.find("\n") + 1 or len(text)])
    try:
        raw = pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False)
    except pd.errors.EmptyDataError:
        raise ResultsFileError(f"the CSV is empty: expected a header with {', '.join(COLUMN_NAMES[:3])}, …") from None
    except pd.errors.ParserError as exc:
        raise ResultsFileError(f"not a readable CSV: {first_line(exc)}") from None
    if raw.empty:
        raise ResultsFileError("the CSV has a header but no rows: nothing was measured in it")
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


def _results_text(source: str | os.PathLike[str] | io.IOBase | bytes) -> str:
    """The text of a results CSV from any source, each bounded: a path must be a regular file of at most
    `MAX_INPUT_BYTES` (a FIFO, /dev/zero or a directory is refused before it is read)."""
    name = "the results file"
    if isinstance(source, (str, os.PathLike)):
        try:
            return read_text(source, BENCH_RESULTS.what)
        except UnusableFileError as exc:
            raise ResultsFileError(str(exc)) from None
    data = source if isinstance(source, bytes) else source.read(MAX_INPUT_BYTES + 1)
    if isinstance(data, str):
        data = data.encode("utf-8")
    if len(data) > MAX_INPUT_BYTES:
        raise ResultsFileError(f"{name} holds more than {MAX_INPUT_BYTES / 2**20:g} MiB; a results CSV may have no "
                               "more")
    try:
        return check_text(data, name, BENCH_RESULTS.what)
    except UnusableFileError as exc:
        raise ResultsFileError(str(exc)) from None


def _check_header(line: str) -> None:
    """The header has the schema's columns (older files may lack the ones added later) and not too many others."""
    if not line.strip():
        raise ResultsFileError(f"the CSV is empty: expected a header with {', '.join(COLUMN_NAMES[:3])}, …")
    header = next(csv.reader([line]), [])
    if len(header) > len(COLUMN_NAMES) + MAX_EXTRA_COLUMNS:
        raise ResultsFileError(f"the header has {len(header):,} columns; a results CSV has {len(COLUMN_NAMES)} and "
                               f"at most {MAX_EXTRA_COLUMNS} more")
    present = {name.strip() for name in header}
    missing = [name for name in COLUMN_NAMES if name not in present and name not in ADDED_LATER]
    if missing:
        raise ResultsFileError(f"missing column(s): {', '.join(missing)}")


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
            raise ResultsFileError(f"column {name!r}, line {line}: is blank in a row with status ok")


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
    raise ResultsFileError(
        f"line {second + 2} repeats the configuration of line {first + 2} ({setting}, {row['device_name']}); "
        f"each configuration may appear once ({int(repeats.sum()):,} repeated row(s))"
    )
