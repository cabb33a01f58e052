"""One progress bar on the driver for a whole sweep, wherever its units run: rows done, failed and retried.

Workers never draw anything (on a cluster their output goes to log files nobody watches); the driver sees every
outcome and every retry, so the bar it draws is the one true count across the cluster.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass

__all__ = ["SweepProgress"]


@dataclass
class _Counts:
    done: int = 0  # rows written (or found written by a concurrent run)
    failed: int = 0  # error rows, and units that came back without a row
    retried: int = 0  # tasks run again after their worker or node died


class SweepProgress:
    """tqdm's bar on stderr (when enabled and installed), with done / failed / retried after it."""

    def __init__(self, total: int, *, enabled: bool = True, unit: str = "row") -> None:
        self.counts = _Counts()
        self._bar = None
        if enabled:
            try:
                from tqdm import tqdm

                self._bar = tqdm(total=total, unit=unit, file=sys.stderr, dynamic_ncols=True)
            except ImportError:
                pass

    def __enter__(self) -> SweepProgress:
        return self

    def __exit__(self, *exc: object) -> None:
        if self._bar is not None:
            self._bar.close()

    def finished(self, *, ok: bool) -> None:
        """One unit came back: a row that records success, or a failure (an error row or no row)."""
        if ok:
            self.counts.done += 1
        else:
            self.counts.failed += 1
        self._show(advance=1)

    def retried(self) -> None:
        """A unit's task is running again: its worker or node died under it."""
        self.counts.retried += 1
        self._show(advance=0)

    def note(self, message: str) -> None:
        """One line on stderr that does not tear the bar."""
        if self._bar is not None:
            self._bar.write(message, file=sys.stderr)
        else:
            print(message, file=sys.stderr)

    def _show(self, advance: int) -> None:
        if self._bar is None:
            return
        c = self.counts
        self._bar.set_postfix_str(f"done {c.done}, failed {c.failed}, retried {c.retried}", refresh=False)
        self._bar.update(advance)
