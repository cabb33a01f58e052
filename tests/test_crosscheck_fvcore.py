"""Our conv + linear + matmul MACs equal fvcore's conv + linear counts for every registered model.

fvcore runs the real model (JIT trace with real weights), so this is the slowest test; it is what lets users trust
that counting on the meta device loses nothing.
"""

import pytest

from analyzers import analyze
from analyzers.crosscheck import fvcore_crosscheck
from explorer.zoo import build_model, list_models


@pytest.mark.parametrize("name", [m.name for m in list_models()])
def test_our_macs_equal_fvcore_conv_and_linear(name):
    model = build_model(name)
    analysis = analyze(model.module, model.input_size)
    check = fvcore_crosscheck(model.module, model.input_size, 1, analysis)
    assert check.fvcore_macs == analysis.totals.macs, check.explanation()
    assert check.agrees
