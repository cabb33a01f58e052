"""Our conv + linear + matmul MACs equal fvcore's conv + linear counts for every registered model.

fvcore runs the real model (JIT trace with real weights), so this is the slowest test; it is what lets users trust
that counting on the meta device loses nothing.
"""

import pytest

from analyzers import analyze
from analyzers.reports.crosscheck import fvcore_crosscheck
from explorer.zoo import build_model, list_models


@pytest.mark.parametrize("name", [m.name for m in list_models()])
def test_our_macs_equal_fvcore_conv_and_linear(name):
    model = build_model(name)
    analysis = analyze(model.module, model.input_size)
    check = fvcore_crosscheck(model.module, model.input_size, 1, analysis)
    assert check.fvcore_macs == analysis.totals.macs, check.explanation()
    assert check.agrees


def test_limits_refuse_a_huge_real_run_before_it_starts():
    """resnet18 at 2048×2048, batch 4 is 50,331,648 input elements (4·3·2048²), over the 3,145,728 allowed."""
    from analyzers.reports.crosscheck import CrossCheckLimits

    model = build_model("resnet18", device="meta")
    analysis = analyze(model.module, (3, 2048, 2048), 4)
    refusal = CrossCheckLimits().refusal((3, 2048, 2048), 4, analysis)
    assert refusal.startswith("The fvcore cross-check runs the real model on this server: 50,331,648 input elements")
    small = analyze(model.module, (3, 224, 224), 1)
    assert CrossCheckLimits().refusal((3, 224, 224), 1, small) is None


def test_the_child_process_is_stopped_at_its_timeout_and_failures_come_back_as_one_line():
    from explorer.ui.fvcore_job import CrossCheckFailed, FvcoreJob, run_fvcore_job

    with pytest.raises(CrossCheckFailed, match="took longer than 0 s"):
        run_fvcore_job(FvcoreJob("lenet5", (1, 32, 32), 1), timeout_s=0.1)
    with pytest.raises(CrossCheckFailed, match="^fvcore failed: ") as failure:
        run_fvcore_job(FvcoreJob("lenet5", (1, 32, 32), 1, options={"no_such_option": 1}))
    assert "\n" not in str(failure.value)


def test_the_child_process_counts_what_fvcore_counts_in_process():
    from analyzers.reports.crosscheck import fvcore_by_operator
    from explorer.ui.fvcore_job import FvcoreJob, run_fvcore_job

    model = build_model("lenet5")
    assert run_fvcore_job(FvcoreJob("lenet5", (1, 32, 32), 2)) == fvcore_by_operator(model.module, (1, 32, 32), 2)
