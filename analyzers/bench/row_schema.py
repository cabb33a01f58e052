"""What a row of a result file may hold: typed columns, a key, and the line format (CSV or JSON lines).

Every result file (the bench CSV, `bench --train` rows, `gradients --csv`, the atlas JSON lines) is described by one
`RowSchema`; the one writer (`analyzers.bench.results_file`) checks each row against it before writing and each line
of an existing file before resuming, and the key says which rows are the same configuration (a rerun skips them).
A row the schema rejects is never written, so a file can never hold a line its own reader refuses.
"""

from __future__ import annotations

import csv
import enum
import io
import json
import math
import numbers
import re
from dataclasses import dataclass
from datetime import datetime
from functools import cached_property
from typing import TYPE_CHECKING, Mapping

from analyzers.user_files import UnusableFileError

if TYPE_CHECKING:
    import pandas

__all__ = ["INT64_RANGE", "Column", "FileFormat", "Kind", "ResultsFileError", "RowSchema"]


class ResultsFileError(UnusableFileError):
    """A result file, or a row for one, does not fit its schema, or the file cannot be used; `str()` is one line
    naming the file (or column) and the reason."""


class Kind(enum.Enum):
    TEXT = "text"
    INT = "integer"
    FLOAT = "number"
    BOOL = "true/false"
    COUNTS = "counts"  # JSON lines only: an object of name → count (e.g. the atlas's uncounted ops)


_TRUE = {"true", "1", "yes"}
_FALSE = {"false", "0", "no"}

INT64_RANGE = range(-(2**63), 2**63)  # what a pandas Int64 column (and any sane count of bytes or FLOPs) holds
_INTEGER = re.compile(r"[+-]?[0-9]+")
_SHORT_INTEGER = r"[+-]?[0-9]{1,18}"  # certainly inside INT64_RANGE


@dataclass(frozen=True)
class Column:
    """One column of a result file: its type, whether it may be blank, and the values, pattern or range it allows."""

    name: str
    kind: Kind
    required: bool = True
    allowed: tuple[str, ...] = ()
    pattern: re.Pattern[str] | None = None
    iso_date: bool = False
    minimum: float | None = None  # numbers: the smallest value allowed
    positive: bool = False  # numbers: must be above zero (a latency, a peak)
    float_format: str = ".7g"  # how a CSV writes a number ("": every digit, as repr)
    finite: bool = True  # numbers: inf refused (False where infinity is a result, e.g. an overflowed gradient)

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
            if math.isinf(value) and self.finite:
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

    def check(self, value: object) -> object:
        """A Python (or JSON) value checked as `parse` checks a cell: the value a reader gets back (an enum member as
        its text, NaN as None); ValueError says what is wrong with it."""
        if isinstance(value, enum.Enum):
            value = value.value
        if isinstance(value, float) and math.isnan(value):
            value = None
        if value is None or (isinstance(value, str) and not value.strip()):
            if self.required:
                raise ValueError("is blank")
            return value
        if self.kind is Kind.TEXT:
            if not isinstance(value, str):
                raise ValueError(f"{value!r} is not text")
            return self.parse(value)
        if self.kind is Kind.BOOL:
            if not isinstance(value, bool):
                raise ValueError(f"{value!r} is not true/false")
            return value
        if self.kind is Kind.COUNTS:
            if not isinstance(value, dict) or not all(isinstance(name, str) and _is_count(count)
                                                      for name, count in value.items()):
                raise ValueError(f"{_short(value)} is not an object of names and counts")
            return value
        if isinstance(value, bool) or not isinstance(value, numbers.Real):
            raise ValueError(f"{_short(value)} is not {'an integer' if self.kind is Kind.INT else 'a number'}")
        if self.kind is Kind.INT:
            if not isinstance(value, numbers.Integral):
                raise ValueError(f"{value!r} is not an integer")
            if int(value) not in INT64_RANGE:
                raise ValueError(f"{_short(value)} is out of range: integers here must fit in 64 bits (|n| < 2**63)")
            return self._check_range(int(value), str(value))
        if math.isinf(value) and self.finite:
            raise ValueError(f"{value!r} is not a finite number")
        return self._check_range(float(value), repr(value))

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
                    raise ResultsFileError(f"column {self.name!r}, line {index + 2}: {exc}") from None
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
            return format(float(value), self.float_format)
        return " ".join(str(value).split()) if self.kind is Kind.TEXT else str(value)  # a row is one line


def _numbers(text: pandas.Series, dtype: str) -> pandas.Series:
    """Text to numbers: one cast when every cell is a number (the usual case), else per cell, NaN where not."""
    import pandas as pd

    try:
        return text.astype(dtype)
    except (ValueError, TypeError, OverflowError):
        return pd.to_numeric(text, errors="coerce")


def _is_count(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and 0 <= value < 2**63


def _short(value: object, limit: int = 40) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _is_iso_date(text: str) -> bool:
    try:
        datetime.fromisoformat(text)
    except ValueError:
        return False
    return True




def _pandas_dtype(kind: Kind) -> str | None:
    return {Kind.INT: "Int64", Kind.FLOAT: "float64", Kind.BOOL: "bool"}.get(kind)


class FileFormat(enum.Enum):
    CSV = "CSV"  # a header line, then one row per line (the csv module's quoting, "\r\n" endings)
    JSON_LINES = "JSON lines"  # one JSON object per line, no header


MAX_LINE_BYTES = 64 * 1024  # one row: a few hundred bytes in practice; a longer one is not a row of ours

Key = tuple[object, ...]


@dataclass(frozen=True)
class RowSchema:
    """The rows of one kind of result file: their columns in order, the columns that identify a row, the format."""

    what: str  # names the file in messages: "a bench results CSV", "an atlas JSON-lines file"
    file_format: FileFormat
    columns: tuple[Column, ...]
    key: tuple[str, ...]  # a row whose values in these columns are already in the file is not written again

    def __post_init__(self) -> None:
        unknown = [name for name in self.key if name not in self.names]
        if unknown or len(set(self.names)) != len(self.names):
            raise ValueError(f"{self.what}: key columns {unknown} unknown, or a column name repeats")

    @cached_property
    def names(self) -> tuple[str, ...]:
        return tuple(column.name for column in self.columns)

    @cached_property
    def _by_name(self) -> dict[str, Column]:
        return {column.name: column for column in self.columns}

    def column(self, name: str) -> Column:
        return self._by_name[name]

    def extended(self, what: str, *columns: Column) -> RowSchema:
        """This schema with more columns after its own (same key): a file that carries extra measurements."""
        return RowSchema(what, self.file_format, (*self.columns, *columns), self.key)

    # --- writing ----------------------------------------------------------------------------------------------

    def header(self) -> bytes:
        """What a new file starts with: the column names for a CSV, nothing for JSON lines."""
        return _csv_line(list(self.names)) if self.file_format is FileFormat.CSV else b""

    def key_of(self, row: Mapping[str, object]) -> Key:
        """The key of a row (Python values by column name; enum members are read as their text)."""
        try:
            return tuple(self._by_name[name].check(row[name]) for name in self.key)
        except KeyError as exc:
            raise ResultsFileError(f"a row for {self.what} lacks its key column {exc.args[0]!r}") from None
        except ValueError as exc:
            raise ResultsFileError(f"a row for {self.what} does not fit its schema: {exc}") from None

    def encode(self, row: Mapping[str, object]) -> bytes:
        """The line of one row, checked cell by cell the way a reader checks it: a row that does not fit is a
        `ResultsFileError` naming the column, and is never written."""
        missing = [name for name in self.names if name not in row]
        extra = [name for name in row if name not in self._by_name]
        if missing or extra:
            raise ResultsFileError(f"a row for {self.what} does not fit its schema: "
                                   + (f"row lacks column(s) {', '.join(missing)}" if missing else
                                      f"unknown column(s) {', '.join(map(str, extra))}"))
        try:
            line = self._encode(row)
        except ValueError as exc:
            raise ResultsFileError(f"a row for {self.what} does not fit its schema: {exc}") from None
        if len(line) > MAX_LINE_BYTES:
            raise ResultsFileError(f"a row for {self.what} does not fit its schema: it is {len(line):,} bytes, "
                                   f"over the {MAX_LINE_BYTES:,} a row may have")
        return line

    def _encode(self, row: Mapping[str, object]) -> bytes:
        if self.file_format is FileFormat.JSON_LINES:
            values = {}
            for column in self.columns:
                _in_column(column, column.check, row[column.name])
                value = row[column.name]
                values[column.name] = value.value if isinstance(value, enum.Enum) else value
            return (json.dumps(values, ensure_ascii=False, allow_nan=False) + "\n").encode("utf-8")
        cells = []
        for column in self.columns:
            cell = column.format(_in_column(column, column.check, row[column.name]))
            _in_column(column, column.parse, cell)  # the reader's own test of the cell as written
            cells.append(cell)
        return _csv_line(cells)

    # --- reading ----------------------------------------------------------------------------------------------

    def header_problem(self, line: str) -> str | None:
        """Why the first line of a CSV is not this schema's header (None when it is)."""
        header = next(csv.reader([line]), [])
        if tuple(header) == self.names:
            return None
        missing = [name for name in self.names if name not in header]
        if missing:
            return f"missing column(s) {', '.join(missing[:5])}" + (", …" if len(missing) > 5 else "")
        return "columns in another order or extra columns"

    def could_start_a_row(self, text: str) -> bool:
        """Whether `text` (a line cut off before its end) may be the start of a row of this schema: every JSON row
        starts with its first column's name, so a foreign file's last line is never mistaken for a torn row."""
        if self.file_format is FileFormat.CSV:
            return True
        opening = json.dumps({self.columns[0].name: None})[:-len("null}")]
        return text.startswith(opening) or opening.startswith(text)

    def decode(self, line: str) -> dict[str, object]:
        """The checked values of one line (without its line ending); ValueError says what does not fit."""
        if self.file_format is FileFormat.JSON_LINES:
            try:
                values = json.loads(line)
            except ValueError:
                raise ValueError("is not a JSON object") from None
            if not isinstance(values, dict):
                raise ValueError("is not a JSON object")
            unknown = [name for name in values if name not in self._by_name]
            if unknown:
                raise ValueError(f"has field(s) {', '.join(map(repr, unknown[:3]))} that {self.what} does not have")
            return {column.name: _in_column(column, column.check, values.get(column.name)) for column in self.columns}
        cells = next(csv.reader([line]), [])
        if len(cells) != len(self.columns):
            raise ValueError(f"has {len(cells)} fields, expected {len(self.columns)}")
        return {column.name: _in_column(column, column.parse, cell) for column, cell in zip(self.columns, cells)}


def _in_column(column: Column, check, value: object) -> object:
    try:
        return check(value)
    except ValueError as exc:
        raise ValueError(f"column {column.name!r}: {exc}") from None


def _csv_line(cells: list[str]) -> bytes:
    out = io.StringIO()
    csv.writer(out).writerow(cells)  # the csv module's "\r\n" line ending, as every file written so far
    return out.getvalue().encode("utf-8")
