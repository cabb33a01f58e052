"""The real app in a real browser: `streamlit run app.py` driven by Debian's headless Chromium.

Every page must render its charts and tables with no Streamlit exception and no browser-console error, and the
layer table and the network diagram must select each other. Without /usr/bin/chromium the test is skipped
with the reason, except under CI (CI=true), where a missing browser is a failure.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from tests.app_server import (
    CHROMIUM,
    DATAFRAME,
    EXCEPTION,
    PAGES,
    PAGES_WITH_CHARTS,
    PLOTLY_RENDERED,
    SCRIPT_DONE,
    chromium,
    navigate_deep_network,
    open_model,
    open_page,
    running_app,
)

PAGES_WITH_TABLES = ("architecture", "compare", "design")
HIGHLIGHT_STROKE = 'path[style*="stroke: rgb(245, 159, 0)"]'  # theme.HIGHLIGHT as the browser writes it
ROW_HEIGHT_PX = 35  # Streamlit's default dataframe row (and header) height


def require_chromium() -> None:
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        missing = "the playwright package is missing: pip install playwright (never `playwright install`)"
    else:
        if CHROMIUM.exists():
            return
        missing = f"{CHROMIUM} is missing: install Debian's chromium (apt-get install -y chromium)"
    reason = f"{missing} to run the browser test"
    if os.environ.get("CI") == "true":
        pytest.fail(reason + " — under CI the browser test must run")
    pytest.skip(reason)


@pytest.fixture(scope="module")
def app_url() -> Iterator[str]:
    require_chromium()
    with running_app() as url:
        yield url


@pytest.fixture(scope="module")
def browser(app_url: str) -> Iterator[object]:
    with chromium() as launched:
        yield launched


@pytest.fixture(scope="module")
def shared_page(browser):
    """One tab for the whole module, moving between pages through the navigation as a user would."""
    context = browser.new_context(viewport={"width": 1440, "height": 2200})
    page = context.new_page()
    page.console_errors = []  # type: ignore[attr-defined]
    page.on("console", lambda message: page.console_errors.append(message.text) if message.type == "error" else None)
    page.on("pageerror", lambda error: page.console_errors.append(str(error)))
    yield page
    context.close()


@pytest.fixture
def page(shared_page):
    shared_page.console_errors.clear()
    return shared_page


@pytest.mark.parametrize("name", PAGES)
def test_page_renders_without_errors(page, app_url: str, name: str) -> None:
    open_page(page, app_url, name)
    assert page.locator(EXCEPTION).count() == 0
    if name in PAGES_WITH_CHARTS:
        assert page.locator(PLOTLY_RENDERED).count() >= 1
    if name in PAGES_WITH_TABLES:
        assert page.locator(DATAFRAME).count() >= 1
    assert page.console_errors == []


def test_opening_the_app_shows_a_network_at_once_and_names_it_in_the_address(page, app_url: str) -> None:
    open_page(page, app_url, "architecture")
    assert page.get_by_role("heading", name="resnet50").count() == 1
    assert page.locator('[data-testid="glide-cell-1-0"]').text_content() == "conv1"
    page.wait_for_function("() => location.search === '?model=resnet50'", timeout=10_000)  # shareable view


def selected_rows(page) -> list[str]:
    rows = page.locator(f'{DATAFRAME} [role="row"][aria-selected="true"]')
    return [rows.nth(i).text_content() or "" for i in range(rows.count())]


def wait_for_rerun(page) -> None:
    page.wait_for_timeout(600)
    page.wait_for_selector(SCRIPT_DONE, timeout=60_000)
    page.wait_for_timeout(800)


def test_table_row_and_diagram_box_select_each_other(page, app_url: str) -> None:
    open_model(page, app_url, "inception_module")
    assert page.locator(HIGHLIGHT_STROKE).count() == 0

    # A row's selection box → the diagram outlines that layer (branch2.1.conv is the fifth row).
    table = page.locator(DATAFRAME).first.bounding_box()
    page.mouse.click(table["x"] + 12, table["y"] + ROW_HEIGHT_PX * 5 + ROW_HEIGHT_PX / 2)
    wait_for_rerun(page)
    assert any(row.startswith("branch2.1.conv") for row in selected_rows(page))
    assert page.locator(HIGHLIGHT_STROKE).count() >= 1

    # A click on a box of the diagram → the table selects its row (the first branch's 1×1 conv).
    diagram = page.locator('[data-testid="stPlotlyChart"]').first
    targets = diagram.locator(".scatterlayer .trace path.point")
    boxes = [targets.nth(i).bounding_box() for i in range(targets.count())]
    first_box = min((b for b in boxes if b and b["width"] >= 20), key=lambda b: (b["y"], b["x"]))  # top-left box
    page.mouse.click(first_box["x"] + first_box["width"] / 2, first_box["y"] + first_box["height"] / 2)
    wait_for_rerun(page)
    assert any(row.startswith("branch1.conv") for row in selected_rows(page))
    assert page.locator(EXCEPTION).count() == 0
    assert page.console_errors == []


def test_design_page_loads_an_uploaded_spec_and_never_runs_it(page, app_url: str, tmp_path) -> None:
    open_page(page, app_url, "design")
    uploader = page.locator('[data-testid="stFileUploaderDropzoneInput"]').first
    spec = b"name Tiny net\ninput 8x8x3\nconv 4 3x3\nflatten\nfc 2\n"
    uploader.set_input_files(files=[{"name": "tiny.txt", "mimeType": "text/plain", "buffer": spec}])
    page.get_by_role("heading", name="Tiny net").first.wait_for(timeout=60_000)

    marker = tmp_path / "executed"
    code = f"import os\nos.system('touch {marker}')\n".encode()
    uploader.set_input_files(files=[{"name": "code.txt", "mimeType": "text/plain", "buffer": code}])
    wait_for_rerun(page)
    errors = page.locator('[data-testid="stAlertContentError"]')
    assert errors.count() == 1
    assert "line 1, column 1: unknown keyword 'import'" in (errors.first.text_content() or "")
    assert not marker.exists()
    assert page.locator(EXCEPTION).count() == 0
    assert page.console_errors == []


def _luminance(css_rgb: str) -> float:
    """WCAG relative luminance of 'rgb(r, g, b)'."""
    channels = [int(v) / 255 for v in css_rgb[css_rgb.index("(") + 1 : css_rgb.index(")")].split(",")[:3]]
    linear = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def contrast_ratio(foreground: str, background: str) -> float:
    light, dark = sorted((_luminance(foreground), _luminance(background)), reverse=True)
    return (light + 0.05) / (dark + 0.05)


def hover_label_colours(page, chart, point_selector: str) -> tuple[str, str]:
    """Hover the middle of the first visible point of `chart`; the tooltip's (text fill, box fill)."""
    points = chart.locator(point_selector)
    box = next(b for b in (points.nth(i).bounding_box() for i in range(points.count())) if b and b["width"] > 2)
    page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    label = page.locator(".hoverlayer .hovertext").first
    label.wait_for(timeout=5_000)
    text = label.locator("text").first.evaluate("node => getComputedStyle(node).fill")
    background = label.locator("path").first.evaluate("node => getComputedStyle(node).fill")
    page.mouse.move(1, 1)
    return text, background


def test_hover_tooltips_are_readable(page, app_url: str) -> None:
    """Dark text on the white tooltip (WCAG AA, ≥ 4.5:1) on the diagram and on a per-layer bar chart."""
    open_page(page, app_url, "architecture")
    charts = page.locator('[data-testid="stPlotlyChart"]')
    diagram_colours = hover_label_colours(page, charts.first, ".scatterlayer .trace path.point")
    bars = page.locator('[data-testid="stPlotlyChart"]:has(.barlayer)').first
    bars.scroll_into_view_if_needed()
    bar_colours = hover_label_colours(page, bars, ".barlayer .point path")
    for text, background in (diagram_colours, bar_colours):
        assert contrast_ratio(text, background) >= 4.5, (text, background)


def test_arithmetic_layer_choice_cannot_be_clicked_away(page, app_url: str) -> None:
    """Clicking the chosen 'conv' again keeps it chosen (it used to leave no option shown while conv was computed)."""
    open_page(page, app_url, "arithmetic")
    layer = page.get_by_role("radiogroup", name="Layer")
    layer.get_by_role("radio", name="conv").click()
    wait_for_rerun(page)
    assert layer.locator('[role="radio"][aria-checked="true"]').count() == 1
    assert page.locator(EXCEPTION).count() == 0


def test_a_deep_network_is_navigated_to_one_layer(page, app_url: str) -> None:
    """EfficientNet-B7 (871 leaves): open stage 5's folded block, its inner blocks, click the depthwise conv; the
    whole diagram stays in view (≤ 760 px) and the panel beside it shows the layer: 38·38·1344 outputs × 5·5
    taps = 48,518,400 MACs, 5·5·1·1344 = 33,600 weights."""
    navigate_deep_network(page, app_url)
    diagram = page.locator('[data-testid="stPlotlyChart"]').first.bounding_box()
    assert diagram["height"] <= 760
    panel = page.locator('[data-testid="stColumn"]', has_text="features.5.1.block.1.0").last
    text = panel.text_content() or ""
    assert "out 38×38×1344 · kernel 5×5×1 = 48,518,400 MACs" in text.replace("\\", "")
    assert "5·5·1·1344 = 33,600" in text
    assert page.locator(HIGHLIGHT_STROKE).count() >= 1
    assert page.locator(EXCEPTION).count() == 0
    assert page.console_errors == []
