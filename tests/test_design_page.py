"""The Design page's upload and edit behaviour (issue 14 item 8): an upload's error goes with its file, the stated
limit is the real one, the same file loads again after an example, the caption says when analysis runs, and a
spec error keeps the last good analysis on the page, labelled as the previous one."""

from __future__ import annotations

from pathlib import Path

from streamlit.testing.v1 import AppTest

from analyzers import analyze
from explorer.spec import load_spec

PAGE = Path(__file__).resolve().parents[1] / "explorer" / "pages" / "design.py"
TINY = "name Tiny\ninput 8x8x3\nconv 4 3x3\nflatten\nfc 2\n"


def run_page() -> AppTest:
    at = AppTest.from_file(str(PAGE), default_timeout=120).run()
    assert not at.exception
    return at


def upload(at: AppTest, name: str, data: bytes) -> AppTest:
    at.file_uploader[0].upload(name, data, "text/plain").run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def captions(at: AppTest) -> str:
    return "\n".join(c.value for c in at.caption)


def tiny_macs() -> int:
    spec = load_spec(TINY)
    return analyze(spec.module, spec.input_size).totals.macs


def test_a_good_file_clears_the_error_of_a_rejected_one() -> None:
    at = run_page()
    upload(at, "big.txt", b"#" * 100_001)
    (error,) = at.error
    assert "is 100,001 bytes; a spec may have at most 100,000 bytes" in error.value
    upload(at, "tiny.txt", TINY.encode())
    assert not at.error
    assert at.text_area(key="design_text").value == TINY
    assert f"**{tiny_macs():,}** MACs" in captions(at)
    at.run()  # a rerun does not apply the file again or bring the error back
    assert not at.error and at.text_area(key="design_text").value == TINY


def test_the_stated_upload_limit_is_the_one_enforced() -> None:
    at = run_page()
    uploader = at.file_uploader[0]
    assert "100,000 bytes" in uploader.label and "100,000 bytes" in uploader.help
    assert uploader.proto.max_upload_size_mb == 1  # the widget's smallest cap; the page checks 100,000
    upload(at, "exact.txt", (TINY + " " * (100_000 - len(TINY))).encode())
    assert not at.error  # 100,000 bytes exactly is allowed


def test_the_same_file_loads_again_after_an_example() -> None:
    at = run_page()
    upload(at, "tiny.txt", TINY.encode())
    at.selectbox(key="design_example").select("Inception module").run()
    assert at.text_area(key="design_text").value != TINY
    assert at.file_uploader[0].value is None  # the uploader is emptied, so choosing the file again is a change
    upload(at, "tiny.txt", TINY.encode())
    assert at.text_area(key="design_text").value == TINY


def test_the_caption_says_when_analysis_runs() -> None:
    at = run_page()
    assert "analysed when you press Ctrl+Enter or click outside the editor" in at.caption[0].value
    assert "as you edit" not in at.caption[0].value


def test_a_spec_error_keeps_the_previous_analysis_labelled() -> None:
    at = run_page()
    at.text_area(key="design_text").input(TINY).run()
    at.text_area(key="design_text").input("input 32x32x1\nconv 5x5\n").run()
    assert not at.exception
    assert at.error[0].value.startswith("line 2")
    assert at.header[0].value == "Previous analysis: Tiny"
    assert any("last spec that worked" in info.value for info in at.info)
    assert f"**{tiny_macs():,}** MACs" in captions(at) and at.get("plotly_chart")
    at.text_area(key="design_text").input(TINY.replace("conv 4", "conv 6")).run()  # fixed: a fresh analysis
    assert not at.error and at.header[0].value == "Tiny"
    assert not any("last spec that worked" in info.value for info in at.info)
