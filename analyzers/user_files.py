"""Files a user names on the command line or uploads: regular files only, opened without blocking, read with a limit.

A path can name anything: a directory, a FIFO (opening it for reading waits for a writer forever), /dev/zero (reading
never ends), /dev/full, a binary file, a file of many gigabytes. Every reader and writer of user-named files goes
through here, so each of these is one line (`UnusableFileError`) before anything is read or written, never a hang,
a traceback or a `MemoryError`.
"""

from __future__ import annotations

import errno
import os
import stat
from pathlib import Path

from analyzers.errors import UserError

__all__ = ["MAX_INPUT_BYTES", "UnusableFileError", "check_text", "open_regular", "os_reason", "read_text",
           "write_text"]

MAX_INPUT_BYTES = 256 * 2**20  # a results file or table we read back: far above any real one, far below the budget


class UnusableFileError(UserError):
    """A file cannot be used (not a regular file, not readable or writable, binary, too large); `str()` names it and
    says why, in one line."""


def os_reason(exc: OSError) -> str:
    """The operating system's words for a failure ("Permission denied"), without errno and path noise."""
    return exc.strerror or str(exc) or type(exc).__name__


def open_regular(path: str | os.PathLike[str], flags: int, what: str = "a file", *, make_parents: bool = False) -> int:
    """`os.open(path, flags)` refusing anything but a regular file, without ever blocking on a FIFO.

    O_NONBLOCK makes opening a FIFO return at once (or fail with ENXIO for a writer without a reader); the mode is
    checked on the open descriptor, so nothing swapped in between is trusted. `what` ("a .csv file") ends the
    message that says what to give instead.
    """
    target = Path(path)
    failing = f"{target}: cannot open for writing" if flags & (os.O_WRONLY | os.O_RDWR) else f"cannot read {target}"
    mode = _mode(target, failing)
    if mode is not None and stat.S_ISDIR(mode):
        raise UnusableFileError(f"{target} is a directory; give the path of {what}")
    if mode is not None and not stat.S_ISREG(mode):  # before opening: O_TRUNC must not touch a device
        raise UnusableFileError(f"{target} is not a regular file; give the path of {what}")
    try:
        if make_parents:
            target.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(target, flags | os.O_NONBLOCK | os.O_NOCTTY, 0o644)
    except OSError as exc:
        raise UnusableFileError(f"{failing}: {os_reason(exc)}") from None
    try:
        mode = os.fstat(fd).st_mode
    except OSError as exc:
        os.close(fd)
        raise UnusableFileError(f"{target}: cannot read its status: {os_reason(exc)}") from None
    if not stat.S_ISREG(mode):
        os.close(fd)
        raise UnusableFileError(f"{target} is not a regular file; give the path of {what}")
    return fd


def _amount(size: int, mib_format: str = "g") -> str:
    """Bytes below a MiB ("400,000 bytes": a spec's limit), MiB above ("256 MiB")."""
    return f"{size:,} bytes" if size < 2**20 else f"{size / 2**20:,{mib_format}} MiB"


def _mode(target: Path, failing: str) -> int | None:
    """The mode of what `target` names (None when nothing is there yet); a name the system refuses (too long, a
    loop of links, no permission) is one line starting with `failing`."""
    try:
        return os.stat(target).st_mode
    except (FileNotFoundError, NotADirectoryError):
        return None
    except OSError as exc:
        raise UnusableFileError(f"{failing}: {os_reason(exc)}") from None


def read_text(path: str | os.PathLike[str], what: str = "a text file", limit_bytes: int = MAX_INPUT_BYTES) -> str:
    """The whole UTF-8 text of a regular file of at most `limit_bytes`; anything else is one `UnusableFileError`."""
    fd = open_regular(path, os.O_RDONLY, what)
    try:
        size = os.fstat(fd).st_size
        if size > limit_bytes:
            raise UnusableFileError(f"{path} is {_amount(size, '.1f')}; {what} may have at most "
                                    f"{_amount(limit_bytes)}")
        chunks, total = [], 0
        while chunk := os.read(fd, 1 << 20):  # until EOF, not st_size: /proc files say 0 and hold text
            chunks.append(chunk)
            total += len(chunk)
            if total > limit_bytes:
                raise UnusableFileError(f"{path} holds more than {_amount(limit_bytes)}; {what} may have no more")
    except OSError as exc:
        raise UnusableFileError(f"cannot read {path}: {os_reason(exc)}") from None
    finally:
        os.close(fd)
    return check_text(b"".join(chunks), str(path), what)


def check_text(data: bytes, name: str, what: str, offset: int = 0) -> str:
    """`data` decoded as UTF-8, or one line saying it is binary or another encoding (`offset`: where `data` starts
    in the file, for the byte position in the message)."""
    if b"\0" in data:
        raise UnusableFileError(f"{name} holds binary data (a NUL byte); it is not {what}")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise UnusableFileError(f"{name} is not UTF-8 text (byte 0x{data[exc.start]:02x} at offset "
                                f"{offset + exc.start}); {what} is UTF-8") from None


def write_text(path: str | os.PathLike[str], text: str) -> None:
    """Write `text` (UTF-8) to `path`, replacing a file, never blocking at open: a FIFO no process reads is one line
    (ENXIO), a pipe or terminal that is read (`/dev/stdout`, `>(gzip > x)`) works, a directory or a full disk is one
    line. The parent folder must exist (a typo in it is not silently created)."""
    target = Path(path)
    mode = _mode(target, f"cannot write {target}")
    if mode is not None and stat.S_ISDIR(mode):
        raise UnusableFileError(f"cannot write {target}: it is a directory")
    try:
        fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NONBLOCK | os.O_NOCTTY, 0o644)
    except OSError as exc:
        reason = "it is a FIFO no process is reading" if exc.errno == errno.ENXIO else os_reason(exc)
        raise UnusableFileError(f"cannot write {target}: {reason}") from None
    try:
        os.set_blocking(fd, True)  # opened without waiting; a reader that is slow is waited for
        data = text.encode("utf-8")
        while data:
            data = data[os.write(fd, data):]
    except OSError as exc:
        raise UnusableFileError(f"cannot write {target}: {os_reason(exc)}") from None
    finally:
        os.close(fd)
