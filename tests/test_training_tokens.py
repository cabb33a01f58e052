"""A training step of token models (`--train` takes the forward's inputs) and the 6·N·D rule.

The 6·N·D rule (Kaplan et al. 2020) estimates a transformer step at 6 FLOPs = 3 MACs per parameter and token. Our
step is exact, and differs from it by terms derived here by hand from each config (the parameter count N comes
from torch, `numel` of the model's parameters):
- W, the weights used as a product per token, is N less the embeddings that are only looked up (GPT-2's position
  table, BERT's three tables, Llama's input table; a tied table used as the LM head is a product, so it counts), the
  biases and norm parameters (element-wise work), and BERT's pooler (it runs on one token per sequence, not D);
- attention's QKᵀ and AV add A = 2·layers·S²·H MACs per sequence that no parameter stands for, and the fused
  kernels' backward recomputes QKᵀ, so attention costs 1 + 2.5 = 3.5 × A over the step (the products 3×);
so step MACs = 3·D·W + 3.5·A (+ 3·B·H² for BERT's pooler) = 3·N·D − 3·D·(N − W) + 3.5·A.
"""

from __future__ import annotations

import json

import pytest
import torch

from analyzers.counting.inputs import InputSpec
from analyzers.training.analyze import analyze_training
from explorer.cli import main

transformers = pytest.importorskip("transformers")


def step(model_class: type, config: object, tokens: int) -> tuple[object, int]:
    with torch.device("meta"):
        model = model_class(config)
    analysis = analyze_training(model, inputs={"input_ids": InputSpec((1, tokens), torch.int64)})
    return analysis, sum(p.numel() for p in model.parameters())


def test_gpt2_small_against_six_n_d() -> None:
    layers, h, vocab, s = 12, 768, 50257, 1024
    a, n = step(transformers.GPT2LMHeadModel, transformers.GPT2Config(), s)
    w = layers * (3 * h * h + h * h + 4 * h * h + 4 * h * h) + vocab * h  # c_attn, attn c_proj, c_fc, mlp c_proj, head
    not_products = 1024 * h + layers * (9 * h + 4 * h) + 2 * h  # wpe, biases, ln_1/ln_2, ln_f
    assert n == 124_439_808 and n - w == not_products == 907_776
    attention = layers * 2 * s * s * h
    assert a.totals.forward_macs == s * w + attention == 145_824_153_600
    assert a.totals.step_macs == 3 * s * w + 3.5 * attention == 447_136_137_216
    assert a.totals.step_macs == 3 * n * s - 3 * s * (n - w) + 3.5 * attention
    assert round(a.totals.step_macs / (3 * n * s), 3) == 1.170  # 17% above 6·N·D: attention at 1,024 tokens


def test_bert_base_against_six_n_d() -> None:
    layers, h, inter, vocab, s = 12, 768, 3072, 30522, 512
    a, n = step(transformers.BertModel, transformers.BertConfig(), s)
    w = layers * (4 * h * h + 2 * h * inter)
    embeddings = (vocab + 512 + 2) * h
    pooler = h * h + h
    biases_and_norms = layers * (4 * h + inter + h + 4 * h) + 2 * h  # q/k/v/o, two FFN biases, two LayerNorms; emb LN
    assert n == 109_482_240 and n - w == embeddings + pooler + biases_and_norms
    attention = layers * 2 * s * s * h
    assert a.totals.step_macs == 3 * s * w + 3.5 * attention + 3 * h * h == 147_372_834_816
    assert round(a.totals.step_macs / (3 * n * s), 3) == 0.876  # 12% below: a fifth of N is embedding tables


def test_llama_7b_like_against_six_n_d() -> None:
    layers, h, inter, vocab, s = 32, 4096, 11008, 32000, 2048
    config = transformers.LlamaConfig(hidden_size=h, intermediate_size=inter, num_hidden_layers=layers,
                                      num_attention_heads=32, num_key_value_heads=32, vocab_size=vocab)
    a, n = step(transformers.LlamaForCausalLM, config, s)
    w = layers * (4 * h * h + 3 * h * inter) + vocab * h  # q, k, v, o; gate, up, down; the untied head
    assert n == 6_738_415_616 and n - w == vocab * h + layers * 2 * h + h  # the input table, RMSNorm weights
    attention = layers * 2 * s * s * h
    assert a.totals.step_macs == 3 * s * w + 3.5 * attention == 44_442_174_095_360
    assert round(a.totals.step_macs / (3 * n * s), 3) == 1.073


def test_train_takes_the_forwards_input_forms(tmp_path, capsys) -> None:
    """`--train` reads --input as the forward does: NAME=DTYPE:SHAPE (batch in the shape), DTYPE:SHAPE, a plain
    CxHxW with --batch; inputs the forward cannot take are refused in one line, never replaced by a default."""
    runs = {}
    for name, flags in {"named": ["--input", "x=float32:4x3x64x64"], "typed": ["--input", "float32:4x3x64x64"],
                        "plain": ["--input", "3x64x64", "--batch", "4"]}.items():
        assert main(["summary", "resnet18", "--train", *flags, "--json"]) == 0
        runs[name] = json.loads(capsys.readouterr().out)
    assert runs["named"]["input"] == "3x64x64" and runs["named"]["batch"] == 4
    assert runs["named"]["step_macs"] == runs["typed"]["step_macs"] == runs["plain"]["step_macs"]
    assert runs["named"]["input_bytes"] == 4 * 3 * 64 * 64 * 4
    assert main(["summary", "resnet18", "--train", "--input", "3x64x64", "--input", "3x64x64"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: the inputs (2 positional) do not fit ResNet.forward(x)") and err.count("\n") == 1
    assert main(["summary", "resnet18", "--train", "--input", "x=float32:4x3x64x64", "--batch", "2"]) == 2
    assert "the batch is in each shape" in capsys.readouterr().err
    config = transformers.GPT2Config(n_layer=2, n_embd=64, n_head=4, vocab_size=100,
                                     architectures=["GPT2LMHeadModel"])
    config.save_pretrained(tmp_path)
    assert main(["summary", f"hf:{tmp_path}", "--train", "--input", "input_ids=int64:1x128", "--json"]) == 0
    s = json.loads(capsys.readouterr().out)
    # per layer 12·128·64² + 2·128²·64 (attention 3.5× over the step), the tied head 128·64·100
    products, attention = 2 * 12 * 128 * 64 * 64 + 128 * 64 * 100, 2 * 2 * 128 * 128 * 64
    assert (s["forward_macs"], s["step_macs"]) == (products + attention, 3 * products + 3.5 * attention)
    assert s["input_bytes"] == 128 * 8  # int64 token ids
