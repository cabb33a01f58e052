"""Mixture of experts (transformers' Mixtral, built on meta from its config class: no network, no weights).

The expert layers run as `aten._grouped_mm` (tokens × top-k rows over the experts) with `histc`, `sort`, `topk` and
`cumsum` routing them. Expected values come from outside our code: the hand count of a Mixtral layer (attention
projections with grouped KV heads, S² attention, the router, top-k SwiGLU experts, the head), Mixtral's published
46.7 B total / 12.9 B active parameters, and torch's own FlopCounterMode over transformers' eager expert loop on
real CPU data (which runs one `linear` per expert on exactly the tokens routed to it).
"""

from __future__ import annotations

import pytest
import torch
from torch.utils.flop_counter import FlopCounterMode

from analyzers import analyze
from analyzers.counting.formula_text import layer_formula
from analyzers.counting.inputs import InputSpec
from analyzers.records import GroupedMatmulGeometry

transformers = pytest.importorskip("transformers")

H, FFN, LAYERS, HEADS, KV_HEADS, EXPERTS, TOP_K, VOCAB, S = 64, 96, 2, 4, 2, 4, 2, 100, 16


def small_config(**overrides: object) -> object:
    values = dict(hidden_size=H, intermediate_size=FFN, num_hidden_layers=LAYERS, num_attention_heads=HEADS,
                  num_key_value_heads=KV_HEADS, num_local_experts=EXPERTS, num_experts_per_tok=TOP_K,
                  vocab_size=VOCAB)
    return transformers.MixtralConfig(**{**values, **overrides})


def on_meta(config: object) -> torch.nn.Module:
    with torch.device("meta"):
        return transformers.MixtralForCausalLM(config)


def hand_macs(h: int, i: int, layers: int, heads: int, kv_heads: int, experts: int, k: int, vocab: int,
              s: int) -> int:
    """Per layer: q and o S·H², k and v S·H·(kv_heads·head_dim) each, QKᵀ and AV 2·S²·H, the router S·H·E, and
    each token's k SwiGLU experts k·S·3·H·I (I the intermediate size); then the head S·H·V."""
    kv = kv_heads * (h // heads)
    layer = 2 * s * h * h + 2 * s * h * kv + 2 * s * s * h + s * h * experts + k * s * 3 * h * i
    return layers * layer + s * h * vocab


def hand_params(h: int, i: int, layers: int, heads: int, kv_heads: int, experts: int, vocab: int) -> int:
    kv = kv_heads * (h // heads)
    layer = 2 * h * h + 2 * h * kv + experts * h + experts * 3 * h * i + 2 * h  # attention, router, experts, norms
    return 2 * vocab * h + layers * layer + h  # embedding, untied head, final norm


@pytest.mark.parametrize("dtype", [torch.bfloat16, torch.float32])
def test_small_mixtral_counts_its_experts_in_both_dtypes(dtype: torch.dtype) -> None:
    a = analyze(on_meta(small_config()), inputs={"input_ids": InputSpec((1, S), torch.int64)}, dtype=dtype)
    assert a.totals.uncounted_ops == 0  # _grouped_mm and histc have formulas
    assert a.totals.macs == hand_macs(H, FFN, LAYERS, HEADS, KV_HEADS, EXPERTS, TOP_K, VOCAB, S) == 1_748_992
    experts = a.record("model.layers.0.mlp.experts.(functional)")
    grouped = [op for op in experts.ops if isinstance(op.geometry, GroupedMatmulGeometry)]
    # gate+up: S·k rows · H · 2·FFN; down: S·k rows · FFN · H, the rows spread over 4 experts by the routing
    assert [(g.geometry.groups, g.geometry.rows, g.geometry.inner, g.geometry.cols, g.macs) for g in grouped] == [
        (EXPERTS, S * TOP_K, H, 2 * FFN, S * TOP_K * H * 2 * FFN), (EXPERTS, S * TOP_K, FFN, H, S * TOP_K * FFN * H)]
    assert not any(g.geometry.split_known for g in grouped)  # meta: the offsets hold no data
    assert "split by the routing, unknown on meta" in layer_formula(experts)
    histc = next(op for op in experts.ops if "histc" in op.op)
    assert histc.elementwise_ops == S * TOP_K  # one bin per routed (token, expert) pair
    assert a.totals.weight_depth == LAYERS * 4 + 1  # q → o → gate_up → down per layer, the head; not the router


def test_params_and_active_params_per_token() -> None:
    a = analyze(on_meta(small_config()), inputs={"input_ids": InputSpec((1, S), torch.int64)})
    total = hand_params(H, FFN, LAYERS, HEADS, KV_HEADS, EXPERTS, VOCAB)
    assert a.totals.params == total == 185_664
    # one token uses TOP_K of the EXPERTS expert MLPs in each layer
    assert a.totals.active_params == total - LAYERS * (EXPERTS - TOP_K) * 3 * H * FFN == 111_936


def test_mixtral_8x7b_at_2048_tokens_is_the_hand_count() -> None:
    """The issue's figure: 27.21 T MACs by hand (4.12 T before the experts were counted); Mixtral's paper gives
    46.7 B parameters, 12.9 B active per token."""
    config = small_config(hidden_size=4096, intermediate_size=14336, num_hidden_layers=32, num_attention_heads=32,
                          num_key_value_heads=8, num_local_experts=8, num_experts_per_tok=2, vocab_size=32000)
    a = analyze(on_meta(config), inputs={"input_ids": InputSpec((1, 2048), torch.int64)}, dtype=torch.bfloat16)
    assert a.totals.macs == hand_macs(4096, 14336, 32, 32, 8, 8, 2, 32000, 2048) == 27_208_617_820_160
    assert a.totals.uncounted_ops == 0
    assert a.totals.params == hand_params(4096, 14336, 32, 32, 8, 8, 32000) == 46_702_792_704
    assert a.totals.active_params == 12_879_925_248
    assert round(a.totals.params / 1e9, 1) == 46.7 and round(a.totals.active_params / 1e9, 1) == 12.9


def test_grouped_count_equals_flop_counter_on_the_eager_expert_loop() -> None:
    """transformers' eager experts run one linear per expert on the tokens routed to it (real routing, real data):
    FlopCounterMode's count of each layer's experts module over that loop is what the grouped products must equal."""
    torch.manual_seed(0)
    config = small_config()
    config._experts_implementation = "eager"
    model = transformers.MixtralForCausalLM(config).eval()
    with FlopCounterMode(display=False) as counter, torch.no_grad():
        model(torch.randint(0, VOCAB, (1, S)))
    flops = counter.get_flop_counts()
    ours = analyze(on_meta(small_config()), inputs={"input_ids": InputSpec((1, S), torch.int64)})
    for layer in range(LAYERS):
        name = f"model.layers.{layer}.mlp.experts"
        reference = sum(flops[f"MixtralForCausalLM.{name}"].values()) // 2
        assert ours.record(name).macs == reference == TOP_K * S * 3 * H * FFN


def test_on_the_cpu_the_offsets_are_read_and_the_count_is_the_same() -> None:
    model = on_meta(small_config())
    a = analyze(model, inputs={"input_ids": InputSpec((1, S), torch.int64)}, device="cpu")
    grouped = [op for r in a.leaves() for op in r.ops if isinstance(op.geometry, GroupedMatmulGeometry)]
    assert grouped and all(op.geometry.split_known for op in grouped)
    assert a.totals.macs == hand_macs(H, FFN, LAYERS, HEADS, KV_HEADS, EXPERTS, TOP_K, VOCAB, S)


def test_summary_shows_active_params_beside_params(tmp_path, capsys) -> None:
    from explorer.cli import main

    config = small_config(architectures=["MixtralForCausalLM"])
    config.save_pretrained(tmp_path)
    assert main(["summary", f"hf:{tmp_path}", "--input", f"input_ids=int64:1x{S}"]) == 0
    text = capsys.readouterr().out
    assert "active params                111,936  per token" in text
    assert main(["summary", f"hf:{tmp_path}", "--input", f"input_ids=int64:1x{S}", "--json"]) == 0
    import json

    summary = json.loads(capsys.readouterr().out)
    assert (summary["params"], summary["active_params"], summary["uncounted_ops"]) == (185_664, 111_936, 0)
