"""How long the Architecture page takes to render: cold, for a model seen for the first time, and cached.

Targets on the 2-core CPU: a model's first render ≤ 2 s, a re-render ≤ 0.3 s. Runs the page under Streamlit's
AppTest (the same script the server runs, without a browser), so the figures include the whole script run:
    python bench/app_render.py [--models lenet5,vgg16,resnet50,googlenet,mobilenet_v2,efficientnet_b0]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from streamlit.testing.v1 import AppTest  # noqa: E402

from explorer.cli.common import positive_int  # noqa: E402

PAGE = ROOT / "explorer" / "pages" / "architecture.py"
FIRST_RENDER_TARGET_S = 2.0
RERENDER_TARGET_S = 0.3


def timed(action) -> float:
    started = time.perf_counter()
    action()
    return time.perf_counter() - started


def check(at: AppTest) -> None:
    if at.exception:
        raise RuntimeError(at.exception[0].value)


def select_layers(at: AppTest, model: str, count: int) -> float:
    """Median rerun after a click selects a layer (the diagram and bars are redrawn with its outline)."""
    from explorer.ui.selection import selected_key

    names = [n for n in at.dataframe[0].value["layer"]][:count]
    times = []
    for name in names:
        at.session_state[selected_key(f"arch_{model}")] = name
        times.append(timed(at.run))
        check(at)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", default="lenet5,vgg16,resnet50,googlenet,mobilenet_v2,efficientnet_b0,inception_v3")
    parser.add_argument("--reruns", type=positive_int, default=5)
    args = parser.parse_args()

    at = AppTest.from_file(str(PAGE), default_timeout=300)
    cold = timed(at.run)
    check(at)
    print(f"cold start (imports, first meta run, default model): {cold:.2f} s")

    print(f"{'model':<18}{'first render':>14}{'re-render (median)':>21}{'select a layer':>17}")
    firsts, reruns = [], []
    for name in args.models.split(","):
        first = timed(at.selectbox(key="arch_model").select(name).run)
        check(at)
        again = statistics.median(timed(at.run) for _ in range(args.reruns))
        selection = select_layers(at, name, args.reruns)
        firsts.append(first)
        reruns += [again, selection]
        print(f"{name:<18}{first:>12.2f} s{again:>19.3f} s{selection:>15.3f} s")
    worst_first, worst_rerun = max(firsts), max(reruns)
    print(
        f"worst first render {worst_first:.2f} s (target ≤ {FIRST_RENDER_TARGET_S} s), "
        f"worst re-render {worst_rerun:.3f} s (target ≤ {RERENDER_TARGET_S} s)"
    )
    if worst_first > FIRST_RENDER_TARGET_S or worst_rerun > RERENDER_TARGET_S:
        raise SystemExit("render targets missed")


if __name__ == "__main__":
    main()
