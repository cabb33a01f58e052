"""Hugging Face text models built from a transformers config (never weights, no network) and counted on meta.

Hand formulas, per layer of a transformer with hidden size H, feed-forward size I and sequence length S: the
Q, K, V and output projections 4·S·H², attention QKᵀ and AV 2·S²·H, the feed-forward 2·S·H·I. Each is checked
against torch's FlopCounterMode (FLOPs ÷ 2) as well, which counts the same matrix products independently.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from torch.utils.flop_counter import FlopCounterMode

from analyzers import analyze
from analyzers.counting.inputs import InputSpec
from explorer.catalogue import CatalogueError, Task, build

transformers = pytest.importorskip("transformers")


def flop_counter_macs(model: torch.nn.Module, inputs: dict[str, InputSpec]) -> int:
    tensors = {name: torch.zeros(spec.shape, dtype=spec.dtype, device="meta") for name, spec in inputs.items()}
    with FlopCounterMode(display=False) as counter, torch.no_grad():
        model(**tensors)
    return counter.get_total_flops() // 2


def saved(config: object, folder: Path) -> Path:
    config.save_pretrained(folder)
    return folder


def test_tiny_bert_from_a_config_folder(tmp_path: Path) -> None:
    config = transformers.BertConfig(num_hidden_layers=2, hidden_size=64, num_attention_heads=2, intermediate_size=128,
                                     vocab_size=100)
    model = build(f"hf:{saved(config, tmp_path)}", sequence_length=16)
    assert model.task is Task.TEXT and next(model.module.parameters()).is_meta
    a = analyze(model.module, inputs=model.inputs)
    # per layer 4·16·64² + 2·16²·64 + 2·16·64·128 = 262,144 + 32,768 + 262,144 = 557,056;
    # 2 layers, plus the pooler's 64² (one token)
    assert a.totals.macs == 2 * 557_056 + 64 * 64 == 1_118_208
    assert a.totals.macs == flop_counter_macs(model.module, model.inputs)
    assert a.totals.uncounted_ops == 0  # the embedding lookups are data movement, not unknown
    assert a.inputs[0].dtype == torch.int64 and a.dtype == torch.float32  # token ids stay integers, weights float


def test_bert_base_at_128_tokens_is_the_issue_figure() -> None:
    with torch.device("meta"):
        model = transformers.BertModel(transformers.BertConfig())  # bert-base: 12 layers, H 768, I 3072
    a = analyze(model, inputs={"input_ids": InputSpec((1, 128), torch.int64)})
    # 12 · (4·128·768² + 2·128²·768 + 2·128·768·3072) + 768² (pooler) = 12 · 931,135,488 + 589,824
    assert a.totals.macs == 11_174_215_680
    assert a.totals.macs == flop_counter_macs(model, {"input_ids": InputSpec((1, 128), torch.int64)})


def test_gpt2_with_its_language_model_head_from_a_config_file(tmp_path: Path) -> None:
    folder = saved(transformers.GPT2Config(architectures=["GPT2LMHeadModel"]), tmp_path)  # GPT-2 small
    model = build(f"hf:{folder / 'config.json'}")  # a file works as well as its folder
    assert type(model.module).__name__ == "GPT2LMHeadModel"
    a = analyze(model.module, inputs=model.inputs)
    # 12 · (12·128·768² + 2·128²·768) = 11,173,625,856, plus the head 128·768·50,257 = 4,940,464,128
    assert a.totals.macs == 16_114_089_984
    assert a.totals.macs == flop_counter_macs(model.module, model.inputs)


def test_t5_takes_decoder_ids_and_llama_counts_like_flop_counter(tmp_path: Path) -> None:
    t5 = build(f"hf:{saved(transformers.T5Config(), tmp_path / 't5')}")  # T5Config's defaults are t5-small
    assert set(t5.inputs) == {"input_ids", "decoder_input_ids"}
    assert analyze(t5.module, inputs=t5.inputs).totals.macs == flop_counter_macs(t5.module, t5.inputs)
    config = transformers.LlamaConfig(hidden_size=64, intermediate_size=128, num_hidden_layers=2,
                                      num_attention_heads=4, num_key_value_heads=2, vocab_size=100)
    llama = build(f"hf:{saved(config, tmp_path / 'llama')}", sequence_length=32)
    a = analyze(llama.module, inputs=llama.inputs)
    assert a.totals.macs == flop_counter_macs(llama.module, llama.inputs)
    # per layer: q and o 2·32·64², k and v (2 of 4 heads) 2·32·64·32, attention 2·32²·64, SwiGLU 3·32·64·128
    assert a.totals.macs == 2 * (2 * 32 * 64 * 64 + 2 * 32 * 64 * 32 + 2 * 32 * 32 * 64 + 3 * 32 * 64 * 128)
    assert a.totals.uncounted_ops == 0


def test_a_vision_config_gets_pixel_values(tmp_path: Path) -> None:
    config = transformers.ViTConfig(hidden_size=32, num_hidden_layers=1, num_attention_heads=2, intermediate_size=64,
                                    image_size=32, patch_size=16)
    model = build(f"hf:{saved(config, tmp_path)}")
    assert model.input_size == (3, 32, 32) and set(model.inputs) == {"pixel_values"}
    a = analyze(model.module, inputs=model.inputs)
    assert a.totals.macs == flop_counter_macs(model.module, model.inputs)


def test_what_cannot_be_read_is_one_line(tmp_path: Path) -> None:
    (tmp_path / "config.json").write_text(json.dumps({"hidden_size": 8}))
    with pytest.raises(CatalogueError, match="needs a 'model_type'"):
        build(f"hf:{tmp_path / 'config.json'}")
    with pytest.raises(CatalogueError, match=r"^hf:.*missing_folder: no such folder or file"):
        build(f"hf:{tmp_path / 'missing_folder'}")


def test_gpt2_conv1d_is_a_weight_layer() -> None:
    """GPT-2 writes its projections as `addmm(bias, x, W)` (transformers' Conv1D), the weight an operand as itself:
    still a weight layer. Each block has 4 on its longest path (c_attn, attn.c_proj, c_fc, mlp.c_proj) and the head
    is one more: 4 · 12 + 1 = 49; three stacked Conv1D are 3 deep, like three nn.Linear."""
    from transformers.pytorch_utils import Conv1D

    with torch.device("meta"):
        gpt2 = transformers.GPT2LMHeadModel(transformers.GPT2Config())
    assert analyze(gpt2, inputs={"input_ids": InputSpec((1, 128), torch.int64)}).totals.weight_depth == 4 * 12 + 1
    conv1d = torch.nn.Sequential(Conv1D(8, 4), Conv1D(8, 8), Conv1D(8, 8))
    linear = torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.Linear(8, 8), torch.nn.Linear(8, 8))
    for stack in (conv1d, linear):
        a = analyze(stack, inputs=InputSpec((2, 5, 4)))
        assert a.totals.weight_depth == 3
        assert [r.weight_depth for r in a.leaves()] == [1, 2, 3]
