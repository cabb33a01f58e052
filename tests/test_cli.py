"""`python -m explorer`: outputs and every user-error path (one line on stderr, exit code 2)."""

import json
import subprocess
import sys

import pandas as pd
import pytest

from analyzers.errors import UserError
from analyzers.reports.table import read_csv
from explorer.cli import main


def run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_list_shows_names_families_and_inputs(capsys):
    code, out, _ = run(capsys, "list")
    assert code == 0
    assert "inception_5x5_naive" in out and "192x28x28" in out and "resnet50" in out
    code, out, _ = run(capsys, "list", "--family", "inception", "--json")
    names = [json.loads(line)["name"] for line in out.splitlines()]
    assert "googlenet" in names and "resnet50" not in names


def test_summary_json_has_the_documented_keys(capsys):
    code, out, _ = run(capsys, "summary", "conv_6x6x3_depthwise_separable", "--json")
    assert code == 0
    summary = json.loads(out)
    for key in ("name", "input", "batch", "params", "trainable_params", "macs", "flops", "activation_bytes",
                "uncounted_ops"):
        assert key in summary
    assert summary["macs"] == 672 and summary["flops"] == 1344 and summary["input"] == "3x6x6"


def test_summary_with_input_batch_and_builder_options(capsys):
    code, out, _ = run(capsys, "summary", "inception_5x5_naive", "--input", "192x14x14", "--batch", "2", "--json")
    assert json.loads(out)["macs"] == 2 * 14 * 14 * 32 * 5 * 5 * 192
    _, full, _ = run(capsys, "summary", "mobilenet_v1", "--json")
    _, slim, _ = run(capsys, "summary", "mobilenet_v1", "--set", "width_mult=0.5", "--json")
    assert json.loads(slim)["params"] < json.loads(full)["params"]


def test_summary_text_and_crosscheck_with_fvcore(capsys):
    code, out, _ = run(capsys, "summary", "inception_5x5_bottleneck", "--crosscheck", "fvcore", "--json")
    summary = json.loads(out)
    assert summary["fvcore_macs"] == summary["macs"] == 12_443_648
    assert "fused multiply-add" in summary["crosscheck"]
    code, out, _ = run(capsys, "summary", "lenet5")
    assert "416,520" in out and "61,706" in out


def test_summary_all_prints_one_json_object_per_model(capsys):
    code, out, _ = run(capsys, "summary", "--all", "--family", "seed_block", "--json")
    from explorer.zoo import list_models

    lines = [json.loads(line) for line in out.splitlines()]
    assert [line["name"] for line in lines] == [m.name for m in list_models(family="seed_block")]
    macs = {line["name"]: line["macs"] for line in lines}
    assert [macs[name] for name in ("inception_5x5_naive", "inception_5x5_bottleneck", "conv_6x6x3_normal",
                                    "conv_6x6x3_depthwise_separable")] == [120_422_400, 12_443_648, 2_160, 672]


def test_report_prints_a_table_and_writes_csv_and_json(capsys, tmp_path):
    code, out, _ = run(capsys, "report", "inception_5x5_bottleneck")
    assert code == 0 and "out 28×28×32 · kernel 5×5×16 = 10,035,200 MACs" in out
    csv_path, json_path = tmp_path / "r.csv", tmp_path / "r.json"
    code, _, _ = run(capsys, "report", "lenet5", "--csv", str(csv_path), "--json", str(json_path), "--depth", "1")
    assert code == 0
    frame = read_csv(csv_path)
    for column in ("name", "type", "depth", "input_shape", "output_shape", "params", "macs", "flops",
                   "elementwise_ops", "activation_bytes", "formula"):
        assert column in frame.columns
    assert frame.depth.max() == 1 and frame.loc[frame.is_leaf, "macs"].sum() == 416_520
    assert json.loads(json_path.read_text())["summary"]["params"] == 61_706
    code, out, _ = run(capsys, "report", "lenet5", "--markdown")
    assert out.startswith("| name | type |")


@pytest.mark.parametrize(
    "argv, message",
    [
        (["summary", "resnet5"], "unknown model 'resnet5'; did you mean resnet50"),
        (["summary", "lenet5", "--input", "1xax32"], "--input '1xax32': expected CxHxW (1 to 4 sizes) with positive "
         "integers, e.g. 3x224x224"),
        (["summary", "lenet5", "--input", "1x0x32"], "--input '1x0x32': expected CxHxW (1 to 4 sizes) with positive "
         "integers, e.g. 3x224x224; got a 0"),
        (["summary", "lenet5", "--input", "1x-3x32"], "--input '1x-3x32': expected CxHxW (1 to 4 sizes) with positive "
         "integers"),
        (["summary", "lenet5", "--input", "1x2x3x4x5"], "--input '1x2x3x4x5': expected CxHxW (1 to 4 sizes) with "
         "positive integers, e.g. 3x224x224; got 5 sizes"),
        (["summary", "lenet5", "--batch", "-1"], "argument --batch: expected a positive integer, got -1"),
        (["summary", "alexnet_2012", "--input", "3x4x4"], "conv1: (4 + 2·0 − 11)/4 + 1 < 1"),
        (["summary", "lenet5", "--set", "width"], "--set takes KEY=VALUE"),
        (["summary", "lenet5", "--set", "depth=3"], "lenet5 does not take option(s) depth"),
        (["summary"], "summary needs a model name"),
        (["frobnicate"], "invalid choice: 'frobnicate'"),
        (["report", "lenet5", "--csv", "/nonexistent-dir/x.csv"], "cannot write /nonexistent-dir/x.csv: No such file"),
        (["list", "--family", "dinosaurs"], "unknown family 'dinosaurs'"),
    ],
)
def test_bad_input_gets_one_line_and_exit_code_2(capsys, argv, message):
    code, out, err = run(capsys, *argv)
    assert code == 2
    assert err.startswith("error: ") and err.count("\n") == 1, err
    assert message in err


def test_report_to_a_directory_is_refused(capsys, tmp_path):
    code, _, err = run(capsys, "report", "lenet5", "--csv", str(tmp_path))
    assert code == 2 and "is a directory" in err


def test_the_module_entry_point_exits_2_without_a_traceback():
    result = subprocess.run([sys.executable, "-m", "explorer", "summary", "nope"], capture_output=True, text=True,
                            cwd=str(__import__("pathlib").Path(__file__).parents[1]))
    assert result.returncode == 2
    assert result.stderr.startswith("error: unknown model 'nope'") and "Traceback" not in result.stderr


def test_csv_cell_text_matches_the_dataframe_written(tmp_path, capsys):
    path = tmp_path / "r.csv"
    run(capsys, "report", "conv_6x6x3_depthwise_separable", "--csv", str(path))
    raw = pd.read_csv(path)
    assert list(raw.macs) == [672, 432, 240]


LENET_SPEC = """name LeNet-5
input 32x32x1
conv 6 5x5 s1 valid relu
avgpool 2 s2
conv 16 5x5 relu
avgpool 2 s2
flatten
fc 120 relu
fc 84 relu
fc 10
"""


def test_spec_files_go_through_the_same_analyzer(capsys, tmp_path):
    spec = tmp_path / "lenet.txt"
    spec.write_text(LENET_SPEC)
    code, out, _ = run(capsys, "summary", "--spec", str(spec), "--json")
    assert code == 0
    summary = json.loads(out)
    assert (summary["name"], summary["params"], summary["macs"]) == ("LeNet-5", 61_706, 416_520)
    csv_path = tmp_path / "lenet.csv"
    assert run(capsys, "report", "--spec", str(spec), "--csv", str(csv_path))[0] == 0
    assert read_csv(csv_path).loc[lambda f: f.is_leaf, "macs"].sum() == 416_520


def test_spec_errors_name_the_line(capsys, tmp_path):
    spec = tmp_path / "bad.txt"
    spec.write_text("input 4x4x3\nconv 8 5x5\n")
    code, _, err = run(capsys, "summary", "--spec", str(spec))
    assert code == 2 and err == "error: line 2: 5×5 kernel larger than the 4×4 input\n"
    code, _, err = run(capsys, "summary", "--spec", str(tmp_path / "missing.txt"))
    assert code == 2 and err == f"error: cannot read {tmp_path / 'missing.txt'}: No such file or directory\n"


def test_user_factories_are_imported_on_the_command_line_only(capsys, tmp_path, monkeypatch):
    package = tmp_path / "my_models.py"
    package.write_text("from torch import nn\n\ndef build_net():\n"
                       "    return nn.Sequential(nn.Conv2d(3, 8, 3), nn.ReLU())\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    code, out, _ = run(capsys, "summary", "my_models:build_net", "--input", "3x10x10", "--json")
    assert code == 0 and json.loads(out)["macs"] == 8 * 8 * 8 * 3 * 3 * 3
    code, _, err = run(capsys, "summary", "my_models:build_net")
    assert code == 2 and "give the input size with --input" in err
    code, _, err = run(capsys, "summary", "my_models:nothing", "--input", "3x10x10")
    assert code == 2 and err.count("\n") == 1


def test_report_adds_a_per_layer_roofline_on_a_spec_sheet_gpu(capsys, tmp_path):
    path = tmp_path / "r.csv"
    code, _, _ = run(capsys, "report", "conv_6x6x3_normal", "--roofline", "H200", "--dtype", "bf16", "--csv",
                     str(path))
    assert code == 0
    frame = pd.read_csv(path)
    conv = frame[frame.type == "Conv2d"].iloc[0]
    # 2·2,160 FLOPs at 989.4 TFLOP/s vs (weights 135 + input 108 + output 80 elements)·2 bytes at 4,800 GB/s
    compute_ms = 2 * 2_160 / 989.4e12 * 1e3
    memory_ms = (135 + 108 + 80) * 2 / 4_800e9 * 1e3
    assert conv.roofline_ms == pytest.approx(max(compute_ms, memory_ms))
    assert conv.bound_by == "memory"
    assert conv.arithmetic_intensity == pytest.approx(2 * 2_160 / ((135 + 108 + 80) * 2))
    code, out, _ = run(capsys, "summary", "resnet50", "--roofline", "A100 80GB", "--json")
    assert json.loads(out)["roofline_ms"] > 0
    code, _, err = run(capsys, "summary", "lenet5", "--roofline", "TPU v9")
    assert code == 2 and "no spec-sheet peak for that device" in err


def test_dtype_changes_bytes_but_not_counts(capsys):
    _, fp32, _ = run(capsys, "summary", "lenet5", "--json")
    _, bf16, _ = run(capsys, "summary", "lenet5", "--dtype", "bf16", "--json")
    fp32, bf16 = json.loads(fp32), json.loads(bf16)
    assert bf16["macs"] == fp32["macs"] and bf16["param_bytes"] * 2 == fp32["param_bytes"]
    assert bf16["dtype"] == "bfloat16"


# --- user code on the command line: built on meta, stopped by --timeout, never ending the program itself --------

ROOT = __import__("pathlib").Path(__file__).parents[1]

USER_CODE = """
import sys
import torch
from torch import nn

def huge():
    # 100,000 → 215,000 features: 100,000 · 215,000 + 215,000 = 21,500,215,000 parameters (86 GB in fp32)
    return nn.Linear(100_000, 215_000)

class Forever(nn.Module):
    def forward(self, x):
        while True:
            x = x + 0

class Interrupts(nn.Module):
    def forward(self, x):
        raise KeyboardInterrupt

class Exits(nn.Module):
    def forward(self, x):
        sys.exit(0)
"""


@pytest.fixture
def user_code(tmp_path, monkeypatch):
    (tmp_path / "cli_user_code.py").write_text(USER_CODE)
    monkeypatch.syspath_prepend(str(tmp_path))
    return tmp_path


def test_a_factory_is_built_on_meta_so_billions_of_parameters_allocate_nothing(user_code):
    # in a child process whose address space is capped at 12 GB: building on the CPU would need 86 GB and fail
    limit = "import resource; resource.setrlimit(resource.RLIMIT_AS, (12 << 30, 12 << 30)); "
    code = limit + "import sys; from explorer.cli import main; sys.exit(main(sys.argv[1:]))"
    result = subprocess.run(
        [sys.executable, "-c", code, "summary", "cli_user_code:huge", "--input", "100000", "--json"],
        capture_output=True, text=True, cwd=str(ROOT), timeout=120,
        env={**__import__("os").environ, "PYTHONPATH": f"{user_code}:{ROOT}"},
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["params"] == 100_000 * 215_000 + 215_000


def test_a_forward_that_never_returns_is_stopped_by_the_timeout(capsys, user_code):
    code, _, err = run(capsys, "summary", "cli_user_code:Forever", "--input", "4", "--timeout", "1")
    assert code == 2
    assert err == "error: cli_user_code:Forever: stopped after 1 s (--timeout); its import, build or forward did " \
        "not finish\n"


@pytest.mark.parametrize(
    ("ref", "message"),
    [
        ("cli_user_code:Interrupts", "error: the model's code raised KeyboardInterrupt\n"),
        ("cli_user_code:Exits", "error: the model's code called sys.exit(0); a model must not end the program\n"),
    ],
)
def test_user_code_that_raises_keyboard_interrupt_or_exits_is_one_line_and_exit_2(capsys, user_code, ref, message):
    code, out, err = run(capsys, "report", ref, "--input", "4")
    assert (code, out, err) == (2, "", message)


def test_timeout_must_be_a_number_of_seconds(capsys):
    code, _, err = run(capsys, "summary", "lenet5", "--timeout", "soon")
    assert code == 2 and "argument --timeout: expected seconds from 0 (no limit) to 86400, got 'soon'" in err


def test_a_spec_file_that_is_not_utf8_text_is_one_line(capsys, tmp_path):
    binary = tmp_path / "model.bin"
    binary.write_bytes(b"input 8x8x1\n\xff\xfe conv 2 3x3\n")
    code, _, err = run(capsys, "summary", "--spec", str(binary))
    assert (code, err) == (2, f"error: {binary} is not UTF-8 text (byte 0xff at offset 12); a spec file is UTF-8\n")
    code, _, err = run(capsys, "summary", "--spec", "/bin/ls")  # a real binary: one line, no traceback
    assert (code, err) == (2, "error: /bin/ls holds binary data (a NUL byte); it is not a spec file\n")


def test_a_spec_file_too_large_for_a_spec_is_refused_before_reading_it_all(capsys, tmp_path):
    big = tmp_path / "big.txt"
    big.write_bytes(b"#" * 400_001)  # 4 bytes × 100,000 characters is the most a spec can take in UTF-8
    code, _, err = run(capsys, "summary", "--spec", str(big))
    assert (code, err) == (2, f"error: {big} is 400,001 bytes; a spec file may have at most 400,000 bytes\n")


def test_control_characters_in_a_spec_file_name_are_escaped(capsys, tmp_path):
    spec = tmp_path / "red\x1b[31m.txt"
    spec.write_text("input 8x8x1\nconv 2 3x3\n")
    code, out, _ = run(capsys, "summary", "--spec", str(spec))
    assert code == 0 and out.startswith("red\\x1b[31m  input 1x8x8") and "\x1b" not in out


def test_module_names_from_user_code_are_printed_escaped(capsys, tmp_path, monkeypatch):
    (tmp_path / "escape_names.py").write_text(
        "from collections import OrderedDict\nfrom torch import nn\n\n"
        "def build():\n    return nn.Sequential(OrderedDict([('clear\\x1b[2J', nn.ReLU())]))\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    code, out, _ = run(capsys, "report", "escape_names:build", "--input", "4")
    assert code == 0 and "clear\\x1b[2J" in out and "\x1b" not in out


def test_summary_all_names_each_model_that_cannot_take_the_input_and_goes_on(capsys):
    from explorer.zoo import list_models

    family = [m.name for m in list_models(family="seed_block")]
    code, out, err = run(capsys, "summary", "--all", "--family", "seed_block", "--input", "3x6x6")
    assert code == 1  # some failed: not 0, and not 2 (the command line itself was fine)
    done = {line["name"]: line for line in map(json.loads, out.splitlines())}
    # the notes' 6×6×3 example: 5 filters of 3×3×3 on a 4×4 output = 4·4·5·27 = 2,160 MACs
    assert done["conv_6x6x3_normal"]["macs"] == 2_160 and done["conv_6x6x3_depthwise_separable"]["macs"] == 672
    *failures, last = err.splitlines()
    failed = [line.removeprefix("error: ").split(": ", 1)[0] for line in failures]
    assert sorted([*done, *failed]) == sorted(family)  # every model reported once, in one place or the other
    assert "error: inception_5x5_naive: 0: expected an input with 192 channels (weight 32×192×5×5, groups 1), " \
        "got 3" in failures
    assert last == f"error: {len(failed)} of {len(family)} models could not be analysed (each named above); the " \
        "others were"


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["summary", "lenet5", "--input", ""], "error: --input needs a value, got an empty string\n"),
        (["summary", "lenet5", "--input", "  "], "error: --input needs a value, got an empty string\n"),
        (["report", "lenet5", "--csv", ""], "error: --csv needs a value, got an empty string\n"),
        (["report", "lenet5", "--json", ""], "error: --json needs a value, got an empty string\n"),
        (["summary", "lenet5", "--roofline", ""], "error: --roofline needs a value, got an empty string\n"),
        (["summary", "--spec", ""], "error: --spec needs a value, got an empty string\n"),
        (["summary", "lenet5", "--set", ""], "error: --set needs a value, got an empty string\n"),
        (["summary", ""], "error: the model name needs a value, got an empty string\n"),
        (["bench", "lenet5", "--csv", ""], "error: --csv needs a value, got an empty string\n"),
    ],
)
def test_an_empty_value_is_refused_not_ignored(capsys, argv, message):
    code, out, err = run(capsys, *argv)
    assert (code, out, err) == (2, "", message)


def test_one_input_size_parser_for_every_command():
    # summary/report and bench read --input with the same grammar (x, ×, commas, spaces around them); bench holds it
    # to the three sizes of an image
    from explorer.cli import bench_configs
    from analyzers.counting.inputs import parse_input_size

    assert parse_input_size(" 3 × 224, 224 ") == (3, 224, 224) == bench_configs.parse_input_size("3x224x224")
    assert parse_input_size("128") == (128,)
    with pytest.raises(UserError, match="expected CxHxW with positive integers, e.g. 3x224x224; got 1 "
                                                        "size$"):
        bench_configs.parse_input_size("128")
    with pytest.raises(UserError, match="expected CxHxW"):
        parse_input_size("9" * 40)  # a digit string longer than any size: refused before int()


def test_counts_past_int64_are_written_exactly_to_csv_and_markdown(capsys, tmp_path, monkeypatch):
    # 8 bias-free linear layers of 2^30 → 2^30: each has 2^30 · 2^30 = 2^60 weights, all 8 make 2^63 — one more
    # than int64 holds (2^63 − 1). On batch 1 each layer does 2^60 MACs, so the model's FLOPs are 2 · 2^63 = 2^64.
    (tmp_path / "past_int64.py").write_text(
        "from torch import nn\n\ndef build():\n"
        "    return nn.Sequential(*[nn.Linear(1 << 30, 1 << 30, bias=False) for _ in range(8)])\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    csv_path = tmp_path / "r.csv"
    code, _, err = run(capsys, "report", "past_int64:build", "--input", str(1 << 30), "--csv", str(csv_path))
    assert (code, err) == (0, "")
    model_row = pd.read_csv(csv_path, dtype=str).iloc[0]
    assert int(model_row.params) == 2**63 and int(model_row.flops) == 2**64
    code, out, _ = run(capsys, "report", "past_int64:build", "--input", str(1 << 30), "--markdown")
    assert code == 0 and "| 9,223,372,036,854,775,808 | 9,223,372,036,854,775,808 |" in out


def test_list_shows_each_model_s_options_with_their_ranges(capsys):
    code, out, _ = run(capsys, "list", "--contains", "efficientnet")
    header, *rows = out.splitlines()
    assert code == 0 and header.rstrip().endswith("options (--set KEY=VALUE)")
    row = next(r for r in rows if r.split()[0] == "efficientnet")
    assert "phi=0..7 " in row and row.rstrip().endswith("num_classes=1..100,000 resolution=1..2,048")
    code, out, _ = run(capsys, "list", "--contains", "googlenet", "--json")
    googlenet = next(entry for entry in map(json.loads, out.splitlines()) if entry["name"] == "googlenet")
    assert next(o for o in googlenet["options"] if o["name"] == "aux_logits") == {"name": "aux_logits", "kind": "bool", "default": False, "minimum": None,
                                       "maximum": None, "choices": [], "help": "add the auxiliary classifier heads"}


HOSTILE_NAMES = ["clear\x1b[2J", "two\nlines", "bidi\u202eevil", "<img src=x onerror=alert(1)>",
                 "[x](javascript:alert(1))", "![i](http://127)", "pipe|cell", "*em*_u_`code`", "&lt;"]  # no dots: torch


def test_markdown_report_shows_module_names_as_text(capsys, tmp_path, monkeypatch):
    # rendered by a CommonMark parser with GFM tables: each name cell reads as the name with its control characters
    # escaped (as the terminal table prints them), and nothing in it becomes HTML, a link or an image
    from markdown_it import MarkdownIt

    from analyzers.safe_text import WORD_JOINER, printable

    (tmp_path / "hostile_names.py").write_text(
        "from collections import OrderedDict\nfrom torch import nn\n\n"
        f"def build():\n    return nn.Sequential(OrderedDict((name, nn.ReLU()) for name in {HOSTILE_NAMES!r}))\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    code, out, err = run(capsys, "report", "hostile_names:build", "--input", "4", "--markdown")
    assert (code, err) == (0, "")
    assert not any(ch in out for ch in "\x1b\u202e") and out.count("\n") == len(HOSTILE_NAMES) + 3
    tokens = MarkdownIt("commonmark").enable("table").parse(out)
    cells = [t for t in tokens if t.type == "inline"]
    kinds = {child.type for cell in cells for child in cell.children}
    assert not kinds & {"link_open", "image", "html_inline", "html_block"}, kinds
    shown = ["".join(child.content for child in cell.children).replace(WORD_JOINER, "").replace("\xa0", "")
             for cell in cells]
    assert len(shown) == 7 * (len(HOSTILE_NAMES) + 2)  # 7 columns; the header, the model, its modules
    assert shown[2 * 7::7] == [printable(name) for name in HOSTILE_NAMES]  # each module row's first cell


def test_what_a_cpu_refusal_suggests_fits_and_a_little_more_does_not():
    # the rows of test_robustness_cli.py give the messages; here the suggestions are held to the estimate itself
    from analyzers import analyze
    from analyzers.budget import CPU_WORK_BUDGET_BYTES, forward_bytes
    from explorer.zoo import build_model

    resnet18 = build_model("resnet18").module
    assert forward_bytes(analyze(resnet18, (3, 224, 224), 98)) <= CPU_WORK_BUDGET_BYTES  # "at most --batch 98 fits"
    assert forward_bytes(analyze(resnet18, (3, 224, 224), 99)) > CPU_WORK_BUDGET_BYTES
    assert forward_bytes(analyze(resnet18, (3, 2221, 2221), 1)) <= CPU_WORK_BUDGET_BYTES  # "--input 3x2221x2221"
    assert forward_bytes(analyze(resnet18, (3, 2243, 2243), 1)) > CPU_WORK_BUDGET_BYTES  # 1% larger sides


def test_a_cpu_run_within_the_budget_still_runs(capsys):
    code, out, err = run(capsys, "summary", "lenet5", "--device", "cpu", "--batch", "4", "--json")
    assert (code, err) == (0, "")
    summary = json.loads(out)
    assert summary["batch"] == 4 and summary["macs"] == 4 * 416_520  # LeNet-5: 416,520 MACs an image
