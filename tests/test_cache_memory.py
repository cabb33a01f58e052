"""Cached analyses are bounded by their size, not only by their count: many large specs keep the process's
memory under the budget, and the size estimate the bound relies on is close to what an analysis really holds."""

from __future__ import annotations

import gc
import tracemalloc

import pytest
import torch

from analyzers import analyze
from analyzers.reports.table import to_dataframe
from explorer.ui import cached_analysis
from explorer.ui.byte_budget_cache import ByteBudgetCache
from explorer.ui.cached_analysis import analyze_spec_text, estimated_bytes
from explorer.zoo import build_model


def large_spec(index: int, lines: int = 150) -> str:
    """`lines` conv + ReLU lines (2 records each) plus the root: 2·lines + 1 records; `index` makes it distinct."""
    return f"name big{index}\ninput 16x16x8\n" + f"conv {8 + index} 3x3 same relu\n" * lines


def test_lru_drops_the_least_recently_used_until_the_bytes_fit() -> None:
    cache: ByteBudgetCache[bytes] = ByteBudgetCache(budget_bytes=100, max_entries=10, size_of=len)
    for key in "abc":
        cache.get(key, lambda: b"x" * 40)  # a, b fit (80); c pushes a out
    assert ("a" in cache, "b" in cache, "c" in cache, cache.total_bytes) == (False, True, True, 80)
    cache.get("b", lambda: pytest.fail("b is cached"))  # a hit makes b the most recent
    cache.get("d", lambda: b"x" * 40)
    assert ("b" in cache, "c" in cache, "d" in cache) == (True, False, True)
    assert cache.get("huge", lambda: b"x" * 101) == b"x" * 101 and "huge" not in cache  # bigger than the budget
    assert cache.total_bytes == 80 and len(cache) == 2


def test_lru_also_bounds_the_entry_count_and_keeps_no_exceptions() -> None:
    cache: ByteBudgetCache[bytes] = ByteBudgetCache(budget_bytes=10**6, max_entries=2, size_of=len)
    for key in "abc":
        cache.get(key, lambda: b"1")
    assert len(cache) == 2 and "a" not in cache

    def failing() -> bytes:
        raise ValueError("a spec error")

    with pytest.raises(ValueError):
        cache.get("bad", failing)
    assert "bad" not in cache


def test_the_estimate_is_close_to_what_an_analysis_holds(monkeypatch: pytest.MonkeyPatch) -> None:
    keeps_nothing = ByteBudgetCache(budget_bytes=1, max_entries=1, size_of=estimated_bytes)
    monkeypatch.setattr(cached_analysis, "ANALYSES", keeps_nothing)  # the result is held by this test alone
    analyze_spec_text(large_spec(90, lines=5))  # warm: the first meta-device ops import sympy and dynamo
    gc.collect()
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        result = analyze_spec_text(large_spec(91))
        gc.collect()
        held = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    assert len(result.analysis.records) == 301 and len(keeps_nothing) == 0
    estimate = estimated_bytes(result)
    assert 0.5 * estimate <= held <= 1.25 * estimate, (held, estimate)


def test_many_large_specs_stay_within_the_budget(monkeypatch: pytest.MonkeyPatch) -> None:
    budget = 3 * 2**20
    cache = ByteBudgetCache(budget_bytes=budget, max_entries=64, size_of=estimated_bytes)
    monkeypatch.setattr(cached_analysis, "ANALYSES", cache)
    analyze_spec_text(large_spec(0, lines=5))  # warm-up, outside the measurement
    cache.clear()
    gc.collect()
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        for index in range(1, 13):
            analyze_spec_text(large_spec(index))
            assert cache.total_bytes <= budget
        gc.collect()
        grown = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    kept = len(cache)
    assert 1 <= kept < 12  # older specs were dropped; with an entry bound of 64 alone all 12 would stay
    assert cache.total_bytes <= budget
    assert grown <= 1.5 * budget, f"{grown / 2**20:.1f} MB retained for a {budget / 2**20:.0f} MB budget"


def test_figures_are_cached_within_a_byte_budget() -> None:
    """The per-analysis figures (a 2,000-layer diagram is megabytes) share one size-bounded cache too."""
    from explorer.ui import analysis_view

    model = build_model("resnet18")
    analysis = analyze(model.module, model.input_size)
    table = to_dataframe(analysis)
    cache = analysis_view.FIGURES
    before = cache.budget_bytes
    try:
        one = analysis_view.network_diagram(analysis, expanded=frozenset())
        cache.clear()
        cache.budget_bytes = 3 * analysis_view._figure_bytes(one)
        for i in range(12):  # twelve views of the same size
            analysis_view._figure("diagram", f"k{i}", frozenset(), None, False, table, analysis)
        assert cache.total_bytes <= cache.budget_bytes
        assert len(cache) <= 3
    finally:
        cache.budget_bytes = before


def test_the_engines_per_call_memos_are_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    """The counting mode remembers calls across analyses; however many different shapes it sees, each op keeps at
    most its limit of entries (a web server analyses specs all day)."""
    from torch import nn

    from analyzers.counting import memo
    from analyzers.counting import mode as counting_mode

    monkeypatch.setattr(memo, "MEMO_LIMIT", 10)
    for side in range(8, 8 + 40):  # 40 input sizes: 40 different calls of every op
        analyze(nn.Sequential(nn.Conv2d(3, 4, 3), nn.ReLU()), (3, side, side))
    used = [p for p in counting_mode._SHARED_PLANS.values()
            if p.packet in (torch.ops.aten.convolution, torch.ops.aten.relu)]
    assert used and all(1 <= len(plan.calls) <= 10 for plan in used)  # it remembers, and forgets past its limit
