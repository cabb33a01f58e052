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

from analyzers.bench.harness import BenchConfig, run_sweep
from analyzers.bench.results_file import ResultsFile, ResultsFileError
from analyzers.bench.schema import BENCH_RESULTS, COLUMN_NAMES, load_results
from analyzers.devices import Precision
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


# --- rows the file cannot hold, work without end (issue 22) --------------------------------------------------


def run_cli(*argv: str, timeout: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "explorer", *argv], cwd=ROOT, capture_output=True, text=True,
                          timeout=timeout)


def test_a_batch_beyond_64_bits_is_refused_and_the_file_stays_usable(tmp_path):
    """Was: `--batch 999…9` (30 digits) wrote a row the schema rejects; from then on every `bench … --csv` and
    `ensemble --results` on that file failed."""
    csv_path = tmp_path / "r.csv"
    common = ("--iters", "1", "--warmup", "0", "--device", "cpu", "--csv", str(csv_path))
    huge = run_cli("bench", "lenet5", "--batch", "9" * 30, *common)
    assert huge.returncode == 2 and huge.stderr.count("\n") == 1
    assert huge.stderr.startswith(f"error: --batch '{'9' * 30}': expected positive integers up to 9,223,372,")
    assert not csv_path.exists()
    assert run_cli("bench", "lenet5", "--batch", "1", *common).returncode == 0
    ensemble = run_cli("ensemble", "lenet5", "--results", str(csv_path))
    assert ensemble.returncode == 0 and "measured latency" in ensemble.stdout
    assert load_results(csv_path)["batch"].tolist() == [1]


def test_endless_iterations_stop_at_the_time_limit_as_an_error_row(tmp_path, capsys):
    """Was: `--iters 1000000000000` (or `--warmup`) never ended. Now each configuration has a time limit; the one
    over it is a row saying so, and the sweep goes on to the next."""
    csv_path = tmp_path / "r.csv"
    for flag in ("--iters", "--warmup"):
        status = cli_bench.run(bench_args("conv_6x6x3_normal", "--input", "3x6x6", "--device", "cpu", "--iters", "1",
                                          "--warmup", "0", flag, "1000000000000", "--batch", "1" if flag == "--iters"
                                          else "2", "--timeout", "1", "--csv", str(csv_path)))  # fmt: skip
        assert status == 1  # an error row
    rows = load_results(csv_path)
    assert rows["status"].tolist() == ["error", "error"]
    assert set(rows["error_message"]) == {"stopped after 1 s (the time limit per configuration)"}
    assert "stopped after 1 s" in capsys.readouterr().out


@pytest.mark.parametrize("timeout", ["inf", "1e300", "nan", "-1", "86401"])
def test_a_bench_timeout_that_is_no_limit_is_refused(tmp_path, timeout, capsys):
    from explorer.cli import main

    assert main(["bench", "lenet5", "--device", "cpu", "--timeout", timeout, "--csv", str(tmp_path / "r.csv")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: argument --timeout: expected seconds from 0 (no limit) to 86400") and err.count("\n") == 1
    assert not (tmp_path / "r.csv").exists()


def test_the_measured_peak_probe_shrinks_the_matmul_for_a_slow_precision(monkeypatch):
    """Was: `--peak measured --dtype fp16 --device cpu` ran over 90 s (a 2048² fp16 matmul on a CPU without
    half-precision units takes seconds, and the probe runs ten). The size doubles from 256 only while the next one
    (8× the work) stays within the time per call."""
    from analyzers import devices

    def fake_seconds(rate: float):
        return lambda device, precision, size, repeats: 2 * size**3 / rate

    monkeypatch.setattr(devices, "_matmul_seconds", fake_seconds(1e9))  # 1 GFLOP/s: 256² takes 34 ms, 512² 0.27 s
    assert devices._matmul_size(torch.device("cpu"), Precision.FP16, 2048, 0.25) == 256
    monkeypatch.setattr(devices, "_matmul_seconds", fake_seconds(1e11))  # 100 GFLOP/s: 2048² takes 0.17 s
    assert devices._matmul_size(torch.device("cpu"), Precision.FP32, 2048, 0.25) == 2048
    assert devices._matmul_size(torch.device("cpu"), Precision.FP32, 1024, 0.25) == 1024


def test_measured_fp16_peak_on_the_cpu_finishes_within_its_limit(tmp_path):
    result = run_cli("bench", "lenet5", "--peak", "measured", "--dtype", "fp16", "--device", "cpu", "--iters", "1",
                     "--warmup", "0", "--timeout", "60", "--csv", str(tmp_path / "r.csv"))
    assert result.returncode == 0, result.stderr
    assert load_results(tmp_path / "r.csv")["peak_source"].tolist() == ["measured"]


# --- bench --train: rows as they finish, through the one writer ------------------------------------------------


def train_rows(path: Path) -> list[dict[str, str]]:
    if not path.exists():
        return []
    with open(path, newline="", encoding="utf-8") as source:
        return list(csv.DictReader(source))


@pytest.mark.parametrize("stop", [signal.SIGKILL, signal.SIGINT], ids=["kill-9", "ctrl-c"])
def test_bench_train_keeps_finished_rows_when_stopped_and_a_rerun_adds_only_the_rest(tmp_path, stop):
    """Was: `bench --train` wrote only at the end (a kill or Ctrl-C after minutes left nothing, though Ctrl-C said
    finished rows are kept), and a rerun duplicated rows."""
    csv_path, train_path = tmp_path / "b.csv", tmp_path / "b_train.csv"
    batches = ",".join(str(b) for b in range(1, 13))
    argv = [sys.executable, "-m", "explorer", "bench", "lenet5", "--train", "--device", "cpu", "--batch", batches,
            "--warmup", "0", "--csv", str(csv_path)]
    one_thread = {**os.environ, "OMP_NUM_THREADS": "1"}  # a 2-core machine shared by many: no spinning threads
    process = subprocess.Popen([*argv, "--iters", "100"], cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               text=True, env=one_thread)
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline and not train_rows(train_path) and process.poll() is None:
        time.sleep(0.02)
    assert process.poll() is None, "the run ended before any row was on disk"
    process.send_signal(stop)
    _, err = process.communicate(timeout=60)
    kept = train_rows(train_path)
    assert 1 <= len(kept) < 12
    if stop == signal.SIGINT:
        assert process.returncode == 130 and "rows already printed or written are kept" in err
    rerun = subprocess.run([*argv, "--iters", "1"], cwd=ROOT, capture_output=True, text=True, timeout=300,
                           env=one_thread)
    assert rerun.returncode == 0, rerun.stderr
    assert f"{12 - len(kept)} row(s) appended to {train_path}, {len(kept)} already present (skipped)" in rerun.stdout
    rows = train_rows(train_path)
    assert sorted(int(row["batch"]) for row in rows) == list(range(1, 13))
    assert rows[: len(kept)] == kept
