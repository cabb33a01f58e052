"""The one writer of result files: each row checked, appended under a lock, written the moment it is done, resumable.

Every result file goes through `ResultsFile` (the bench CSV, `bench --train` rows, `gradients --csv`, the atlas JSON
lines; each described by a `RowSchema`), so all of them keep the same promises:

- nothing lost: a row is one `os.write` to a file opened with O_APPEND and is on disk (fsync) before `append`
  returns, so a run killed at any moment (SIGKILL, Ctrl-C, a full disk) keeps every row it finished;
- nothing twice: every operation holds an exclusive `flock` on the file (released by the kernel when a process
  dies) and re-reads what other processes appended before writing, so a key already in the file is never written
  again, by a rerun or by a concurrent run;
- never poisoned: a row is checked against the schema, cell by cell as a reader checks it, before it is written; a
  line cut off by a killed write is cut from the file (with one line on stderr) when the file is next opened;
- one line for what cannot be used: a directory, a FIFO, /dev/zero, a binary file, a file of another format or
  schema, a file over `MAX_INPUT_BYTES`, a full disk: `ResultsFileError`, never a hang or a traceback.

Use: `with ResultsFile(path, schema) as results:`, then `row in results`, `results.keys()` and
`results.append(row)` (True when written, False when its key was already there) from one process, or several.
"""

from __future__ import annotations

import fcntl
import os
import sys
from contextlib import contextmanager
from pathlib import Path
from typing import Callable, Iterable, Iterator, Mapping

from analyzers.bench.row_schema import Key, ResultsFileError, RowSchema
from analyzers.bench.schema import BENCH_RESULTS
from analyzers.user_files import MAX_INPUT_BYTES, UnusableFileError, check_text, open_regular, os_reason

__all__ = ["ResultsFile", "ResultsFileError", "append_row", "completed_keys"]

Report = Callable[[str], None]
Row = Mapping[str, object]


def _to_stderr(message: str) -> None:
    print(f"warning: {message}", file=sys.stderr)


class ResultsFile:
    """One result file, open for appending rows of one schema; see the module's docstring for the promises.

    Opening checks the whole file (its format, its header or first row, every line) and cuts a torn last line, so a
    run that cannot write learns it before it computes anything.
    """

    def __init__(self, path: str | os.PathLike[str], schema: RowSchema, *, report: Report = _to_stderr) -> None:
        self.path = Path(path)
        self.schema = schema
        self._report = report
        self._fd: int | None = None
        self._parsed_bytes = 0  # how much of the file has been read into `_keys`
        self._line = 0  # the last line number read
        self._keys: set[Key] = set()

    # --- opening and closing ---------------------------------------------------------------------------------

    def __enter__(self) -> ResultsFile:
        self.open()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def open(self) -> None:
        what = self.schema.what
        try:
            self._fd = open_regular(self.path, os.O_RDWR | os.O_APPEND | os.O_CREAT, what, make_parents=True)
        except UnusableFileError as exc:
            raise ResultsFileError(str(exc)) from None
        try:
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
        """Check the header (writing it to a new file), read the rows present, and cut a torn last line."""
        size = os.fstat(self._fd).st_size
        if size > MAX_INPUT_BYTES:
            raise ResultsFileError(f"{self.path} is {size / 2**20:,.0f} MiB, over the {MAX_INPUT_BYTES / 2**20:g} "
                                   f"MiB a result file may have; write to a new file")
        content = self._read_from(0)
        header = self.schema.header()
        if header and b"\n" not in content and header.startswith(content):  # new, or killed writing the header
            if content:
                self._cut(0, content)
            self._write(header)
            self._parsed_bytes = len(header)
            self._line = 1
            return
        if header:
            end = content.find(b"\n") + 1
            first = self._decode(content[:end], 0).rstrip("\r\n")
            problem = self.schema.header_problem(first)
            if problem:
                raise ResultsFileError(f"{self.path} is not {self.schema.what}: its header has another results "
                                       f"schema ({problem}); write to a new file")
            self._parsed_bytes, self._line = end, 1
        self._read_new_rows(content[self._parsed_bytes:])

    def _cut(self, offset: int, torn: bytes) -> None:
        """Cut a last line that lacks its newline: under the lock nobody is writing, so it is a killed write."""
        try:
            os.ftruncate(self._fd, offset)
        except OSError as exc:
            raise self._os_error("cannot cut off a half-written last line", exc) from None
        preview = torn[:60].decode("utf-8", errors="replace")
        self._report(
            f"{self.path}: dropped a half-written last line ({len(torn)} bytes: {preview!r}) left by an "
            "interrupted run; its row will be computed again"
        )

    # --- reading ---------------------------------------------------------------------------------------------

    def keys(self) -> set[Key]:
        """The keys (values of the schema's key columns, in order) of the rows in the file now, including rows
        other processes appended since the last look."""
        with self._locked():
            self._read_new_rows(self._read_from(self._parsed_bytes))
        return set(self._keys)

    def __contains__(self, row: Row) -> bool:
        """Whether a row with this row's key is in the file now (`row` needs only the key columns)."""
        return self.schema.key_of(row) in self.keys()

    def _read_new_rows(self, new: bytes) -> None:
        """Check the complete lines of `new` (the bytes after `_parsed_bytes`); a torn tail is cut after them."""
        complete = new.rfind(b"\n") + 1
        text = self._decode(new[:complete], self._parsed_bytes)
        for line in text.split("\n")[:-1]:  # "\n" only: a JSON string may hold U+2028, which splitlines() splits
            self._line += 1
            try:
                self._keys.add(self.schema.key_of(self.schema.decode(line.removesuffix("\r"))))
            except (ValueError, ResultsFileError) as exc:
                raise ResultsFileError(f"{self.path}: line {self._line}: {exc}; it is not {self.schema.what} "
                                       "(repair or move the file)") from None
        self._parsed_bytes += complete
        torn = new[complete:]
        if torn:
            if b"\0" in torn:
                self._decode(torn, self._parsed_bytes)  # refused as binary
            if not self.schema.could_start_a_row(torn.decode("utf-8", errors="replace")):
                raise ResultsFileError(f"{self.path}: line {self._line + 1} is not a row of {self.schema.what} "
                                       "(repair or move the file)")
            self._cut(self._parsed_bytes, torn)

    # --- writing ---------------------------------------------------------------------------------------------

    def append(self, row: Row) -> bool:
        """Write one row unless a row with its key is in the file (written by anyone); True when it was written.

        The row (Python values by column name, enum members allowed) is checked first: one that does not fit the
        schema raises `ResultsFileError` naming the column, and nothing is written.
        """
        return self.append_all([row]) == 1

    def append_all(self, rows: Iterable[Row]) -> int:
        """Write the rows whose keys are not in the file yet, in one write (a group that belongs together, such as
        one model's layers, lands whole); the number written."""
        lines = [(self.schema.encode(row), self.schema.key_of(row)) for row in rows]  # encode first: it names what lacks
        with self._locked():
            self._read_new_rows(self._read_from(self._parsed_bytes))
            new: dict[Key, bytes] = {}
            for line, key in lines:
                if key not in self._keys and key not in new:
                    new[key] = line
            if new:
                data = b"".join(new.values())
                self._write(data)
                self._parsed_bytes += len(data)
                self._line += len(new)
                self._keys.update(new)
        return len(new)

    def _write(self, data: bytes) -> None:
        """One write (O_APPEND: at the end, never interleaved with another row), on disk before it returns; a
        short write (a full disk) is cut back, so the file never keeps part of it."""
        try:
            written = os.write(self._fd, data)
            if written != len(data):
                os.ftruncate(self._fd, os.fstat(self._fd).st_size - written)
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
        """Everything from `offset` to the end (read until EOF: /proc files report size 0 but have content), at
        most `MAX_INPUT_BYTES` of it."""
        chunks, total = [], 0
        try:
            while chunk := os.pread(self._fd, 1 << 20, offset):
                chunks.append(chunk)
                offset += len(chunk)
                total += len(chunk)
                if total > MAX_INPUT_BYTES:
                    raise ResultsFileError(f"{self.path} holds more than {MAX_INPUT_BYTES / 2**20:g} MiB; a result "
                                           "file may have no more: write to a new file")
        except OSError as exc:
            raise self._os_error("cannot read", exc) from None
        return b"".join(chunks)

    def _decode(self, data: bytes, offset: int) -> str:
        try:
            return check_text(data, str(self.path), self.schema.what, offset)
        except UnusableFileError as exc:
            raise ResultsFileError(str(exc)) from None

    def _os_error(self, what: str, exc: OSError) -> ResultsFileError:
        return ResultsFileError(f"{self.path}: {what}: {os_reason(exc)}")


def append_row(path: str | os.PathLike[str], values: Row, schema: RowSchema = BENCH_RESULTS) -> bool:
    """Append one row to the file at `path` (opened, locked, closed): False when a row with its key is there."""
    with ResultsFile(path, schema) as results:
        return results.append(values)


def completed_keys(path: str | os.PathLike[str], schema: RowSchema = BENCH_RESULTS) -> set[Key]:
    """The keys of the rows already in the file at `path` (empty when it does not exist yet)."""
    if not Path(path).exists():
        return set()
    with ResultsFile(path, schema) as results:
        return results.keys()

