"""The Architecture page itself (Streamlit AppTest) on the models issue 25 found misdrawn: FractalNet's columns, a
ViT's tokens, positional embedding and receptive field, LeNet-5 on one row, and the deepest models with every
block asked open (labels apart, no more than MAX_ELEMENTS boxes). The figure-level tests of the same points are in
tests/test_network_diagram_depth.py and tests/test_receptive_field_display.py; these check what the page serves.

Expected numbers come from the papers' structure (FractalNet-20: 5 blocks of columns with 1, 2 and 4 convs) and
torchvision's ViT-B/16 (224/16 = 14, 14² + 1 class token = 197 tokens of width 768, 12 encoder blocks).
"""

from __future__ import annotations

import json

import plotly.io as pio
import pytest

from explorer.figures.network_diagram import MAX_ELEMENTS
from explorer.ui.selection import selected_key
from tests.test_app_pages import chart_spec, open_tab, run_page
from tests.test_network_diagram_depth import _label_boxes, _overlaps

DIAGRAM_COLUMN_PX = 727  # the diagram's column (3 of 4) in a 1,440 px window, measured in Chromium
ORPHAN_SLACK = 1.1  # a row may run 10 % past its width to keep a last box off a row of its own


def diagram(at):
    """The page's network diagram as a Plotly figure (typed arrays decoded)."""
    return pio.from_json(json.dumps(chart_spec(at, "Network diagram")))


def texts(fig) -> list[str]:
    return [t for trace in fig.data if trace.mode == "text" for t in (trace.text or ())]


def open_every_block(at, scope: str) -> None:
    depth = at.selectbox(key=f"{scope}_depth")
    depth.select(depth.options[-1]).run()  # "N (every block)"
    assert not at.exception, [e.value for e in at.exception]


def panel(at) -> str:
    return "\n".join(m.value for m in at.markdown).replace("\\", "")


def test_fractalnet_page_draws_its_convolutions_when_its_blocks_open() -> None:
    """fractalnet20_cifar: 5 blocks of columns with 1, 2 and 4 convs (7 each, 35 in all; the table lists them all
    running). Nothing is greyed as 'not run' (they were, with calls = 0, and opening changed nothing). With every
    block asked open the 120-box budget draws 4 blocks in full (28 convs) and closes the farthest; finding a conv
    of the last block by name draws that block's 7."""
    at = run_page("architecture", model="fractalnet20_cifar")
    scope = "arch_fractalnet20_cifar"
    assert not any("not run" in t for t in texts(diagram(at)))
    open_every_block(at, scope)
    fig = diagram(at)
    assert sum(1 for t in texts(fig) if t == "conv 3×3") == 4 * 7
    assert not any("not run" in t for t in texts(fig))
    assert any("7 of the 66 open blocks are drawn closed" in c.value for c in at.caption)
    at.selectbox(key=f"{scope}_find").select("features.8.columns.2.3.0").run()
    drawn = set(next(t for t in diagram(at).data if t.name == "layers").customdata)
    last_block = {"features.8.columns.0.0.0", *(f"features.8.columns.1.{i}.0" for i in range(2)),
                  *(f"features.8.columns.2.{i}.0" for i in range(4))}  # fmt: skip
    assert last_block <= drawn
    table = at.dataframe[0].value
    assert {f"features.8.columns.2.{i}.0" for i in range(4)} <= set(table["layer"])
    convs = table[table["type"] == "Conv2d"]
    assert (convs["macs"] > 0).all()


def test_a_vit_page_writes_tokens_and_sees_the_whole_input_after_attention() -> None:
    """torchvision:vit_b_16: the table and diagram say '197 tokens × 768' (not '768×197' under an H×W×C header);
    the positional-embedding add is no '+' around the network; an encoder block's panel says its field is the
    whole input (not the 16-px patch); the receptive-field chart has whole-layer ticks and 12 'whole input'
    stars at 224 px."""
    pytest.importorskip("torchvision")
    at = run_page("architecture", model="torchvision:vit_b_16")
    scope = "arch_torchvision:vit_b_16"
    table = at.dataframe[0].value.set_index("layer")
    assert table.loc["encoder.layers.encoder_layer_0", "output"] == "197 tokens × 768"
    fig = diagram(at)
    assert "197 tokens × 768" in texts(fig) and "768×197" not in texts(fig)
    symbols = [t for trace in fig.data if trace.mode == "markers+text" for t in trace.text]
    assert "+" not in symbols
    at.session_state[selected_key(scope)] = "encoder.layers.encoder_layer_0"
    at.run()
    assert "Receptive field: **the whole input**" in panel(at)
    at.session_state[selected_key(scope)] = "conv_proj"
    at.run()
    assert "Receptive field: **16×16 input pixels, jump 16**" in panel(at)
    open_tab(at, scope, "Receptive field")
    chart = chart_spec(at, "Receptive field")
    whole = next(t for t in chart["data"] if t.get("name") == "whole input")
    assert len(whole["x"]) == 12 and set(whole["y"]) == {224}
    assert chart["layout"]["xaxis"]["tickformat"] == "d"


def test_lenet_page_diagram_is_one_row() -> None:
    """LeNet-5's diagram on the page: every box on one row (the last fc wrapped alone onto a second)."""
    at = run_page("architecture", model="lenet5")
    targets = next(t for t in diagram(at).data if t.name == "layers")
    assert len({round(y, 6) for y in targets.y}) == 1


@pytest.mark.parametrize("model", ["efficientnet_b7", "torchvision:vit_h_14"])
def test_the_deepest_models_fully_open_keep_labels_apart_within_the_budget(model: str) -> None:
    """EfficientNet-B7 (a column of overlapping text) and ViT-H/14 (one squashed row) with every block asked
    open: the page draws at most MAX_ELEMENTS boxes and dots at the diagram's one scale, no two labels overlap,
    and the caption says how many open blocks are drawn closed."""
    if model.startswith("torchvision:"):
        pytest.importorskip("torchvision")
    at = run_page("architecture", model=model)
    open_every_block(at, f"arch_{model}")
    fig = diagram(at)
    targets = next(t for t in fig.data if t.name == "layers")
    assert len(targets.customdata) <= MAX_ELEMENTS
    assert _overlaps(_label_boxes(fig)) == []
    assert fig.layout.width is not None  # its own width, never squeezed into the column …
    # … which it fits: ViT-H drew its 16 never-called out_proj in one 3,543 px row, and the browser shrank the
    # whole drawing into the column (they are one 'out_proj ×16' box now)
    assert fig.layout.width <= DIAGRAM_COLUMN_PX * ORPHAN_SLACK
    assert any("open blocks are drawn closed" in c.value for c in at.caption)
    unused = [t for t in texts(fig) if t.startswith("out_proj")]
    assert unused == (["out_proj ×16"] if model == "torchvision:vit_h_14" else [])
