"""User-derived text reaches the app as text: a spec line, an uploaded file's name or a cell quoted in an error
message never becomes a link, an image (which the browser would fetch), HTML or any other Markdown.

Streamlit renders `st.error`/`st.warning`/`st.success` bodies as Markdown (CommonMark + GFM). The checks parse
each body with markdown-it (CommonMark) and require that it renders to exactly the user's text in one paragraph:
no link, image or HTML token, nothing dropped. GFM's autolink literals (`http://…`, `www.…`, `a@b.c`) are found
by Streamlit's renderer in the parsed text, after escapes are resolved, so the rendered text itself must hold none
of them (escape_markdown breaks them with an invisible word joiner; test_browser_safety.py checks it in Chromium).
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from markdown_it import MarkdownIt
from markdown_it.common.utils import escapeHtml
from streamlit.testing.v1 import AppTest

from analyzers.bench.results_file import append_row
from explorer.ui.page_setup import WORD_JOINER, escape_markdown, visible_text
from tests.bench_rows import bench_row

PAGES = Path(__file__).resolve().parents[1] / "explorer" / "pages"
IMAGE = "![i](http://127.0.0.1:9/t.png)"
LINK = "[click](http://127.0.0.1:9/x)"
HOSTILE = f"{IMAGE} {LINK} <img src=x onerror=alert(1)> www.example.com a@b.co :red[x] `code` *em* $x$"
_MARKDOWN = MarkdownIt("commonmark")
_GFM_AUTOLINK = re.compile(r"https?://|www\.|[\w.+-]@[\w-]", re.IGNORECASE)  # what GFM links in plain text


def assert_shown_as_text(body: str, original: str | None = None) -> None:
    """The Markdown `body` forms no link, image, HTML or autolink; when given, it reads as `original`."""
    tokens = [t for block in _MARKDOWN.parse(body) for t in [block, *(block.children or [])]]
    kinds = {t.type for t in tokens}
    assert not kinds & {"link_open", "image", "html_inline", "html_block"}, (body, kinds)
    shown = "".join(t.content for t in tokens if t.type == "text")
    assert not _GFM_AUTOLINK.search(shown), shown
    if original is not None:  # characters that show nothing are written as their code point (U+200B)
        rendered = _MARKDOWN.render(body).replace(WORD_JOINER, "")
        assert rendered == f"<p>{escapeHtml(' '.join(visible_text(original).split()))}</p>\n"


def test_hostile_text_is_escaped_into_itself() -> None:
    assert_shown_as_text(escape_markdown(HOSTILE), HOSTILE)


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.characters(codec="utf-8", exclude_categories=["Cs", "Cc"]), min_size=1, max_size=60))
def test_any_text_is_escaped_into_itself(text: str) -> None:
    if not text.strip():
        return
    assert_shown_as_text(escape_markdown(text), text)


def messages(at: AppTest) -> list[str]:
    return [element.value for kind in (at.error, at.warning, at.success, at.info) for element in kind]


def test_an_invisible_character_in_a_spec_error_is_shown_by_its_code_point() -> None:
    """'conv\u200b' (a zero-width space pasted after the keyword) is refused, and the error shows 'convU+200B':
    without it the message quotes 'conv', the very word that looks right."""
    at = AppTest.from_file(str(PAGES / "design.py"), default_timeout=120).run()
    at.text_area(key="design_text").input("input 8x8x3\nconv\u200b 4 3x3\n").run()
    assert not at.exception
    (error,) = at.error
    shown = _MARKDOWN.render(error.value)
    assert "convU+200B" in shown and "\u200b" not in shown


def test_design_spec_error_with_markdown_is_text() -> None:
    at = AppTest.from_file(str(PAGES / "design.py"), default_timeout=120).run()
    at.text_area(key="design_text").input(f"input 32x32x1\n{IMAGE} {LINK}\n").run()
    assert not at.exception
    (error,) = at.error
    assert error.value.startswith("line 2")
    assert_shown_as_text(error.value)
    assert IMAGE not in error.value and LINK not in error.value


def test_design_upload_names_are_text() -> None:
    at = AppTest.from_file(str(PAGES / "design.py"), default_timeout=120).run()
    at.file_uploader[0].upload(f"{IMAGE}.txt", b"\xff\xfe not utf-8", "text/plain").run()
    assert not at.exception
    (error,) = at.error
    assert "not UTF-8 text" in error.value
    assert_shown_as_text(error.value)


def test_benchmark_file_names_and_cells_are_text(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # a shipped file that fails to load, its name a link (no "/" in a file name) and a cell an image
    (tmp_path / "[click](www.example.com) ![i](a@b.co).csv").write_text(f"model,batch\n{IMAGE},1\n")
    append_row(tmp_path / "good.csv", bench_row("lenet5", 1, 2.0))
    monkeypatch.setenv("EXPLORER_BENCH_DIR", str(tmp_path))
    at = AppTest.from_file(str(PAGES / "benchmarks.py"), default_timeout=120).run()
    bad = f"model,batch\n{IMAGE},x\n".encode()
    at.file_uploader(key="bench_upload").upload(f"{IMAGE}.csv", bad, "text/csv").run()
    assert not at.exception
    shown = messages(at)
    assert any("Skipped" in m for m in shown) and any("is not a benchmark results file" in m for m in shown)
    for message in shown:
        assert_shown_as_text(message)


def test_benchmark_failure_messages_are_text(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    append_row(tmp_path / "rows.csv", bench_row("lenet5", 1, 2.0))
    append_row(tmp_path / "rows.csv", bench_row("lenet5", 2, 2.0, status="error", error_message=f"RuntimeError: {IMAGE}"))
    monkeypatch.setenv("EXPLORER_BENCH_DIR", str(tmp_path))
    at = AppTest.from_file(str(PAGES / "benchmarks.py"), default_timeout=120).run()
    assert not at.exception
    (caption,) = [c.value for c in at.caption if "did not finish" in c.value]
    assert_shown_as_text(caption)
