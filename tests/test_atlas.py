"""The atlas: a catalogue analysed in worker processes into a JSON-lines file, resumable, with time limits and
errors as rows; and its table for the app, joined with what timm publishes."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from explorer.atlas import ASSETS, AtlasRow, RowStatus, analyse_one, read_rows, run_atlas
from explorer.atlas_table import CatalogueCounts, atlas_frame, counts
from explorer.catalogue import Catalogue
from explorer.catalogue import names as catalogue_names
from explorer.cli import main

ROOT = Path(__file__).resolve().parents[1]

pytest.importorskip("torchvision")


def test_rows_are_written_once_and_a_rerun_resumes(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "atlas.jsonl"
    first = run_atlas(Catalogue.TORCHVISION, path, workers=1, names=["alexnet", "squeezenet1_1"], progress=False)
    assert (first.done, first.skipped, first.statuses) == (2, 0, {"ok": 2})
    rows = {r.name: r for r in read_rows(path)}
    # torchvision's AlexNet_Weights meta: 61,100,840 params, 0.714 GFLOPS (conv + linear MACs)
    assert rows["alexnet"].params == rows["alexnet"].published_params == 61_100_840
    assert round(rows["alexnet"].macs / 1e9, 3) == rows["alexnet"].published_gflops == 0.714
    assert rows["alexnet"].inputs == "x 1x3x224x224 float32" and rows["alexnet"].family == "alexnet"
    with open(path, "a", encoding="utf-8") as file:
        file.write('{"catalogue": "torchvision", "name": "vgg')  # a run killed mid-write
    assert len(read_rows(path)) == 2  # a reader skips the torn line
    again = run_atlas(Catalogue.TORCHVISION, path, workers=1, names=["alexnet", "squeezenet1_1", "vgg11"],
                      progress=False)
    assert (again.done, again.skipped) == (1, 2)  # nothing is analysed twice
    assert [r.name for r in read_rows(path)] == ["alexnet", "squeezenet1_1", "vgg11"]  # no row glued to the torn one
    assert "dropped a half-written last line (41 bytes" in capsys.readouterr().err


def test_two_workers_share_the_catalogue(tmp_path: Path) -> None:
    path = tmp_path / "atlas.jsonl"
    result = run_atlas(Catalogue.TORCHVISION, path, workers=2, names=["squeezenet1_0", "squeezenet1_1"],
                       progress=False)
    assert result.statuses == {"ok": 2}
    assert {r.name for r in read_rows(path)} == {"squeezenet1_0", "squeezenet1_1"}


def test_failures_and_time_limits_are_rows() -> None:
    missing = analyse_one("timm", "no_such_model_here", 60)
    assert missing.status is RowStatus.ERROR and "timm has no model 'no_such_model_here'" in missing.error
    slow = analyse_one("torchvision", "vgg11", 0.001)
    assert slow.status is RowStatus.TIMEOUT and slow.error == "stopped after 0.001 s"
    assert AtlasRow.from_json(slow.to_json()) == slow


def test_the_command_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "tv.jsonl"
    assert main(["atlas", "torchvision", "--jsonl", str(path), "--contains", "squeezenet1_1", "--no-progress",
                 "--workers", "1"]) == 0
    assert capsys.readouterr().out.startswith("torchvision: 1 models analysed in ")
    assert json.loads(path.read_text())["status"] == "ok"
    assert main(["atlas", "torchvision", "--jsonl", str(tmp_path), "--no-progress"]) == 2
    assert "is a directory; give the path of an atlas JSON-lines file" in capsys.readouterr().err


def test_the_table_joins_timm_top1_and_fvcore(tmp_path: Path) -> None:
    for name in ("timm-results-imagenet.csv", "timm-benchmark-infer-5090.csv"):
        shutil.copy(ASSETS / name, tmp_path / name)
    row = AtlasRow("timm", "resnet50", family="resnet", task="classification", inputs="x 1x3x224x224 float32",
                   params=25_557_032, macs=4_089_184_256, activation_bytes=1, uncounted_ops=0, pretrained_tag="a1_in1k")
    (tmp_path / "timm.jsonl").write_text(row.to_json() + "\n")
    frame = atlas_frame("timm", tmp_path)
    # timm evaluates resnet50.a1_in1k at 224 (80.382) and at 288 (81.240): the row at our input's size is joined
    results = [line for line in (tmp_path / "timm-results-imagenet.csv").read_text().splitlines()
               if line.startswith("resnet50.a1_in1k,224,")]
    assert frame.loc[0, "top1"] == float(results[0].split(",")[2])
    bench = [line for line in (tmp_path / "timm-benchmark-infer-5090.csv").read_text().splitlines()
             if line.startswith("resnet50,224,")]
    assert frame.loc[0, "fvcore_gmacs"] == float(bench[0].split(",")[3])
    assert counts(frame) == CatalogueCounts(tried=1, analysed=1, fully_counted=1)


# --- the atlas file goes through the one writer; its work is bounded -----------------------------------------


def start_atlas(path: Path, *extra: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "explorer", "atlas", "torchvision", "--jsonl", str(path),
                             "--no-progress", *extra], cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)


def test_two_concurrent_runs_on_one_file_write_each_model_once(tmp_path: Path) -> None:
    """Was: two `atlas torchvision --jsonl f --contains vgg --workers 1` gave 18 rows, 9 of them duplicates."""
    path = tmp_path / "tv.jsonl"
    runs = [start_atlas(path, "--contains", "vgg", "--workers", "1") for _ in range(2)]
    for run in runs:
        _, err = run.communicate(timeout=600)
        assert run.returncode == 0, err
    names = [json.loads(line)["name"] for line in path.read_text().splitlines()]
    vggs = [n for n in catalogue_names(Catalogue.TORCHVISION) if "vgg" in n]
    assert len(vggs) == 9 and sorted(names) == sorted(vggs)


@pytest.mark.parametrize("timeout", ["inf", "1e300", "nan", "0", "-5", "86401"])
def test_a_timeout_that_is_no_limit_is_refused_before_anything_runs(tmp_path: Path, timeout: str,
                                                                     capsys: pytest.CaptureFixture[str]) -> None:
    """Was: `--timeout inf` or `1e300` recorded every model as OverflowError, and a resume then skipped them."""
    path = tmp_path / "tv.jsonl"
    assert main(["atlas", "torchvision", "--jsonl", str(path), "--contains", "vgg11", "--timeout", timeout,
                 "--no-progress"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: --timeout must be a number of seconds above 0 and at most 86,400, got ")
    assert err.count("\n") == 1 and not path.exists()


def test_jsonl_on_a_bench_csv_is_refused_and_the_csv_untouched(tmp_path: Path,
                                                                capsys: pytest.CaptureFixture[str]) -> None:
    """Was: `--jsonl` on a bench CSV appended JSON lines to it."""
    from analyzers.bench.results_file import append_row
    from tests.bench_rows import bench_row

    bench = tmp_path / "bench.csv"
    append_row(bench, bench_row("lenet5", 1, 2.0))
    before = bench.read_bytes()
    assert main(["atlas", "torchvision", "--jsonl", str(bench), "--contains", "vgg11", "--no-progress"]) == 2
    err = capsys.readouterr().err
    assert err == f"error: {bench}: line 1: is not a JSON object; it is not an atlas JSON-lines file (repair or move the file)\n"
    assert bench.read_bytes() == before


def test_unusable_jsonl_paths_are_one_line_never_a_hang(tmp_path: Path) -> None:
    """A binary file was a traceback, /dev/zero was read until MemoryError, a FIFO hung."""
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    binary = tmp_path / "binary.jsonl"
    binary.write_bytes(bytes(range(256)))
    for path, reason in [(fifo, "is not a regular file"), (Path("/dev/zero"), "is not a regular file"),
                         (binary, "holds binary data")]:
        run = start_atlas(path, "--contains", "vgg11")
        out, err = run.communicate(timeout=300)
        assert run.returncode == 2 and err.startswith(f"error: {path}") and reason in err and err.count("\n") == 1
    assert binary.read_bytes() == bytes(range(256))


def test_workers_are_capped_by_cores_and_memory(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Was: `--workers 8` started 8 workers on 2 cores (7.5 GB)."""
    from analyzers.budget import CPU_WORK_BUDGET_BYTES, parallel_jobs

    cores = len(os.sched_getaffinity(0))
    available = int(next(line.split()[1] for line in Path("/proc/meminfo").read_text().splitlines()
                         if line.startswith("MemAvailable:"))) * 1024
    jobs = parallel_jobs(64)
    assert 1 <= jobs.jobs <= min(cores, max(1, available // CPU_WORK_BUDGET_BYTES)) and jobs.cores == cores
    path = tmp_path / "tv.jsonl"
    assert main(["atlas", "torchvision", "--jsonl", str(path), "--contains", "squeezenet1_1", "--workers", "64",
                 "--no-progress"]) == 0
    assert f"note: --workers 64 capped at {jobs.jobs}: this machine has {cores} core(s)" in capsys.readouterr().err
