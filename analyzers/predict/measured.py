"""Measurements that ship with the project for a model on a device, to stand beside a prediction (never inside it).

Two sources: our own benchmark CSVs in assets/benchmarks/ (`explorer bench`, bench/measure_cpu_times.py), and
timm's published throughput for timm architectures (assets/time_model/held_out.csv, which also holds the
prediction the model made for that row while that row's family was held out). Read with the csv module: the
command line does not pay for pandas.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from analyzers.devices import DeviceKind, datasheet, lookup_peak
from analyzers.predict.parameters import ASSETS, TRAINING_SET

__all__ = ["MeasuredRow", "measured_rows", "BENCHMARKS", "HELD_OUT"]

BENCHMARKS = ASSETS.parent / "benchmarks"
HELD_OUT = ASSETS / "held_out.csv"
_PUBLISHED = {"rtx5090": "timm's RTX 5090 file (torch 2.9.1, AMP fp16)",
              "pro6000-maxq": "timm's RTX PRO 6000 Max-Q file (torch 2.9.1, AMP fp16)",
              "rtx3090": "timm's RTX 3090 file (torch 2.4, AMP fp16)",
              TRAINING_SET: "timm's RTX 3090 training file (torch 1.12, AMP fp16)"}


@dataclass(frozen=True)
class MeasuredRow:
    source: str
    batch: int
    measured_ms: float
    held_out_predicted_ms: float | None  # the model's prediction for this row with its family held out
    detail: str

    @property
    def text(self) -> str:
        predicted = (f"; predicted with its family held out: {self.held_out_predicted_ms:.3f} ms"
                     if self.held_out_predicted_ms is not None else "")
        return f"{self.measured_ms:.3f} ms per batch of {self.batch} ({self.detail}, {self.source}){predicted}"


def measured_rows(model: str, device_key: str, training: bool = False, bench_dir: Path | None = None
                  ) -> list[MeasuredRow]:
    """Shipped measurements of `model` (as the CLI names it) on the table device `device_key`: the results CSVs of
    `bench_dir` (default assets/benchmarks/) and timm's published rows."""
    folder = Path(bench_dir or BENCHMARKS)
    rows = [] if training else [r for r in _bench_rows(folder, _signature(folder))
                                if r[0] == model and r[1] == device_key]
    found = [MeasuredRow(source, batch, ms, None, detail) for _, _, batch, ms, detail, source in rows]
    evaluation = TRAINING_SET if training else device_key
    if model.startswith("timm:") and datasheet(device_key).kind is DeviceKind.GPU:
        name = model.removeprefix("timm:")
        for row in _held_out():
            sample, _, size = row["sample"].rpartition("@")
            if row["evaluation"] == evaluation and sample == name:
                found.append(MeasuredRow(_PUBLISHED.get(evaluation, evaluation), int(row["batch"]),
                                         float(row["measured_ms"]), float(row["predicted_ms"]), f"at {size} px"))
    return found


def _signature(folder: Path) -> tuple[tuple[str, int, int], ...]:
    """Each CSV's name, modification time and size: a changed file is read again."""
    return tuple((p.name, p.stat().st_mtime_ns, p.stat().st_size) for p in sorted(folder.glob("*.csv")) if p.is_file())


@lru_cache(maxsize=8)
def _bench_rows(folder: Path, signature: tuple[tuple[str, int, int], ...]
                ) -> tuple[tuple[str, str, int, float, str, str], ...]:
    """(model, device key, batch, p50 ms, detail, file) of every ok row of the results CSVs in `folder`."""
    rows = []
    for name, _, _ in signature:
        path = folder / name
        try:
            with path.open(newline="", encoding="utf-8") as handle:
                for cells in csv.DictReader(handle):
                    row = _row(cells, path)
                    if row is not None:
                        rows.append(row)
        except (OSError, UnicodeDecodeError, csv.Error):  # not a results file we can read: nothing to show from it
            continue
    return tuple(rows)


def _row(cells: dict[str, str], path: Path) -> tuple[str, str, int, float, str, str] | None:
    """One ok row with a known device, or None (a row that is not one: a failed run, another device, a cell that is
    not a number; the Benchmarks page names the problems in a file, this only stands measurements beside)."""
    if cells.get("status") != "ok":
        return None
    key = _device_key(cells.get("device") or "", cells.get("device_name") or "")
    if key is None:
        return None
    process_cpu = cells.get("clock") == "process_cpu"
    clock = "process CPU time, fastest repeat" if process_cpu else "wall p50"
    try:
        ms = float(cells["latency_ms_min"] if process_cpu else cells["latency_ms_p50"])
        batch = int(cells["batch"])
        detail = f"{cells['dtype']}, {cells['input_size']}, {clock}"
        return cells["model"], key, batch, ms, detail, _shown_path(path)
    except (KeyError, TypeError, ValueError):
        return None


def _shown_path(path: Path) -> str:
    return f"assets/benchmarks/{path.name}" if path.parent == BENCHMARKS else path.name


def _device_key(device: str, device_name: str) -> str | None:
    if device == "cpu":
        return "cpu" if device_name.endswith("(1 thread)") else None  # the table's CPU is the one-thread figure
    peak = lookup_peak(device_name)
    return next((s.key for s in _sheets() if s.name == peak.name), None)


def _sheets():
    from analyzers.devices import datasheets

    return datasheets()


@lru_cache(maxsize=1)
def _held_out() -> tuple[dict[str, str], ...]:
    if not HELD_OUT.exists():
        return ()
    with HELD_OUT.open(newline="", encoding="utf-8") as handle:
        return tuple(csv.DictReader(handle))
