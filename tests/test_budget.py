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
