"""The shape stand-ins (`analyzers.fast_shapes`) must agree with torch's own meta kernels on every zoo model."""

import subprocess
import sys
from pathlib import Path

import pytest

from analyzers import analyze, counting_mode
from explorer.zoo import build_model, list_models

ROOT = Path(__file__).parents[1]


@pytest.mark.parametrize("name", [m.name for m in list_models()])
def test_stand_ins_reproduce_torch_meta_kernels(name, monkeypatch):
    model = build_model(name)
    fast = analyze(model.module, model.input_size, 2)
    monkeypatch.setattr(counting_mode, "FAST_RESULTS", {})
    real = analyze(model.module, model.input_size, 2)
    assert fast == real


def test_analysing_a_cnn_imports_neither_sympy_nor_dynamo():
    code = (
        "import sys; from analyzers import analyze; from explorer.zoo import build_model\n"
        "for name in ('resnet50', 'vgg16_bn', 'mobilenet_v2', 'efficientnet_b0', 'inception_v3', 'googlenet'):\n"
        "    m = build_model(name); analyze(m.module, m.input_size)\n"
        "print(sorted(k for k in ('sympy', 'torch._dynamo', 'pandas') if k in sys.modules))"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True)
    assert result.stdout.strip() == "[]"
