"""Fused kernels that only a real device runs, and causal attention.

On the CPU (no_grad, as an analysis runs) `nn.LSTM` runs oneDNN's `mkldnn_rnn_layer`, `nn.MultiheadAttention` the
fast path `_native_multi_head_attention`, `nn.TransformerEncoderLayer` `_transformer_encoder_layer_fwd`, and
scaled-dot-product attention `_scaled_dot_product_flash_attention_for_cpu`; on meta the same modules run the ops
those kernels replace, one by one. The differential test requires the two analyses to agree, MACs and element-wise
ops alike; the meta side is itself held to hand counts and to FlopCounterMode elsewhere (and here for the LSTM).
"""

from __future__ import annotations

from typing import Any, Callable

import pytest
import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

from analyzers import analyze
from analyzers.counting.formula_text import layer_formula
from analyzers.counting.inputs import InputSpec
from analyzers.records import AttentionGeometry, FusedGeometry

transformers = pytest.importorskip("transformers")
torchvision = pytest.importorskip("torchvision")


class SelfAttention(nn.Module):
    """nn.MultiheadAttention called as self-attention, with or without the attention weights returned."""

    def __init__(self, need_weights: bool) -> None:
        super().__init__()
        self.attention = nn.MultiheadAttention(16, 2, batch_first=True)
        self.need_weights = need_weights

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.attention(x, x, x, need_weights=self.need_weights)[0]


class Attention(nn.Module):
    def __init__(self, causal: bool) -> None:
        super().__init__()
        self.causal = causal

    def forward(self, q: torch.Tensor, k: torch.Tensor) -> torch.Tensor:
        return F.scaled_dot_product_attention(q, k, k, is_causal=self.causal)


def bert() -> nn.Module:
    return transformers.BertModel(transformers.BertConfig(num_hidden_layers=2, hidden_size=64, num_attention_heads=2,
                                                          intermediate_size=128, vocab_size=100))


def gpt2() -> nn.Module:
    return transformers.GPT2LMHeadModel(transformers.GPT2Config(n_layer=2, n_embd=64, n_head=4, vocab_size=100))


TOKENS = {"input_ids": InputSpec((1, 16), torch.int64)}
CASES: dict[str, tuple[Callable[[], nn.Module], Any, str]] = {
    # name: (builder, inputs, the fused kernel the CPU runs: a test checks it really does)
    "lstm": (lambda: nn.LSTM(30, 20, 2), InputSpec((5, 3, 30)), "mkldnn_rnn_layer"),
    "lstm_bidirectional_batch_first": (lambda: nn.LSTM(30, 20, 2, bidirectional=True, batch_first=True),
                                       InputSpec((3, 5, 30)), "mkldnn_rnn_layer"),
    "lstm_without_bias": (lambda: nn.LSTM(30, 20, 1, bias=False), InputSpec((5, 3, 30)), "mkldnn_rnn_layer"),
    "gru": (lambda: nn.GRU(30, 20, 2, bidirectional=True), InputSpec((5, 3, 30)), ""),
    "multihead_attention_with_weights": (lambda: SelfAttention(True), InputSpec((2, 5, 16)),
                                         "_native_multi_head_attention"),
    "multihead_attention_without_weights": (lambda: SelfAttention(False), InputSpec((2, 5, 16)),
                                            "_native_multi_head_attention"),
    "transformer_encoder_layer": (lambda: nn.TransformerEncoderLayer(16, 2, 32, batch_first=True),
                                  InputSpec((2, 5, 16)), "_transformer_encoder_layer_fwd"),
    "causal_attention": (lambda: Attention(True), (InputSpec((1, 2, 5, 8)), InputSpec((1, 2, 7, 8))),
                         "_scaled_dot_product_flash_attention_for_cpu"),
    "vit": (lambda: torchvision.models.VisionTransformer(32, 16, 2, 2, 32, 64), InputSpec((1, 3, 32, 32)),
            "_native_multi_head_attention"),
    "bert": (bert, TOKENS, "_scaled_dot_product_flash_attention_for_cpu"),
    "gpt2": (gpt2, TOKENS, "_scaled_dot_product_flash_attention_for_cpu"),
}


def analysed(name: str, device: str) -> Any:
    build, inputs, _ = CASES[name]
    with torch.device("meta"):
        model = build()
    return analyze(model, inputs=inputs, device=device)


@pytest.mark.parametrize("name", sorted(CASES))
def test_meta_and_the_cpu_agree(name: str) -> None:
    meta, cpu = analysed(name, "meta"), analysed(name, "cpu")
    ops_on_cpu = {op.op.removeprefix("aten.").split(".")[0] for r in cpu.leaves() for op in r.ops}
    kernel = CASES[name][2]
    assert not kernel or kernel in ops_on_cpu, f"the CPU no longer runs {kernel}: {sorted(ops_on_cpu)}"
    assert cpu.totals.uncounted_ops == 0 and meta.totals.uncounted_ops == 0
    assert cpu.totals.macs == meta.totals.macs
    assert cpu.totals.elementwise_ops == meta.totals.elementwise_ops


def test_lstm_on_the_cpu_is_the_hand_count_and_flop_counters() -> None:
    """The issue's nn.LSTM(300, 512, 2): per step and sequence 4·512·(300 + 512) + 4·512·(512 + 512) MACs; over 100
    steps 376,012,800 (it was 0 on the CPU: mkldnn_rnn_layer was uncounted). FlopCounterMode counts the same LSTM on
    meta (where it runs the cell's products)."""
    with torch.device("meta"):
        lstm = nn.LSTM(300, 512, 2)
    a = analyze(lstm, inputs=InputSpec((100, 1, 300)), device="cpu")
    assert a.totals.macs == 100 * (4 * 512 * (300 + 512) + 4 * 512 * (512 + 512)) == 376_012_800
    with FlopCounterMode(display=False) as counter, torch.no_grad():
        lstm(torch.empty(100, 1, 300, device="meta"))
    assert a.totals.macs == counter.get_total_flops() // 2
    assert [op.macs for op in a.root.ops if isinstance(op.geometry, FusedGeometry)] == [
        100 * 4 * 512 * (300 + 512), 100 * 4 * 512 * (512 + 512)]
    assert layer_formula(a.root).startswith(
        "LSTM layer (oneDNN): input (rows 100 · in 300 · out 2,048) + hidden (rows 100 · in 512 · out 2,048) = "
        "166,297,600 MACs")


def torch_causal_scores(q_len: int, kv_len: int) -> int:
    """The scores torch's own is_causal keeps: its math path masks with `ones(L, S).tril()`."""
    return int(torch.ones(q_len, kv_len, dtype=torch.bool).tril().sum())


@pytest.mark.parametrize("q_len, kv_len", [(16, 16), (5, 7), (7, 5)])
def test_causal_attention_keeps_the_dense_count_and_shows_the_causal_share(q_len: int, kv_len: int) -> None:
    a = analyze(Attention(True), inputs=(InputSpec((1, 2, q_len, 8)), InputSpec((1, 2, kv_len, 8))), device="cpu")
    op = next(op for op in a.root.ops if isinstance(op.geometry, AttentionGeometry))
    g = op.geometry
    assert g.causal and op.macs == 2 * q_len * kv_len * (8 + 8)  # dense, as the kernels' FLOP counters report
    assert g.scores_computed == torch_causal_scores(q_len, kv_len)
    assert g.causal_macs == 2 * torch_causal_scores(q_len, kv_len) * (8 + 8)
    assert f"a causal kernel computes {torch_causal_scores(q_len, kv_len):,} of the {q_len * kv_len:,} scores" in \
        layer_formula(a.root)
    dense = analyze(Attention(False), inputs=(InputSpec((1, 2, q_len, 8)), InputSpec((1, 2, kv_len, 8))),
                    device="cpu")
    assert not next(op for op in dense.root.ops if isinstance(op.geometry, AttentionGeometry)).geometry.causal


def test_gpt2_summary_shows_the_causal_share() -> None:
    """GPT-2's attention is causal: per layer and head 16·17/2 = 136 of the 256 scores (53.1%)."""
    from analyzers.reports.summary import summary_dict

    summary = summary_dict(analysed("gpt2", "cpu"))
    per_layer_dense = 4 * 16 * 16 * (16 + 16)  # heads · S² · (QKᵀ + AV per head dim)
    assert summary["causal_attention_macs"] == 2 * per_layer_dense
    assert summary["causal_kernel_macs"] == 2 * 4 * torch_causal_scores(16, 16) * 32
