"""The network diagram for every model and every depth (issue 25): FractalNet's indexed columns are drawn with their
convolutions, a ViT's positional embedding is no shortcut and its tokens read as tokens, a 3,600-leaf network is
never drawn with more than MAX_ELEMENTS boxes and always shows the selected layer, and labels and click targets
never overlap at the one scale the diagram is drawn at.
"""

from __future__ import annotations

import itertools

import pytest

from analyzers import analyze
from explorer.figures.network_diagram import (
    MAX_ELEMENTS,
    UNIT_PX,
    containers,
    drawn_blocks,
    network_diagram,
    opened_to_depth,
)
from explorer.zoo import build_model

CHAR_PX = 6.6  # an 11 px label's average character (the layout's CHAR_WIDTH), 12 px group labels a little more
LINE_PX = 14


def analysed(name: str):
    model = build_model(name, device="meta")
    return analyze(model.module, model.input_size)


def texts(fig) -> list[str]:
    return [t for trace in fig.data if trace.mode == "text" for t in (trace.text or ())]


def symbols(fig) -> list[str]:
    return [t for trace in fig.data if trace.mode == "markers+text" for t in trace.text]


def test_fractalnet_draws_its_indexed_columns_with_their_convolutions() -> None:
    """FractalNet-20 (C = 3): each of 5 blocks has columns of 1, 2 and 4 convs = 7, all 35 drawn when every block
    is open, as three paths joined per block (⋈); nothing is greyed as 'not run' (the table shows them running)."""
    a = analysed("fractalnet20_cifar")
    fig = network_diagram(a, expanded=frozenset(containers(a)))
    assert sum(1 for t in texts(fig) if t == "conv 3×3") == 35
    assert symbols(fig).count("⋈") == 5
    assert not any("not run" in t for t in texts(fig))
    collapsed = network_diagram(a, expanded=frozenset())
    assert not any("not run" in t for t in texts(collapsed))


def test_a_vit_adds_its_positional_embedding_in_line_and_writes_tokens_as_tokens() -> None:
    """torchvision's ViT-B/16: the encoder adds the positional embedding before its blocks: a dot in the
    sequence, no '+' around the network; its 197 tokens of width 768 read '197 tokens × 768' (not '768×197')."""
    pytest.importorskip("torchvision")
    from explorer.catalogue import build

    model = build("torchvision:vit_b_16")
    a = analyze(model.module, inputs=model.inputs)
    fig = network_diagram(a, expanded=opened_to_depth(a, 2))
    assert "+" not in symbols(fig)
    assert "197 tokens × 768" in texts(fig) and "768×197" not in texts(fig)
    blocks = network_diagram(a, expanded=opened_to_depth(a, 4))
    assert symbols(blocks).count("+") == 12  # each encoder block's own residual adds


@pytest.mark.parametrize("selected", ["layer1.0.conv1", "layer2.150.bn2", "layer3.199.conv2", None])
def test_resnet1202_fully_open_is_drawn_near_the_selection_within_the_budget(selected) -> None:
    """3,608 leaves with every block asked open: at most MAX_ELEMENTS boxes and dots, the selected layer's own box
    among them (its blocks open), the rest folded into ×N runs."""
    a = analysed("resnet1202_cifar")
    drawn = drawn_blocks(a, frozenset(containers(a)), selected)
    assert drawn.elements <= MAX_ELEMENTS
    assert drawn.closed > 500 and drawn.requested == len(containers(a))
    fig = network_diagram(a, expanded=drawn.expanded, selected=selected)
    targets = next(t for t in fig.data if t.name == "layers")
    if selected:
        assert selected in list(targets.customdata)
    assert any("×" in t for t in texts(fig))  # closed runs fold


def _label_boxes(fig) -> list[tuple[float, float, float, float, str]]:
    """Each text label's box in pixels at the diagram's scale (UNIT_PX per unit), from its anchor position."""
    boxes = []
    for trace in fig.data:
        if trace.mode != "text":
            continue
        size = trace.textfont.size
        for x, y, text in zip(trace.x, trace.y, trace.text):
            width = len(text) * CHAR_PX * size / 11
            cx, cy = x * UNIT_PX, y * UNIT_PX
            bottom = cy if trace.textposition == "top center" else cy - LINE_PX
            boxes.append((cx - width / 2, bottom, cx + width / 2, bottom + LINE_PX, text))
    return boxes


def _overlaps(boxes) -> list[tuple[str, str]]:
    return [(a[4], b[4]) for a, b in itertools.combinations(boxes, 2)
            if a[0] < b[2] - 1 and b[0] < a[2] - 1 and a[1] < b[3] - 1 and b[1] < a[3] - 1]


@pytest.mark.parametrize("name", ["googlenet", "wide_resnet28_10_cifar", "resnet50", "inception_v3", "lenet5"])
def test_default_diagrams_have_no_overlapping_labels(name: str) -> None:
    """At the drawing's own scale no two labels share a pixel (they did on GoogLeNet and WRN-28-10 when the
    diagram was shrunk to fit 760 px)."""
    fig = network_diagram(analysed(name))
    assert _overlaps(_label_boxes(fig)) == []
    assert fig.layout.width is not None  # drawn at its own width: never squeezed into a narrower figure


@pytest.mark.parametrize("name", ["googlenet", "resnet50", "resnet1202_cifar"])
def test_click_targets_never_cover_a_neighbour(name: str) -> None:
    """Every click target (a square the size of its box, or a 13 px dot) is apart from every other: a click picks
    the layer under the pointer (on the shrunk ResNet-1202, aiming at layer1.199.bn1 picked layer2.3.bn2)."""
    a = analysed(name)
    expanded = drawn_blocks(a, frozenset(containers(a)), None).expanded
    fig = network_diagram(a, expanded=expanded)
    targets = next(t for t in fig.data if t.name == "layers")
    squares = [(x * UNIT_PX, y * UNIT_PX, s / 2) for x, y, s in zip(targets.x, targets.y, targets.marker.size)]
    clashes = [(i, j) for (i, a_), (j, b_) in itertools.combinations(enumerate(squares), 2)
               if abs(a_[0] - b_[0]) < a_[2] + b_[2] and abs(a_[1] - b_[1]) < a_[2] + b_[2]]
    assert clashes == [], [(targets.customdata[i], targets.customdata[j]) for i, j in clashes[:5]]


def test_lenet_is_one_row() -> None:
    """LeNet-5's last fc no longer wraps alone onto a second row (half the width unused): what is left after the
    row's width fits within 10 % more, so it stays on the row."""
    fig = network_diagram(analysed("lenet5"))
    targets = next(t for t in fig.data if t.name == "layers")
    assert len(set(round(y, 6) for y in targets.y)) == 1


def test_inception_v3_modules_open_into_their_branches() -> None:
    """torchvision's Inception v3 keeps each branch's convs as siblings (branch5x5_1 then branch5x5_2): opened,
    Mixed_5b is four branches side by side joined by a concat (64 + 64 + 96 + 32 = 256 channels: 1×1; 5×5 after a
    1×1; two 3×3 after a 1×1; a 1×1 after a 3×3 average pool), not seven modules in a row; Mixed_6a (a grid
    reduction: 384 + 96 + the pooled input's 288 = 768) likewise with its two drawn branches."""
    a = analysed("inception_v3")
    fig = network_diagram(a, expanded=frozenset({"Mixed_5b", "Mixed_6a"}))
    assert symbols(fig).count("⧺") == 2
    assert {"Mixed_5b → 35×35×256", "Mixed_6a → 17×17×768"} <= set(texts(fig))
    targets = next(t for t in fig.data if t.name == "layers")
    row_of = {name: round(y, 6) for name, y in zip(targets.customdata, targets.y)}
    branches = [["branch1x1"], ["branch5x5_1", "branch5x5_2"], ["branch3x3dbl_1", "branch3x3dbl_2", "branch3x3dbl_3"],
                ["avgpool", "branch_pool"]]  # fmt: skip
    rows = [{row_of[f"Mixed_5b.{name}"] for name in branch} for branch in branches]
    assert all(len(r) == 1 for r in rows) and len(set().union(*rows)) == 4  # one row per branch, four rows
