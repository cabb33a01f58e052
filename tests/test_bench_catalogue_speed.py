"""The plumbing of bench/catalogue_speed.py and bench/cold_cli.py: argument checks (one line, exit 2), the summary
statistics on hand-made rows, resuming, the cold-CLI verdict. Nothing here builds a model or starts a process."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.bench_scripts import load

speed = load("catalogue_speed")
cold = load("cold_cli")
Row, Status = speed.SpeedRow, speed.Status


def _ok(name: str, ours_ms: float, fcm_ms: float, equal: bool = True) -> "speed.SpeedRow":
    flops = 2_000_000
    return Row(name, "fam", params=10, ours_ms=ours_ms, fcm_ms=fcm_ms, ratio=fcm_ms / ours_ms, ours_flops=flops,
               fcm_flops=flops if equal else flops - 6, counts_equal=equal)


ROWS = [
    _ok("a", 10.0, 60.0),  # 6.0×
    _ok("b", 10.0, 20.0),  # 2.0×
    _ok("c", 4.0, 2.0, equal=False),  # 0.5×: FCM faster, and FCM 6 FLOPs fewer
    _ok("d", 5.0, 50.0),  # 10.0×
    Row("e", status=Status.ERROR, error="FlopCounterMode: AssertionError: boom"),
    Row("f", status=Status.SKIPPED, params=500_000_000, error="too big"),
    Row("g", status=Status.TIMEOUT, error="stopped after 120 s"),
]


def test_summary_statistics_on_hand_made_rows() -> None:
    s = speed.summarise(ROWS)
    # Ratios of the four measured rows, sorted: 0.5 (c), 2.0 (b), 6.0 (a), 10.0 (d); median = (2.0 + 6.0) / 2 = 4.0.
    assert s.measured == 4
    assert s.median_ratio == pytest.approx(4.0)
    assert (s.min_ratio, s.min_ratio_model) == (pytest.approx(0.5), "c")
    assert [r.name for r in s.slowest] == ["c", "b", "a", "d"]  # fewer than five measured: all, lowest first
    assert [r.name for r in s.fcm_faster] == ["c"]
    assert [r.name for r in s.mismatches] == ["c"]
    assert [r.name for r in s.failures] == ["e", "g"]
    assert [r.name for r in s.skipped] == ["f"]


def test_markdown_names_every_mismatch_failure_and_skip() -> None:
    text = speed.markdown(speed.summarise(ROWS), 400_000_000)
    assert "| 4 | 4.00× | 0.50× (c) | 1 | 1 | 2 | 1 |" in text
    assert "- c: FCM 1,999,994, ours 2,000,000 (FCM − ours -6)" in text  # 2,000,000 − 6
    assert "- e (error): FlopCounterMode: AssertionError: boom" in text
    assert "- g (timeout): stopped after 120 s" in text
    assert "Skipped 1 model(s) above --max-params 400,000,000" in text and "f (500 M)" in text
    assert "FlopCounterMode faster than ours: c (0.50×)" in text


def test_resume_skips_rows_present_but_redoes_size_skips_the_new_limit_admits(tmp_path: Path) -> None:
    out = tmp_path / "rows.jsonl"
    out.write_text("\n".join(r.to_json() for r in ROWS) + "\n" + '{"name": "torn', encoding="utf-8")
    present = speed.read_rows(out)
    assert set(present) == set("abcdefg")  # the torn last line is dropped
    assert present["a"] == ROWS[0]  # a row survives the round trip through JSON
    # f was skipped at 500 M params: a 400 M limit keeps it skipped, a 600 M limit measures it.
    assert speed.still_to_do(["a", "f", "h"], present, 400_000_000) == ["h"]
    assert speed.still_to_do(["a", "f", "h"], present, 600_000_000) == ["f", "h"]


@pytest.mark.parametrize("argv, message", [
    (["--sample", "some"], "--sample must be one of per-family, all, got 'some'"),
    (["--sample", "all", "--models", "resnet50"], "give --sample or --models, not both"),
    (["--models", " , "], "--models needs at least one timm name"),
    (["--repeats", "0"], "--repeats must be a positive whole number, got '0'"),
    (["--workers", "1.5"], "--workers must be a positive whole number, got '1.5'"),
    (["--timeout", "soon"], "--timeout must be a positive number, got 'soon'"),
    (["--max-params", "-1"], "--max-params must be a positive whole number, got '-1'"),
    (["--bogus"], "unrecognized arguments: --bogus"),
])
def test_bad_arguments_are_one_line_and_exit_2(argv: list[str], message: str,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    assert speed.main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"error: {message}") and err.count("\n") == 1


def test_numbers_in_arguments_are_read_as_written() -> None:
    options = speed.parse_args(["--max-params", "400e6", "--timeout", "2.5", "--models", "a, b"])
    assert (options.max_params, options.timeout_s, options.models, options.sample) == (400_000_000, 2.5, ["a", "b"],
                                                                                        None)
    assert speed.parse_args([]).sample is speed.Sample.PER_FAMILY


@pytest.mark.parametrize("argv, message", [
    (["--runs", "0"], "--runs must be a whole number of at least 1, got '0'"),
    (["--runs", "x"], "--runs must be a whole number of at least 1, got 'x'"),
    (["--bogus"], "unrecognized arguments: --bogus"),
])
def test_cold_cli_bad_arguments_are_one_line_and_exit_2(argv: list[str], message: str,
                                                        capsys: pytest.CaptureFixture[str]) -> None:
    assert cold.main(argv) == 2
    assert capsys.readouterr().err == f"error: {message}\n"


def test_cold_cli_verdict_and_table() -> None:
    torch_cost = cold.Cost("import torch", 2.0, 600.0)
    inside = cold.Cost("inside", 3.5, 700.0)  # +1.5 s, +100 MB: exactly at the target, so within it
    slow = cold.Cost("slow", 3.6, 610.0)  # +1.6 s
    heavy = cold.Cost("heavy", 2.1, 701.0)  # +101 MB
    assert [cold.within_target(c, torch_cost) for c in (inside, slow, heavy)] == [True, False, False]
    table = cold.markdown([inside, slow], torch_cost, 5).splitlines()
    assert table[0].startswith("Median of 5 fresh processes each")
    assert "| `inside` | 3.50 | 700 | +1.50 | +100 | yes |" in table
    assert "| `slow` | 3.60 | 610 | +1.60 | +10 | no |" in table
