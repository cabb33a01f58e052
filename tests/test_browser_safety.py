"""In a real browser: a spec error quoting Markdown shows the text itself, with no image fetched and no link.

(The AppTest checks in test_app_safety.py read the Markdown Streamlit is given; this one reads what Chromium
renders from it and which requests it makes.)
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.app_server import EXCEPTION, SCRIPT_DONE, chromium, open_page, running_app
from tests.test_browser import require_chromium

IMAGE = "![i](http://127.0.0.1:9/t.png)"
LINK = "[click](http://127.0.0.1:9/x)"


def wait_for_rerun(page) -> None:
    page.wait_for_timeout(600)
    page.wait_for_selector(SCRIPT_DONE, timeout=60_000)
    page.wait_for_timeout(800)


@pytest.fixture(scope="module")
def page() -> Iterator[object]:
    require_chromium()
    with running_app() as url, chromium() as browser:
        context = browser.new_context(viewport={"width": 1440, "height": 2200})
        tab = context.new_page()
        tab.app_url = url  # type: ignore[attr-defined]
        yield tab
        context.close()


def test_a_spec_error_quoting_markdown_renders_as_text(page) -> None:
    requests: list[str] = []
    page.on("request", lambda request: requests.append(request.url))
    open_page(page, page.app_url, "design")
    uploader = page.locator('[data-testid="stFileUploaderDropzoneInput"]').first
    spec = f"input 32x32x1\n{IMAGE} {LINK}\n".encode()
    uploader.set_input_files(files=[{"name": "hostile.txt", "mimeType": "text/plain", "buffer": spec}])
    wait_for_rerun(page)
    error = page.locator('[data-testid="stAlertContentError"]').first
    error.wait_for(timeout=60_000)
    text = (error.text_content() or "").replace("\u2060", "")  # the invisible joiner that stops autolinks
    assert f"line 2, column 1: unknown keyword '{IMAGE}'" in text  # literal: the parser quotes the bad token
    assert error.locator("img").count() == 0 and error.locator("a").count() == 0
    assert not [url for url in requests if "127.0.0.1:9/" in url]
    assert page.locator(EXCEPTION).count() == 0
