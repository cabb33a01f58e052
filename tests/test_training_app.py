"""The Training view and the Transfer-learning page under Streamlit's AppTest: the numbers they render are the
engine's, the notes' 3-class head is the default, and no exception reaches the page."""

from __future__ import annotations

from pathlib import Path

import torchvision
from streamlit.testing.v1 import AppTest

from analyzers.devices import capacity_bytes
from analyzers.training.memory import largest_batch
from analyzers.training.analyze import analyze_training

PAGES = Path(__file__).resolve().parents[1] / "explorer" / "pages"
TIMEOUT_S = 240


def _training_view_page() -> None:
    from explorer.ui.cached_analysis import ModelRequest
    from explorer.ui.training_view import training_view

    training_view(ModelRequest.of("resnet18", (3, 64, 64)), scope="test")


def test_training_view_renders_metrics_charts_and_the_batch_that_fits():
    at = AppTest.from_function(_training_view_page, default_timeout=TIMEOUT_S)
    at.run()
    assert not at.exception
    metrics = {m.label: m for m in at.metric}
    assert metrics["Trainable params"].value == "11.7 M"  # resnet18: 11,689,512
    assert len(at.get("plotly_chart")) == 2  # forward vs backward bars, memory timeline
    expected = largest_batch(
        lambda b: analyze_training(torchvision.models.resnet18(), (3, 64, 64), b, optimizer="sgd").memory.peak_bytes,
        capacity_bytes("NVIDIA A100 40GB"))
    assert any(f"**{expected:,}**" in md.value for md in at.markdown)


def test_transfer_page_defaults_to_a_three_class_head_frozen_before_it():
    """resnet50 with a 3-class head, frozen through layer4: trainable = fc, 2048·3 + 3 = 6,147 parameters; the
    cached activation is layer4's 2048×7×7 fp32 output, 401,408 B = 392 KiB per image."""
    at = AppTest.from_file(str(PAGES / "transfer.py"), default_timeout=TIMEOUT_S)
    at.run()
    assert not at.exception
    metrics = {m.label: m for m in at.metric}
    assert metrics["Trainable params"].value == "6.15 K"
    assert metrics["Cached activation per image"].value == "392 KiB"
    assert metrics["On disk for 1,281,167 images"].value == "479 GiB"  # 401,408 × 1,281,167 B
    at.select_slider[0].set_value("layer3").run()
    assert not at.exception
    assert {m.label: m for m in at.metric}["Cached activation per image"].value == "784 KiB"  # 1024×14×14×4


def test_architecture_page_training_toggle():
    """ResNet-50 at 224 (`?model=resnet50`) behind the toggle, at the view's defaults: SGD, batch 32."""
    at = AppTest.from_file(str(PAGES / "architecture.py"), default_timeout=TIMEOUT_S)
    at.query_params.update(model="resnet50")
    at.run()
    assert not at.exception
    toggle = next(t for t in at.toggle if "training step" in t.label)
    toggle.set_value(True).run()
    assert not at.exception
    expected = analyze_training(torchvision.models.resnet50(), (3, 224, 224), 32, optimizer="sgd")
    metrics = {m.label: m for m in at.metric}
    assert metrics["Backward MACs"].help.startswith(f"input gradients {expected.totals.backward_input_macs:,}")
    assert any("Largest batch whose step fits in the A100 40GB's 40 GiB" in md.value for md in at.markdown)


def test_the_app_and_the_cli_share_one_default_optimizer():
    """The Training view, the Transfer page and `summary --train` (no --optimizer) all cost a step with plain SGD:
    no optimizer state, so the CLI's optimizer_state_bytes is 0."""
    import json
    import subprocess
    import sys

    done = subprocess.run([sys.executable, "-m", "explorer", "summary", "lenet5", "--train", "--json"],
                          capture_output=True, text=True, timeout=120, check=True)
    cli = json.loads(done.stdout)
    assert (cli["optimizer"], cli["optimizer_state_bytes"]) == ("sgd", 0)
    view = AppTest.from_function(_training_view_page, default_timeout=TIMEOUT_S).run()
    assert view.selectbox(key="test_train_optimizer").value == "sgd"
    transfer = AppTest.from_file(str(PAGES / "transfer.py"), default_timeout=TIMEOUT_S).run()
    assert transfer.selectbox(key="transfer_optimizer").value == "sgd"


def test_transfer_never_rounds_a_real_saving_to_minus_100_percent():
    """Frozen through layer4, resnet50's step keeps 393 K of 131 G MACs after the cut: -99.9997 %, not -100.0 %
    (which would read as nothing left); a change that is -100 % exactly still reads -100.0 %."""
    from explorer.ui.human import percent_change

    assert percent_change(393_216, 131_000_000_000) == "-99.9997%"
    assert percent_change(0, 5) == "-100.0%" and percent_change(3, 4) == "-25.0%" and percent_change(1, 0) == ""
