"""The one writer of result files (`ResultsFile`), on every schema: each row checked before it is written, appended
under a lock, resumed by key, a torn last line dropped with a warning, a file of another format or schema refused in
one line, and nothing a path can name (a FIFO, /dev/zero, a directory, a binary or huge file) hangs or blows up."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from analyzers.bench.result_schemas import ATLAS_ROWS, GRADIENT_ROWS, TRAIN_BENCH_ROWS
from analyzers.bench.results_file import ResultsFile, ResultsFileError
from analyzers.bench.schema import BENCH_RESULTS, COLUMN_NAMES, load_results
from analyzers.user_files import MAX_INPUT_BYTES
from tests.bench_rows import bench_row

ROOT = Path(__file__).resolve().parents[1]


def atlas_row(name: str, **values: object) -> dict:
    row = {"catalogue": "torchvision", "name": name, "family": "vgg", "task": "classification", "status": "ok",
           "error": "", "inputs": "x 1x3x224x224 float32", "seq_len": None, "params": 132_863_336,
           "macs": 7_609_090_048, "elementwise_ops": 1, "activation_bytes": 2, "activation_elements": 3,
           "weight_depth": 11, "uncounted_ops": 0, "uncounted": {}, "measured_on": "meta", "published_params": None,
           "published_gflops": None, "published_top1": None, "pretrained_tag": "", "seconds": 0.25}
    return {**row, **values}


def gradient_row(model: str, order: int, layers: int = 3, **values: object) -> dict:
    row = {"model": model, "order": order, "layer": f"conv{order}", "type": "Conv2d", "params": 432,
           "grad_norm": 0.1 * (order + 1), "weight_norm": 1.5, "batch": 4, "seed": 0, "init": "he", "layers": layers}
    return {**row, **values}


def train_row(batch: int) -> dict:
    return {"model": "lenet5", "batch": batch, "input": "1x32x32", "device": "cpu", "device_name": "test cpu",
            "optimizer": "sgd", "step_ms_p50": 1.25, "images_per_s": 800.0 * batch, "measured_peak_bytes": None,
            "estimated_peak_bytes": 1_000_000, "estimate_error": None, "estimated_saved_bytes": 50_000}


EXAMPLES = [(BENCH_RESULTS, lambda i: bench_row("lenet5", i + 1, 2.0)), (ATLAS_ROWS, lambda i: atlas_row(f"m{i}")),
            (GRADIENT_ROWS, lambda i: gradient_row("resnet20_cifar", i)), (TRAIN_BENCH_ROWS, lambda i: train_row(i + 1))]
IDS = ["bench", "atlas", "gradients", "train"]


# --- the API: append, keys, resume ---------------------------------------------------------------------------


@pytest.mark.parametrize(("schema", "row"), EXAMPLES, ids=IDS)
def test_a_row_is_written_once_and_its_key_is_seen_by_a_fresh_open(tmp_path, schema, row):
    path = tmp_path / "rows"
    with ResultsFile(path, schema) as results:
        assert results.append(row(0)) is True
        assert results.append(row(0)) is False  # a second row with the same key is not written
        assert results.append(row(1)) is True
        assert row(1) in results
    with ResultsFile(path, schema) as again:  # a rerun resumes from what is on disk
        assert again.keys() == {schema.key_of(row(0)), schema.key_of(row(1))}
        assert again.append(row(1)) is False
    lines = path.read_bytes().splitlines()
    assert len(lines) == (3 if schema.file_format.value == "CSV" else 2)


def test_keys_are_the_key_columns_in_order(tmp_path):
    with ResultsFile(tmp_path / "a.jsonl", ATLAS_ROWS) as results:
        results.append(atlas_row("vgg11"))
        assert results.keys() == {("torchvision", "vgg11", None)}  # seq_len: blank outside hf


def test_a_group_is_written_in_one_write_and_only_its_new_rows(tmp_path):
    path = tmp_path / "g.csv"
    with ResultsFile(path, GRADIENT_ROWS) as results:
        assert results.append(gradient_row("m", 0)) is True
        writes = []
        real_write = os.write
        os.write = lambda fd, data: writes.append(data) or real_write(fd, data)
        try:
            assert results.append_all([gradient_row("m", order) for order in range(3)]) == 2
        finally:
            os.write = real_write
    assert len(writes) == 1 and writes[0].count(b"\n") == 2
    assert [line.split(b",")[1] for line in path.read_bytes().splitlines()[1:]] == [b"0", b"1", b"2"]


# --- never poisoned: a row the schema rejects is not written ----------------------------------------------------


@pytest.mark.parametrize(("schema", "row", "column", "reason"), [
    (BENCH_RESULTS, bench_row("lenet5", 10**30, 2.0), "batch", "is out of range"),
    (BENCH_RESULTS, bench_row("lenet5", 1, float("inf")), "latency_ms_p50", "is not a finite number"),
    (BENCH_RESULTS, {**bench_row("lenet5", 1, 2.0), "dtype": "fp64"}, "dtype", "is not one of"),
    (ATLAS_ROWS, atlas_row("x", params=-1), "params", "below the smallest allowed value"),
    (ATLAS_ROWS, atlas_row("x", status="OverflowError"), "status", "is not one of ok, error, timeout"),
    (ATLAS_ROWS, atlas_row("x", uncounted={"aten.foo": "many"}), "uncounted", "is not an object of names"),
    (ATLAS_ROWS, atlas_row("x", seconds=float("nan")), "seconds", "is blank"),
    (GRADIENT_ROWS, gradient_row("m", 0, batch=True), "batch", "is not an integer"),
    (TRAIN_BENCH_ROWS, {**train_row(1), "optimizer": "lion"}, "optimizer", "is not one of sgd"),
], ids=["huge-batch", "inf-latency", "dtype", "negative", "status", "counts", "nan", "bool-batch", "optimizer"])  # fmt: skip
def test_a_row_the_schema_rejects_is_refused_and_nothing_is_written(tmp_path, schema, row, column, reason):
    path = tmp_path / "rows"
    with ResultsFile(path, schema) as results:
        before = path.read_bytes()
        with pytest.raises(ResultsFileError, match=f"does not fit its schema: column '{column}': .*{reason}"):
            results.append(row)
    assert path.read_bytes() == before


def test_every_row_written_loads_back():
    """The reader's own check runs on every cell as written: an integer the loader cannot hold never lands."""
    with pytest.raises(ResultsFileError, match="out of range"):
        BENCH_RESULTS.encode({**bench_row("lenet5", 1, 2.0), "estimated_memory_bytes": 2**63})
    assert BENCH_RESULTS.encode({**bench_row("lenet5", 1, 2.0), "estimated_memory_bytes": 2**63 - 1}).count(b"\n") == 1


def test_a_gradient_that_overflowed_is_a_result_not_a_bad_row(tmp_path):
    path = tmp_path / "g.csv"
    with ResultsFile(path, GRADIENT_ROWS) as results:
        results.append(gradient_row("m", 0, grad_norm=float("inf")))
    assert path.read_text().splitlines()[1].split(",")[5] == "inf"
    with ResultsFile(path, GRADIENT_ROWS) as results:
        assert len(results.keys()) == 1


# --- torn lines ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("schema", "row"), EXAMPLES, ids=IDS)
def test_a_torn_last_line_is_dropped_with_a_warning_and_the_next_row_is_not_glued_on(tmp_path, schema, row):
    path = tmp_path / "rows"
    with ResultsFile(path, schema) as results:
        results.append(row(0))
        results.append(row(1))
    whole = path.read_bytes()
    last = whole.rstrip(b"\r\n").rfind(b"\n") + 1
    path.write_bytes(whole[: last + 20])  # killed 20 bytes into writing the second row
    warnings = []
    with ResultsFile(path, schema, report=warnings.append) as results:
        assert results.keys() == {schema.key_of(row(0))}
        assert results.append(row(1)) is True
    assert len(warnings) == 1 and "dropped a half-written last line (20 bytes" in warnings[0]
    assert path.read_bytes() == whole


def test_a_torn_utf8_character_in_the_last_line_is_cut_too(tmp_path):
    path = tmp_path / "a.jsonl"
    line = ATLAS_ROWS.encode(atlas_row("vit", error="ünïcode"))
    path.write_bytes(ATLAS_ROWS.encode(atlas_row("a")) + line[: line.index("ü".encode()) + 1])
    warnings = []
    with ResultsFile(path, ATLAS_ROWS, report=warnings.append) as results:
        assert results.keys() == {("torchvision", "a", None)}
    assert len(warnings) == 1


# --- files of another format or schema: one line, untouched -----------------------------------------------------


def test_a_bench_csv_is_not_taken_for_atlas_rows_and_back(tmp_path):
    bench = tmp_path / "bench.csv"
    with ResultsFile(bench, BENCH_RESULTS) as results:
        results.append(bench_row("lenet5", 1, 2.0))
    atlas = tmp_path / "atlas.jsonl"
    with ResultsFile(atlas, ATLAS_ROWS) as results:
        results.append(atlas_row("vgg11"))
    for path, schema, reason in [
        (bench, ATLAS_ROWS, "line 1: is not a JSON object; it is not an atlas JSON-lines file"),
        (atlas, BENCH_RESULTS, "is not a bench results CSV: its header has another results schema"),
        (bench, GRADIENT_ROWS, "is not a gradients CSV: its header has another results schema"),
    ]:
        before = path.read_bytes()
        with pytest.raises(ResultsFileError, match=reason) as caught:
            ResultsFile(path, schema).open()
        assert "\n" not in str(caught.value) and str(caught.value).startswith(str(path))
        assert path.read_bytes() == before


def test_a_foreign_file_without_a_final_newline_is_refused_not_cut(tmp_path):
    notes = tmp_path / "notes.txt"
    notes.write_bytes(b"remember the milk")
    with pytest.raises(ResultsFileError, match="line 1 is not a row of an atlas JSON-lines file"):
        ResultsFile(notes, ATLAS_ROWS).open()
    assert notes.read_bytes() == b"remember the milk"


def test_a_json_line_of_another_schema_is_refused(tmp_path):
    path = tmp_path / "other.jsonl"
    path.write_text(json.dumps({"catalogue": "timm", "name": "x", "colour": "red"}) + "\n")
    with pytest.raises(ResultsFileError, match=r"line 1: has field\(s\) 'colour' that an atlas JSON-lines file"):
        ResultsFile(path, ATLAS_ROWS).open()


def test_a_bad_line_in_the_middle_names_its_line(tmp_path):
    path = tmp_path / "a.jsonl"
    path.write_bytes(ATLAS_ROWS.encode(atlas_row("a")) + b'{"catalogue": "torchvision", "name": "vgg{"catal\n'
                     + ATLAS_ROWS.encode(atlas_row("b")))
    with pytest.raises(ResultsFileError, match=r"a\.jsonl: line 2: is not a JSON object"):
        ResultsFile(path, ATLAS_ROWS).open()


# --- things a path can name -----------------------------------------------------------------------------------


def unusable(tmp_path: Path) -> list[tuple[Path, str]]:
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    binary = tmp_path / "binary.jsonl"
    binary.write_bytes(bytes(range(256)))
    huge = tmp_path / "huge.csv"
    with open(huge, "wb") as handle:
        handle.truncate(MAX_INPUT_BYTES + 1)  # sparse: no disk used
    return [(fifo, "is not a regular file"), (Path("/dev/zero"), "is not a regular file"),
            (tmp_path, "is a directory"), (binary, "holds binary data"), (tmp_path / ("n" * 300), "File name too long"),
            (huge, "over the 256 MiB a result file")]


def test_what_a_path_can_name_is_one_line_never_a_hang(tmp_path):
    """Every schema's writer and the loader, on each unusable path, in a child with a deadline: a FIFO that blocks
    or /dev/zero read to its end would hang the suite."""
    cases = unusable(tmp_path)
    code = (
        "import sys; from analyzers.bench.result_schemas import ATLAS_ROWS, GRADIENT_ROWS\n"
        "from analyzers.bench.results_file import ResultsFile, ResultsFileError\n"
        "from analyzers.bench.schema import BENCH_RESULTS, COLUMN_NAMES, load_results\n"
        "for path in sys.argv[1:]:\n"
        "    for use in [*(ResultsFile(path, s).open for s in (BENCH_RESULTS, ATLAS_ROWS, GRADIENT_ROWS)),\n"
        "                lambda: load_results(path)]:\n"
        "        try:\n"
        "            use(); print('used')\n"
        "        except ResultsFileError as exc:\n"
        "            print(exc)\n"
    )
    result = subprocess.run([sys.executable, "-c", code, *(str(path) for path, _ in cases)], cwd=ROOT,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    lines = iter(result.stdout.splitlines())
    for path, reason in cases:
        loader_reason = "is 256.0 MiB; a bench results CSV may have at most 256 MiB" if path.name == "huge.csv" else reason
        for expected in (reason, reason, reason, loader_reason):
            line = next(lines)
            assert str(path) in line and expected in line, line
    assert next(lines, None) is None


def test_a_header_of_700000_columns_is_refused_before_any_row_is_parsed():
    header = ",".join(f"c{i}" for i in range(700_000)).encode() + b"\n"
    with pytest.raises(ResultsFileError, match=f"the header has 700,000 columns; a results CSV has {len(COLUMN_NAMES)} "
                       "and at most 64 more"):
        load_results(header + b"1\n")


def test_rows_load_back_with_the_loader(tmp_path):
    path = tmp_path / "r.csv"
    with ResultsFile(path, BENCH_RESULTS) as results:
        results.append(bench_row("lenet5", 1, 2.0))
        results.append(bench_row("lenet5", 2, 3.0))
    assert load_results(path)["batch"].tolist() == [1, 2]


# --- concurrent writers --------------------------------------------------------------------------------------


def test_two_processes_appending_the_same_keys_write_each_once(tmp_path):
    """Both children open the file, then start appending the same 100 keys at the same moment (a start signal)."""
    path, go = tmp_path / "a.jsonl", tmp_path / "go"
    code = (
        "import sys, time; from pathlib import Path; from tests.test_results_file import atlas_row\n"
        "from analyzers.bench.result_schemas import ATLAS_ROWS\n"
        "from analyzers.bench.results_file import ResultsFile\n"
        "with ResultsFile(sys.argv[1], ATLAS_ROWS) as results:\n"
        "    Path(sys.argv[1] + sys.argv[2]).touch()\n"
        "    while not Path(sys.argv[3]).exists(): time.sleep(0.005)\n"
        "    for i in range(100):\n"
        "        results.append(atlas_row(f'm{i}', seconds=float(sys.argv[2])))\n"
    )
    children = [subprocess.Popen([sys.executable, "-c", code, str(path), str(n), str(go)], cwd=ROOT) for n in (1, 2)]
    while not all(Path(f"{path}{n}").exists() for n in (1, 2)):
        assert all(child.poll() is None for child in children)
        time.sleep(0.01)
    go.touch()
    for child in children:
        assert child.wait(timeout=120) == 0
    rows = [json.loads(line) for line in path.read_text().splitlines()]
    assert sorted(row["name"] for row in rows) == sorted(f"m{i}" for i in range(100))


# --- every command's files: outputs never block, inputs are bounded (in-process, under a time limit) -------------


@pytest.fixture
def paths(tmp_path):
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    binary = tmp_path / "binary.csv"
    binary.write_bytes(bytes(range(256)) * 4)
    return {"fifo": fifo, "zero": Path("/dev/zero"), "directory": tmp_path, "binary": binary}


def run_main(capsys, *argv: str) -> tuple[int, str, str]:
    """`python -m explorer …` in this process, stopped after 60 s: a hang fails the test instead of the suite."""
    from analyzers.time_limit import time_limit
    from explorer.cli import main

    with time_limit(60):
        code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.mark.parametrize("flag", ["--csv", "--json"])
def test_report_to_a_fifo_nobody_reads_is_one_line_and_to_a_pipe_works(paths, capsys, flag):
    code, _, err = run_main(capsys, "report", "lenet5", flag, str(paths["fifo"]))
    assert code == 2 and err == f"error: cannot write {paths['fifo']}: it is a FIFO no process is reading\n"
    code, _, err = run_main(capsys, "report", "lenet5", flag, str(paths["directory"]))
    assert code == 2 and err == f"error: cannot write {paths['directory']}: it is a directory\n"
    assert run_main(capsys, "report", "lenet5", flag, "/dev/zero")[0] == 0  # a device that takes anything: fine
    reader = subprocess.Popen(["cat", str(paths["fifo"])], stdout=subprocess.PIPE)  # a FIFO with a reader works
    time.sleep(0.2)
    for _ in range(100):
        code, _, err = run_main(capsys, "report", "lenet5", flag, str(paths["fifo"]))
        if code == 0:
            break
        time.sleep(0.05)  # the reader has not opened its end yet
    assert code == 0, err
    assert b"conv1" in reader.communicate(timeout=30)[0]


@pytest.mark.parametrize("what", ["fifo", "zero", "directory", "binary"])
def test_ensemble_results_that_are_no_results_file_are_one_line(paths, capsys, what):
    code, out, err = run_main(capsys, "ensemble", "lenet5", "--results", str(paths[what]))
    reason = {"fifo": "not a regular file", "zero": "not a regular file", "directory": "is a directory",
              "binary": "holds binary data"}[what]
    assert code == 2 and out == "" and err.startswith("error: ") and str(paths[what]) in err and reason in err
    assert err.count("\n") == 1


@pytest.mark.parametrize("what", ["fifo", "zero", "directory", "binary"])
def test_gradients_csv_that_is_no_results_file_is_one_line_before_any_pass(paths, capsys, what):
    code, out, err = run_main(capsys, "gradients", "resnet20_cifar", "--csv", str(paths[what]))
    reason = {"fifo": "is not a regular file", "zero": "is not a regular file", "directory": "is a directory",
              "binary": "holds binary data"}[what]
    assert code == 2 and out == "" and err.startswith(f"error: {paths[what]}") and reason in err
    assert err.count("\n") == 1
    if what == "binary":
        assert paths[what].read_bytes() == bytes(range(256)) * 4
