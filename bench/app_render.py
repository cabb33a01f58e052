"""How long the Architecture page takes to render for the deepest models: cold, for a model seen for the first time,
cached, after a click on a layer, and after jumping to a layer by name.

Targets on the 2-core CPU: a model's first render ≤ 2 s, a re-render ≤ 0.3 s, a jump to a layer by name on
ResNet-1202 (3,608 leaves) ≤ 0.5 s. Runs the page under Streamlit's AppTest (the same script the server runs,
without a browser, so the figures include the whole script run but not the browser's drawing). Each figure is
the minimum over repeats of the process's CPU time (AppTest runs the script on a thread of this process), with
the wall time beside it; on a machine others are using, the CPU time is the one to read. The load average at the
start and end is printed. The CPU already spent importing torch and Streamlit before the first run is printed too.

With --browser it also times what a user waits for in Chromium against the real server (`streamlit run app.py`,
Debian's /usr/bin/chromium): from following a `?model=` link until the script has finished and the diagram is
drawn, and on ResNet-1202 from picking a name in "Find a layer" until the panel shows that layer and the run has
finished (wall clock, minimum of repeats: server, browser and drawing together):
    python bench/app_render.py [--models resnet1202_cifar,efficientnet_b7,...] [--repeats 3] [--browser]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # for the test helpers in tests/ (the project is installed; its tests are not)

from streamlit.testing.v1 import AppTest  # noqa: E402

from explorer.cli.common import positive_int  # noqa: E402

PAGE = ROOT / "explorer" / "pages" / "architecture.py"
FIRST_RENDER_TARGET_S = 2.0
RERENDER_TARGET_S = 0.3
JUMP_TARGET_S = 0.5
DEEPEST = ("resnet1202_cifar", "efficientnet_b7", "resnet110_cifar", "inception_v3",
           "torchvision:vit_h_14", "timm:efficientnet_b7", "timm:resnetrs420")  # fmt: skip
# timm:resnetrs420 is timm's deepest in leaf modules (2,529; weight depth 700) of the shipped atlas
JUMP_LAYERS = {"resnet1202_cifar": ("layer2.150.conv1", "layer3.199.bn2", "layer1.3.conv2"),
               "lenet5": ("conv2", "fc1", "pool1")}  # the browser's baseline: what any rerun costs there


def timed(action: Callable[[], object]) -> tuple[float, float]:
    """(process CPU seconds, wall seconds) of one call."""
    cpu, wall = time.process_time(), time.perf_counter()
    action()
    return time.process_time() - cpu, time.perf_counter() - wall


def check(at: AppTest) -> None:
    if at.exception:
        raise RuntimeError(at.exception[0].value)


def best(samples: list[tuple[float, float]]) -> tuple[float, float]:
    return min(s[0] for s in samples), statistics.median(s[1] for s in samples)


def layer_names(at: AppTest, count: int) -> list[str]:
    return [str(n) for n in at.dataframe[0].value["layer"]][1 : count + 1]


def select_layers(at: AppTest, scope: str, names: list[str]) -> tuple[float, float]:
    """A click on a layer (the diagram and bars are redrawn with its outline)."""
    from explorer.ui.selection import selected_key

    samples = []
    for name in names:
        at.session_state[selected_key(scope)] = name
        samples.append(timed(at.run))
        check(at)
    return best(samples)


def jump_to(at: AppTest, scope: str, names: list[str]) -> tuple[float, float]:
    """Type a layer's name into "Find a layer" and pick it: selected, its blocks opened, the panel shows it."""
    samples = []
    for name in names:
        samples.append(timed(at.selectbox(key=f"{scope}_find").select(name).run))
        check(at)
        assert any(name in m.value for m in at.markdown), f"{name} not in the panel"
    return best(samples)


def open_model(at: AppTest, name: str) -> tuple[float, float]:
    """Switch the page to `name` as a shared link does (the address names the model)."""
    at.query_params["model"] = name
    sample = timed(at.run)
    check(at)
    if at.title[0].value != name:
        raise RuntimeError(f"the page shows {at.title[0].value}, not {name}")
    return sample


def browser_figures(models: list[str], repeats: int) -> None:
    """Wall seconds in Chromium: open each model by its address (first render) and, on models with JUMP_LAYERS,
    jump to each layer by name. Fixed sleeps of the test helpers are avoided: each wait ends on the page's state."""
    from tests.app_server import PLOTLY_RENDERED, SCRIPT_DONE, chromium, running_app

    panel = '[class*="st-key-layer_panel"]'
    done = f"() => document.querySelector('{SCRIPT_DONE}') !== null"

    def open_by_address(page, url: str, name: str) -> float:
        started = time.perf_counter()
        page.goto(f"{url}/?model={name}")
        page.get_by_role("heading", name=name).first.wait_for(timeout=300_000)
        page.wait_for_function(done, timeout=300_000)
        page.wait_for_selector(PLOTLY_RENDERED, state="attached", timeout=300_000)
        return time.perf_counter() - started

    def jump(page, name: str) -> float:
        box = page.locator('[data-testid="stSelectbox"]', has_text="Find a layer").locator("input")
        box.click()
        box.fill(name)
        option = page.get_by_role("option", name=name, exact=True)
        option.wait_for(timeout=60_000)
        started = time.perf_counter()
        option.click()
        page.wait_for_function(
            f"() => (document.querySelector('{panel}')?.textContent || '').includes({name!r}) && "
            f"document.querySelector('{SCRIPT_DONE}') !== null", timeout=120_000)
        page.wait_for_selector(PLOTLY_RENDERED, state="attached", timeout=120_000)
        return time.perf_counter() - started

    print(f"browser (wall s, min of {repeats}; load average {' '.join(f'{v:.2f}' for v in os.getloadavg())})")
    with running_app() as url, chromium() as browser:
        page = browser.new_page(viewport={"width": 1440, "height": 1300})
        open_by_address(page, url, "lenet5")  # the server's imports and first meta run
        for name in ["lenet5", *models]:  # lenet5 (12 layers) first: the fixed cost of a page and of a rerun
            first = open_by_address(page, url, name)  # the server has not seen it: analysis and figures
            again = min(open_by_address(page, url, name) for _ in range(repeats))  # cached analysis, new session
            jumps = [jump(page, layer) for layer in JUMP_LAYERS.get(name, ())[:repeats]]
            cells = f"first render {first:.2f} s, reopened {again:.2f} s"
            if jumps:
                cells += f", jump by name {min(jumps):.2f} s (worst {max(jumps):.2f} s)"
            print(f"  {name:<24}{cells}")
    print(f"load average at end: {' '.join(f'{v:.2f}' for v in os.getloadavg())}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", default=",".join(DEEPEST))
    parser.add_argument("--repeats", type=positive_int, default=3)
    parser.add_argument("--browser", action="store_true", help="also time the real server in headless Chromium")
    args = parser.parse_args()
    print(f"load average at start: {' '.join(f'{v:.2f}' for v in os.getloadavg())} ({os.cpu_count()} CPUs)")
    print(f"imports before the first run (torch, Streamlit, this script): {time.process_time():.2f} s CPU")

    at = AppTest.from_file(str(PAGE), default_timeout=600)
    at.query_params["model"] = "lenet5"
    cold = timed(at.run)
    check(at)
    print(f"first page run (the page's own imports, first meta run, lenet5): {cold[0]:.2f} s CPU, {cold[1]:.2f} s wall")
    if any(":" in name for name in args.models.split(",")):
        libraries = open_model(at, "torchvision:resnet18"), open_model(at, "timm:resnet18")
        print("first library models (imports torchvision and timm once per process): "
              + ", ".join(f"{cpu:.2f} s CPU, {wall:.2f} s wall" for cpu, wall in libraries))
    header = ("model", "first render", "re-render", "select a layer", "jump by name")
    print(f"{header[0]:<24}" + "".join(f"{h:>22}" for h in header[1:]) + "   (CPU s / wall s)")
    firsts, reruns, jumps = [], [], []
    for name in args.models.split(","):
        first = open_model(at, name)
        scope = f"arch_{name}"
        again = best([timed(at.run) for _ in range(args.repeats)])
        selection = select_layers(at, scope, layer_names(at, args.repeats))
        wanted = list(JUMP_LAYERS.get(name, ()))[: args.repeats] or layer_names(at, args.repeats)
        jump = jump_to(at, scope, wanted)
        firsts.append(first[0])
        reruns += [again[0], selection[0]]
        jumps.append(jump[0])
        cells = [f"{cpu:.3f} / {wall:.3f}" for cpu, wall in (first, again, selection, jump)]
        print(f"{name:<24}" + "".join(f"{c:>22}" for c in cells))
    print(f"load average at end: {' '.join(f'{v:.2f}' for v in os.getloadavg())}")
    print(f"worst first render {max(firsts):.2f} s CPU (target ≤ {FIRST_RENDER_TARGET_S} s), worst re-render "
          f"{max(reruns):.3f} s (target ≤ {RERENDER_TARGET_S} s), worst jump by name {max(jumps):.3f} s "
          f"(target ≤ {JUMP_TARGET_S} s)")
    if args.browser:
        browser_figures(args.models.split(","), args.repeats)
    if max(firsts) > FIRST_RENDER_TARGET_S or max(reruns) > RERENDER_TARGET_S or max(jumps) > JUMP_TARGET_S:
        raise SystemExit("render targets missed")


if __name__ == "__main__":
    main()
