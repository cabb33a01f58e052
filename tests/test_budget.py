"""The CPU work budget: the largest size that fits, found by search, equals the one found by counting up."""

import pytest

from analyzers.budget import CPU_WORK_BUDGET_BYTES, OverBudgetError, largest_that_fits, refuse_over_budget


@pytest.mark.parametrize("per_item, fixed", [(1, 0), (3 * 2**20, 0), (7_000_001, 12_345), (2**31, 0), (2**30, 2**30)])
def test_largest_that_fits_is_the_last_size_under_the_budget(per_item: int, fixed: int) -> None:
    def bytes_at(n: int) -> int:
        return fixed + per_item * n

    expected = max(0, min((CPU_WORK_BUDGET_BYTES - fixed) // per_item, 1 << 20))  # by hand: solve fixed + k·n ≤ B
    assert largest_that_fits(bytes_at) == expected


def test_over_budget_is_one_line_with_what_fits() -> None:
    refuse_over_budget(CPU_WORK_BUDGET_BYTES, "a probe", "fine")  # exactly the budget is allowed
    with pytest.raises(OverBudgetError, match=r"^gradients of vgg16 at batch 64 needs about 6\.0 GiB of memory, over "
                       r"the 2 GiB budget for CPU work; at most --batch 21 fits$"):
        refuse_over_budget(6 * 2**30, "gradients of vgg16 at batch 64", "at most --batch 21 fits")


def test_forward_bytes_is_weights_inputs_and_every_activation() -> None:
    import torch
    from torch import nn

    from analyzers import analyze
    from analyzers.budget import forward_bytes

    # by hand: Linear(10, 20) holds 10·20 + 20 = 220 float32 weights (880 B); at batch 3 its input is 3·10 floats
    # (120 B), its output 3·20 (240 B), and the ReLU's output 3·20 again (240 B)
    analysis = analyze(nn.Sequential(nn.Linear(10, 20), nn.ReLU()), (10,), 3)
    assert forward_bytes(analysis) == 880 + 120 + 240 + 240
    half = analyze(nn.Sequential(nn.Linear(10, 20), nn.ReLU()), (10,), 3, dtype=torch.bfloat16)
    assert forward_bytes(half) == (880 + 120 + 240 + 240) // 2
