"""Run `streamlit run app.py` on 127.0.0.1 and drive it with Debian's Chromium (never a downloaded browser).

Shared by the browser test and `bench/screenshots.py`. The server runs headless, without file watching or
usage statistics (which would make the page reach out to the internet and log console errors), and is
stopped by its own process id.
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
PAGES = ("architecture", "compare", "arithmetic", "scaling", "transfer", "gradients", "design", "benchmarks",
         "catalogue")  # url paths; the first is "/"
NAV_TITLES = {page: page.capitalize() for page in PAGES}  # the top navigation's link texts
HEADINGS = {
    "architecture": "resnet50",  # the model the app opens on
    "compare": "Compare models",
    "arithmetic": "Conv arithmetic",
    "scaling": "Scaling rules",
    "design": "Design your own",
    "benchmarks": "Benchmarks",
    "transfer": "Transfer learning",
    "gradients": "Gradients at initialisation",
    "catalogue": "Catalogue",
}
PAGES_WITH_CHARTS = ("architecture", "compare", "scaling", "transfer", "gradients", "design", "catalogue")  # Benchmarks draws charts only when results exist
SCRIPT_DONE = '[data-testid="stApp"][data-test-script-state="notRunning"]'
PLOTLY_RENDERED = '[data-testid="stPlotlyChart"] .js-plotly-plot .main-svg'
DATAFRAME = '[data-testid="stDataFrame"]'
EXCEPTION = '[data-testid="stException"]'


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _healthy(url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/_stcore/health", timeout=1) as response:
            return response.read().strip() == b"ok"
    except OSError:
        return False


@contextlib.contextmanager
def running_app(timeout_s: float = 60.0) -> Iterator[str]:
    """Start the app on a free port, yield its base URL once `/_stcore/health` answers ok, then stop it."""
    port = free_port()
    env = {**os.environ, "STREAMLIT_BROWSER_GATHER_USAGE_STATS": "false", "PYTHONPATH": str(ROOT)}
    command = [
        sys.executable, "-m", "streamlit", "run", str(ROOT / "app.py"),
        "--server.headless", "true", "--server.address", "127.0.0.1", "--server.port", str(port),
        "--server.fileWatcherType", "none", "--browser.gatherUsageStats", "false",
    ]  # fmt: skip
    server = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + timeout_s
        while not _healthy(url):
            if server.poll() is not None:
                output = server.stdout.read().decode(errors="replace") if server.stdout else ""
                raise RuntimeError(f"streamlit exited with {server.returncode}: {output[-2000:]}")
            if time.monotonic() > deadline:
                raise TimeoutError(f"streamlit did not answer on {url} within {timeout_s} s")
            time.sleep(0.2)
        yield url
    finally:
        server.send_signal(signal.SIGTERM)
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
        if server.stdout:
            server.stdout.close()


@contextlib.contextmanager
def chromium() -> Iterator[object]:
    """A headless Debian Chromium driven by Playwright (its bundled browsers are never installed)."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


def open_page(page, url: str, name: str) -> None:
    """Open the app and go to page `name` through the top navigation, as a user does.

    (Loading a page's own address directly makes Streamlit's frontend probe `<page>/_stcore/…` first, which
    logs 404s in the console before it falls back to the root.)
    """
    other_model = name == PAGES[0] and "?model=" in page.url and f"model={HEADINGS[name]}" not in page.url
    if not page.url.startswith(url) or other_model:  # a shared link to another model: start afresh
        page.goto(url)
        wait_until_rendered(page, charts=False)
    target = f"{url}/{'' if name == PAGES[0] else name}".rstrip("/")

    def at_target(address: str) -> bool:  # the query string (`?model=…`, written by the page) does not matter
        return address.split("?")[0].rstrip("/") == target

    if not at_target(page.url):
        page.get_by_role("link", name=NAV_TITLES[name]).click()
        page.wait_for_url(at_target)
    page.get_by_role("heading", name=HEADINGS[name]).first.wait_for(timeout=120_000)
    wait_until_rendered(page, charts=name in PAGES_WITH_CHARTS)


def open_model(page, url: str, model: str, timeout_ms: int = 120_000) -> None:
    """Open the Architecture page on `model` through the address (`?model=`), as a shared link does."""
    page.goto(f"{url}/?model={model}")
    page.get_by_role("heading", name=model).first.wait_for(timeout=timeout_ms)
    wait_until_rendered(page, timeout_ms=timeout_ms)


def wait_for_rerun(page) -> None:
    """After a click that reruns the script: wait until the run has started and finished."""
    page.wait_for_timeout(600)
    page.wait_for_selector(SCRIPT_DONE, timeout=60_000)
    page.wait_for_timeout(800)


def switch_on(page, label: str) -> None:
    """Switch on the toggle labelled `label` (a click on its label, as a user does) and wait for the rerun."""
    page.get_by_text(label, exact=True).click()
    wait_for_rerun(page)


SPEED_TOGGLE = "Predict the time per layer on a GPU or this CPU"  # the Architecture page's Speed view


def open_speed_view(page, url: str, model: str) -> None:
    """Open `model` on the Architecture page, switch its Speed view on and scroll to it."""
    open_model(page, url, model)
    switch_on(page, SPEED_TOGGLE)
    wait_until_rendered(page)
    page.get_by_role("heading", name="Speed").first.evaluate("element => element.scrollIntoView()")
    page.wait_for_timeout(500)


def click_diagram_box(page, label: str) -> None:
    """Click the diagram's box under the text `label` (its name above it; the click target sits at its centre)."""
    exact = re.compile(f"^{re.escape(label)}$")
    text = page.locator('[data-testid="stPlotlyChart"]').first.locator("g.textpoint text", has_text=exact).first
    box = text.bounding_box()
    page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] + 18)
    wait_for_rerun(page)


DEEP_MODEL = "resnet1202_cifar"  # 3,608 leaf modules: 45,441 px tall with every block drawn open
DEEP_LAYER = "layer2.150.conv1"  # the first conv of the 151st block of stage 2


def find_layer(page, name: str) -> None:
    """Type `name` into the diagram's "Find a layer" box and pick it, as a user jumps to a layer."""
    box = page.locator('[data-testid="stSelectbox"]', has_text="Find a layer").locator("input")
    box.click()
    box.fill(name)
    page.get_by_role("option", name=name, exact=True).click()
    wait_for_rerun(page)


def navigate_deep_network(page, url: str) -> None:
    """As a user finds one layer of a deep network: open it, type the layer's name, pick it; the blocks holding
    it open, it is selected, and the panel beside the diagram shows it."""
    open_model(page, url, DEEP_MODEL)
    find_layer(page, DEEP_LAYER)
    page.locator('[data-testid="stPlotlyChart"]').first.scroll_into_view_if_needed()


def wait_until_rendered(page, *, charts: bool = True, timeout_ms: int = 120_000) -> None:
    """Wait for the script run to finish and, if asked, for at least one Plotly chart to draw."""
    page.wait_for_selector(SCRIPT_DONE, timeout=timeout_ms)
    if charts:
        page.wait_for_selector(PLOTLY_RENDERED, state="attached", timeout=timeout_ms)
    page.wait_for_timeout(500)  # let the last charts finish their transitions
    page.wait_for_selector(SCRIPT_DONE, timeout=timeout_ms)
