"""The results CSV on disk, shared safely: one locked write per row, a torn last line repaired, every failure one line.

A sweep can be killed at any moment (SIGKILL, a full disk) and several sweeps may append to one file at once. So:
every operation holds an exclusive `flock` on the file itself (released by the kernel when a process dies); a row
is one `os.write` to a file opened with O_APPEND, so rows never interleave; before a row is written the rows other
processes added are read, so a configuration another sweep finished meanwhile is not written twice; and a last
line without its newline (a process killed mid-write) is cut off when the file is opened, with one line on stderr.
Anything the operating system refuses (a directory, /dev/full, /proc, a read-only place, a binary file) becomes a
`ResultsFileError`: one line naming the file and the reason, never a traceback.
"""

from __future__ import annotations

import csv
import fcntl
import io
import os
import stat
import sys
from contextlib import contextmanager
from pathlib import Path
from typing import Callable, Iterator, Mapping

from analyzers.bench.schema import COLUMN_NAMES, BenchSchemaError, ConfigKey, format_row, header_problem
from analyzers.errors import UserError

Report = Callable[[str], None]


class ResultsFileError(UserError):
    """The results file cannot be used (not a file, not writable, not UTF-8 text); `str()` says which and why."""


def _to_stderr(message: str) -> None:
    print(f"warning: {message}", file=sys.stderr)


def _csv_line(cells: list[str]) -> bytes:
    out = io.StringIO()
    csv.writer(out).writerow(cells)  # the csv module's "\r\n" line ending, as every file written so far
    return out.getvalue().encode("utf-8")


class ResultsFile:
    """An open, locked-per-operation results CSV: the configurations already in it, and appending one row.

    Use as a context manager (`with ResultsFile(path) as results:`); opening checks the file and repairs a torn
    last line, so a sweep that cannot write learns it before it measures anything.
    """

    def __init__(self, path: str | os.PathLike[str], *, report: Report = _to_stderr) -> None:
        self.path = Path(path)
        self._report = report
        self._fd: int | None = None
        self._parsed_bytes = 0  # how much of the file has been read into `_keys`
        self._line = 1  # the last line number read (the header is line 1)
        self._keys: set[ConfigKey] = set()

    # --- opening and closing ---------------------------------------------------------------------------------

    def __enter__(self) -> ResultsFile:
        self.open()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def open(self) -> None:
        if self.path.is_dir():
            raise ResultsFileError(f"{self.path} is a directory; give the path of a .csv file")
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._fd = os.open(self.path, os.O_RDWR | os.O_APPEND | os.O_CREAT, 0o644)
        except OSError as exc:
            raise self._os_error("cannot open for writing", exc) from None
        try:
            if not stat.S_ISREG(os.fstat(self._fd).st_mode):
                raise ResultsFileError(f"{self.path} is not a regular file; give the path of a .csv file")
            with self._locked():
                self._start()
        except BaseException:
            self.close()
            raise

    def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None

    def _start(self) -> None:
        """Check the header (writing it to a new file), drop a torn last line, and read the rows present."""
        content = self._read_from(0)
        header_line = _csv_line(list(COLUMN_NAMES))
        if b"\n" not in content and header_line.startswith(content):  # new, or killed while writing the header
            if content:
                self._cut(0, content)
            self._write(header_line)
            self._parsed_bytes = len(header_line)
            return
        header_end = content.find(b"\n") + 1 or len(content)
        header = next(csv.reader([self._decode(content[:header_end], 0)]), [])
        problem = header_problem(header)
        if problem:
            raise BenchSchemaError(f"{self.path} has another results schema ({problem}); write to a new CSV file")
        self._parsed_bytes = header_end
        self._read_new_rows()

    def _cut(self, offset: int, torn: bytes) -> None:
        """Cut a last line that lacks its newline: under the lock nobody is writing, so it is a killed write."""
        try:
            os.ftruncate(self._fd, offset)
        except OSError as exc:
            raise self._os_error("cannot cut off a half-written last line", exc) from None
        preview = torn[:60].decode("utf-8", errors="replace")
        self._report(
            f"{self.path}: dropped a half-written last line ({len(torn)} bytes: {preview!r}) left by an "
            "interrupted run; its configuration will be measured again"
        )

    # --- reading ---------------------------------------------------------------------------------------------

    def keys(self) -> set[ConfigKey]:
        """The configurations in the file now, including rows other processes appended since the last look."""
        with self._locked():
            self._read_new_rows()
        return set(self._keys)

    def __contains__(self, key: ConfigKey) -> bool:
        return key in self.keys()

    def _read_new_rows(self) -> None:
        """Parse the rows appended since the last look; a torn tail is cut (after the rows before it parsed)."""
        new = self._read_from(self._parsed_bytes)
        complete = new.rfind(b"\n") + 1
        text = self._decode(new[:complete], self._parsed_bytes)
        for cells in csv.reader(io.StringIO(text, newline="")):
            self._line += 1
            if len(cells) != len(COLUMN_NAMES):
                raise BenchSchemaError(
                    f"{self.path}: line {self._line} has {len(cells)} fields, expected {len(COLUMN_NAMES)}; "
                    "repair or move the file"
                )
            try:
                self._keys.add(ConfigKey.from_cells(dict(zip(COLUMN_NAMES, cells))))
            except ValueError as exc:
                raise BenchSchemaError(f"{self.path}: line {self._line}: {exc}") from None
        self._parsed_bytes += complete
        if complete < len(new):
            self._cut(self._parsed_bytes, new[complete:])

    # --- writing ---------------------------------------------------------------------------------------------

    def append(self, key: ConfigKey, values: Mapping[str, object]) -> bool:
        """Write one row unless another process wrote its configuration first; True when it was written."""
        line = _csv_line(format_row(values))
        with self._locked():
            self._read_new_rows()
            if key in self._keys:
                return False
            self._write(line)
            self._parsed_bytes += len(line)
            self._line += 1
            self._keys.add(key)
        return True

    def _write(self, data: bytes) -> None:
        """One write (O_APPEND: at the end, never interleaved with another row), on disk before it returns."""
        try:
            written = os.write(self._fd, data)
            if written != len(data):
                raise OSError(28, f"only {written} of {len(data)} bytes written")
            os.fsync(self._fd)
        except OSError as exc:
            raise self._os_error("cannot write", exc) from None

    # --- helpers ---------------------------------------------------------------------------------------------

    @contextmanager
    def _locked(self) -> Iterator[None]:
        if self._fd is None:
            raise RuntimeError("the results file is not open")
        fcntl.flock(self._fd, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(self._fd, fcntl.LOCK_UN)

    def _read_from(self, offset: int) -> bytes:
        """Everything from `offset` to the end (read until EOF: /proc files report size 0 but have content)."""
        chunks = []
        try:
            while chunk := os.pread(self._fd, 1 << 20, offset):
                chunks.append(chunk)
                offset += len(chunk)
        except OSError as exc:
            raise self._os_error("cannot read", exc) from None
        return b"".join(chunks)

    def _decode(self, data: bytes, offset: int) -> str:
        if b"\0" in data:
            raise ResultsFileError(f"{self.path} holds binary data (a NUL byte); it is not a results CSV")
        try:
            return data.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise ResultsFileError(
                f"{self.path} is not UTF-8 text (byte 0x{data[exc.start]:02x} at offset {offset + exc.start}); "
                "results CSVs are UTF-8"
            ) from None

    def _os_error(self, what: str, exc: OSError) -> ResultsFileError:
        reason = exc.strerror or str(exc) or type(exc).__name__
        return ResultsFileError(f"{self.path}: {what}: {reason}")


def append_row(path: str | os.PathLike[str], values: Mapping[str, object]) -> bool:
    """Append one row (Python values keyed by column name) under the file's lock, on disk before it returns.

    A new or empty file gets the header first; an existing file must have exactly this schema's header. False
    when the file already holds a row of this configuration (nothing is written).
    """
    cells = dict(zip(COLUMN_NAMES, format_row(values)))
    with ResultsFile(path) as results:
        return results.append(ConfigKey.from_cells(cells), values)


def completed_keys(path: str | os.PathLike[str]) -> set[ConfigKey]:
    """Resume keys of the rows already in the results file (empty when it does not exist yet)."""
    if not Path(path).exists():
        return set()
    with ResultsFile(path) as results:
        return results.keys()
