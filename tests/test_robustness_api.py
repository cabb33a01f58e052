"""The Python API against careless and hostile input: a `UserError` with one line, never another exception, a
hang on a FIFO or an unbounded read. (bench/attack.py tries many more cases, with time and memory limits.)"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import torch
from torch import nn

from analyzers import UserError, analyze
from analyzers.reports import table, training
from analyzers.training.analyze import analyze_training

CONV = nn.Sequential(nn.Conv2d(3, 8, 3))


@pytest.mark.parametrize(("model", "message"), [
    (None, "model must be a torch.nn.Module instance, got NoneType"),
    (lambda x: x, "model must be a torch.nn.Module instance, got function"),
    (nn.Linear, "model must be a torch.nn.Module instance, got type (a class: build it first)"),
])
def test_analyze_refuses_what_is_not_a_module(model, message):
    with pytest.raises(UserError) as caught:
        analyze(model, (3, 8, 8))
    assert str(caught.value) == message


def test_analyze_refuses_a_dtype_that_is_not_a_torch_dtype():
    with pytest.raises(UserError, match=r"^dtype must be a torch\.dtype such as torch\.float32, got 'fp32'$"):
        analyze(CONV, (3, 8, 8), dtype="fp32")


@pytest.fixture
def places(tmp_path):
    os.mkfifo(tmp_path / "fifo")  # opened to write, it would wait for a reader forever
    return {"directory": (tmp_path, "it is a directory"),
            "fifo": (tmp_path / "fifo", "it is a FIFO no process is reading"),
            "device": (Path("/dev/full"), "No space left on device"),
            "long name": (tmp_path / ("a" * 300), "File name too long"),
            "missing folder": (tmp_path / "no" / "x", "No such file or directory")}


@pytest.mark.parametrize("place", ["directory", "fifo", "device", "long name", "missing folder"])
def test_report_writers_refuse_what_they_cannot_write_in_one_line(places, place):
    path, reason = places[place]
    analysis = analyze(CONV, (3, 8, 8))
    steps = analyze_training(CONV, (3, 8, 8), 2)
    for write in (lambda: table.to_csv(analysis, path), lambda: table.to_json(analysis, path),
                  lambda: training.to_csv(steps, path), lambda: training.to_json(steps, path)):
        with pytest.raises(UserError) as caught:
            write()
        assert str(caught.value) == f"cannot write {path}: {reason}"
    if place == "missing folder":  # a report is written where asked or not at all: no folder is made for it
        assert not path.parent.exists()


def test_read_csv_refuses_a_fifo_a_device_binary_data_and_a_foreign_header_before_parsing(tmp_path):
    os.mkfifo(tmp_path / "fifo")
    (tmp_path / "binary.csv").write_bytes(bytes(range(256)))
    wide = tmp_path / "wide.csv"  # 700,000 columns: pandas would take minutes over it
    wide.write_text(",".join(f"c{i}" for i in range(700_000)) + "\n1\n")
    cases = [(tmp_path / "fifo", "is not a regular file"), ("/dev/zero", "is not a regular file"),
             (tmp_path / "binary.csv", "holds binary data (a NUL byte)"),
             (wide, "not a layer report: 700,000 column(s) in its header, without name, type, kind, category, depth")]
    for path, reason in cases:
        with pytest.raises(UserError) as caught:
            table.read_csv(path)
        assert reason in str(caught.value)


def test_the_writers_still_write(tmp_path):
    analysis = analyze(CONV, (3, 8, 8))
    path = tmp_path / "report.csv"
    path.write_text("x" * 100_000)  # an older, longer file: replaced, not overwritten in part
    table.to_csv(analysis, path)
    back = table.read_csv(path)
    assert list(back.name) == ["", "0"] and int(back.macs.iloc[1]) == 6 * 6 * 8 * 3 * 3 * 3  # 7,776 by hand
    assert torch.equal(torch.tensor(back.macs.to_numpy()), torch.tensor([7776, 7776]))


def test_a_cpu_run_over_the_budget_is_refused_with_what_fits():
    # resnet18: 11,689,512 params = 46,758,048 B; per image 20,678,560 B of activations + 602,112 B of input; at
    # most (2^31 − 46,758,048) / 21,280,672 = 98.7 images (the CLI's rows in test_robustness_cli.py say the same)
    import torchvision

    resnet18 = torchvision.models.resnet18()
    with pytest.raises(UserError) as caught:
        analyze(resnet18, (3, 224, 224), 512, device="cpu")
    assert str(caught.value) == ("ResNet on the CPU at batch 512, input 3x224x224, needs about 10.2 GiB of memory, "
                                 "over the 2 GiB budget for CPU work; at most batch_size=98 fits")
    with pytest.raises(UserError, match=r"at batch 1 at most input_size=\(3, 2221, 2221\) fits$"):
        analyze(resnet18, (3, 20000, 20000), device="cpu")
