"""The real app in a real browser: `streamlit run app.py` driven by Debian's headless Chromium.

Every page must render its charts and tables with no Streamlit exception and no browser-console error, and the
layer table and the network diagram must select each other. Without /usr/bin/chromium the test is skipped
with the reason, except under CI (CI=true), where a missing browser is a failure.
"""

from __future__ import annotations

import itertools
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


def panel_text(page) -> str:
    panel = page.locator('[class*="st-key-layer_panel"]').first
    return (panel.text_content() or "").replace("\\", "")


def test_a_deep_network_is_navigated_to_one_layer_by_name(page, app_url: str) -> None:
    """ResNet-1202 (3,608 leaves): typing layer2.150.conv1 into "Find a layer" selects it and opens the blocks
    holding it; the diagram stays within its budget of boxes, outlines the layer, and the panel beside it shows it:
    16·16·32 outputs × 3·3·32 taps = 2,359,296 MACs, 3·3·32·32 = 9,216 weights."""
    navigate_deep_network(page, app_url)
    text = panel_text(page)
    assert "layer2.150.conv1" in text
    assert "out 16×16×32 · kernel 3×3×32 = 2,359,296 MACs" in text
    assert "3·3·32·32 = 9,216" in text
    assert page.locator(HIGHLIGHT_STROKE).count() >= 1
    diagram = page.locator('[data-testid="stPlotlyChart"]').first.bounding_box()
    assert diagram["height"] <= 2_500  # never the 45,441 px of every block drawn
    assert page.locator(EXCEPTION).count() == 0
    assert page.console_errors == []


def test_clicks_on_a_deep_network_pick_the_box_under_the_pointer(page, app_url: str) -> None:
    """On ResNet-1202 navigated to layer2.150.conv1, a click at the centre of a box selects that box's layer: the
    folded run after the open block, the last stage's folded run, the open block's second conv."""
    from tests.app_server import DEEP_LAYER, DEEP_MODEL, click_diagram_box

    if DEEP_MODEL not in page.url or "layer2.150.conv1" not in panel_text(page):
        navigate_deep_network(page, app_url)
    assert DEEP_LAYER in panel_text(page)
    for label, layer in (("layer2.151 ×49", "layer2.151"), ("layer3.1 ×199", "layer3.1")):
        click_diagram_box(page, label)
        assert panel_text(page).startswith(layer + " ·") or f"{layer} ·" in panel_text(page), (label, panel_text(page))
    assert page.console_errors == []


def test_the_panel_stays_beside_a_tall_diagram(page, app_url: str) -> None:
    """Scrolled down to the bottom of a tall diagram (EfficientNet-B7 with every block asked open), the selected
    layer's panel is still in the viewport, beside the drawing (it sticks under the top bar)."""
    open_model(page, app_url, "efficientnet_b7")
    depth = page.locator('[data-testid="stSelectbox"]', has_text="Open blocks to depth")
    depth.locator("input").click()
    page.get_by_role("option", name="every block").click()
    wait_for_rerun(page)
    from tests.app_server import find_layer

    find_layer(page, "features.6.3.block.1.0")
    chart = page.locator('[data-testid="stPlotlyChart"]').first
    box = chart.bounding_box()
    assert box["height"] > 1_500  # tall enough to scroll past the panel's place
    page.mouse.wheel(0, box["height"] - 600)
    page.wait_for_timeout(600)
    panel = page.locator('[class*="st-key-layer_panel"]').first.bounding_box()
    viewport = page.viewport_size
    assert 0 <= panel["y"] < viewport["height"] / 2, panel
    assert panel["x"] > chart.bounding_box()["x"] + 300  # beside the drawing, not under it
    assert page.console_errors == []


def label_clashes(chart) -> tuple[int, list[tuple[str, str]]]:
    """How many texts Chromium drew on `chart`, and the pairs of them that share a pixel."""
    labels = chart.locator("g.textpoint text")
    drawn = [(labels.nth(i).bounding_box(), labels.nth(i).text_content()) for i in range(labels.count())]
    drawn = [(b, t) for b, t in drawn if b and b["width"] > 0]
    clashes = [(s, t) for (a, s), (b, t) in itertools.combinations(drawn, 2)
               if a["x"] < b["x"] + b["width"] - 1 and b["x"] < a["x"] + a["width"] - 1
               and a["y"] < b["y"] + b["height"] - 1 and b["y"] < a["y"] + a["height"] - 1]
    return len(drawn), clashes


@pytest.mark.parametrize("model", ["googlenet", "wide_resnet28_10_cifar"])
def test_default_diagrams_have_no_overlapping_labels(page, app_url: str, model: str) -> None:
    """The labels Chromium draws on the default diagram (every text of the chart) share no pixel."""
    open_model(page, app_url, model)
    drawn, clashes = label_clashes(page.locator('[data-testid="stPlotlyChart"]').first)
    assert drawn >= 20
    assert clashes == []


def test_vit_h_with_every_block_open_is_drawn_readable(page, app_url: str) -> None:
    """ViT-H/14 with every block asked open was one squashed row of overlapping text (its 16 never-called
    out_proj drawn in one 3,543 px row, the whole drawing shrunk to the column): now no two labels share a pixel
    and the drawing is no narrower than its own width."""
    from tests.app_server import wait_for_rerun

    open_model(page, app_url, "torchvision:vit_h_14")
    depth = page.locator('[data-testid="stSelectbox"]', has_text="Open blocks to depth")
    depth.locator("input").click()
    page.get_by_role("option").last.click()  # "N (every block)"
    wait_for_rerun(page)
    chart = page.locator('[data-testid="stPlotlyChart"]').first
    drawn, clashes = label_clashes(chart)
    assert drawn >= 40 and clashes == []
    assert page.get_by_text("out_proj ×16").count() >= 1
    assert page.console_errors == []


def test_catalogue_point_names_never_overlap(page, app_url: str) -> None:
    """The names beside the catalogue's points (each family's largest model) share no pixel in Chromium: beside
    a big bubble a name sits farther out (efficientnet_l2 and maxvit_xlarge_tf_512 overlapped)."""
    open_page(page, app_url, "catalogue")
    drawn, clashes = label_clashes(page.locator('[data-testid="stPlotlyChart"]').first)
    assert drawn >= 5
    assert clashes == []


def test_the_download_is_the_cli_report(page, app_url: str, tmp_path) -> None:
    """The CSV and JSON buttons under the layer table serve the whole analysis exactly as `python -m explorer
    report resnet18 --csv/--json` writes it: every record (not only the open rows), the CLI's columns."""
    import subprocess
    import sys

    open_model(page, app_url, "resnet18")
    cli_csv, cli_json = tmp_path / "cli.csv", tmp_path / "cli.json"
    subprocess.run([sys.executable, "-m", "explorer", "report", "resnet18", "--csv", str(cli_csv), "--json",
                    str(cli_json)], check=True, capture_output=True, timeout=120)
    for button, expected in (("CSV", cli_csv), ("JSON", cli_json)):
        with page.expect_download(timeout=60_000) as download:
            page.locator('[data-testid="stDownloadButton"] button', has_text=button).first.click()
        assert download.value.path().read_bytes() == expected.read_bytes(), button
    rows = len(cli_csv.read_text().splitlines()) - 1
    assert page.locator('[data-testid="stDownloadButton"] button', has_text=f"CSV ({rows:,} rows)").count() >= 1  # every record


def test_a_catalogue_model_opens_on_the_architecture_page(page, app_url: str) -> None:
    """Catalogue → pick timm's convnext_tiny → its link → the Architecture page on the timm source, that model."""
    open_page(page, app_url, "catalogue")
    box = page.locator('[data-testid="stSelectbox"]', has_text="Open a model on the Architecture page").locator("input")
    box.click()
    box.fill("convnext_tiny")
    page.get_by_role("option", name="convnext_tiny", exact=True).click()
    wait_for_rerun(page)
    page.get_by_role("link", name="Open timm:convnext_tiny on the Architecture page").click()
    page.get_by_role("heading", name="timm:convnext_tiny").first.wait_for(timeout=120_000)
    wait_for_rerun(page)
    assert page.locator(EXCEPTION).count() == 0
    assert "model=timm%3Aconvnext_tiny" in page.url or "model=timm:convnext_tiny" in page.url
    assert page.console_errors == []


def test_a_click_on_a_catalogue_point_offers_it_on_the_architecture_page(page, app_url: str) -> None:
    """A click on the bubble of a named catalogue point (the largest model of a family) picks that model for the
    link to the Architecture page, as typing its name does."""
    open_page(page, app_url, "catalogue")
    names = page.locator('[data-testid="stPlotlyChart"]').first.locator(".scatterlayer .trace").last
    model = names.locator("g.textpoint text").first.text_content()
    bubble = names.locator("path.point").first.bounding_box()  # the name's invisible marker, on its bubble
    page.mouse.click(bubble["x"] + bubble["width"] / 2, bubble["y"] + bubble["height"] / 2)
    wait_for_rerun(page)
    assert page.get_by_role("link", name=f"Open timm:{model} on the Architecture page").count() == 1
    assert page.locator(EXCEPTION).count() == 0
    assert page.console_errors == []


def test_controls_read_in_full_at_1280_px(browser, app_url: str) -> None:
    """At a 1,280 px wide window the diagram's controls show their whole labels (they read "Expan…" and
    "Collap…"): no button's text is cut."""
    context = browser.new_context(viewport={"width": 1280, "height": 1000})
    page = context.new_page()
    try:
        open_model(page, app_url, "resnet50")
        buttons = page.locator('[data-testid="stButton"] button')
        cut = [b.text_content() for b in (buttons.nth(i) for i in range(buttons.count()))
               if b.evaluate("node => [node, ...node.querySelectorAll('*')].some("
                             "e => e.scrollWidth > e.clientWidth + 1)")]
        assert buttons.count() >= 1 and cut == []
        assert page.get_by_role("button", name="Collapse all").is_visible()
    finally:
        context.close()
