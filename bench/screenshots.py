"""Screenshot every page of the app into `assets/screenshots/<page>.png` (used in the README).

Runs the real app (`streamlit run app.py`) and Debian's headless Chromium, as the browser test does:
    python bench/screenshots.py [--width 1440] [--height 2200]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # for the test helpers in tests/ (the project is installed; its tests are not)

from explorer.cli.common import positive_int  # noqa: E402
from tests.app_server import PAGES, chromium, navigate_deep_network, open_page, open_speed_view, running_app  # noqa: E402

OUT_DIR = ROOT / "assets" / "screenshots"
DEEP = "deep_network"  # not a page: ResNet-1202 navigated to one layer by name (tests.app_server.navigate_deep_network)
SPEED = "speed"  # not a page: the Architecture page's Speed view of resnet50, switched on


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--width", type=positive_int, default=1440)
    parser.add_argument("--height", type=positive_int, default=2200, help="tall enough to show a page's main charts")
    parser.add_argument("pages", nargs="*", default=[*PAGES, DEEP, SPEED])
    args = parser.parse_args()
    OUT_DIR.mkdir(parents=True, exist_ok=True)
    with running_app() as url, chromium() as browser:
        page = browser.new_page(viewport={"width": args.width, "height": args.height})
        for name in args.pages:
            started = time.perf_counter()
            if name == DEEP:
                page.set_viewport_size({"width": args.width, "height": 1300})  # the diagram and its panel
                navigate_deep_network(page, url)
            elif name == SPEED:
                open_speed_view(page, url, "resnet50")
            else:
                open_page(page, url, name)
            path = OUT_DIR / f"{name}.png"
            page.mouse.move(0, 0)  # no hover highlight left on the navigation link just clicked
            page.wait_for_timeout(300)
            page.screenshot(path=str(path))
            print(f"{path.relative_to(ROOT)}  ({time.perf_counter() - started:.1f} s)")


if __name__ == "__main__":
    main()
