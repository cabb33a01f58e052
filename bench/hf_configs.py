"""Write a folder of generated Hugging Face `config.json` files, the input of `atlas hf --configs DIR`.

A hub's worth of configs is mostly a few architectures at many sizes; this writes N of them, cycling through BERT,
GPT-2, Llama, Mistral, T5 and ViT with sizes drawn from a seeded generator (the same N and seed write the same
files), and optionally a few malformed ones (invalid JSON, no model_type, an unknown model_type), which the atlas
must turn into error rows.

    python bench/hf_configs.py OUT_DIR --count 200 [--malformed 3] [--seed 0]
"""

from __future__ import annotations

import argparse
import json
import random
from pathlib import Path

__all__ = ["write_configs"]

_HEADS = (2, 4, 8)


def _config(family: str, rng: random.Random) -> dict[str, object]:
    heads = rng.choice(_HEADS)
    hidden = heads * rng.choice((16, 32, 64))
    layers = rng.randint(1, 6)
    vocab = rng.choice((1000, 8000, 32000))
    if family == "bert":
        return {"model_type": "bert", "architectures": ["BertModel"], "hidden_size": hidden,
                "num_hidden_layers": layers, "num_attention_heads": heads, "intermediate_size": 4 * hidden,
                "vocab_size": vocab}
    if family == "gpt2":
        return {"model_type": "gpt2", "architectures": ["GPT2LMHeadModel"], "n_embd": hidden, "n_layer": layers,
                "n_head": heads, "vocab_size": vocab, "bos_token_id": 0, "eos_token_id": 0}
    if family in ("llama", "mistral"):
        return {"model_type": family, "architectures": [f"{family.capitalize()}ForCausalLM"], "hidden_size": hidden,
                "num_hidden_layers": layers, "num_attention_heads": heads,
                "num_key_value_heads": rng.choice([h for h in (1, 2, heads) if heads % h == 0]),
                "intermediate_size": rng.choice((2, 3, 4)) * hidden, "vocab_size": vocab}
    if family == "t5":
        return {"model_type": "t5", "architectures": ["T5Model"], "d_model": hidden, "d_kv": hidden // heads,
                "d_ff": 4 * hidden, "num_layers": layers, "num_decoder_layers": layers, "num_heads": heads,
                "vocab_size": vocab}
    return {"model_type": "vit", "architectures": ["ViTModel"], "hidden_size": hidden, "num_hidden_layers": layers,
            "num_attention_heads": heads, "intermediate_size": 4 * hidden, "image_size": rng.choice((32, 64, 96)),
            "patch_size": 16}


FAMILIES = ("bert", "gpt2", "llama", "mistral", "t5", "vit")
MALFORMED = ('{"model_type": "bert", "hidden_size": 64,', '{"hidden_size": 64}', '{"model_type": "no_such_arch"}')


def write_configs(folder: Path, count: int, *, malformed: int = 0, seed: int = 0) -> list[Path]:
    """Write `count` valid configs and `malformed` broken ones under `folder`; the paths written."""
    rng = random.Random(seed)
    paths = []
    for index in range(count):
        family = FAMILIES[index % len(FAMILIES)]
        path = folder / f"{family}-{index:06d}" / "config.json"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(_config(family, rng), indent=1) + "\n", encoding="utf-8")
        paths.append(path)
    for index in range(malformed):
        path = folder / f"malformed-{index:03d}" / "config.json"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(MALFORMED[index % len(MALFORMED)] + "\n", encoding="utf-8")
        paths.append(path)
    return paths


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", type=Path)
    parser.add_argument("--count", type=int, default=200)
    parser.add_argument("--malformed", type=int, default=0)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    paths = write_configs(args.folder, args.count, malformed=args.malformed, seed=args.seed)
    print(f"{len(paths)} config.json file(s) under {args.folder}")


if __name__ == "__main__":
    main()
