"""Benchmark rows are never lost or corrupted: unusable results files fail in one line, a process killed
mid-write leaves a torn line that the next run drops (and says so), concurrent sweeps write each row once, and
a CPU allocation failure is recorded as `oom`."""

from __future__ import annotations

import csv
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
from torch import nn

from analyzers.bench.schema import BENCH_RESULTS, COLUMN_NAMES, load_results
from analyzers.bench.harness import BenchConfig, run_sweep
from analyzers.bench.results_file import ResultsFile, ResultsFileError
from explorer.cli import bench as cli_bench
from tests.test_benchmark import bench_args

ROOT = Path(__file__).resolve().parents[1]


def tiny_factory(name: str, device: torch.device) -> nn.Module:
    """A 3→5 3×3 convolution; a model named 'huge' asks the CPU allocator for a petabyte."""
    if name == "huge":
        return HugeAllocation()
    return nn.Conv2d(3, 5, 3, bias=False).to(device)


class HugeAllocation(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 5, 3, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        torch.empty(1 << 50, dtype=torch.uint8)  # 1 PiB: the real DefaultCPUAllocator failure
        return self.conv(x)


def configs(count: int, iters: int = 2) -> list[BenchConfig]:
    return [BenchConfig("tiny", batch, (3, 6, 6), iters=iters, warmup=0) for batch in range(1, count + 1)]


def data_lines(path: Path) -> list[str]:
    return path.read_bytes().decode("utf-8").splitlines()[1:]


def batches(path: Path) -> list[int]:
    with open(path, newline="", encoding="utf-8") as source:
        return [int(row["batch"]) for row in csv.DictReader(source)]


def sweep_in_subprocess(csv_path: Path, count: int, iters: int) -> None:
    """Entry point of the subprocess tests: one sweep of `count` tiny configurations."""
    run_sweep(configs(count, iters), tiny_factory, csv_path, counter=None, progress=False)


def start_sweep(csv_path: Path, count: int, iters: int) -> subprocess.Popen:
    code = (
        "import sys; from pathlib import Path; from tests.test_bench_csv_robustness import sweep_in_subprocess; "
        f"sweep_in_subprocess(Path(sys.argv[1]), {count}, {iters})"
    )
    return subprocess.Popen([sys.executable, "-c", code, str(csv_path)], cwd=ROOT, stderr=subprocess.PIPE, text=True)


# --- results files the CLI cannot use: one line, exit 2, nothing touched ------------------------------------


def unusable_targets(tmp_path: Path) -> list[tuple[Path, str]]:
    binary = tmp_path / "picture.csv"
    binary.write_bytes(bytes(range(256)) * 4)
    latin1 = tmp_path / "latin1.csv"
    latin1.write_bytes((",".join(COLUMN_NAMES) + "\r\nr\xe9seau,1\r\n").encode("latin-1"))
    return [
        (tmp_path, "is a directory"),
        (Path("/sys/results.csv"), "cannot open for writing"),
        (Path("/dev/full"), "is not a regular file"),
        (Path("/proc/version"), "another results schema"),
        (binary, "holds binary data"),
        (latin1, "is not UTF-8 text (byte 0xe9"),
    ]


def test_cli_refuses_unusable_results_files_in_one_line(tmp_path, capsys):
    for target, reason in unusable_targets(tmp_path):
        before = target.read_bytes() if target.is_file() and target.parent == tmp_path else None
        status = cli_bench.run(bench_args("conv_6x6x3_normal", "--input", "3x6x6", "--device", "cpu",
                                          "--iters", "1", "--warmup", "0", "--csv", str(target)))  # fmt: skip
        err = capsys.readouterr().err
        assert status == 2, (target, err)
        assert err.startswith(f"error: {target}") and reason in err and err.count("\n") == 1, err
        if before is not None:
            assert target.read_bytes() == before  # refused, not repaired or appended to


def test_python_entry_point_refuses_a_directory_without_a_traceback(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "explorer", "bench", "conv_6x6x3_normal", "--input", "3x6x6", "--device", "cpu",
         "--csv", str(tmp_path)], cwd=ROOT, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert result.returncode == 2
    assert result.stderr == f"error: {tmp_path} is a directory; give the path of a bench results CSV\n"


def test_a_full_disk_while_writing_a_row_is_one_line(tmp_path, monkeypatch):
    row = load_results_row(tmp_path)

    def full(fd: int, data: bytes) -> int:
        raise OSError(28, "No space left on device")

    with ResultsFile(tmp_path / "rows.csv", BENCH_RESULTS) as results:
        monkeypatch.setattr(os, "write", full)
        with pytest.raises(ResultsFileError, match=r"rows\.csv: cannot write: No space left on device$"):
            results.append(row)


def load_results_row(tmp_path: Path):
    """The values of a real measured row, from a sweep into a scratch file."""
    from dataclasses import asdict

    (result,) = run_sweep(configs(1), tiny_factory, tmp_path / "scratch.csv", counter=None, progress=False)
    return asdict(result)


# --- a CPU out-of-memory is oom, not an error ----------------------------------------------------------------


def test_cpu_allocation_failure_is_recorded_as_oom(tmp_path):
    csv_path = tmp_path / "rows.csv"
    sweep = [BenchConfig("huge", 1, (3, 6, 6), iters=1, warmup=0), *configs(1)]
    results = run_sweep(sweep, tiny_factory, csv_path, counter=None, progress=False)
    assert [r.status for r in results] == ["oom", "ok"]
    assert load_results(csv_path)["status"].tolist() == ["oom", "ok"]


# --- torn last lines -----------------------------------------------------------------------------------------


def test_a_torn_last_line_is_dropped_on_resume_and_reported(tmp_path, capsys):
    csv_path = tmp_path / "rows.csv"
    run_sweep(configs(3), tiny_factory, csv_path, counter=None, progress=False)
    whole = csv_path.read_bytes()
    last_row_start = whole.rstrip(b"\r\n").rfind(b"\n") + 1
    csv_path.write_bytes(whole[: last_row_start + 25])  # killed 25 bytes into writing row 3
    resumed = run_sweep(configs(4), tiny_factory, csv_path, counter=None, progress=False)
    err = capsys.readouterr().err
    assert [r.batch for r in resumed] == [3, 4]  # the torn row is measured again, then the new one
    assert batches(csv_path) == [1, 2, 3, 4]
    assert err.count("\n") == 1 and "dropped a half-written last line (25 bytes" in err
    assert len(load_results(csv_path)) == 4  # and the file loads: no glued line


def test_a_torn_header_is_rewritten(tmp_path, capsys):
    csv_path = tmp_path / "rows.csv"
    csv_path.write_bytes(b"model,batch,inp")
    (result,) = run_sweep(configs(1), tiny_factory, csv_path, counter=None, progress=False)
    assert "dropped a half-written last line (15 bytes" in capsys.readouterr().err
    assert list(load_results(csv_path)["batch"]) == [1]


def test_a_sweep_killed_mid_run_resumes_with_every_row_once(tmp_path):
    csv_path = tmp_path / "rows.csv"
    process = start_sweep(csv_path, count=40, iters=400)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and (not csv_path.exists() or len(data_lines(csv_path)) < 3):
        time.sleep(0.02)
    os.kill(process.pid, signal.SIGKILL)
    process.wait()
    killed_at = len(data_lines(csv_path))
    assert 3 <= killed_at < 40
    run_sweep(configs(40, iters=2), tiny_factory, csv_path, counter=None, progress=False)
    assert sorted(batches(csv_path)) == list(range(1, 41))
    assert batches(csv_path)[:3] == [1, 2, 3]


# --- concurrent writers --------------------------------------------------------------------------------------


def test_two_sweeps_on_one_file_write_every_configuration_exactly_once(tmp_path):
    csv_path = tmp_path / "rows.csv"
    processes = [start_sweep(csv_path, count=30, iters=20) for _ in range(2)]
    for process in processes:
        _, err = process.communicate(timeout=300)
        assert process.returncode == 0, err
    assert sorted(batches(csv_path)) == list(range(1, 31))
    frame = load_results(csv_path)
    assert len(frame) == 30 and (frame["status"] == "ok").all()


def test_a_row_another_process_wrote_first_is_not_written_again(tmp_path):
    csv_path = tmp_path / "rows.csv"
    values = load_results_row(tmp_path)
    with ResultsFile(csv_path, BENCH_RESULTS) as first, ResultsFile(csv_path, BENCH_RESULTS) as second:
        assert first.append(values) is True
        assert second.append(values) is False  # it reads the other's row under the lock first
    assert len(data_lines(csv_path)) == 1
