"""The speed views in the real app and Debian's headless Chromium: the Architecture page's Speed view draws its
two charts and its table with every time labelled predicted, and no Streamlit exception or console error.
Skipped, with the reason, where Chromium or playwright is missing (a failure under CI), as the browser test is."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.app_server import DATAFRAME, EXCEPTION, PLOTLY_RENDERED, chromium, open_speed_view, running_app
from tests.test_browser import require_chromium


@pytest.fixture(scope="module")
def page() -> Iterator[object]:
    require_chromium()
    with running_app() as url, chromium() as browser:
        context = browser.new_context(viewport={"width": 1440, "height": 2200})
        tab = context.new_page()
        tab.console_errors = []  # type: ignore[attr-defined]
        tab.on("console", lambda message: tab.console_errors.append(message.text) if message.type == "error" else None)
        tab.on("pageerror", lambda error: tab.console_errors.append(str(error)))
        tab.app_url = url  # type: ignore[attr-defined]
        yield tab
        context.close()


def test_the_speed_view_draws_predictions_labelled_as_such(page) -> None:
    charts_before = 2  # the Architecture page's diagram and its open cost tab
    open_speed_view(page, page.app_url, "resnet50")
    assert page.locator(EXCEPTION).count() == 0
    assert page.locator(PLOTLY_RENDERED).count() >= charts_before + 2
    assert page.get_by_text("Where the predicted time goes vs where the MACs go", exact=False).count() >= 1
    assert page.get_by_text("Predicted throughput against batch", exact=False).count() >= 1
    assert page.get_by_text("Predicted time per batch", exact=True).count() == 1
    assert page.locator(DATAFRAME).count() >= 2  # the layer table and the predicted per-layer table
    assert page.console_errors == []
